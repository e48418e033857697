#!/usr/bin/env bash
# deploy.sh end to end against a real systemd: the nspawn container of tests/systemd/container.sh is the
# "NixOS host". Stand-ins for ssh, nix and nixos-rebuild (tests/systemd/standins/, first on PATH) act on
# it the way the real tools act on a NixOS host: a "system" is a store path holding the unit rendered
# from nixos/unit.nix and a switch-to-configuration that installs it and restarts educoin.service; the
# system profile has generations (/nix/var/nix/profiles/system-N-link) managed by a nix-env stand-in.
# deploy.sh itself is run unmodified. Four cases:
#   1. a good deploy: the gate passes on the host; the new system stays;
#   2. a deploy whose new version never becomes ready: back on the recorded system, which serves again;
#   3. a failure before the switch (the copy breaks): nothing changes, the service is not even restarted;
#   4. two failed deploys in a row: still on the last good system (nixos-rebuild --rollback, which
#      steps back one generation, would land on the first failed one).
#
# usage: tests/systemd/deploy-e2e.sh [PATH/TO/educoin]   (default target/release/educoin)
# Needs root and: nix-instantiate, debootstrap, systemd-nspawn, nsenter, python3, curl.
# Output: one PASS:/FAIL: line per check and a final "N passed, M failed" line; exit 1 on any failure.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${1:-${EDUCOIN_BIN:-$REPO/target/release/educoin}}
PORT=${DEPLOY_E2E_PORT:-5078}
MPORT=${DEPLOY_E2E_METRICS_PORT:-9478}
HOST=root@edu-test
PROFILE=/nix/var/nix/profiles/system

passed=0
failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
die() {
  echo "FAIL: $*"
  failed=$((failed + 1))
  exit 1
}

[[ $(id -u) == 0 ]] || { echo "deploy-e2e.sh: must run as root" >&2; exit 2; }
for tool in nix-instantiate debootstrap systemd-nspawn nsenter python3 curl; do
  command -v "$tool" >/dev/null || { echo "deploy-e2e.sh: missing tool: $tool" >&2; exit 2; }
done
[[ -x $BIN ]] || { echo "deploy-e2e.sh: binary not found or not executable: $BIN" >&2; exit 2; }
if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/"; then
  echo "deploy-e2e.sh: something already listens on 127.0.0.1:$PORT (set DEPLOY_E2E_PORT)" >&2
  exit 2
fi

WORK=$(mktemp -d /tmp/educoin-deploy-e2e.XXXXXX)
# shellcheck source=tests/systemd/container.sh
. "$REPO/tests/systemd/container.sh"
cleanup() {
  local rc=$?
  set +e
  container_stop
  rm -rf "$WORK"
  echo "$passed passed, $failed failed"
  if ((failed > 0)); then exit 1; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------------
# systems: each is a directory FLAKE/nixosConfigurations/edu-test that the nix stand-in "builds"
# ---------------------------------------------------------------------------------------------------
rand_hex() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# make_system FLAKE GENERATION [bad|fail-copy]: a good system serves; a bad one points at a database
# that does not exist, so it never becomes READY (its start times out after 6 s).
make_system() {
  local flake=$1 generation=$2 kind=${3:-good} dir settings timeout=30
  dir="$flake/nixosConfigurations/edu-test"
  mkdir -p "$dir/bin" "$dir/etc/systemd/system"
  settings="{ NODE_ENV = \"production\"; PORT = $PORT; IP_ADDRESS = \"127.0.0.1\";
              METRICS_ADDRESS = \"127.0.0.1:$MPORT\"; FRONTEND_URL = \"https://app.educoin.test\";
              DEPLOY_GENERATION = \"$generation\";"
  if [[ $kind == bad ]]; then
    settings+=" DATABASE_URL = \"mongodb://127.0.0.1:9/educoin?serverSelectionTimeoutMS=500\";"
    timeout=6
  fi
  settings+=" }"
  nix-instantiate --eval --strict --json "$REPO/nixos/unit.nix" \
    --argstr package /opt/educoin --arg startTimeoutSec "$timeout" --arg restartSec 1 \
    --arg settings "$settings" \
    --arg credentials '{ jwt_secret = "/etc/educoin/secrets/jwt_secret";
                         jwt_refresh_secret = "/etc/educoin/secrets/jwt_refresh_secret";
                         passcode_key = "/etc/educoin/secrets/passcode_key"; }' \
    >"$WORK/unit.json"
  python3 "$REPO/tests/systemd/render_units.py" "$dir/etc/systemd/system" <"$WORK/unit.json" >/dev/null
  cat >"$dir/bin/switch-to-configuration" <<'EOF'
#!/bin/bash
# What NixOS's switch-to-configuration does for this one unit: install it, reload, restart it, and
# fail when the restart fails (Type=notify: when the new process never sends READY=1).
set -eu
system=$(cd "$(dirname "$0")/.." && pwd)
install -m 0644 "$system/etc/systemd/system/educoin.service" /etc/systemd/system/educoin.service
systemctl daemon-reload
systemctl reset-failed educoin.service 2>/dev/null || true
systemctl restart educoin.service
EOF
  chmod +x "$dir/bin/switch-to-configuration"
  echo "$generation" >"$dir/nixos-version"
  [[ $kind == fail-copy ]] && touch "$dir/fail-copy"
  return 0
}

