#!/usr/bin/env python3
"""A real SMTP server for the tests (aiosmtpd, no TLS, no auth) that keeps every message it receives.

    python3 tests/services/smtp_sink.py PORT OUTFILE

Listens on 127.0.0.1:PORT, appends each received message to OUTFILE as one JSON line
({"from": ..., "to": [...], "data": "<the whole message>"}), prints READY once it accepts
connections, and runs until it is killed. Exits 3 with a message on stderr when aiosmtpd is
missing (install it with: python3 -m pip install 'aiosmtpd==1.4.6').
"""

import sys

from sink import port_and_recorder, run_until_signalled

try:
    from aiosmtpd.controller import Controller
except ImportError:
    sys.stderr.write(
        "aiosmtpd is not installed: run `python3 -m pip install 'aiosmtpd==1.4.6'`\n"
    )
    sys.exit(3)


class Sink:
    def __init__(self, record):
        self.record = record

    async def handle_DATA(self, server, session, envelope):
        record = {
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "data": envelope.content.decode("utf-8", errors="replace"),
        }
        self.record(record)
        return "250 Message accepted for delivery"


def main():
    port, record = port_and_recorder()
    controller = Controller(Sink(record), hostname="127.0.0.1", port=port)
    controller.start()  # returns once the server answers
    run_until_signalled(controller.stop)


if __name__ == "__main__":
    main()
