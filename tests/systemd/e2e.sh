#!/usr/bin/env bash
# Real-systemd end-to-end test for the educoin unit.
#
# Renders the unit from the same pure Nix file the NixOS module uses (nixos/unit.nix), boots a minimal
# Debian with systemd in systemd-nspawn (host network), installs the release binary and the rendered
# units, and proves the runtime contract: start blocks until READY, active (running), readiness 200,
# native journald fields, watchdog kill + restart, drain on stop with exit 0, zero lost requests across a
# socket-activated restart, `systemd-analyze verify`, and an exposure score <= 2.0.
#
# usage: tests/systemd/e2e.sh [PATH/TO/educoin]      (or EDUCOIN_BIN=...; default target/release/educoin)
#
# Needs root and: nix-instantiate (nix-bin), debootstrap, systemd-nspawn (systemd-container), nsenter
# (util-linux), python3, curl. Installs nothing. The Debian root is cached (built once, ~30-120 s):
#   E2E_CACHE         cache dir                      (default /var/cache/educoin-e2e)
#   E2E_MIRROR        Debian mirror for debootstrap  (default http://deb.debian.org/debian)
#   E2E_PORT          API port on 127.0.0.1          (default 5077)
#   E2E_METRICS_PORT  metrics port on 127.0.0.1      (default 9477)
#   E2E_KEEP=1        keep the container's root directory for inspection
#   E2E_LOOP_PATH     path hit by the restart loop   (default /api/v1/health)
# Output: one PASS:/FAIL: line per check and a final "N passed, M failed" line; exit 1 on any failure.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${1:-${EDUCOIN_BIN:-$REPO/target/release/educoin}}
PORT=${E2E_PORT:-5077}
MPORT=${E2E_METRICS_PORT:-9477}
WATCHDOG_SEC=3
BASE="http://127.0.0.1:$PORT"

# Test-only secrets (never used anywhere else); delivered as systemd credentials, checked absent from logs.
JWT_SECRET="e2e-jwt-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
JWT_REFRESH_SECRET="e2e-refresh-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PASSCODE_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

passed=0
failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
info() { echo "      $*"; }
die() {
  echo "FAIL: $*"
  failed=$((failed + 1))
  exit 1
}

# ---------------------------------------------------------------------------------------------------
# preflight
# ---------------------------------------------------------------------------------------------------
[[ $(id -u) == 0 ]] || { echo "e2e.sh: must run as root" >&2; exit 2; }
for tool in nix-instantiate debootstrap systemd-nspawn nsenter python3 curl; do
  command -v "$tool" >/dev/null || { echo "e2e.sh: missing tool: $tool" >&2; exit 2; }
done
[[ -x $BIN ]] || { echo "e2e.sh: binary not found or not executable: $BIN" >&2; exit 2; }
for p in "$PORT" "$MPORT"; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/"; then
    echo "e2e.sh: something already listens on 127.0.0.1:$p (set E2E_PORT / E2E_METRICS_PORT)" >&2
    exit 2
  fi
done

WORK=$(mktemp -d /tmp/educoin-e2e.XXXXXX)
LOOP_PID=""
# shellcheck source=tests/systemd/container.sh
. "$REPO/tests/systemd/container.sh"

cleanup() {
  local rc=$?
  set +e
  [[ -n $LOOP_PID ]] && kill "$LOOP_PID" 2>/dev/null
  container_stop
  rm -rf "$WORK"
  echo "$passed passed, $failed failed"
  if ((failed > 0)); then exit 1; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time "${2:-5}" "$1" || true; }
metrics_ok() { # Prometheus text on the metrics listener (no pipe into grep -q: SIGPIPE + pipefail)
  local text
  text=$(curl -s --max-time 5 "http://127.0.0.1:$MPORT/metrics" || true)
  grep -q '^# TYPE' <<<"$text"
}
wait_http_200() { # URL SECONDS
  local end=$((SECONDS + $2))
  while ((SECONDS < end)); do
    [[ $(http_code "$1" 2) == 200 ]] && return 0
    sleep 0.3
  done
  return 1
}

