#!/usr/bin/env python3
"""Reliability under faults (issue 10, must show 2): one run prints

  (a) RSS of the server after 160 concurrent admin logins;
  (b) requests lost across 10 socket-activated restarts, with keep-alive clients that reuse their
      connection (as the apps' pooled clients do) and never retry;
  (c) throughput with Redis up, killed (SIGKILL) and hung (SIGSTOP), relative to up;
  (d) p50/p99 of a database route (GET /api/v1/rule/privacy-policy, signed in) while MongoDB
      (jongodb) is killed and while it is hung.

Usage: benches/faults.py PATH/TO/educoin      (standard-library Python; needs redis-server and
       the jongodb of tests/services: `npm ci --prefix tests/services`)
Never touches the shared Redis on 6379: it starts its own redis-server and jongodb on free ports.
Not a test: no figure is asserted.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JONGODB = os.path.join(
    ROOT, "tests/services/node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb")
ADMIN = ("bench-admin@example.com", "bench-password-123")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def server(binary, data_dir, port=0, env=None, listen_socket=None):
    e = {
        "PATH": os.environ.get("PATH", ""),
        "NODE_ENV": "test",
        "IP_ADDRESS": "127.0.0.1",
        "PORT": str(port),
        "METRICS_ADDRESS": "off",
        "STATE_DIRECTORY": data_dir,
        "LOG_LEVEL": "warn",
        "SUPER_ADMIN_EMAIL": ADMIN[0],
        "SUPER_ADMIN_PASSWORD": ADMIN[1],
        "LOGIN_RATE_LIMIT_MAX_FAILURES": "1000000",
        "LOGIN_RATE_LIMIT_MAX_ACCOUNT_FAILURES": "1000000",
        "RATE_LIMIT_MAX_REQUESTS": "100000000",
        "EDUCOIN_BIN": binary,
    }
    e.update(env or {})
    if listen_socket is None:
        return subprocess.Popen([binary], env=e, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    fd = listen_socket.fileno()

    def pass_socket():
        os.dup2(fd, 3)  # dup2 clears FD_CLOEXEC on 3
    return subprocess.Popen(
        ["/bin/sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$EDUCOIN_BIN"'], env=e,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=pass_socket,
        pass_fds=(fd,))


def request(conn, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers=headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, data


def wait_http(port, path="/api/v1/health", within=30):
    deadline = time.time() + within
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            if request(c, "GET", path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"port {port}: {path} not 200 within {within} s")


def login(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    status, data = request(c, "POST", "/api/v1/auth/login",
                           {"email": ADMIN[0], "password": ADMIN[1]})
    return status, (json.loads(data).get("data") if status == 200 else None)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round((len(values) - 1) * p)))]


def load(port, path, seconds, threads=8, token=None, timeout=30):
    """Keep-alive workers for `seconds`; (answered, errors, latencies in ms)."""
    stop = time.time() + seconds
    lock = threading.Lock()
    answered, errors, lat = [0], [0], []

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        while time.time() < stop:
            t = time.perf_counter()
            try:
                request(conn, "GET", path, token=token)
                ok = True
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
            with lock:
                lat.append((time.perf_counter() - t) * 1000)
                if ok:
                    answered[0] += 1
                else:
                    errors[0] += 1
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return answered[0], errors[0], lat


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def bench_logins(binary):
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        p = server(binary, d, port)
        try:
            wait_http(port, "/api/v1/health/ready")
            idle, _ = rss_mib(p.pid)
            results = []
            ts = [threading.Thread(target=lambda: results.append(login(port)[0]))
                  for _ in range(160)]
            started = time.time()
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            took = time.time() - started
            rss, peak = rss_mib(p.pid)
            ok = sum(1 for s in results if s == 200)
            print(f"(a) 160 concurrent logins: {ok} ok in {took:.1f} s; RSS idle {idle:.0f} MiB, "
                  f"after {rss:.0f} MiB, peak {peak:.0f} MiB")
        finally:
            stop(p)


def bench_restarts(binary, restarts=10, threads=8):
    with tempfile.TemporaryDirectory() as d:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        port = sock.getsockname()[1]
        p = server(binary, d, listen_socket=sock)
        wait_http(port)
        done = threading.Event()
        lock = threading.Lock()
        counts = {"ok": 0, "lost": 0}

        def worker():
            # One connection, reused for every request (http.client reopens it only after the
            # server said `Connection: close` or it failed); a failed request is not retried.
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while not done.is_set():
                try:
                    status, _ = request(conn, "GET", "/api/v1/health")
                    key = "ok" if status == 200 else "lost"
                except (OSError, http.client.HTTPException):
                    key = "lost"
                    conn.close()
                with lock:
                    counts[key] += 1
        ts = [threading.Thread(target=worker) for _ in range(threads)]
        for t in ts:
            t.start()
        exits = []
        for _ in range(restarts):
            time.sleep(0.4)
            exits.append(stop(p))
            p = server(binary, d, listen_socket=sock)
        time.sleep(0.4)
        done.set()
        for t in ts:
            t.join()
        stop(p)
        sock.close()
        print(f"(b) {restarts} socket-activated restarts, {threads} keep-alive clients: "
              f"{counts['ok']} answered, {counts['lost']} lost; exit codes {sorted(set(exits))}")


class Redis:
    def __init__(self):
        self.port = free_port()
        self.start()

    def start(self):
        self.p = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.02)

    def kill(self):
        self.p.send_signal(signal.SIGCONT)
        self.p.kill()
        self.p.wait()


def bench_redis(binary, seconds=3):
    redis = Redis()
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        p = server(binary, d, port, {"REDIS_URL": f"redis://127.0.0.1:{redis.port}"})
        try:
            wait_http(port, "/api/v1/health/ready")
            path = "/api/v1/rule/privacy-policy"  # 401 without a token: limiter, then auth
            up, up_err, _ = load(port, path, seconds)
            redis.kill()
            killed, killed_err, _ = load(port, path, seconds)
            redis.start()
            wait_http(port, "/api/v1/health/ready")
            redis.p.send_signal(signal.SIGSTOP)
            hung, hung_err, _ = load(port, path, seconds)
            redis.p.send_signal(signal.SIGCONT)
            rate = lambda n: n / seconds
            print(f"(c) throughput, Redis up {rate(up):.0f} req/s; killed {rate(killed):.0f} req/s "
                  f"({killed / max(up, 1):.3f} of up); hung {rate(hung):.0f} req/s "
                  f"({hung / max(up, 1):.3f} of up); errors {up_err}/{killed_err}/{hung_err}")
        finally:
            stop(p)
            redis.kill()


class Jongodb:
    def __init__(self):
        self.port = free_port()
        self.start()

    def start(self):
        self.p = subprocess.Popen([JONGODB, "--host=127.0.0.1", f"--port={self.port}"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in self.p.stdout:
            if line.startswith("JONGODB_URI="):
                break
        threading.Thread(target=lambda: [None for _ in self.p.stdout], daemon=True).start()

    def kill(self):
        self.p.send_signal(signal.SIGCONT)
        self.p.kill()
        self.p.wait()


def bench_mongo(binary, seconds=6):
    mongo = Jongodb()
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        p = server(binary, d, port,
                   {"DATABASE_URL": f"mongodb://127.0.0.1:{mongo.port}/bench"})
        try:
            wait_http(port, "/api/v1/health/ready")
            status, token = login(port)
            assert status == 200, status
            path = "/api/v1/rule/privacy-policy"
            n, _, lat = load(port, path, 2, threads=4, token=token)
            print(f"(d) database route, MongoDB up: p50 {percentile(lat, .5):.0f} ms, "
                  f"p99 {percentile(lat, .99):.0f} ms ({n} requests)")
            mongo.kill()
            time.sleep(2)
            n, err, lat = load(port, path, seconds, threads=4, token=token)
            print(f"    MongoDB killed: p50 {percentile(lat, .5):.0f} ms, "
                  f"p99 {percentile(lat, .99):.0f} ms ({n} answered, {err} errors)")
            mongo.start()
            wait_http(port, "/api/v1/health/ready", within=60)
            mongo.p.send_signal(signal.SIGSTOP)
            time.sleep(2)
            n, err, lat = load(port, path, seconds, threads=4, token=token)
            print(f"    MongoDB hung: p50 {percentile(lat, .5):.0f} ms, "
                  f"p99 {percentile(lat, .99):.0f} ms ({n} answered, {err} errors)")
            mongo.p.send_signal(signal.SIGCONT)
        finally:
            stop(p)
            mongo.kill()


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    print(f"binary: {binary}")
    bench_logins(binary)
    bench_restarts(binary)
    bench_redis(binary)
    bench_mongo(binary)


if __name__ == "__main__":
    main()
