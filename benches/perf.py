#!/usr/bin/env python3
"""Per-route throughput, latency and server cost of one or more educoin binaries against poem's
ceiling, measured in the same run in interleaved rounds (issue 13). Standard library only; the load
comes from `wrk` (Debian: apt-get install -y wrk). Not part of the test run. See benches/README.md.

    benches/perf.py --binary base=/work/bench/educoin-base --binary new=target/release/educoin
    benches/perf.py --binary new=target/release/educoin --rounds 1 --seconds 3 --skip-login
    benches/perf.py --binary new=... --mongodb mongodb://127.0.0.1:27017/bench  (jongodb: a TEST server)
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import http.client
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
# One secret for every server and the ceiling, so that the ceiling verifies the servers' tokens.
JWT_SECRET = "bench-" + "0123456789abcdef" * 4
PASSWORD = "bench-password-123"
ASSIGNED_TASKS = 50

# wrk's Lua side: method, body and auth header from the arguments after `--`; one machine-readable
# line at the end. Bodies may contain `{n}`, replaced by a per-thread counter (unique names).
WRK_LUA = r"""
local method, token, body
local counter = 0
local tid = 0
local threads = {}
function setup(thread)
  tid = tid + 1
  thread:set("tid", tid)
  table.insert(threads, thread)
end
function init(args)
  method = args[1]
  token = args[2]
  body = args[3]
  if body == "" then body = nil end
  wrk.method = method
  wrk.headers["Content-Type"] = "application/json"
  if token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
end
function request()
  if body then
    counter = counter + 1
    local b = string.gsub(body, "{n}", tid .. "-" .. counter)
    return wrk.format(nil, nil, nil, b)
  end
  return wrk.format()
end
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d status_errors=%d socket_errors=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def die(msg):
    print(f"perf.py: {msg}", file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def clk_tck():
    return os.sysconf(os.sysconf_names["SC_CLK_TCK"])


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads, also those that ended)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / clk_tck()