# ---------------------------------------------------------------------------------------------------
# 1. render the units from nixos/unit.nix
# ---------------------------------------------------------------------------------------------------
render() { # SOCKET_ACTIVATION(true|false) OUTDIR
  nix-instantiate --eval --strict --json "$REPO/nixos/unit.nix" \
    --argstr package /opt/educoin \
    --arg watchdogSec "$WATCHDOG_SEC" \
    --arg restartSec 1 \
    --arg socketActivation "$1" \
    --arg settings "{ NODE_ENV = \"production\"; PORT = $PORT; IP_ADDRESS = \"127.0.0.1\";
                      METRICS_ADDRESS = \"127.0.0.1:$MPORT\"; LOG_LEVEL = \"info\";
                      SHUTDOWN_TIMEOUT_SECS = 10; EMAIL_HOST = \"127.0.0.1\"; EMAIL_PORT = 2525;
                      EMAIL_FROM = \"EduCoin <noreply@e2e.invalid>\"; }" \
    --arg credentials '{ jwt_secret = "/etc/educoin/secrets/jwt_secret";
                         jwt_refresh_secret = "/etc/educoin/secrets/jwt_refresh_secret";
                         passcode_key = "/etc/educoin/secrets/passcode_key"; }' \
    >"$WORK/unit-$1.json"
  python3 "$REPO/tests/systemd/render_units.py" "$2" <"$WORK/unit-$1.json" >/dev/null
}
render false "$WORK/plain" || die "render nixos/unit.nix (plain)"
render true "$WORK/socket" || die "render nixos/unit.nix (socket activation)"
pass "rendered educoin.service (+ educoin.socket, educoin-metrics.socket) from nixos/unit.nix via nix-instantiate"

# ---------------------------------------------------------------------------------------------------
# 2. the container
# ---------------------------------------------------------------------------------------------------
container_prepare run
install -D -m 0755 "$BIN" "$ROOT/opt/educoin/bin/educoin"
install -d -m 0700 "$ROOT/etc/educoin/secrets"
printf '%s' "$JWT_SECRET" >"$ROOT/etc/educoin/secrets/jwt_secret"
printf '%s' "$JWT_REFRESH_SECRET" >"$ROOT/etc/educoin/secrets/jwt_refresh_secret"
printf '%s' "$PASSCODE_KEY" >"$ROOT/etc/educoin/secrets/passcode_key"
chmod 0600 "$ROOT"/etc/educoin/secrets/*
install -m 0644 "$WORK/plain/educoin.service" "$ROOT/etc/systemd/system/educoin.service"

container_start educoin-e2e
state=$CSTATE
if [[ $state == running || $state == degraded ]]; then
  pass "container booted systemd $(C systemctl --version | head -n1 | cut -d' ' -f2) (is-system-running: $state)"
else
  die "container systemd not running (state: ${state:-none})"
fi

# ---------------------------------------------------------------------------------------------------
# 3. static checks on the rendered units, with the container's systemd
# ---------------------------------------------------------------------------------------------------
mkdir -p "$ROOT/root/units/plain" "$ROOT/root/units/socket"
cp "$WORK/plain/"* "$ROOT/root/units/plain/"
cp "$WORK/socket/"* "$ROOT/root/units/socket/"
for variant in plain socket; do
  files=$(cd "$ROOT/root/units/$variant" && printf '/root/units/'"$variant"'/%s ' *)
  # shellcheck disable=SC2086 # word-splitting of the file list is intended
  if out=$(C systemd-analyze verify --man=no $files 2>&1) && [[ -z $out ]]; then
    pass "systemd-analyze verify ($variant): $(cd "$ROOT/root/units/$variant" && echo *) -> no findings"
  else
    fail "systemd-analyze verify ($variant) reported:"
    printf '%s\n' "$out" | sed 's/^/      /'
  fi
  sec=$(C systemd-analyze security --offline=true --no-pager "/root/units/$variant/educoin.service" 2>&1 || true)
  score=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for educoin.service: \([0-9.]*\).*/\1/p')
  if [[ -n $score ]] && python3 -c "import sys; sys.exit(0 if float('$score') <= 2.0 else 1)"; then
    pass "systemd-analyze security --offline=true ($variant educoin.service): exposure $score (threshold 2.0)"
    printf '%s\n' "$sec" | grep -E '✗' | sed 's/^/      remaining: /' | tr -s ' '
  else
    fail "systemd-analyze security --offline=true ($variant educoin.service): exposure ${score:-unknown} (> 2.0 or unreadable)"
    printf '%s\n' "$sec" | grep -E '✗|Overall' | sed 's/^/      /'
  fi
