#!/usr/bin/env python3
"""A real SMTP server for the tests (aiosmtpd, no TLS, no auth) that keeps every message it receives.

    python3 tests/services/smtp_sink.py PORT OUTFILE

Listens on 127.0.0.1:PORT, appends each received message to OUTFILE as one JSON line
({"from": ..., "to": [...], "data": "<the whole message>"}), prints READY once it accepts
connections, and runs until it is killed. Exits 3 with a message on stderr when aiosmtpd is
missing (install it with: python3 -m pip install 'aiosmtpd==1.4.6').
"""

import json
import signal
import sys
import threading

try:
    from aiosmtpd.controller import Controller
except ImportError:
    sys.stderr.write(
        "aiosmtpd is not installed: run `python3 -m pip install 'aiosmtpd==1.4.6'`\n"
    )
    sys.exit(3)


class Sink:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        record = {
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "data": envelope.content.decode("utf-8", errors="replace"),
        }
        with self.lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return "250 Message accepted for delivery"


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    open(path, "a", encoding="utf-8").close()
    controller = Controller(Sink(path), hostname="127.0.0.1", port=port)
    controller.start()  # returns once the server answers
    print("READY", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
