#!/usr/bin/env bash
# The test command: makes sure the real services the tests talk to are up, then runs every test.
#   - Redis: uses the one on 127.0.0.1:6379 when it answers, else starts redis-server on a free port.
#   - MongoDB wire protocol: jongodb from the pinned npm package (tests/services), one server for the run.
#   - Socket.IO: the official client (socket.io-client, pinned in tests/services), run by node per test.
#   - A browser: Debian's chromium (installed here with apt-get when missing and run as root), driven by
#     playwright-core (pinned in tests/services) in the payment page's test.
#   - Python tools from PyPI (tests/services/requirements.txt): aiosmtpd (SMTP, started by the tests that
#     need it), google-auth (checks the Google fixtures), schemathesis (fuzzes the API against its document).
# Extra arguments go to cargo nextest (e.g. scripts/test.sh store_contract).
set -euo pipefail
cd "$(dirname "$0")/.."

# Services started here are stopped when the script exits, whatever the outcome.
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]:-}"; do
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  done
}
trap cleanup EXIT

if [ ! -x tests/services/node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb ] ||
   [ ! -f tests/services/node_modules/socket.io-client/package.json ] ||
   [ ! -f tests/services/node_modules/playwright-core/package.json ]; then
  npm ci --prefix tests/services --no-audit --no-fund --loglevel=error
fi

if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
  else
    echo "scripts/test.sh: Debian's chromium is missing (apt-get install chromium): the browser test will fail" >&2
  fi
fi

# The Python tools (PyPI, pinned in tests/services/requirements.txt): the SMTP server of the
# password-reset tests, google-auth for the Google fixtures, schemathesis. Installed when any pinned
# package is missing or at another version.
if ! python3 - tests/services/requirements.txt <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
for line in open(sys.argv[1]):
    name, _, pinned = line.split("#")[0].strip().partition("==")
    if not name:
        continue
    try:
        if version(name) != pinned:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
then
  python3 -m pip install --quiet --disable-pip-version-check -r tests/services/requirements.txt
fi

if [ -z "${EDUCOIN_TEST_REDIS_URL:-}" ]; then
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    export EDUCOIN_TEST_REDIS_URL=redis://127.0.0.1:6379
  else
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
    pids+=("$!")
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    export EDUCOIN_TEST_REDIS_URL="redis://127.0.0.1:$port"
  fi
fi

if [ -z "${EDUCOIN_TEST_MONGODB_URI:-}" ]; then
  log=$(mktemp)
  tests/services/node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb \
    --host=127.0.0.1 --port=0 >"$log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 100); do grep -q '^JONGODB_URI=' "$log" && break; sleep 0.1; done
  uri=$(sed -n 's/^JONGODB_URI=//p' "$log" | head -n1)
  [ -n "$uri" ] || { echo "jongodb did not start:"; cat "$log"; exit 1; }
  export EDUCOIN_TEST_MONGODB_URI="${uri%/*}"
fi

echo "test services: redis=$EDUCOIN_TEST_REDIS_URL mongodb=$EDUCOIN_TEST_MONGODB_URI"
cargo nextest run --workspace --all-targets --no-fail-fast "$@"
