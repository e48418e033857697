#!/usr/bin/env python3
"""Bounded loopback load generator for benches/login_load.sh (standard library only).

    python3 benches/login_load.py --port PORT --email E --password P \
        [--seconds 20] [--concurrency 8] [--health-rate 50] [--max-requests 20000]

Three phases against http://127.0.0.1:PORT, each bounded in time and in requests:
  1. baseline: GET /api/v1/health at a steady rate, nothing else;
  2. load: POST /api/v1/auth/login from --concurrency keep-alive connections as fast as the server
     answers (closed loop), and, in a separate process so that neither delays the other's event
     loop, GET /api/v1/health at the same steady rate (open loop: a probe is sent on schedule
     even while earlier ones are still waiting).
Prints a table: successful logins per second, and the p50/p99/max latency of health idle and
under load. Latency is from writing the request to reading the whole response.
"""

import argparse
import asyncio
import json
import multiprocessing
import time

HOST = "127.0.0.1"


class Conn:
    """One HTTP/1.1 keep-alive connection; responses must carry Content-Length."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port):
        reader, writer = await asyncio.open_connection(HOST, port)
        return cls(reader, writer)

    async def request(self, raw):
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self):
        self.writer.close()


def health_request(port):
    return (
        f"GET /api/v1/health HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n"
    ).encode()


def login_request(port, email, password):
    body = json.dumps({"email": email, "password": password}).encode()
    return (
        f"POST /api/v1/auth/login HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


async def probe_health(port, rate, seconds, max_requests):
    """Open loop at `rate`/s for `seconds`: returns (latencies in ms, errors, late starts)."""
    idle, latencies, errors, late = [], [], [0], [0]
    raw = health_request(port)

    async def one(due):
        lag = time.perf_counter() - due
        if lag > 0.005:
            late[0] += 1
        conn = idle.pop() if idle else await Conn.open(port)
        start = time.perf_counter()
        try:
            status, _ = await asyncio.wait_for(conn.request(raw), 10)
        except Exception:  # noqa: BLE001 - counted, the connection is dropped
            errors[0] += 1
            conn.close()
            return
        latencies.append((time.perf_counter() - start) * 1000)
        if status != 200:
            errors[0] += 1
        idle.append(conn)

    # Warm one connection so that the first probe does not measure the TCP handshake alone.
    idle.append(await Conn.open(port))
    tasks, t0 = [], time.perf_counter()
    n = min(int(rate * seconds), max_requests)
    for i in range(n):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    for c in idle:
        c.close()
    return latencies, errors[0], late[0]


def probe_process(port, rate, seconds, max_requests, queue):
    queue.put(asyncio.run(probe_health(port, rate, seconds, max_requests)))


async def login_load(port, email, password, concurrency, seconds, max_requests):
    """Closed loop: returns (successful logins, other answers, latencies ms, elapsed s)."""
    raw = login_request(port, email, password)
    ok, failed, latencies, sent = [0], [0], [], [0]
    deadline = time.perf_counter() + seconds

    async def worker():
        conn = await Conn.open(port)
        while time.perf_counter() < deadline and sent[0] < max_requests:
            sent[0] += 1
            start = time.perf_counter()
            status, _ = await conn.request(raw)
            latencies.append((time.perf_counter() - start) * 1000)
            if status == 200:
                ok[0] += 1
            else:
                failed[0] += 1
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok[0], failed[0], latencies, time.perf_counter() - t0


async def login_burst(port, email, password, n):
    """`n` logins at once, each on its own connection: returns how many answered 200."""
    raw = login_request(port, email, password)

    async def one():
        conn = await Conn.open(port)
        try:
            status, _ = await conn.request(raw)
            return status == 200
        finally:
            conn.close()

    return sum(await asyncio.gather(*(one() for _ in range(n))))


def rss_mib(pid):
    """The server's resident memory (VmRSS) in MiB, or None without a pid."""
    if not pid:
        return None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def row(name, n, rate, lat, extra=""):
    return (
        f"{name:<34} {n:>8} {rate:>9.1f} {percentile(lat, 50):>8.2f} "
        f"{percentile(lat, 99):>8.2f} {max(lat) if lat else float('nan'):>8.2f}  {extra}"
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--email", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--health-rate", type=float, default=50)
    ap.add_argument("--max-requests", type=int, default=20000)
    ap.add_argument("--pid", type=int, default=0, help="the server's pid, to report its RSS")
    ap.add_argument("--burst", type=int, default=160, help="concurrent logins of the RSS burst")
    a = ap.parse_args()

    # Warm-up: a few logins (the first pays for lazy initialisation).
    asyncio.run(login_load(a.port, a.email, a.password, 2, 2, 10))

    base_lat, base_err, base_late = asyncio.run(
        probe_health(a.port, a.health_rate, a.seconds, a.max_requests)
    )

    queue = multiprocessing.get_context("fork").Queue()
    prober = multiprocessing.get_context("fork").Process(
        target=probe_process,
        args=(a.port, a.health_rate, a.seconds, a.max_requests, queue),
    )
    prober.start()
    ok, failed, login_lat, elapsed = asyncio.run(
        login_load(a.port, a.email, a.password, a.concurrency, a.seconds, a.max_requests)
    )
    load_lat, load_err, load_late = queue.get(timeout=a.seconds + 60)
    prober.join()

    print()
    print(f"{'scenario':<34} {'requests':>8} {'per sec':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(row("GET /health, no login load", len(base_lat), len(base_lat) / a.seconds, base_lat,
              f"errors={base_err} late_starts={base_late}"))
    print(row("GET /health, logins saturating", len(load_lat), len(load_lat) / a.seconds, load_lat,
              f"errors={load_err} late_starts={load_late}"))
    print(row(f"POST /auth/login x{a.concurrency} (200 only)", ok, ok / elapsed, login_lat,
              f"non-200={failed}"))
    p99 = percentile(load_lat, 99)
    verdict = "PASS" if p99 < 50 and load_err == 0 and failed == 0 else "FAIL"
    print(f"\nacceptance: p99 of /health under login load = {p99:.2f} ms (< 50 ms) -> {verdict}")
    print(f"logins per second (default argon2id, m=19456 KiB t=2 p=1): {ok / elapsed:.1f}")

    # Memory (issue 10, item 23): argon2 needs 19 MiB per hash; the server reuses one block per
    # hashing slot, so its RSS must not grow with the number of concurrent logins.
    if a.pid:
        print(f"\nRSS after the login storm: {rss_mib(a.pid):.1f} MiB")
        done = asyncio.run(login_burst(a.port, a.email, a.password, a.burst))
        print(f"RSS after {a.burst} concurrent logins ({done} answered 200): {rss_mib(a.pid):.1f} MiB")
        time.sleep(5)
        print(f"RSS 5 s later, idle: {rss_mib(a.pid):.1f} MiB")


if __name__ == "__main__":
    main()