def context_switches(pid):
    """voluntary + nonvoluntary context switches summed over the live threads."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass  # the thread ended between listing and reading
    return total


def proc_status(pid, key):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return line.split()[1]
    return "?"


def request(port, method, path, body=None, token=None):
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = data.decode(errors="replace")
    return resp.status, parsed


def ok(port, method, path, body=None, token=None):
    status, parsed = request(port, method, path, body, token)
    if status != 200:
        die(f"seeding: {method} {path} answered {status}: {parsed}")
    return parsed


class Server:
    """A server process on a free loopback port in its own temp dir."""

    def __init__(self, name, argv, env, workdir):
        self.name = name
        self.port = free_port()
        self.workdir = workdir
        self.log = open(workdir / "server.log", "wb")
        notify = workdir / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(notify))
        self.sock.settimeout(0.5)
        env = dict(env, PORT=str(self.port), NOTIFY_SOCKET=str(notify))
        started = time.perf_counter()
        self.proc = subprocess.Popen(argv, env=env, cwd=workdir, stdout=self.log, stderr=self.log)
        self.ready_s = None
        self._wait_ready(started, expect_notify=name != "ceiling")

    @property
    def pid(self):
        return self.proc.pid

    def _wait_ready(self, started, expect_notify):
        deadline = started + 60
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                die(f"{self.name} exited with {self.proc.returncode}; log: {self.workdir}/server.log\n"
                    + (self.workdir / "server.log").read_text()[-3000:])
            if expect_notify:
                try:
                    msg = self.sock.recv(4096).decode(errors="replace")
                except socket.timeout:
                    continue
                if "READY=1" in msg.splitlines():
                    self.ready_s = time.perf_counter() - started
                    return
            else:
                try:
                    socket.create_connection((HOST, self.port), timeout=0.2).close()
                    self.ready_s = time.perf_counter() - started
                    return
                except OSError:
                    time.sleep(0.05)
        die(f"{self.name} did not become ready within 60 s; log: {self.workdir}/server.log")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.sock.close()
        self.log.close()


def seed(server):
    """Two teachers: `reader` owns a class, students and 50 assigned tasks (its reads never see the
    writes), `writer` owns the categories the write benchmarks create and patch."""
    port = server.port
    tokens = {}
    for who in ("reader", "writer"):
        email = f"bench-{who}@school.test"
        ok(port, "POST", "/api/v1/teacher/sign-up", {
            "name": f"Bench {who}", "email": email, "contact": "0123456789",
            "location": "Bench", "password": PASSWORD, "confirm_password": PASSWORD})
        tokens[who] = ok(port, "POST", "/api/v1/teacher/login",
                         {"email": email, "password": PASSWORD})["data"]
    reader = tokens["reader"]
    ok(port, "POST", "/api/v1/class/create-class",
       {"className": "Bench class", "startDate": "2025-01-06"}, reader)
    students = []
    passcodes = random.sample(range(100000, 1000000), 5)
    for i in range(5):
        passcode = str(passcodes[i])
        data = ok(port, "POST", "/api/v1/student/create-student",
                  {"name": f"Student {i}", "password": passcode, "class": "Bench class",
                   "profile": ""}, reader)["data"]
        students.append((data["_id"], passcode))
    cats = [ok(port, "POST", "/api/v1/category/create-category",
               {"name": f"Category {i}", "image": "/images/icon-star.png"}, reader)["data"]["_id"]
            for i in range(5)]
    student_id, passcode = students[0]
    for i in range(ASSIGNED_TASKS):
        task = ok(port, "POST", "/api/v1/task/create-task",
                  {"name": f"Task {i}", "points": 10, "category": cats[i % len(cats)],
                   "type": "good", "repeat": "everyday"}, reader)["data"]["_id"]
        ok(port, "POST", "/api/v1/assign-task", {"task": task, "student": student_id}, reader)
    listed = ok(port, "GET", "/api/v1/assign-task", token=reader)["data"]
    if len(listed) != ASSIGNED_TASKS:
        die(f"seeding: GET /assign-task lists {len(listed)} rows, not {ASSIGNED_TASKS}")
    tokens["student"] = ok(port, "POST", "/api/v1/student/login", {"password": passcode})["data"]
    tokens["category"] = ok(port, "POST", "/api/v1/category/create-category",
                            {"name": "Patched", "image": "/images/icon-star.png"},
                            tokens["writer"])["data"]["_id"]
    return tokens


def routes(tokens):
    """(label, ceiling route, method, path, token, body template)."""
    return [
        ("GET /health", "/hello", "GET", "/api/v1/health", "", ""),
        ("GET /teacher/profile/", "/hello-jwt", "GET", "/api/v1/teacher/profile/", tokens["reader"], ""),
        ("GET /student/profile", "/hello-jwt", "GET", "/api/v1/student/profile", tokens["student"], ""),
        (f"GET /assign-task ({ASSIGNED_TASKS} rows)", None, "GET", "/api/v1/assign-task", tokens["reader"], ""),
        ("POST /category/create-category", None, "POST", "/api/v1/category/create-category",
         tokens["writer"], json.dumps({"name": "Bench {n}", "image": "/images/icon-star.png"})),
        ("PATCH /category/:id", None, "PATCH", f"/api/v1/category/{tokens['category']}",
         tokens["writer"], json.dumps({"name": "Patched {n}", "image": "/images/icon-star.png"})),
    ]


def run_wrk(args, lua, server, method, path, token, body, seconds, connections, threads):
    before_cpu, before_cs = cpu_seconds(server.pid), context_switches(server.pid)
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
         "-s", str(lua), f"http://{HOST}:{server.port}{path}", "--", method, token or "", body or ""],
        capture_output=True, text=True)
    cpu = cpu_seconds(server.pid) - before_cpu
    cs = context_switches(server.pid) - before_cs
    m = re.search(r"RESULT (.*)", out.stdout)
    if out.returncode != 0 or not m:
        die(f"wrk failed against {server.name} {path}:\n{out.stdout}\n{out.stderr}")
    r = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    n = max(r["requests"], 1)
    return {
        "rps": r["requests"] / (r["duration_us"] / 1e6),
        "p99_ms": r["p99_us"] / 1000,
        "cpu_us": cpu * 1e6 / n,
        "cs": cs / n,
        "requests": r["requests"],
        "bad": r["status_errors"] + r["socket_errors"],
    }


class HealthProbe(threading.Thread):
    """GET /health every `interval` on one keep-alive connection while the storm runs."""

    def __init__(self, port, interval=0.02):
        super().__init__(daemon=True)
        self.port, self.interval = port, interval
        self.latencies, self.errors = [], 0
        self.stopping = threading.Event()

    def run(self):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        while not self.stopping.is_set():
            t0 = time.perf_counter()
            try:
                conn.request("GET", "/api/v1/health")
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    self.errors += 1
            except (OSError, http.client.HTTPException):
                self.errors += 1
                conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
                continue
            self.latencies.append((time.perf_counter() - t0) * 1000)
            self.stopping.wait(max(0.0, self.interval - (time.perf_counter() - t0)))


def p99(values):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * 0.99))]


def fmt_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line(r) for r in rows])


def server_env(home, log_level, mongodb, name):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
        "NODE_ENV": "development", "IP_ADDRESS": HOST, "METRICS_ADDRESS": "off",
        "STATE_DIRECTORY": str(home), "LOG_LEVEL": log_level, "JWT_SECRET": JWT_SECRET,
        "RATE_LIMIT_MAX_REQUESTS": "1000000000", "SIGNUP_RATE_LIMIT_MAX": "1000000",
        "LOGIN_RATE_LIMIT_MAX_FAILURES": "1000000000",
        "LOGIN_RATE_LIMIT_MAX_ACCOUNT_FAILURES": "1000000000",
        "PASSWORD_HASH_QUEUE_WAIT_MS": "600000",
    }
    if mongodb:
        db = f"educoin_bench_{name}_{os.getpid()}"
        base, _, query = mongodb.partition("?")
        scheme, _, rest = base.partition("://")
        hostpart = rest.split("/", 1)[0]
        env["DATABASE_URL"] = f"{scheme}://{hostpart}/{db}" + (f"?{query}" if query else "")
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", action="append", required=True, metavar="NAME=PATH",
                    help="an educoin binary to measure; repeat to compare in the same run")
    ap.add_argument("--ceiling", default=str(HERE / "ceiling/target/release/educoin-ceiling"),
                    help="the poem hello-world (cargo build --release in benches/ceiling)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5, help="per route, server and round")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--login-seconds", type=int, default=10)
    ap.add_argument("--login-connections", type=int, default=8)
    ap.add_argument("--skip-login", action="store_true")
    ap.add_argument("--route", action="append",
                    help="only the routes whose label contains this (repeat); default all")
    ap.add_argument("--log-level", default="info", help="the servers' LOG_LEVEL (info, as deployed)")
    ap.add_argument("--mongodb", metavar="URI",
                    help="run the servers on MongoDB at URI instead of the embedded SQLite")
    args = ap.parse_args()

    if not shutil.which("wrk"):
        die("wrk is not installed (Debian: apt-get install -y wrk); it is the load generator")
    ceiling = Path(args.ceiling)
    if not os.access(ceiling, os.X_OK):
        die(f"no ceiling binary at {ceiling}: (cd benches/ceiling && cargo build --release)")
    binaries = []
    for spec in args.binary:
        name, _, path = spec.partition("=")
        if not path or not os.access(path, os.X_OK):
            die(f"--binary {spec}: expected NAME=PATH to an executable")
        binaries.append((name, str(Path(path).resolve())))

    tmp = Path(tempfile.mkdtemp(prefix="educoin-perf-"))
    lua = tmp / "bench.lua"
    lua.write_text(WRK_LUA)
    servers = {}
    try:
        print(f"# educoin perf: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, "
              f"{os.cpu_count()} CPUs, load average {open('/proc/loadavg').read().split()[:3]}")
        print(f"# wrk -c {args.connections} -t {args.threads}, {args.rounds} interleaved rounds x "
              f"{args.seconds} s per route and server; LOG_LEVEL={args.log_level}; storage: "
              + ("MongoDB at the given URI (jongodb is a TEST server: its figures say nothing "
                 "about a production MongoDB)" if args.mongodb else "embedded SQLite + in-process cache"))
        for name, path in binaries:
            print(f"# {name}: {path}")
        ready = {}
        for name, path in binaries:
            home = tmp / name
            home.mkdir()
            servers[name] = Server(name, [path], server_env(home, args.log_level, args.mongodb, name), home)
            ready[name] = servers[name].ready_s
        chome = tmp / "ceiling"
        chome.mkdir()
        servers["ceiling"] = Server("ceiling", [str(ceiling)], {"JWT_SECRET": JWT_SECRET}, chome)

        tokens = {name: seed(servers[name]) for name, _ in binaries}
        names = [n for n, _ in binaries]
        plan = [r for r in routes(tokens[names[0]]) if not args.route or any(x in r[0] for x in args.route)]
        samples = {}  # (label, target) -> [result per round]
        for rnd in range(args.rounds):
            print(f"# round {rnd + 1}/{args.rounds}", file=sys.stderr)
            for i, (label, ceiling_path, method, *_) in enumerate(plan):
                # Rotate the order each round so that no server always runs first.
                order = names[rnd % len(names):] + names[: rnd % len(names)]
                for name in order:
                    _, _, _, path, token, body = next(r for r in routes(tokens[name]) if r[0] == label)
                    samples.setdefault((label, name), []).append(run_wrk(
                        args, lua, servers[name], method, path, token, body, args.seconds,
                        args.connections, args.threads))
                key = (ceiling_path, "ceiling")
                if ceiling_path and len(samples.get(key, [])) <= rnd:
                    samples.setdefault(key, []).append(run_wrk(
                        args, lua, servers["ceiling"], "GET", ceiling_path, tokens[names[0]]["reader"],
                        "", args.seconds, args.connections, args.threads))

        def agg(runs):
            med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
            return {"rps": med("rps"), "p99_ms": med("p99_ms"), "cpu_us": med("cpu_us"),
                    "cs": med("cs"), "bad": sum(r["bad"] for r in runs)}

        print()
        print("## Routes (median of rounds; CPU and context switches are the server's, per request)")
        print()
        header = ["route", "server", "req/s", "p99 ms", "CPU µs/req", "ctx sw/req", "ratio to ceiling", "non-2xx"]
        rows = []
        for label, ceiling_path, *_ in plan:
            c = agg(samples[(ceiling_path, "ceiling")]) if ceiling_path else None
            if c:
                rows.append([label, f"ceiling {ceiling_path[1:]}", f"{c['rps']:.0f}", f"{c['p99_ms']:.2f}",
                             f"{c['cpu_us']:.1f}", f"{c['cs']:.2f}", "1.00", c["bad"]])
            for name in names:
                a = agg(samples[(label, name)])
                ratio = f"{a['rps'] / c['rps']:.2f}" if c else "—"
                rows.append([label, name, f"{a['rps']:.0f}", f"{a['p99_ms']:.2f}", f"{a['cpu_us']:.1f}",
                             f"{a['cs']:.2f}", ratio, a["bad"]])
        print(fmt_table(header, rows))
        if len(names) > 1:
            print()
            print(f"## {names[-1]} / {names[0]} (req/s)")
            print()
            print(fmt_table(["route", "speed-up"], [
                [label, f"{agg(samples[(label, names[-1])])['rps'] / agg(samples[(label, names[0])])['rps']:.2f}x"]
                for label, *_ in plan]))

        if not args.skip_login:
            login = {}
            for rnd in range(args.rounds if args.rounds < 2 else 2):
                for name in names[rnd % len(names):] + names[: rnd % len(names)]:
                    s = servers[name]
                    probe = HealthProbe(s.port)
                    probe.start()
                    body = json.dumps({"email": "bench-reader@school.test", "password": PASSWORD})
                    r = run_wrk(args, lua, s, "POST", "/api/v1/teacher/login", "", body,
                                args.login_seconds, args.login_connections, 1)
                    probe.stopping.set()
                    probe.join()
                    entry = login.setdefault(name, {"rps": [], "p99": [], "bad": 0, "probe_errors": 0})
                    entry["rps"].append(r["rps"])
                    entry["cpu"] = r["cpu_us"]
                    entry["p99"].append(p99(probe.latencies))
                    entry["bad"] += r["bad"]
                    entry["probe_errors"] += probe.errors
            print()
            print(f"## Login storm (POST /teacher/login, argon2id, {args.login_connections} connections, "
                  f"{args.login_seconds} s per round; GET /health probed every 20 ms meanwhile)")
            print()
            rows = []
            for name in names:
                e = login[name]
                pid = servers[name].pid
                rows.append([name, f"{statistics.median(e['rps']):.1f}", f"{statistics.median(e['p99']):.2f}",
                             f"{int(proc_status(pid, 'VmRSS')) / 1024:.0f}",
                             f"{int(proc_status(pid, 'VmHWM')) / 1024:.0f}", proc_status(pid, "Threads"),
                             f"{ready[name] * 1000:.0f}", e["bad"] + e["probe_errors"]])
            print(fmt_table(["server", "logins/s", "health p99 ms (storm)", "RSS MiB after",
                             "peak RSS MiB", "threads", "start-to-READY ms", "errors"], rows))
        else:
            print()
            print(fmt_table(["server", "start-to-READY ms", "RSS MiB", "threads"], [
                [n, f"{ready[n] * 1000:.0f}", f"{int(proc_status(servers[n].pid, 'VmRSS')) / 1024:.0f}",
                 proc_status(servers[n].pid, "Threads")] for n in names]))
        print()
        print("# Absolute figures move with the machine and its other load; the ratios are the result.")
    finally:
        for s in servers.values():
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
