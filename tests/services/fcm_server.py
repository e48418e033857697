#!/usr/bin/env python3
"""A local stand-in for Firebase Cloud Messaging HTTP v1 and Google's OAuth token endpoint, for the
push tests (tests/api/push.rs). Started per test; prints two lines and serves until killed:

    FCM_FAKE_URL=http://127.0.0.1:PORT
    FCM_FAKE_KEY=<base64 of a service-account key file made for this run>

- The service account's RSA key is generated at start (never stored): the test server gets the
  key file, and this server keeps the public key.
- POST /token: the RFC 7523 exchange. The assertion is decoded and its signature verified by Google's
  own library (google.auth.jwt.decode, google-auth pinned in requirements.txt), its claims are
  checked (iss, scope, aud, iat/exp), and its header and claim names are compared with the
  assertion google-auth itself makes for the same key file. Access tokens live EXPIRES_IN seconds.
- POST /v1/projects/<project>/messages:send: needs a live access token; the body is checked
  against the FCM v1 Message structure (unknown fields are refused, as FCM does).
- Control (for the test): GET /_state, POST /_mode {"mode": "ok"|"503"|"429"|"hang",
  "retry_after": s, "unregistered": [tokens], "expires_in": s}.
"""

import base64
import json
import re
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

try:
    import google.auth.jwt as google_jwt
    from google.oauth2 import service_account
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError as e:  # the test fails (it reads no URL), it never skips
    print(f"FCM_FAKE_ERROR=google-auth and cryptography are required: {e}", flush=True)
    sys.exit(2)

PROJECT = "educoin-push-test"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_PEM = KEY.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
).decode()
PUBLIC_PEM = KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
).decode()
KEY_ID = secrets.token_hex(20)
CLIENT_EMAIL = f"push@{PROJECT}.iam.gserviceaccount.com"

lock = threading.Lock()
state = {
    "mode": "ok",
    "retry_after": None,
    "expires_in": 120,
    "unregistered": set(),
    "tokens": {},  # access token -> expiry (epoch seconds)
    "token_requests": 0,
    "assertion_errors": [],
    "deliveries": [],  # accepted messages, in arrival order
    "refused": [],  # [status, errorCode, token]
    "invalid": [],  # messages that broke the Message structure
    "attempts": 0,
}


def google_reference_assertion(token_uri):
    """The assertion google-auth makes for this key file: the shape ours must have."""
    info = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": KEY_ID,
        "private_key": PRIVATE_PEM,
        "client_email": CLIENT_EMAIL,
        "token_uri": token_uri,
    }
    creds = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
    return creds._make_authorization_grant_assertion()


def check_assertion(assertion, token_uri):
    """Problems with the assertion, or [] (google-auth verifies the signature)."""
    problems = []
    try:
        # The server signs with its injected clock, which tests move ahead: allow for it.
        claims = google_jwt.decode(
            assertion, certs=PUBLIC_PEM, audience=token_uri, clock_skew_in_seconds=7200
        )
    except Exception as e:  # noqa: BLE001 - any refusal is the finding
        return [f"google.auth.jwt.decode refused it: {e}"]
    header = json.loads(base64.urlsafe_b64decode(assertion.split(".")[0] + "=="))
    reference = google_reference_assertion(token_uri)
    if isinstance(reference, bytes):
        reference = reference.decode()
    ref_header = json.loads(base64.urlsafe_b64decode(reference.split(".")[0] + "=="))
    ref_claims = google_jwt.decode(reference, verify=False)
    if header.get("alg") != "RS256":
        problems.append(f"alg {header.get('alg')}")
    if header.get("kid") != KEY_ID:
        problems.append("kid is not the key's private_key_id")
    if set(ref_header) - set(header):
        problems.append(f"header lacks {sorted(set(ref_header) - set(header))}")
    if set(claims) != set(ref_claims):
        problems.append(f"claims {sorted(claims)} vs google-auth's {sorted(ref_claims)}")
    if claims.get("iss") != CLIENT_EMAIL:
        problems.append("iss")
    if claims.get("scope") != SCOPE:
        problems.append(f"scope {claims.get('scope')}")
    if claims.get("aud") != token_uri:
        problems.append("aud")
    if not 0 < claims.get("exp", 0) - claims.get("iat", 0) <= 3600:
        problems.append("exp - iat must be within an hour")
    return problems


DURATION = re.compile(r"^\d+(\.\d{1,9})?s$")


