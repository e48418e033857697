#!/usr/bin/env python3
"""A Sentry ingestion endpoint for the tests: parses each envelope with the official `sentry-sdk`
package's own parser (`sentry_sdk.envelope.Envelope.deserialize`) and keeps what it receives.

    python3 tests/services/sentry_sink.py PORT OUTFILE

Listens on 127.0.0.1:PORT and accepts `POST /api/<project>/envelope/` (the route a DSN
`http://<key>@127.0.0.1:PORT/<project>` sends to). Each envelope item becomes one JSON line in
OUTFILE: {"type": item type, "payload": the item's JSON (or null), "raw": the item's bytes as
text, "auth": the X-Sentry-Auth header, "envelope_headers": {...}}. A body the SDK cannot parse
is recorded as {"error": ...}. Prints READY once it accepts connections, runs until killed. Exits
3 with a message on stderr when sentry-sdk is missing (install it with:
python3 -m pip install 'sentry-sdk==2.75.0').
"""

import gzip
import json
import re
import sys

from sink import QuietHandler, serve_http_main

try:
    from sentry_sdk.envelope import Envelope
except ImportError:
    sys.stderr.write(
        "sentry-sdk is not installed: run `python3 -m pip install 'sentry-sdk==2.75.0'`\n"
    )
    sys.exit(3)

class Handler(QuietHandler):
    def answer(self, status, body=b"{}"):
        super().answer(status, body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if not re.fullmatch(r"/api/[0-9]+/envelope/", self.path):
            self.record({"error": f"unexpected path {self.path}"})
            return self.answer(404)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        try:
            envelope = Envelope.deserialize(body)
        except Exception as e:
            self.record({"error": f"not an envelope: {e}"})
            return self.answer(400)
        for item in envelope.items:
            raw = item.get_bytes()
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = None
            self.record(
                {
                    "type": item.type,
                    "payload": payload,
                    "raw": raw.decode("utf-8", errors="replace"),
                    "auth": self.headers.get("X-Sentry-Auth", ""),
                    "envelope_headers": envelope.headers,
                }
            )
        self.answer(200)


if __name__ == "__main__":
    serve_http_main(Handler)
