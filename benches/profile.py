#!/usr/bin/env python3
"""Instructions per request, load-independent (issue 13, session 5): one binary runs under
valgrind's callgrind, seeded as perf.py seeds it; for each route the counters are zeroed, a fixed
number of requests is sent one after the other on one keep-alive connection, and the counters are
dumped. Prints Ir (instructions executed by the server, all threads) per request. On a machine
shared with compilers, wall-clock figures drift by tens of percent; instruction counts do not, so
this is what to compare while changing code. Needs valgrind (Debian: apt-get install -y valgrind).

    benches/profile.py --binary target/release/educoin [--requests 1000] [--route health] \
        [--ceiling benches/ceiling/target/release/educoin-ceiling]   # the ceiling's Ir beside ours
    callgrind_annotate --inclusive=yes <workdir>/callgrind.out.<n> | head -60   # where it goes
"""

import argparse
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perf  # noqa: E402  (the seeding, the server process and its environment)


def dump(pid, workdir, before):
    """Dumps callgrind's counters and returns (Ir, file) of the new dump."""
    subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
    for _ in range(200):
        new = set(workdir.glob("callgrind.out*")) - before
        if new:
            f = max(new, key=lambda p: p.stat().st_mtime)
            time.sleep(0.3)  # let valgrind finish writing it
            text = f.read_text(errors="replace")
            m = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
            if m:
                return int(m.group(1)), f
        time.sleep(0.1)
    perf.die("callgrind wrote no dump")


def measure(server, home, method, path, headers, body, requests):
    """Ir per request of `requests` sequential requests (after 20 unmeasured ones)."""
    conn = http.client.HTTPConnection(perf.HOST, server.port, timeout=120)

    def one(i):
        b = body.replace("{n}", f"p{i}") if body else None
        conn.request(method, path, body=b, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            perf.die(f"{method} {path} answered {resp.status}")

    for i in range(20):
        one(-i - 1)
    before = set(home.glob("callgrind.out*"))
    subprocess.run(["callgrind_control", "-z", str(server.pid)], check=True, capture_output=True)
    for i in range(requests):
        one(i)
    ir, f = dump(server.pid, home, before)
    conn.close()
    return ir / requests, f


def callgrind(binary, home):
    return ["valgrind", "--tool=callgrind", "--collect-atstart=yes", f"--callgrind-out-file={home}/callgrind.out",
            os.path.abspath(binary)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--route", action="append", help="substring of a route label; repeat (default all reads)")
    ap.add_argument("--log-level", default="info")
    ap.add_argument("--mongodb", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the work dir (callgrind dumps) and print it")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="an extra variable for the server (e.g. NO_COLOR=1); repeat")
    ap.add_argument("--ceiling", metavar="PATH",
                    help="also profile this ceiling binary (benches/ceiling) at the routes' ceiling paths")
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        perf.die("valgrind is not installed (apt-get install -y valgrind)")

    home = Path(tempfile.mkdtemp(prefix="educoin-profile-"))
    env = perf.server_env(home, args.log_level, args.mongodb, "profile")
    env.update(kv.split("=", 1) for kv in args.env)
    server = perf.Server("profile", callgrind(args.binary, home), env, home)
    ceiling_home = home / "ceiling"
    ceiling_home.mkdir()
    ceiling = None
    try:
        tokens = perf.seed(server)
        if args.ceiling:
            ceiling = perf.Server("ceiling", callgrind(args.ceiling, ceiling_home),
                                  {"JWT_SECRET": perf.JWT_SECRET}, ceiling_home)
        print(f"# {args.binary}: Ir per request, {args.requests} sequential requests on one keep-alive "
              f"connection, LOG_LEVEL={args.log_level}")
        print("| route | Ir/request |" + (" ceiling | Ir/request |" if ceiling else ""))
        print("|---|---|" + ("---|---|" if ceiling else ""))
        for label, ceiling_path, method, path, token, body in perf.routes(tokens):
            if args.route and not any(r in label for r in args.route):
                continue
            if not args.route and method != "GET":
                continue
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            ir, f = measure(server, home, method, path, headers, body, args.requests)
            row = f"| {label} | {ir:,.0f} |"
            if ceiling and ceiling_path:
                cir, cf = measure(ceiling, ceiling_home, "GET", ceiling_path, headers, "", args.requests)
                row += f" {ceiling_path} | {cir:,.0f} |" + (f" {cf}" if args.keep else "")
            elif ceiling:
                row += " — | — |"
            print(row + (f" {f}" if args.keep else ""), flush=True)
    finally:
        server.stop()
        if ceiling:
            ceiling.stop()
        if args.keep:
            print(f"# work dir: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