done

# ---------------------------------------------------------------------------------------------------
# 4. plain unit, production mode, secrets as systemd credentials
# ---------------------------------------------------------------------------------------------------
C systemctl daemon-reload
t0=$(date +%s.%N)
if C systemctl start educoin.service; then
  code=$(http_code "$BASE/api/v1/health/ready" 3) # no retry: READY must mean ready
  t1=$(date +%s.%N)
  status_text=$(prop educoin StatusText)
  if [[ $code == 200 ]]; then
    pass "systemctl start returned only after READY=1 ($(python3 -c "print(round($t1-$t0,2))")s; ready answered 200 at once; STATUS=\"$status_text\")"
  else
    fail "systemctl start returned but /api/v1/health/ready answered '$code' right after"
  fi
else
  fail "systemctl start educoin.service failed"
  C systemctl status --no-pager -l educoin.service | sed 's/^/      /' || true
  C journalctl -u educoin --no-pager -n 40 | sed 's/^/      /' || true
fi

active=$(prop educoin ActiveState)/$(prop educoin SubState)
if [[ $active == active/running ]] && C systemctl status --no-pager educoin.service | grep -q 'Active: active (running)'; then
  pass "unit is active (running), Type=$(prop educoin Type), MainPID=$(prop educoin MainPID), user $(prop educoin User || true)"
else
  fail "unit state is $active"
fi

body=$(curl -s --max-time 5 "$BASE/api/v1/health/ready" || true)
code=$(http_code "$BASE/api/v1/health/ready")
if [[ $code == 200 ]]; then
  pass "GET /api/v1/health/ready -> 200 through the host network: $(printf '%s' "$body" | head -c 200)"
else
  fail "GET /api/v1/health/ready -> $code: $body"
fi
if [[ $(http_code "$BASE/api/v1/health") == 200 ]] && metrics_ok; then
  pass "GET /api/v1/health -> 200 and Prometheus text on 127.0.0.1:$MPORT/metrics"
else
  fail "liveness or metrics endpoint not answering"
fi

# journald: native entries (the server saw JOURNAL_STREAM), with PRIORITY and our own fields
C journalctl -u educoin.service -o json --no-pager >"$WORK/journal.json" 2>/dev/null || true
if jr=$(python3 - "$WORK/journal.json" <<'PY'
import json, sys
standard = {"MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "SYSLOG_FACILITY", "SYSLOG_PID", "SYSLOG_TIMESTAMP",
            "CODE_FILE", "CODE_LINE", "CODE_FUNC", "TARGET", "TID", "ERRNO", "INVOCATION_ID", "UNIT", "MESSAGE_ID"}
ours, listening = [], None
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.strip()
    if not line:
        continue
    e = json.loads(line)
    if e.get("_TRANSPORT") != "journal" or not str(e.get("_COMM", "")).startswith("educoin"):
        continue
    ours.append(e)
    msg = e.get("MESSAGE")
    if isinstance(msg, str) and "listening" in msg.lower() and listening is None:
        listening = e
if not ours:
    print("no native (_TRANSPORT=journal) entries from the educoin process"); sys.exit(1)
if listening is None:
    print(f"{len(ours)} native entries but none with 'listening' in MESSAGE"); sys.exit(1)
missing = [k for k in ("PRIORITY", "SYSLOG_IDENTIFIER") if k not in listening]
fields = sorted(k for k in listening if not k.startswith("_") and not k.startswith("__") and k not in standard)
if missing or not fields:
    print(f"listening entry lacks {missing or 'custom fields'}: {sorted(listening)}"); sys.exit(1)
without_prio = [e for e in ours if "PRIORITY" not in e]
if without_prio:
    print(f"{len(without_prio)} native entries without PRIORITY"); sys.exit(1)
print(f"{len(ours)} native entries, all with PRIORITY; startup: MESSAGE={listening['MESSAGE']!r} "
      f"PRIORITY={listening['PRIORITY']} SYSLOG_IDENTIFIER={listening['SYSLOG_IDENTIFIER']} fields: "
      + " ".join(f"{k}={str(listening[k])[:40]}" for k in fields))
PY
); then
  pass "journalctl -u educoin -o json: $jr"