deploy() { # FLAKE -> deploy.sh's exit status in $deploy_rc, its output in $WORK/deploy.log
  deploy_rc=0
  PATH="$REPO/tests/systemd/standins:$PATH" DEPLOY_SUDO=no \
    "$REPO/deploy.sh" --flake "$1" --health-timeout 20 switch "$HOST" >"$WORK/deploy.log" 2>&1 || deploy_rc=$?
}

# What the host runs: its profile's generation link and store path, the unit's generation, readiness.
profile_link() { C readlink "$PROFILE"; }
profile_system() { C readlink -e "$PROFILE"; }
serving_generation() { prop educoin.service Environment | tr ' ' '\n' | sed -n 's/^DEPLOY_GENERATION=//p'; }
ready_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/api/v1/health/ready" || true; }
show_log() { sed 's/^/      | /' "$WORK/deploy.log"; }

export DEPLOY_E2E_STORE="$WORK/store"
mkdir -p "$DEPLOY_E2E_STORE"

# ---------------------------------------------------------------------------------------------------
# the host: generation 1 (g0) installed and serving
# ---------------------------------------------------------------------------------------------------
container_prepare deploy
install -D -m 0755 "$BIN" "$ROOT/opt/educoin/bin/educoin"
install -D -m 0755 "$REPO/tests/systemd/standins/nix-env" "$ROOT/usr/local/bin/nix-env"
install -d -m 0700 "$ROOT/etc/educoin/secrets"
for s in jwt_secret jwt_refresh_secret passcode_key; do
  rand_hex >"$ROOT/etc/educoin/secrets/$s"
