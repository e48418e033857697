#!/usr/bin/env bash
# Checks of the Nix and shell parts that run without nixpkgs (Debian's nix-bin is enough):
#   1. every .nix file parses (nix-instantiate --parse);
#   2. the pure unit file nixos/unit.nix evaluates to JSON (plain and socket-activated) and keeps its
#      invariants (Type=notify, watchdog, DynamicUser, hardening, credentials, socket names, ...);
#   2b. flake.nix's outputs evaluate against stubs of nixpkgs and crane (tests/nix/) and have the
#      required shape (packages, apps, checks, devShells, nixosModules, the image's config);
#   2c. nixos/module.nix's config, evaluated with a stand-in lib, wires settings, credentials, local
#      services, sockets and Prometheus as intended (tests/nix/module-glue.nix);
#   3. flake.nix's inputs match flake.lock's `original` entries, and every locked node holds the real
#      values recorded in NIX-FACTS.md (cross-checked against that file when it is found);
#   4. shellcheck reports nothing on every shell script in the repository.
#
# usage: scripts/nix-check.sh [PATH/TO/NIX-FACTS.md]     (default: ../shared/docs/NIX-FACTS.md if present)
# Needs: nix-instantiate, python3, shellcheck, git. Exit 1 on the first failing group; prints a summary.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
FACTS=${1:-}
if [[ -z $FACTS ]]; then
  for f in "$REPO/../shared/docs/NIX-FACTS.md" "$REPO/docs/NIX-FACTS.md"; do
    [[ -f $f ]] && FACTS=$f && break
  done
fi

