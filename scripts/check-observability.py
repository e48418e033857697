#!/usr/bin/env python3
"""The alerting rules, their unit tests, the Grafana dashboard and the runbook, held to a real server.

    scripts/check-observability.py BINARY

1. `promtool check rules` and `promtool test rules` (ops/prometheus/alerts.test.yml).
2. Every alert has a test that fires it and one that must not, and a runbook_url whose section exists in
   docs/runbook.md.
3. Every PromQL expression of ops/grafana/educoin.json parses (promtool, through a generated rule file).
4. Every metric named by the rules or the dashboard is in a scrape of a real instance: BINARY on jongodb
   and a Redis of its own, driven through failed and refused logins, then with both dependencies killed so
   that the error counters and the open circuits exist too.
5. A real Prometheus scrapes that instance and answers a query for our series.

Needs promtool and prometheus (Debian's `prometheus`), redis-server, and jongodb from tests/services
(npm ci). A missing tool fails the check.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = os.path.join(ROOT, "ops/prometheus/alerts.yml")
RULE_TESTS = os.path.join(ROOT, "ops/prometheus/alerts.test.yml")
DASHBOARD = os.path.join(ROOT, "ops/grafana/educoin.json")
RUNBOOK = os.path.join(ROOT, "docs/runbook.md")
JONGODB = os.path.join(
    ROOT, "tests/services/node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb"
)
# Series that Prometheus itself makes, not the server.
PROMETHEUS_OWN = {"up"}
failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}", file=sys.stderr)


def need(tool):
    path = shutil.which(tool) or (tool if os.path.exists(tool) else None)
    if not path:
        sys.exit(f"check-observability: {tool} is missing (Debian: prometheus, redis-server; npm ci --prefix tests/services)")
    return path


def run(*cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def yaml_rules():
    """(alert name, runbook_url) for every alert, read from the rules file's plain layout."""
    alerts, current = [], None
    for line in open(RULES):
        m = re.match(r"\s*- alert: (\S+)", line)
        if m:
            current = [m.group(1), None]
            alerts.append(current)
        m = re.match(r'\s*runbook_url: "([^"]+)"', line)
        if m and current:
            current[1] = m.group(1)
    return alerts


def check_alert_coverage(alerts):
    """Each alert: one test with expected alerts and one with none (promtool asserts both exactly)."""
    text = open(RULE_TESTS).read()
    cases = re.findall(r"alertname: (\S+)\s*\n\s*exp_alerts:\s*(\[\])?", text)
    anchors = set()
    for line in open(RUNBOOK):
        m = re.match(r"#+ (.+)", line)
        if m:
            anchors.add(re.sub(r"[^a-z0-9 -]", "", m.group(1).strip().lower()).replace(" ", "-"))
    for name, url in alerts:
        fires = any(a == name and not empty for a, empty in cases)
        quiet = any(a == name and empty for a, empty in cases)
        if not fires:
            fail(f"{name}: no test in alerts.test.yml expects it to fire")
        if not quiet:
            fail(f"{name}: no test in alerts.test.yml expects it to stay quiet")
        if not url or "#" not in url:
            fail(f"{name}: no runbook_url")
        elif url.split("#", 1)[1] not in anchors:
            fail(f"{name}: runbook_url {url} has no section in docs/runbook.md")
    print(f"{len(alerts)} alerts, each with a firing and a quiet test and a runbook section")


def dashboard_exprs():
    dash = json.load(open(DASHBOARD))
    exprs = []
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            exprs.append((panel["title"], target["expr"]))
    variables = [v["name"] for v in dash["templating"]["list"]]
    if "datasource" not in variables:
        fail("the dashboard has no datasource variable: it would not import into another Grafana")
    for panel in dash["panels"]:
        if panel.get("datasource", {}).get("uid") != "${datasource}":
            fail(f"panel {panel['title']!r} does not use the datasource variable")
    return exprs


def check_dashboard_parses(exprs, tmp):
    """Grafana's variables get values Prometheus accepts, then promtool parses each as a recording rule."""
    path = os.path.join(tmp, "dashboard-rules.yml")
    with open(path, "w") as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for i, (_, expr) in enumerate(exprs):
            expr = expr.replace("$__rate_interval", "5m").replace("$job", ".*")
            f.write(f"      - record: dashboard:panel_{i}\n        expr: {json.dumps(expr)}\n")
    run(need("promtool"), "check", "rules", path)


def metric_names(exprs):
    """The metric names the rules and the dashboard read (recording-rule names excluded)."""
    text = open(RULES).read() + "\n".join(e for _, e in exprs)
    names = set(re.findall(r"\b(educoin_[a-z_]+|up)\b", text))
    return names


