# Boots a minimal Debian with systemd in systemd-nspawn (host network), for the end-to-end tests that
# need a real systemd: tests/systemd/e2e.sh (the unit) and tests/systemd/deploy-e2e.sh (deploy.sh).
# Sourced, not run. The caller sets WORK (a scratch directory) and defines die; this file defines
# container_boot, container_stop, C (run inside the container) and prop (a unit property).
#   E2E_CACHE   cache dir of the Debian root       (default /var/cache/educoin-e2e)
#   E2E_MIRROR  Debian mirror for debootstrap      (default http://deb.debian.org/debian)
#   E2E_KEEP=1  keep the container's root directory for inspection
# shellcheck shell=bash

CACHE=${E2E_CACHE:-/var/cache/educoin-e2e}
MIRROR=${E2E_MIRROR:-http://deb.debian.org/debian}
ROOT=""
NSPAWN_PID=""
CPID=""
CSTATE=""

# The first child process of PID $1 (without procps: read /proc/*/stat).
child_of() {
  local p stat rest ppid
  for p in /proc/[0-9]*; do
    stat=$(cat "$p/stat" 2>/dev/null) || continue
    rest=${stat##*) } # fields after "pid (comm) "
    read -r _ ppid _ <<<"$rest"
    if [[ $ppid == "$1" ]]; then
      echo "${p#/proc/}"
      return 0
    fi
  done
  return 1
}

# Run a command inside the container (all namespaces of its PID 1).
C() { timeout 120 nsenter -t "$CPID" -a "$@"; }
prop() { C systemctl show -P "$2" "$1"; }

# The cached Debian root (debootstrap once). Safe to run while another process runs it: the second waits
# for the first under a lock, so .ci/run can fetch it in the background while it compiles.
container_cache() {
  mkdir -p "$CACHE"
  (
    flock 9
    if [[ ! -x $CACHE/rootfs/lib/systemd/systemd ]]; then
      echo "      debootstrap bookworm into $CACHE/rootfs (once) ..."
      rm -rf "$CACHE/rootfs.tmp"
      debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$CACHE/rootfs.tmp" "$MIRROR" \
        >"$CACHE/debootstrap.log" 2>&1 || { echo "debootstrap failed, see $CACHE/debootstrap.log" >&2; exit 1; }
      mv "$CACHE/rootfs.tmp" "$CACHE/rootfs"
    fi
  ) 9>"$CACHE/.lock"
}

# A fresh copy of the cached Debian root in $ROOT. Call container_start after putting files into it.
container_prepare() { # NAME
  container_cache || die "no Debian root for the container"
  ROOT="$CACHE/$1.$$"
  rm -rf "$ROOT"
  cp -a "$CACHE/rootfs" "$ROOT"
}

# Boots $ROOT as machine NAME and waits until its systemd is running; leaves its state in CSTATE.
container_start() { # NAME
  systemd-nspawn -D "$ROOT" --register=no --keep-unit -q -b -M "$1" </dev/null >"$WORK/nspawn.log" 2>&1 &
  NSPAWN_PID=$!
  for _ in $(seq 100); do
    CPID=$(child_of "$NSPAWN_PID" || true)
    [[ -n $CPID ]] && break
    sleep 0.1
  done
  [[ -n $CPID ]] || die "systemd-nspawn did not start (see log below)"$'\n'"$(cat "$WORK/nspawn.log")"
  CSTATE=""
  for _ in $(seq 120); do
    CSTATE=$(nsenter -t "$CPID" -a systemctl is-system-running 2>/dev/null || true)
    [[ $CSTATE == running || $CSTATE == degraded ]] && break
    sleep 0.5
  done
}

# Powers the container off (kills it if it does not go) and removes its root unless E2E_KEEP=1.
container_stop() {
  if [[ -n $NSPAWN_PID ]] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    [[ -n $CPID ]] && timeout 20 nsenter -t "$CPID" -a systemctl poweroff --no-block >/dev/null 2>&1
    for _ in $(seq 60); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$NSPAWN_PID" 2>/dev/null; then
      kill "$NSPAWN_PID" 2>/dev/null
      sleep 2
      kill -9 "$NSPAWN_PID" 2>/dev/null
    fi
    wait "$NSPAWN_PID" 2>/dev/null
  fi
  if [[ -n $ROOT && ${E2E_KEEP:-0} != 1 ]]; then rm -rf "$ROOT"; fi
  [[ -n $ROOT && ${E2E_KEEP:-0} == 1 ]] && echo "      kept container root: $ROOT"
  return 0
}
