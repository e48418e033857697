"""Stripe.js's browser-side confirmation, added in front of localstripe for the payment page's browser test.

localstripe's Stripe.js stand-in (served at /js.stripe.com/v3/) mounts a card element and creates
tokens, but its `confirmCardPayment` is only the 3-D Secure step of an intent that is already
`requires_action`: it cannot confirm a fresh PaymentIntent with the card the supporter typed, and
localstripe's own confirm endpoint takes only the secret key. Real Stripe.js confirms from the browser
with the publishable key and the intent's client secret (`POST /v1/payment_intents/:id/confirm` with
`key`, `client_secret` and `payment_method_data`). This peer adds exactly that, and nothing else:

- `GET /js.stripe.com/v3/`: localstripe's script, then `stripe_js_confirm.js`, which sends
  `confirmCardPayment(secret, {payment_method: {card}})` to the endpoint below and hands a
  `requires_action` answer to localstripe's own 3-D Secure step.
- `POST /v1/payment_intents/<id>/confirm` with a `pk_` key: checks the client secret (constant time)
  against the intent, then does with localstripe's secret-key API what Stripe does inside: a
  PaymentMethod from the card, attached to the intent, and the intent confirmed.
- Anything else is passed to localstripe unchanged (its tokens, its 3-D Secure step, its CORS headers).

The page under test is the production page; only the script its `STRIPE_JS_URL` names comes from here.

usage: python3 tests/services/stripe_js.py PORT LOCALSTRIPE_BASE [SECRET_KEY]   (prints READY)
"""

import hmac
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import sink

CONFIRM = re.compile(r"^/v1/payment_intents/(pi_\w+)/confirm$")
CARD_FIELD = re.compile(r"^payment_method_data\[card\]\[(\w+)\]$")
EXTENSION = (Path(__file__).parent / "stripe_js_confirm.js").read_bytes()
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


def upstream(method, path, body=None, headers=None, secret_key=None):
    """One request to localstripe: (status, headers, body bytes); an HTTP error is an answer too."""
    headers = dict(headers or {})
    if secret_key:
        headers["Authorization"] = "Bearer " + secret_key
    req = urllib.request.Request(Handler.base + path, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, dict(res.headers), res.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def stripe_api(method, path, form=None):
    """localstripe's secret-key API with a form body, as Stripe's own servers would act."""
    body = urllib.parse.urlencode(form).encode() if form is not None else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    status, _, text = upstream(method, path, body, headers, Handler.secret_key)
    return status, json.loads(text or b"null")


def error(status, message, kind="invalid_request_error"):
    return status, {"error": {"type": kind, "message": message}}


def confirm(intent_id, form):
    """The publishable-key confirmation Stripe.js makes."""
    if not form.get("key", "").startswith("pk_"):
        return error(401, "A publishable key is required.")
    status, intent = stripe_api("GET", f"/v1/payment_intents/{intent_id}")
    if status != 200:
        return status, intent
    given = form.get("client_secret", "").encode()
    if not hmac.compare_digest(given, str(intent.get("client_secret", "")).encode()):
        return error(401, "The client secret does not match this PaymentIntent.")
    card = {}
    for name, value in form.items():
        match = CARD_FIELD.match(name)
        if match:
            card[f"card[{match.group(1)}]"] = value
    if form.get("payment_method_data[type]") != "card" or "card[number]" not in card:
        return error(400, "payment_method_data with a card is required.")
    status, method = stripe_api("POST", "/v1/payment_methods", {"type": "card", **card})
    if status != 200:
        return 402, method
    status, intent = stripe_api("POST", f"/v1/payment_intents/{intent_id}", {"payment_method": method["id"]})
    if status != 200:
        return status, intent
    return stripe_api("POST", f"/v1/payment_intents/{intent_id}/confirm", {})


class Handler(sink.QuietHandler):
    base = ""
    secret_key = ""

    def send_cors(self):
        origin = self.headers.get("Origin")
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Headers", "Content-Type, Accept")
            self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS, DELETE")

    def reply(self, status, headers, body):
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in HOP_BY_HOP and not name.lower().startswith("access-control-"):
                self.send_header(name, value)
        self.send_cors()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def passthrough(self, body=None):
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept", "authorization")}
        status, res_headers, res_body = upstream(self.command, self.path, body, headers)
        if self.path.split("?")[0] == "/js.stripe.com/v3/" and status == 200:
            res_body = res_body + b"\n" + EXTENSION
        self.reply(status, res_headers, res_body)

    def do_GET(self):
        self.passthrough()

    def do_OPTIONS(self):
        self.reply(204, {}, b"")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        match = CONFIRM.match(self.path)
        if not match or "key=pk_" not in body.decode("utf-8", "replace"):
            self.passthrough(body)
            return
        form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        status, answer = confirm(match.group(1), form)
        self.reply(status, {"Content-Type": "application/json"}, json.dumps(answer).encode())


if __name__ == "__main__":
    Handler.base = sys.argv[2].rstrip("/")
    Handler.secret_key = sys.argv[3] if len(sys.argv) > 3 else "sk_test_localstripe"
    sink.serve_http(int(sys.argv[1]), Handler)