def message_problems(body):
    """Breaks of the FCM v1 request structure (projects.messages.send), or []."""
    p = []

    def strmap(v, where):
        if not isinstance(v, dict) or not all(
            isinstance(k, str) and isinstance(x, str) for k, x in v.items()
        ):
            p.append(f"{where} must map strings to strings")

    def fields(obj, allowed, where):
        if not isinstance(obj, dict):
            p.append(f"{where} must be an object")
            return False
        extra = set(obj) - set(allowed)
        if extra:
            p.append(f"{where}: unknown fields {sorted(extra)}")
        return True

    if not fields(body, {"message", "validate_only", "validateOnly"}, "request"):
        return p
    m = body.get("message")
    if not fields(
        m,
        {"name", "data", "notification", "android", "webpush", "apns", "fcm_options",
         "fcmOptions", "token", "topic", "condition"},
        "message",
    ):
        return p
    targets = [t for t in ("token", "topic", "condition") if t in m]
    if len(targets) != 1 or not isinstance(m.get(targets[0] if targets else "token"), str):
        p.append("exactly one string target (token, topic or condition)")
    if "data" in m:
        strmap(m["data"], "data")
    if "notification" in m and fields(m["notification"], {"title", "body", "image"}, "notification"):
        for k, v in m["notification"].items():
            if not isinstance(v, str):
                p.append(f"notification.{k} must be a string")
    if "android" in m and fields(
        m["android"],
        {"collapse_key", "collapseKey", "priority", "ttl", "restricted_package_name",
         "restrictedPackageName", "data", "notification", "fcm_options", "fcmOptions",
         "direct_boot_ok", "directBootOk"},
        "android",
    ):
        a = m["android"]
        if "priority" in a and a["priority"] not in ("NORMAL", "HIGH"):
            p.append("android.priority must be NORMAL or HIGH")
        if "ttl" in a and not (isinstance(a["ttl"], str) and DURATION.match(a["ttl"])):
            p.append("android.ttl must be a duration like '3.5s'")
        for k in ("collapse_key", "collapseKey"):
            if k in a and not isinstance(a[k], str):
                p.append(f"android.{k} must be a string")
    if "apns" in m and fields(
        m["apns"], {"headers", "payload", "fcm_options", "fcmOptions"}, "apns"
    ):
        if "headers" in m["apns"]:
            strmap(m["apns"]["headers"], "apns.headers")
        if "payload" in m["apns"] and not isinstance(m["apns"]["payload"], dict):
            p.append("apns.payload must be an object")
    if "webpush" in m and fields(
        m["webpush"], {"headers", "data", "notification", "fcm_options", "fcmOptions"}, "webpush"
    ):
        if "headers" in m["webpush"]:
            strmap(m["webpush"]["headers"], "webpush.headers")
    return p


def fcm_error(status, code, google_status, message):
    return status, {
        "error": {
            "code": status,
            "message": message,
            "status": google_status,
            "details": [
                {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}
            ],
        }
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        if self.path == "/_state":
            with lock:
                out = {k: (sorted(v) if isinstance(v, set) else v) for k, v in state.items()}
                out["tokens"] = len(state["tokens"])
            return self.reply(200, out)
        self.reply(404, {})

    def do_POST(self):
        raw = self.body()
        if self.path == "/_mode":
            change = json.loads(raw)
            with lock:
                for k, v in change.items():
                    state[k] = set(v) if k == "unregistered" else v
            return self.reply(200, {})
        if self.path == "/token":
            return self.token(raw)
        if self.path == f"/v1/projects/{PROJECT}/messages:send":
            return self.send_message(raw)
        self.reply(404, {"error": {"code": 404, "status": "NOT_FOUND"}})

    def token(self, raw):
        form = parse_qs(raw.decode())
        token_uri = f"http://{self.headers['Host']}/token"
        with lock:
            state["token_requests"] += 1
            expires_in = state["expires_in"]
        if form.get("grant_type") != [GRANT] or len(form.get("assertion", [])) != 1:
            with lock:
                state["assertion_errors"].append(f"grant: {form.get('grant_type')}")
            return self.reply(400, {"error": "unsupported_grant_type"})
        problems = check_assertion(form["assertion"][0], token_uri)
        if problems:
            with lock:
                state["assertion_errors"].extend(problems)
            return self.reply(400, {"error": "invalid_grant", "error_description": "; ".join(problems)})
        access = "ya29.test-" + secrets.token_urlsafe(24)
        with lock:
            state["tokens"][access] = time.time() + expires_in
        self.reply(200, {"access_token": access, "expires_in": expires_in, "token_type": "Bearer"})

    def send_message(self, raw):
        auth = self.headers.get("Authorization", "")
        with lock:
            state["attempts"] += 1
            mode, retry_after = state["mode"], state["retry_after"]
            expiry = state["tokens"].get(auth.removeprefix("Bearer "))
            unregistered = set(state["unregistered"])
        if expiry is None or expiry < time.time():
            return self.reply(*fcm_error(401, "THIRD_PARTY_AUTH_ERROR", "UNAUTHENTICATED", "bad token"))
        if mode == "hang":
            time.sleep(30)
            return self.reply(*fcm_error(503, "UNAVAILABLE", "UNAVAILABLE", "hung"))
        if mode == "503":
            with lock:
                state["refused"].append([503, "UNAVAILABLE", None])
            return self.reply(*fcm_error(503, "UNAVAILABLE", "UNAVAILABLE", "down"))
        if mode == "429":
            with lock:
                state["refused"].append([429, "QUOTA_EXCEEDED", None])
            status, body = fcm_error(429, "QUOTA_EXCEEDED", "RESOURCE_EXHAUSTED", "slow down")
            return self.reply(status, body, [("Retry-After", str(retry_after or 1))])
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        problems = message_problems(body) if body is not None else ["not JSON"]
        if problems:
            with lock:
                state["invalid"].append({"problems": problems, "body": body})
            return self.reply(*fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "; ".join(problems)))
        token = body["message"].get("token")
        if token in unregistered:
            with lock:
                state["refused"].append([404, "UNREGISTERED", token])
            return self.reply(*fcm_error(404, "UNREGISTERED", "NOT_FOUND", "Requested entity was not found."))
        with lock:
            state["deliveries"].append(body["message"])
            n = len(state["deliveries"])
        self.reply(200, {"name": f"projects/{PROJECT}/messages/{n}"})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    key_file = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": KEY_ID,
        "private_key": PRIVATE_PEM,
        "client_email": CLIENT_EMAIL,
        "client_id": "1",
        "token_uri": f"http://127.0.0.1:{port}/token",
    }
    print(f"FCM_FAKE_URL=http://127.0.0.1:{port}", flush=True)
    print("FCM_FAKE_KEY=" + base64.b64encode(json.dumps(key_file).encode()).decode(), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
