#!/usr/bin/env python3
"""An OTLP/HTTP trace receiver for the tests: decodes each export with the official
`opentelemetry-proto` package and keeps every span it receives.

    python3 tests/services/otlp_receiver.py PORT OUTFILE

Listens on 127.0.0.1:PORT, accepts `POST /v1/traces` (application/x-protobuf, optionally gzip),
appends each span to OUTFILE as one JSON line:
    {"trace_id", "span_id", "parent_span_id" (hex, "" for a root), "name", "kind",
     "attributes": {key: value}, "resource": {key: value}, "scope": name, "status": code,
     "content_type": the request's Content-Type}
and answers an empty ExportTraceServiceResponse. Anything else is answered 404/415/400 and
recorded as {"error": ...}, so a test sees a malformed export instead of missing spans. Prints
READY once it accepts connections, runs until killed. Exits 3 with a message on stderr when
opentelemetry-proto is missing (install it with:
python3 -m pip install 'opentelemetry-proto==1.45.2').
"""

import gzip
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
except ImportError:
    sys.stderr.write(
        "opentelemetry-proto is not installed: run "
        "`python3 -m pip install 'opentelemetry-proto==1.45.2'`\n"
    )
    sys.exit(3)

LOCK = threading.Lock()
OUT = None


def any_value(v):
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, kind)


def attributes(kvs):
    return {kv.key: any_value(kv.value) for kv in kvs}


def record(obj):
    with LOCK, open(OUT, "a", encoding="utf-8") as out:
        out.write(json.dumps(obj) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", content_type="application/x-protobuf"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        content_type = self.headers.get("Content-Type", "")
        if self.path != "/v1/traces":
            record({"error": f"unexpected path {self.path}"})
            return self.answer(404)
        if content_type != "application/x-protobuf":
            record({"error": f"unexpected content type {content_type}"})
            return self.answer(415)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = trace_service_pb2.ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except Exception as e:  # a DecodeError: the exporter sent something that is not OTLP
            record({"error": f"not an ExportTraceServiceRequest: {e}"})
            return self.answer(400)
        for rs in request.resource_spans:
            resource = attributes(rs.resource.attributes)
            for ss in rs.scope_spans:
                for span in ss.spans:
                    record(
                        {
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "name": span.name,
                            "kind": span.kind,
                            "attributes": attributes(span.attributes),
                            "resource": resource,
                            "scope": ss.scope.name,
                            "status": span.status.code,
                            "content_type": content_type,
                        }
                    )
        self.answer(200, trace_service_pb2.ExportTraceServiceResponse().SerializeToString())


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