def http(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return 0, str(e).encode()


def wait_for(what, probe, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if probe():
            return
        time.sleep(0.2)
    sys.exit(f"check-observability: {what} did not come up within {seconds} s")


def scrape_real_instance(binary, names, tmp):
    procs = []
    try:
        redis_port = free_port()
        redis = subprocess.Popen(
            [need("redis-server"), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        procs.append(redis)
        jlog = open(os.path.join(tmp, "jongodb.log"), "w+")
        jongo = subprocess.Popen([need(JONGODB), "--host=127.0.0.1", "--port=0"], stdout=jlog, stderr=jlog)
        procs.append(jongo)

        def jongo_uri():
            jlog.seek(0)
            m = re.search(r"^JONGODB_URI=(\S+)", jlog.read(), re.M)
            return m.group(1).rsplit("/", 1)[0] if m else None

        wait_for("jongodb", jongo_uri)
        port, metrics_port = free_port(), free_port()
        env = {
            "PATH": os.environ["PATH"],
            "NODE_ENV": "development",
            "IP_ADDRESS": "127.0.0.1",
            "PORT": str(port),
            "METRICS_ADDRESS": f"127.0.0.1:{metrics_port}",
            "STATE_DIRECTORY": tmp,
            "DATABASE_URL": f"{jongo_uri()}/educoin_observability",
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}",
            "LOG_LEVEL": "warn",
        }
        server = subprocess.Popen([binary], env=env, stdout=open(os.path.join(tmp, "server.log"), "w"), stderr=subprocess.STDOUT)
        procs.append(server)
        api = f"http://127.0.0.1:{port}/api/v1"
        wait_for("the server", lambda: http("GET", f"{api}/health/ready")[0] == 200)

        prom_port = free_port()
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write(
                "global: {scrape_interval: 1s}\n"
                "scrape_configs:\n"
                f"  - job_name: educoin\n    static_configs: [{{targets: ['127.0.0.1:{metrics_port}']}}]\n"
            )
        prom = subprocess.Popen(
            [need("prometheus"), f"--config.file={tmp}/prometheus.yml", f"--storage.tsdb.path={tmp}/tsdb",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prometheus.log"), "w"),
        )
        procs.append(prom)

        # Traffic that makes every labelled family exist: a failed login, refused logins, an unknown route.
        http("POST", f"{api}/teacher/sign-up", {"name": "Obs Teacher", "email": "obs@example.com", "contact": "0400000000",
                                                 "location": "Here", "password": "Correct-horse-9", "confirm_password": "Correct-horse-9"})
        for _ in range(15):
            http("POST", f"{api}/teacher/login", {"email": "obs@example.com", "password": "Wrong-password-9"})
        http("GET", f"{api}/no-such-route")
        # Then both dependencies die mid-traffic: store and cache errors, and the circuits open.
        redis.kill()
        jongo.kill()
        for _ in range(10):
            http("POST", f"{api}/teacher/login", {"email": "obs@example.com", "password": "Wrong-password-9"})
            http("GET", f"{api}/health/ready")
        time.sleep(2)
        status, body = http("GET", f"http://127.0.0.1:{metrics_port}/metrics")
        if status != 200:
            sys.exit(f"check-observability: /metrics answered {status}")
        scraped = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", body.decode(), re.M))
        families = {re.sub(r"_(bucket|count|sum)$", "", n) for n in scraped} | scraped
        missing = sorted(n for n in names - PROMETHEUS_OWN if n not in families)
        for n in missing:
            fail(f"{n} is named by the rules or the dashboard but absent from a real scrape")
        print(f"{len(names)} metric names used; all present in a real scrape" if not missing else "")

        def prometheus_sees():
            s, b = http("GET", f"http://127.0.0.1:{prom_port}/api/v1/query?query=educoin_build_info")
            return s == 200 and json.loads(b)["data"]["result"]

        wait_for("Prometheus's scrape of educoin_build_info", prometheus_sees, 60)
        s, b = http("GET", f"http://127.0.0.1:{prom_port}/api/v1/query?query=count(%7B__name__%3D~%22educoin_.%2A%22%7D)")
        print(f"a real Prometheus scraped the instance: {json.loads(b)['data']['result'][0]['value'][1]} educoin series")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    promtool = need("promtool")
    need("prometheus")
    run(promtool, "check", "rules", RULES)
    run(promtool, "test", "rules", RULE_TESTS)
    alerts = yaml_rules()
    check_alert_coverage(alerts)
    exprs = dashboard_exprs()
    with tempfile.TemporaryDirectory(prefix="educoin-observability-") as tmp:
        check_dashboard_parses(exprs, tmp)
        scrape_real_instance(binary, metric_names(exprs), tmp)
    if failures:
        sys.exit(f"check-observability: {len(failures)} failure(s)")
    print("check-observability: ok")


if __name__ == "__main__":
    main()
