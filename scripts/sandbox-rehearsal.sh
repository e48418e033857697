#!/usr/bin/env bash
# Rehearses `checks.nextest` of `nix flake check` on a machine without Nix's sandbox: copies exactly the
# files of the flake's test source (nix/sources.nix, the lists flake.nix builds testSrc from) into a
# fresh directory, and runs exactly its nextest arguments there, as the sandbox would:
#   - no network: a new network namespace with only loopback up;
#   - no node, npm or npx (bind-mounted away), and no tests/services npm packages (not in the copy);
#   - Redis started on a unix socket as checks.nextest's preCheck does; Python with aiosmtpd and
#     google-auth (what the flake gives the check) from this machine.
# Whatever `nix flake check` would run must pass here; a test that needs something the sandbox lacks
# fails here (then select it out in .config/nextest.toml's sandbox profile, or provide it in flake.nix).
# The copy is mounted over this checkout's own path in a private mount namespace, with this checkout's
# target/ mounted inside it: the paths compiled into the tests and cargo's fingerprints (paths and
# modification times, which the copy keeps) are then the ones of the checkout's last build, so nothing is
# rebuilt unless a file the build read is missing from the copy or differs from it (then cargo rebuilds
# from the copy, and a missing file fails the build as it would in the sandbox). A test reading a file at
# run time reads the copy's.
# Differences that remain: the dev profile instead of crane's release profile (shares this machine's
# build), and this machine's toolchain instead of nixpkgs'.
#
# usage (as root): scripts/sandbox-rehearsal.sh
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
[[ $(id -u) == 0 ]] || { echo "sandbox-rehearsal.sh: must run as root (namespaces)" >&2; exit 2; }
for tool in nix-instantiate python3 unshare ip redis-server cargo-nextest git; do
  command -v "$tool" >/dev/null || { echo "sandbox-rehearsal.sh: missing tool: $tool" >&2; exit 2; }
done

sources=$(nix-instantiate --eval --strict --json nix/sources.nix)
COPY=$(mktemp -d /tmp/educoin-sandbox.XXXXXX)
trap 'rm -rf "$COPY"' EXIT

# The test source: tracked and new (not ignored) files under the listed paths, minus the excluded ones.
count=$(git ls-files --cached --others --exclude-standard -z | python3 -c '
import json, os, shutil, sys
sources = json.loads(sys.argv[1]); dest = sys.argv[2]
under = lambda f, paths: any(f == p or f.startswith(p.rstrip("/") + "/") for p in paths)
n = 0
for f in sys.stdin.read().split("\0"):
    if f and os.path.isfile(f) and under(f, sources["build"] + sources["tests"]) and not under(f, sources["testsExcluded"]):
        os.makedirs(os.path.join(dest, os.path.dirname(f)), exist_ok=True)
        shutil.copy2(f, os.path.join(dest, f))  # keeps the modification time (fingerprints)
        n += 1
print(n)
' "$sources" "$COPY")
args=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["nextestArgs"])' "$sources")
echo "sandbox rehearsal: $count files of the flake's testSrc in $COPY; cargo nextest run $args (no network, no node/npm)"

mkdir -p target "$COPY/target"
export CARGO_NET_OFFLINE=true
# shellcheck disable=SC2016 # expanded by the inner bash
unshare --net --mount --propagation private bash -c '
  set -euo pipefail
  repo=$1 copy=$2 args=$3
  mount --bind "$repo/target" "$copy/target"
  mount --rbind "$copy" "$repo"
  cd "$repo"
  ip link set lo up
  for tool in node npm npx; do
    if path=$(command -v "$tool"); then mount --bind /dev/null "$(readlink -f "$path")"; fi
  done
  redis-server --port 0 --unixsocket "$copy/redis.sock" --daemonize yes --dir "$copy" --save "" --appendonly no \
    >/dev/null
  trap "redis-cli -s \"$copy/redis.sock\" shutdown nosave >/dev/null 2>&1 || true" EXIT
  for _ in $(seq 50); do [[ -S $copy/redis.sock ]] && break; sleep 0.1; done
  export EDUCOIN_TEST_REDIS_URL="unix://$copy/redis.sock"
  # shellcheck disable=SC2086 # the arguments are a word list
  cargo nextest run --no-fail-fast $args
' sandbox "$REPO" "$COPY" "$args"