else
  fail "journalctl -u educoin -o json: $jr"
  head -c 2000 "$WORK/journal.json" | sed 's/^/      /'
fi
if grep -qF -e "$JWT_SECRET" -e "$JWT_REFRESH_SECRET" -e "$PASSCODE_KEY" "$WORK/journal.json"; then
  fail "a secret delivered by LoadCredential appears in the journal"
else
  pass "secrets came through LoadCredential (\$CREDENTIALS_DIRECTORY) and none appears in the journal"
fi

# watchdog: freeze the main process; systemd must kill it (Result: watchdog) and restart it
restarts0=$(prop educoin NRestarts)
pid0=$(prop educoin MainPID)
C systemctl kill --kill-whom=main --signal=SIGSTOP educoin.service
t0=$SECONDS
restarted=""
for _ in $(seq 150); do
  pid=$(prop educoin MainPID)
  if [[ $(prop educoin NRestarts) -gt $restarts0 && $pid != 0 && $pid != "$pid0" && $(prop educoin ActiveState) == active ]]; then
    restarted=1
    break
  fi
  sleep 0.2
done
wd_log=$(C journalctl -u educoin.service --no-pager -o cat | grep -iE "watchdog timeout|result 'watchdog'" | tail -n 2 | tr '\n' ' ' || true)
if [[ -n $restarted && $wd_log == *watchdog* ]] && wait_http_200 "$BASE/api/v1/health/ready" 20; then
  pass "SIGSTOP'd main pid $pid0 killed by the watchdog (WatchdogSec=${WATCHDOG_SEC}s) and restarted as pid $pid (NRestarts $restarts0 -> $(prop educoin NRestarts), $((SECONDS - t0))s; journal: $wd_log)"
else
  fail "watchdog did not kill+restart the frozen process (NRestarts=$(prop educoin NRestarts), MainPID=$(prop educoin MainPID), log: $wd_log)"
  C systemctl kill --kill-whom=main --signal=SIGCONT educoin.service 2>/dev/null || true
fi

# drain: a slow request in flight survives `systemctl stop`, and the process exits 0
mkdir -p "$ROOT/etc/systemd/system/educoin.service.d"
printf '[Service]\nEnvironment="NODE_ENV=test" "EDUCOIN_TEST_HOOKS=1"\n' \
  >"$ROOT/etc/systemd/system/educoin.service.d/50-e2e-test-hooks.conf"
C systemctl daemon-reload
C systemctl restart educoin.service
if [[ $(http_code "$BASE/api/v1/test/slow?ms=1") == 200 ]]; then
  curl -s -o "$WORK/slow.body" -w '%{http_code}' --max-time 30 "$BASE/api/v1/test/slow?ms=4000" >"$WORK/slow.code" 2>/dev/null &
  slow_pid=$!
  sleep 1
  t0=$(date +%s.%N)
  C systemctl stop educoin.service
  t1=$(date +%s.%N)
  wait "$slow_pid" || true
  slow_code=$(cat "$WORK/slow.code" 2>/dev/null || echo none)
  result=$(prop educoin Result)
  exit_status=$(prop educoin ExecMainStatus)
  exit_code=$(prop educoin ExecMainCode)
  if [[ $slow_code == 200 && $result == success && $exit_status == 0 ]]; then
    pass "systemctl stop during a 4 s request: the request completed 200, stop took $(python3 -c "print(round($t1-$t0,2))")s, Result=$result ExecMainStatus=$exit_status (code $exit_code)"
  else
    fail "drain on stop: request -> $slow_code, Result=$result ExecMainStatus=$exit_status ExecMainCode=$exit_code"
    C journalctl -u educoin --no-pager -n 15 -o cat | sed 's/^/      /' || true
  fi
  if [[ $(http_code "$BASE/api/v1/health") == 000 ]]; then
    pass "after stop nothing listens on 127.0.0.1:$PORT (listeners closed)"
  else
    fail "after stop something still answers on 127.0.0.1:$PORT"
  fi
