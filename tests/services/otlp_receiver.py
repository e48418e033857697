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
import sys

from sink import QuietHandler, serve_http_main

try:
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
except ImportError:
    sys.stderr.write(
        "opentelemetry-proto is not installed: run "
        "`python3 -m pip install 'opentelemetry-proto==1.45.2'`\n"
    )
    sys.exit(3)

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


class Handler(QuietHandler):
    content_type = "application/x-protobuf"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        content_type = self.headers.get("Content-Type", "")
        if self.path != "/v1/traces":
            self.record({"error": f"unexpected path {self.path}"})
            return self.answer(404)
        if content_type != "application/x-protobuf":
            self.record({"error": f"unexpected content type {content_type}"})
            return self.answer(415)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = trace_service_pb2.ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except Exception as e:  # a DecodeError: the exporter sent something that is not OTLP
            self.record({"error": f"not an ExportTraceServiceRequest: {e}"})
            return self.answer(400)
        for rs in request.resource_spans:
            resource = attributes(rs.resource.attributes)
            for ss in rs.scope_spans:
                for span in ss.spans:
                    self.record(
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


if __name__ == "__main__":
    serve_http_main(Handler)
