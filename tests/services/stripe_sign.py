"""Signs webhook payloads with Stripe's official Python library, so that the server's verifier is
held to Stripe's own code (tests/api/payments.rs).

stdin: a JSON list of {"payload": str, "secret": str, "timestamp": int}
stdout: a JSON list of Stripe-Signature header values (`t=...,v1=...`), one per item, each also
checked with `stripe.WebhookSignature.verify_header` (so a signature the SDK would not accept
never reaches a test).
"""
import json
import sys

import stripe


def header(payload, secret, timestamp):
    signed = "%d.%s" % (timestamp, payload)
    signature = stripe.WebhookSignature._compute_signature(signed, secret)
    value = "t=%d,%s=%s" % (timestamp, stripe.WebhookSignature.EXPECTED_SCHEME, signature)
    stripe.WebhookSignature.verify_header(payload, value, secret, tolerance=None)
    return value


items = json.load(sys.stdin)
json.dump([header(i["payload"], i["secret"], i["timestamp"]) for i in items], sys.stdout)
