"""What the test sinks (otlp_receiver.py, sentry_sink.py, smtp_sink.py) share: the JSON-lines
record file, the quiet HTTP/1.1 handler base and the run-until-signalled main loop. Each sink
keeps its own parsing; this module only holds the plumbing that was written three times.

The sinks are run as `python3 tests/services/<sink>.py PORT OUTFILE`, so this folder is on
sys.path and `import sink` finds this file.
"""

import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Recorder:
    """Appends one JSON object a line to a file; the lock keeps concurrent requests' lines whole."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        open(path, "a", encoding="utf-8").close()  # exists (empty) before READY

    def __call__(self, obj):
        with self.lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(obj) + "\n")


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 with no access log on stderr; `answer` sends a complete response."""

    protocol_version = "HTTP/1.1"
    content_type = "application/json"
    record = None  # the sink's Recorder, set by serve_http_main

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", content_type=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type or self.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def port_and_recorder():
    """The command line every sink takes: PORT OUTFILE."""
    return int(sys.argv[1]), Recorder(sys.argv[2])


def run_until_signalled(stop_server):
    """Prints READY (the server already accepts connections), then waits for SIGTERM/SIGINT."""
    print("READY", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    stop_server()


def serve_http(port, handler):
    """Serves `handler` on 127.0.0.1:port in a background thread until the process is signalled."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    run_until_signalled(server.shutdown)


def serve_http_main(handler):
    """The whole main of an HTTP sink: `handler` records through `self.record` into OUTFILE."""
    port, handler.record = port_and_recorder()
    serve_http(port, handler)