done
chmod 0600 "$ROOT"/etc/educoin/secrets/*
container_start educoin-deploy-e2e
[[ $CSTATE == running || $CSTATE == degraded ]] || die "container systemd not running (state: ${CSTATE:-none})"
export DEPLOY_E2E_CPID=$CPID DEPLOY_E2E_ROOT=$ROOT

make_system "$WORK/flake-g0" g0
g0=$(PATH="$REPO/tests/systemd/standins:$PATH" nix build --no-link --print-out-paths \
  "$WORK/flake-g0#nixosConfigurations.edu-test.config.system.build.toplevel")
PATH="$REPO/tests/systemd/standins:$PATH" nix copy --to "ssh://$HOST" "$g0"
C nix-env -p "$PROFILE" --set "$g0" || die "nix-env --set on the host failed"
if C "$g0/bin/switch-to-configuration" switch && [[ $(ready_code) == 200 ]]; then
  pass "host booted systemd $(C systemctl --version | head -n1 | cut -d' ' -f2); first system $g0 installed as $(profile_link), serving (ready 200)"
else
  die "the first system did not start on the host"
fi

# ---------------------------------------------------------------------------------------------------
# 1. a good deploy
# ---------------------------------------------------------------------------------------------------
make_system "$WORK/flake-g1" g1
deploy "$WORK/flake-g1"
g1=$(profile_system)
if ((deploy_rc == 0)) && [[ $(serving_generation) == g1 && $(ready_code) == 200 && $g1 == *-nixos-system-edu-test ]] &&
  grep -q "healthy: educoin.service active and ready" "$WORK/deploy.log"; then
  pass "good deploy: exit 0, the gate passed on the host (is-active + readiness over ssh), $(profile_link) -> $g1 serves g1"
else
  fail "good deploy: exit $deploy_rc, serving '$(serving_generation)', ready $(ready_code)"
  show_log
fi

# ---------------------------------------------------------------------------------------------------
# 2. a new version that never becomes ready
# ---------------------------------------------------------------------------------------------------
make_system "$WORK/flake-bad1" bad1 bad
link_before=$(profile_link)
deploy "$WORK/flake-bad1"
if ((deploy_rc == 1)) && [[ $(profile_system) == "$g1" && $(serving_generation) == g1 && $(ready_code) == 200 ]] &&
  grep -q "rolling $HOST back to $g1" "$WORK/deploy.log"; then
  pass "never-ready deploy: exit 1, rolled back to the recorded system ($link_before -> $(profile_link) -> g1), which serves again (ready 200)"
else
  fail "never-ready deploy: exit $deploy_rc, profile $(profile_link) -> $(profile_system), serving '$(serving_generation)', ready $(ready_code)"
  show_log
fi

# ---------------------------------------------------------------------------------------------------
# 3. a failure before the switch
# ---------------------------------------------------------------------------------------------------
make_system "$WORK/flake-broken" broken fail-copy
link_before=$(profile_link)
pid_before=$(prop educoin.service MainPID)
deploy "$WORK/flake-broken"
if ((deploy_rc == 1)) && [[ $(profile_link) == "$link_before" && $(prop educoin.service MainPID) == "$pid_before" ]] &&
  [[ $(serving_generation) == g1 && $(ready_code) == 200 ]] && grep -q "copy failed; nothing changed" "$WORK/deploy.log"; then
  pass "failure before the switch (copy broke): exit 1, profile still $link_before, service not restarted (pid $pid_before), serving g1"
else
  fail "failure before the switch: exit $deploy_rc, profile $link_before -> $(profile_link), pid $pid_before -> $(prop educoin.service MainPID)"
  show_log
fi

# ---------------------------------------------------------------------------------------------------
# 4. two failed deploys in a row
# ---------------------------------------------------------------------------------------------------
make_system "$WORK/flake-bad2" bad2 bad
make_system "$WORK/flake-bad3" bad3 bad
deploy "$WORK/flake-bad2"
rc2=$deploy_rc
deploy "$WORK/flake-bad3"
rc3=$deploy_rc
if ((rc2 == 1 && rc3 == 1)) && [[ $(profile_system) == "$g1" && $(serving_generation) == g1 && $(ready_code) == 200 ]]; then
  pass "two failed deploys in a row: exit $rc2 and $rc3, still on the last good system ($(profile_link) -> g1, ready 200)"
else
  fail "two failed deploys: exit $rc2/$rc3, profile $(profile_link) -> $(profile_system), serving '$(serving_generation)'"
  show_log
fi
gens=$(C find /nix/var/nix/profiles -maxdepth 1 -name 'system-*-link' -printf '%f -> %l\n' | sort -V | tr '\n' ';')
echo "      generations: $gens"

# deploy.sh rollback HOST after one more good deploy: one generation back (to g1), then the gate.
make_system "$WORK/flake-g2" g2
deploy "$WORK/flake-g2"
rc_g2=$deploy_rc
deploy_rc=0
PATH="$REPO/tests/systemd/standins:$PATH" DEPLOY_SUDO=no \
  "$REPO/deploy.sh" --flake "$WORK/flake-g2" --health-timeout 30 rollback "$HOST" >"$WORK/deploy.log" 2>&1 || deploy_rc=$?
if ((rc_g2 == 0 && deploy_rc == 0)) && [[ $(serving_generation) == g1 && $(ready_code) == 200 ]]; then
  pass "deploy.sh rollback after deploying g2: exit 0 after the gate, $(profile_link) serves g1 again"
else
  fail "deploy.sh rollback: deploy g2 exit $rc_g2, rollback exit $deploy_rc, serving '$(serving_generation)', ready $(ready_code)"
  show_log
fi
