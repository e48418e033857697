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
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from sentry_sdk.envelope import Envelope
except ImportError:
    sys.stderr.write(
        "sentry-sdk is not installed: run `python3 -m pip install 'sentry-sdk==2.75.0'`\n"
    )
    sys.exit(3)

LOCK = threading.Lock()
OUT = None


def record(obj):
    with LOCK, open(OUT, "a", encoding="utf-8") as out:
        out.write(json.dumps(obj) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"{}"):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if not re.fullmatch(r"/api/[0-9]+/envelope/", self.path):
            record({"error": f"unexpected path {self.path}"})
            return self.answer(404)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        try:
            envelope = Envelope.deserialize(body)
        except Exception as e:
            record({"error": f"not an envelope: {e}"})
            return self.answer(400)
        for item in envelope.items:
            raw = item.get_bytes()
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = None
            record(
                {
                    "type": item.type,
                    "payload": payload,
                    "raw": raw.decode("utf-8", errors="replace"),
                    "auth": self.headers.get("X-Sentry-Auth", ""),
                    "envelope_headers": envelope.headers,
                }
            )
        self.answer(200)


def main():
    global OUT
    port, OUT = int(sys.argv[1]), sys.argv[2]
    open(OUT, "a", encoding="utf-8").close()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("READY", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