passed=0
failed=0
ok() { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

for tool in nix-instantiate python3 shellcheck; do
  command -v "$tool" >/dev/null || { echo "nix-check: missing tool: $tool" >&2; exit 2; }
done

# Files of the repository (tracked or not, minus ignored ones), without node_modules and build output.
list_files() {
  if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$REPO" ls-files --cached --others --exclude-standard -z | tr '\0' '\n'
  else
    find . -type f -not -path './.git/*' -not -path './target/*' | sed 's|^\./||'
  fi | grep -vE '(^|/)(node_modules|target|\.dev)/' | while IFS= read -r f; do [[ -f $f ]] && echo "$f"; done
}

# ---------------------------------------------------------------------------------------------------
# 1. parse every .nix file
# ---------------------------------------------------------------------------------------------------
mapfile -t nix_files < <(list_files | grep -E '\.nix$' | sort)
parse_fail=0
for f in "${nix_files[@]}"; do
  if ! err=$(nix-instantiate --parse "$f" 2>&1 >/dev/null); then
    bad "nix-instantiate --parse $f: $err"
    parse_fail=1
  fi
done
((${#nix_files[@]} > 0)) || bad "no .nix files found"
((parse_fail)) || ok "nix-instantiate --parse: ${#nix_files[@]} files parse (${nix_files[*]})"

# ---------------------------------------------------------------------------------------------------
# 2. evaluate the pure unit file
# ---------------------------------------------------------------------------------------------------
eval_unit() { nix-instantiate --eval --strict --json nixos/unit.nix --argstr package /opt/educoin "$@"; }
if plain=$(eval_unit) && socket=$(eval_unit --arg socketActivation true \
  --arg credentials '{ jwt_secret = "/run/secrets/jwt"; }' --arg settings '{ PORT = 8080; IP_ADDRESS = "::"; }') &&
  nometrics=$(eval_unit --arg socketActivation true --arg settings '{ METRICS_ADDRESS = "none"; }'); then
  if msg=$(python3 - "$plain" "$socket" "$nometrics" <<'PY'
import json, sys
plain, sock, nometrics = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
problems = []
def expect(cond, what):
    if not cond:
        problems.append(what)
s = plain["serviceConfig"]
want = {
    "Type": "notify", "NotifyAccess": "main", "Restart": "on-failure", "DynamicUser": True,
    "StateDirectory": "educoin", "StateDirectoryMode": "0700", "UMask": "0077", "ProtectSystem": "strict",
    "ProtectHome": True, "PrivateTmp": True, "PrivateDevices": True, "PrivateUsers": True,
    "NoNewPrivileges": True, "CapabilityBoundingSet": "", "LockPersonality": True,
    "MemoryDenyWriteExecute": True, "ProtectClock": True, "ProtectHostname": True,
    "ProtectControlGroups": True, "ProtectKernelLogs": True, "ProtectKernelModules": True,
    "ProtectKernelTunables": True, "ProtectProc": "invisible", "ProcSubset": "pid",
    "RestrictAddressFamilies": ["AF_INET", "AF_INET6", "AF_UNIX"], "RestrictNamespaces": True,
    "RestrictRealtime": True, "RestrictSUIDSGID": True, "SystemCallArchitectures": "native",
    "SystemCallFilter": ["@system-service", "~@privileged @resources"], "WatchdogSec": "30s",
    "ExecStart": "/opt/educoin/bin/educoin serve",
}
for k, v in want.items():
    expect(s.get(k) == v, f"serviceConfig.{k} = {s.get(k)!r}, want {v!r}")
stop = int(s["TimeoutStopSec"].rstrip("s"))
expect(stop > int(plain["environment"]["SHUTDOWN_TIMEOUT_SECS"]), "TimeoutStopSec must exceed SHUTDOWN_TIMEOUT_SECS")
expect(int(s["TimeoutStartSec"].rstrip("s")) >= 120, "TimeoutStartSec should be generous (>= 120 s)")
expect(plain["environment"].get("NODE_ENV") == "production", "NODE_ENV defaults to production")
expect(plain["sockets"] == {}, "no sockets without socketActivation")
expect("LoadCredential" not in s, "no LoadCredential without credentials")
ss = sock["serviceConfig"]
expect(ss.get("LoadCredential") == ["jwt_secret:/run/secrets/jwt"], f"LoadCredential = {ss.get('LoadCredential')}")
expect(sock["sockets"]["educoin"]["listenStreams"] == ["[::]:8080"], f"http listen {sock['sockets']['educoin']['listenStreams']}")
expect(sock["sockets"]["educoin"]["socketConfig"]["FileDescriptorName"] == "http", "http socket name")
expect(sock["sockets"]["educoin-metrics"]["socketConfig"]["FileDescriptorName"] == "metrics", "metrics socket name")
expect(ss.get("Sockets") == ["educoin.socket", "educoin-metrics.socket"], "service lists its sockets")
expect("educoin.socket" in sock["requires"], "service requires educoin.socket")
expect(set(sock["files"]) == {"educoin.service", "educoin.socket", "educoin-metrics.socket"}, f"files {sorted(sock['files'])}")
expect(set(nometrics["sockets"]) == {"educoin"} and nometrics["listen"]["metrics"] is None,
       f"METRICS_ADDRESS=none (as the server takes it) renders no metrics socket: {sorted(nometrics['sockets'])}")
if problems:
    print("; ".join(problems)); sys.exit(1)
print(f"{len(s)} service settings, {len(want)} invariants hold; socket variant renders "
      + ", ".join(sorted(sock["files"])))
PY
  ); then
    ok "nix-instantiate --eval --strict --json nixos/unit.nix: $msg"
  else
    bad "nixos/unit.nix invariants: $msg"
  fi
else
  bad "nix-instantiate --eval --strict --json nixos/unit.nix failed"
fi

# ---------------------------------------------------------------------------------------------------
# 2b. flake outputs evaluate (against stubs of nixpkgs and crane) and have the required shape
# ---------------------------------------------------------------------------------------------------
# stdout is the JSON alone: nix prints warnings on stderr (e.g. a missing nixbld group on a fresh
# machine), which must not end up in what is parsed.
nix_err=$(mktemp)
trap 'rm -f "$nix_err"' EXIT
if outputs=$(nix-instantiate --eval --strict --json tests/nix/flake-outputs.nix 2>"$nix_err"); then
  if msg=$(python3 - "$outputs" <<'PY'
import json, sys, tomllib
d = json.loads(sys.argv[1])
deny_ignores = [a["id"] for a in tomllib.load(open("deny.toml", "rb"))["advisories"]["ignore"]]
problems = []
need = {"packages": {"default", "docker", "sbom"}, "apps": {"default", "dev"},
        "checks": {"clippy", "fmt", "nextest", "doc", "vm", "audit"}, "devShells": {"default"}}
for system in ("x86_64-linux", "aarch64-linux"):
    if system not in d:
        problems.append(f"no outputs for {system}"); continue
    o = d[system]
    for kind, names in need.items():
        missing = names - set(o[kind])
        if missing:
            problems.append(f"{system}: {kind} lacks {sorted(missing)}")
    img = o["image"]
    user = img.get("User", "")
    if not user.split(":")[0].isdigit() or user.split(":")[0] == "0":
        problems.append(f"image User {user!r} is not a numeric non-root user")
    if set(img.get("ExposedPorts", {})) != {"5000/tcp", "9464/tcp"}:
        problems.append(f"image ExposedPorts {img.get('ExposedPorts')}")
    hc = img.get("Healthcheck", {})
    if hc.get("Test", [None])[0] != "CMD" or hc.get("Test", [])[-1] != "healthcheck":
        problems.append(f"image Healthcheck.Test {hc.get('Test')}")
    for k in ("Interval", "Timeout", "StartPeriod"):
        if not isinstance(hc.get(k), int) or hc[k] < 1_000_000_000:
            problems.append(f"image Healthcheck.{k} must be integer nanoseconds, got {hc.get(k)!r}")
    if "NODE_ENV=production" not in img.get("Env", []):
        problems.append("image Env lacks NODE_ENV=production")
    if not o["imageCreated"].startswith("1970-01-01"):
        problems.append(f"image created {o['imageCreated']!r} is not a fixed epoch timestamp")
    # checks.audit: the pinned advisory-db input, and exactly deny.toml's decided ignores.
    if o["auditDb"] != "/nix/store/advisory-db":
        problems.append(f"checks.audit reads {o['auditDb']!r}, not the advisory-db input")
    want_args = " ".join(f"--ignore {i}" for i in ["yanked"] + deny_ignores)
    if o["auditArgs"] != want_args:
        problems.append(f"checks.audit args {o['auditArgs']!r}, want {want_args!r} (deny.toml's ignores)")
    if o["sbomName"] != "educoin-0.1.0.cdx.json":
        problems.append(f"packages.sbom is {o['sbomName']!r}")
    if o["apps"].get("default") != "app":
        problems.append("apps.default is not an app")
if d.get("nixosModules") != ["default"]:
    problems.append(f"nixosModules {d.get('nixosModules')}")
if problems:
    print("; ".join(problems)); sys.exit(1)
o = d["x86_64-linux"]
print(f"packages {o['packages']}, apps {sorted(o['apps'])}, checks {o['checks']}, devShells {o['devShells']}, "
      f"nixosModules {d['nixosModules']} (both systems); image User {o['image']['User']}, "
      f"created {o['imageCreated']}, healthcheck + ports OK")
PY
  ); then
    ok "flake outputs (stub nixpkgs/crane): $msg"
  else
    bad "flake outputs: $msg"
  fi
else
  bad "tests/nix/flake-outputs.nix does not evaluate: $(cat "$nix_err")"
fi

# ---------------------------------------------------------------------------------------------------
# 2c. the NixOS module's glue, evaluated with a stand-in lib (tests/nix/module-glue.nix)
# ---------------------------------------------------------------------------------------------------
if glue=$(nix-instantiate --eval --strict --json tests/nix/module-glue.nix 2>"$nix_err"); then
  if msg=$(python3 - "$glue" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
problems = []
def expect(cond, what):
    if not cond:
        problems.append(what)
svc = d["service"]; sc = svc["serviceConfig"]
expect(all(d["assertions"]), f"assertions {d['assertions']}")
expect(any("Nix store" in w for w in d["warnings"]), "no warning for a secret file in the Nix store")
expect("jwt_secret:/run/secrets/jwt" in sc.get("LoadCredential", []), f"LoadCredential {sc.get('LoadCredential')}")
expect(sc.get("SupplementaryGroups") == ["redis-educoin"], f"SupplementaryGroups {sc.get('SupplementaryGroups')}")
expect(sc.get("ExecStart") == "/nix/store/educoin-from-overlay/bin/educoin serve", f"ExecStart {sc.get('ExecStart')}")
expect(not any(k in svc["environment"] for k in ("JWT_SECRET", "JWT_REFRESH_SECRET", "PASSCODE_KEY", "EMAIL_PASS")),
       "a secret leaked into the unit environment")
expect(svc["environment"].get("TRUSTED_PROXIES") == "127.0.0.1,::1", "list settings are comma-joined")
expect(svc["environment"].get("FRONTEND_URL") == "https://app.example.org/?a=100%%25",
       f"a literal % is doubled for systemd's Environment=: {svc['environment'].get('FRONTEND_URL')!r}")
expect(sc.get("EnvironmentFile") == ["/run/secrets/educoin.env"], f"EnvironmentFile {sc.get('EnvironmentFile')}")
expect(svc.get("startLimitBurst") == 10 and svc.get("startLimitIntervalSec") == 60 and "unitConfig" not in svc,
       f"start limits through nixpkgs' startLimitBurst/startLimitIntervalSec: {svc.get('startLimitBurst')}/{svc.get('startLimitIntervalSec')}")
expect(d["packageDefault"] == "/nix/store/educoin-from-overlay", f"package defaults to pkgs.educoin: {d['packageDefault']}")
expect(any("EMAIL_HOST" in w for w in d["warnings"]), "no warning for production without EMAIL_HOST")
merged = {k: v for part in d["settingsMerge"] for k, v in part.items()}
expect(merged.get("DATABASE_URL", "").startswith("mongodb://127.0.0.1:27017/") and "replicaSet=rs0" in merged.get("DATABASE_URL", ""),
       f"DATABASE_URL {merged.get('DATABASE_URL')}")
expect(merged.get("REDIS_URL") == "unix:///run/redis-educoin/redis.sock", f"REDIS_URL {merged.get('REDIS_URL')}")
for dep in ("mongodb.service", "educoin-mongodb-replset.service", "redis-educoin.service", "educoin.socket"):
    expect(dep in svc["after"], f"after lacks {dep}")
expect(d["sockets"]["educoin"]["socketConfig"]["FileDescriptorName"] == "http", "http socket")
expect(d["sockets"]["educoin-metrics"]["socketConfig"]["FileDescriptorName"] == "metrics", "metrics socket")
expect(d["prometheus"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9464"], f"scrape target {d['prometheus']}")
expect(len(d["ruleFiles"]) == 1 and d["ruleFiles"][0].endswith("ops/prometheus/alerts.yml"), f"rule files {d['ruleFiles']}")
expect(d["grafanaProviders"][0]["name"] == "educoin", f"grafana providers {d['grafanaProviders']}")
expect(d["firewall"] == [5000], f"firewall {d['firewall']}")
expect(d["redis"]["port"] == 0, "local redis listens on its unix socket only")
expect(d["redis"].get("appendOnly") is True and "settings" not in d["redis"], f"redis AOF through appendOnly: {d['redis']}")
expect(d["mongodb"]["replSetName"] == "rs0" and d["mongodb"]["bind_ip"] == "127.0.0.1", f"mongodb {d['mongodb']}")
if problems:
    print("; ".join(problems)); sys.exit(1)
print(f"{len(d['options'])} options; credentials, local MongoDB (rs0) + Redis (unix socket, group), sockets, "
      "scrape target, alert rules, dashboard provider, firewall and store-path warning wired as expected")
PY
  ); then
    ok "NixOS module glue (stand-in lib): $msg"
  else
    bad "NixOS module glue: $msg"
  fi
else
  bad "tests/nix/module-glue.nix does not evaluate: $(cat "$nix_err")"
fi

# ---------------------------------------------------------------------------------------------------
# 3. flake inputs and flake.lock against NIX-FACTS.md
# ---------------------------------------------------------------------------------------------------
if inputs=$(nix-instantiate --eval --strict --json -E '(import ./flake.nix).inputs'); then
  if msg=$(python3 - "$inputs" flake.lock "$FACTS" <<'PY'
import json, re, sys
inputs = json.loads(sys.argv[1])
lock = json.load(open(sys.argv[2]))
facts_path = sys.argv[3]
# The real values, copied from NIX-FACTS.md (nixpkgs nixos-26.05 and crane, from crane's own test lock).
FACTS = {
    "nixpkgs": {
        "original": {"owner": "NixOS", "repo": "nixpkgs", "ref": "nixos-26.05", "type": "github"},
        "locked": {"owner": "NixOS", "repo": "nixpkgs", "type": "github",
                   "rev": "531670d871c0e29724a02f3cbcac170adc65b58c",
                   "narHash": "sha256-ODZkEK9Gy50yg6h98u7KkitZ3oc/uuTFK00bh1CRdNA=",
                   "lastModified": 1785734586},
        "url": "github:NixOS/nixpkgs/nixos-26.05",
    },
    "crane": {
        "original": {"owner": "ipetkov", "repo": "crane", "type": "github"},
        "locked": {"owner": "ipetkov", "repo": "crane", "type": "github",
                   "rev": "b8d87f76ea4e4b6f30f2e6eaf3fbb60ff7d87167",
                   "narHash": "sha256-H++/2dMt+5+tErKU+t5z6c4Xedvj9w+UPQYrpygwIPw=",
                   "lastModified": 1785631643},
        "url": "github:ipetkov/crane",
    },
    # RustSec advisory database (NIX-FACTS.md, "advisory-db"): source only, not a flake.
    "advisory-db": {
        "original": {"owner": "rustsec", "repo": "advisory-db", "type": "github"},
        "locked": {"owner": "rustsec", "repo": "advisory-db", "type": "github",
                   "rev": "bf5c0d245a92671908518d7e765914d437954ed6",
                   "narHash": "sha256-6JNCbYbrWi2r0+kVgXtVi7Vu6gSuSjmyifCSWyZaS9o=",
                   "lastModified": 1787293720},
        "url": "github:rustsec/advisory-db",
        "flake": False,
    },
}
problems = []
if facts_path:
    text = open(facts_path, encoding="utf-8").read()
    for name, f in FACTS.items():
        for key in ("rev", "narHash", "lastModified"):
            if str(f["locked"][key]) not in text:
                problems.append(f"{name}.{key} {f['locked'][key]} not found in {facts_path}")
if lock.get("version") != 7:
    problems.append(f"flake.lock version {lock.get('version')}, want 7")
if lock.get("root") != "root":
    problems.append("flake.lock root node must be 'root'")
nodes = lock.get("nodes", {})
root_inputs = nodes.get("root", {}).get("inputs", {})
if set(root_inputs) != set(inputs):
    problems.append(f"flake.nix inputs {sorted(inputs)} != flake.lock root inputs {sorted(root_inputs)}")
if set(nodes) != set(inputs) | {"root"}:
    problems.append(f"flake.lock nodes {sorted(nodes)} != inputs + root")
for name, spec in inputs.items():
    if name not in FACTS:
        problems.append(f"input {name} has no recorded facts in NIX-FACTS.md")
        continue
    f = FACTS[name]
    if spec.get("url") != f["url"]:
        problems.append(f"flake.nix {name}.url = {spec.get('url')!r}, want {f['url']!r}")
    want_spec = {"url"} | ({"flake"} if "flake" in f else set())
    if set(spec) != want_spec:
        problems.append(f"flake.nix {name} has attributes {sorted(spec)}, want {sorted(want_spec)}")
    if "flake" in f and (spec.get("flake") != f["flake"] or nodes.get(root_inputs.get(name), {}).get("flake") != f["flake"]):
        problems.append(f"{name}: flake = {f['flake']} must be set in flake.nix and flake.lock")
    node = nodes.get(root_inputs.get(name), {})
    if node.get("original") != f["original"]:
        problems.append(f"flake.lock {name}.original = {node.get('original')}, want {f['original']}")
    if node.get("locked") != f["locked"]:
        problems.append(f"flake.lock {name}.locked = {node.get('locked')}, want {f['locked']}")
    if node.get("inputs"):
        problems.append(f"flake.lock {name} has inputs {node['inputs']} (expected none)")
if problems:
    print("; ".join(problems)); sys.exit(1)
print("inputs " + ", ".join(f"{n}@{FACTS[n]['locked']['rev'][:12]}" for n in sorted(inputs))
      + f"; version 7; values match {'NIX-FACTS.md' if facts_path else 'the recorded facts (NIX-FACTS.md not found)'}")
PY
  ); then
    ok "flake.lock: $msg"
  else
    bad "flake.lock: $msg"
  fi
else
  bad "cannot evaluate (import ./flake.nix).inputs"
fi

# ---------------------------------------------------------------------------------------------------
# 4. shellcheck every shell script
# ---------------------------------------------------------------------------------------------------
mapfile -t scripts < <(list_files | while IFS= read -r f; do
  if [[ $f == *.sh || $f == *.bash ]] || head -n1 "$f" 2>/dev/null | grep -qE '^#!.*\b(ba|da|k)?sh\b'; then
    echo "$f"
  fi
done | sort -u)
if ((${#scripts[@]} == 0)); then
  bad "no shell scripts found"
elif out=$(shellcheck -x "${scripts[@]}" 2>&1); then
  ok "shellcheck: ${#scripts[@]} scripts clean (${scripts[*]})"
else
  bad "shellcheck:"
  printf '%s\n' "$out" | sed 's/^/      /'
fi

echo "$passed passed, $failed failed"
((failed == 0))
