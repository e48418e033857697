#!/usr/bin/env bash
# Supply-chain checks of Cargo.lock, offline (CI has no network):
#   1. cargo-deny (pinned) on advisories, licenses, bans and sources (deny.toml), against the RustSec
#      snapshot in ../shared/data/rustsec-advisory-db (or $EDUCOIN_ADVISORY_DB), never fetched;
#   2. a canary: the same scan with a made-up advisory against a crate we use must fail, so a
#      scan that silently finds nothing (wrong database path, empty copy) cannot pass;
#   3. the CycloneDX SBOM (scripts/sbom.py) written to target/sbom/educoin.cdx.json and checked
#      against the schema and Cargo.lock (scripts/check-sbom.py).
# usage: scripts/supply-chain.sh        Needs: cargo-deny 0.20.2, python3 (+ tests/services/requirements.txt)
set -euo pipefail

DENY_VERSION=0.20.2
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
SNAPSHOT=${EDUCOIN_ADVISORY_DB:-$REPO/../shared/data/rustsec-advisory-db}

if [[ ! -d $SNAPSHOT/crates ]]; then
  echo "supply-chain: no RustSec advisory database at $SNAPSHOT (expected its crates/ directory)." >&2
  echo "  Put the snapshot there (see ../shared/data/README.md) or set EDUCOIN_ADVISORY_DB." >&2
  exit 1
fi
if ! have=$(cargo deny --version 2>/dev/null) || [[ $have != "cargo-deny $DENY_VERSION" ]]; then
  echo "supply-chain: need cargo-deny $DENY_VERSION (found: ${have:-none});" \
    "cargo install --locked cargo-deny@$DENY_VERSION" >&2
  exit 1
fi

# cargo-deny opens <db-path>/<name>-<hash of the url> (deny.toml: db-path, db-urls) and dates the
# database by .git/FETCH_HEAD's mtime. The copy is dated by its newest advisory, so
# maximum-db-staleness measures the snapshot's real age, not the copy's.
DB_ROOT=target/advisory-dbs
prepare_db() {
  local dir=$DB_ROOT/advisory-db-3157b0e258782691 newest
  rm -rf "$DB_ROOT"
  mkdir -p "$dir/.git"
  cp -R "$SNAPSHOT/crates" "$dir/crates"
  [[ -d $SNAPSHOT/rust ]] && cp -R "$SNAPSHOT/rust" "$dir/rust"
  newest=$(grep -rhoE '^date = "[0-9]{4}-[0-9]{2}-[0-9]{2}"' "$dir/crates" | cut -d'"' -f2 | sort | tail -n1)
  : >"$dir/.git/FETCH_HEAD"
  touch -d "$newest" "$dir/.git/FETCH_HEAD"
  echo "$dir"
}

db=$(prepare_db)
echo "advisory database: $SNAPSHOT ($(find "$db/crates" -name 'RUSTSEC-*.md' | wc -l) advisories, newest $(date -r "$db/.git/FETCH_HEAD" +%F))"

# cargo-deny reads `cargo metadata` offline (--frozen), which needs every crate of Cargo.lock in the local
# registry, including those of other platforms (wasm, android, windows) that no build here downloads:
# fetch them from the registry first (a no-op when they are there).
cargo fetch --locked --quiet

# 1. The real scan. advisory-ignored is raised to a warning so that CI's log shows every decided
# advisory with its reason next to the result.
cargo deny --frozen --log-level warn check --show-stats --warn advisory-ignored \
  advisories licenses bans sources

# The quick-xml ignores in deny.toml hold only while no operation accepts or returns XML.
if ! python3 - public/openapi.json <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
xml = [f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method, op in ops.items()
       if isinstance(op, dict) and any("xml" in media
           for part in [op.get("requestBody", {})] + list(op.get("responses", {}).values())
           for media in part.get("content", {}))]
if xml:
    print("supply-chain: XML payloads declared (" + ", ".join(xml) + "): the quick-xml ignores in deny.toml no longer hold")
    sys.exit(1)
print(f"public/openapi.json: {sum(len(o) for o in spec['paths'].values())} operations, none with an XML payload (quick-xml ignores hold)")
PY
then
  exit 1
fi

# 2. Canary: a made-up advisory for the tokio version in Cargo.lock must make the scan fail.
tokio_version=$(awk '/^name = "tokio"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
mkdir -p "$db/crates/tokio"
cat >"$db/crates/tokio/RUSTSEC-9999-0001.md" <<EOF
\`\`\`toml
[advisory]
id = "RUSTSEC-9999-0001"
package = "tokio"
date = "2026-01-01"

[versions]
patched = [">= 99.0.0"]
\`\`\`

# Canary advisory of scripts/supply-chain.sh (tokio $tokio_version)
EOF
if canary=$(cargo deny --frozen --log-level error check advisories 2>&1); then
  echo "supply-chain: the canary advisory against tokio $tokio_version was NOT reported: the scan is blind" >&2
  exit 1
elif ! grep -q RUSTSEC-9999-0001 <<<"$canary"; then
  echo "supply-chain: the canary scan failed for another reason:" >&2
  echo "$canary" >&2
  exit 1
fi
echo "canary: a made-up advisory against tokio $tokio_version fails the scan (RUSTSEC-9999-0001 reported)"
prepare_db >/dev/null

# 3. SBOM.
mkdir -p target/sbom
scripts/sbom.py -o target/sbom/educoin.cdx.json
scripts/check-sbom.py target/sbom/educoin.cdx.json