else
  fail "test hook /api/v1/test/slow not available (EDUCOIN_TEST_HOOKS=1, NODE_ENV=test)"
fi
rm -rf "$ROOT/etc/systemd/system/educoin.service.d"

# ---------------------------------------------------------------------------------------------------
# 5. socket activation: systemd owns the listeners; restarts lose no request
# ---------------------------------------------------------------------------------------------------
install -m 0644 "$WORK/socket/educoin.service" "$WORK/socket/educoin.socket" "$WORK/socket/educoin-metrics.socket" \
  "$ROOT/etc/systemd/system/"
C systemctl daemon-reload
C systemctl reset-failed educoin.service 2>/dev/null || true
if C systemctl start educoin.socket educoin-metrics.socket; then
  # First request activates the service through the socket (service not started explicitly).
  code=$(http_code "$BASE/api/v1/health" 60)
  if [[ $code == 200 && $(prop educoin ActiveState) == active ]] && wait_http_200 "$BASE/api/v1/health/ready" 30; then
    pass "socket activation: first connection to educoin.socket started the service and was answered 200 ($(prop educoin.socket Listen | tr '\n' ' '))"
  else
    fail "socket activation: first request -> $code, service $(prop educoin ActiveState)"
    C journalctl -u educoin --no-pager -n 20 -o cat | sed 's/^/      /' || true
  fi
  fdnames=$(C cat "/proc/$(prop educoin MainPID)/environ" 2>/dev/null | tr '\0' '\n' | grep -E '^LISTEN_FD(S|NAMES)=' | tr '\n' ' ' || true)
  if [[ $fdnames == *LISTEN_FDS=2* && $fdnames == *http* && $fdnames == *metrics* ]] &&
    metrics_ok; then
    pass "the server serves the inherited fds (${fdnames% }); metrics answer on the metrics socket"
  else
    fail "inherited fds not used as expected (${fdnames:-no LISTEN_FDS})"
  fi

  # Steady sequential request loop (a new connection per request); restart in the middle.
  total=200
  : >"$WORK/codes"
  (
    for _ in $(seq "$total"); do
      curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 "$BASE${E2E_LOOP_PATH:-/api/v1/health}" >>"$WORK/codes" || echo "curl-error" >>"$WORK/codes"
    done
  ) &
  LOOP_PID=$!
  for _ in $(seq 300); do (($(wc -l <"$WORK/codes") >= 50)) && break; sleep 0.05; done
  pid0=$(prop educoin MainPID)
  at_restart=$(wc -l <"$WORK/codes")
  C systemctl restart educoin.service
  after_restart=$(wc -l <"$WORK/codes")
  pid1=$(prop educoin MainPID)
  wait "$LOOP_PID" || true
  LOOP_PID=""
  ok=$(grep -c '^200$' "$WORK/codes" || true)
  lost=$((total - ok))
  if ((lost == 0)) && [[ $pid0 != "$pid1" ]] && ((after_restart < total)); then
    pass "socket-activated restart under a steady request loop: $ok/$total answered 200, 0 lost (restart at request $at_restart..$after_restart, pid $pid0 -> $pid1)"
  else
    fail "socket-activated restart: $lost of $total requests lost (codes: $(sort "$WORK/codes" | uniq -c | tr '\n' ' '); pid $pid0 -> $pid1, restart at $at_restart..$after_restart)"
  fi
  C systemctl stop educoin.service educoin.socket educoin-metrics.socket || true
else
  fail "could not start educoin.socket / educoin-metrics.socket"
fi
