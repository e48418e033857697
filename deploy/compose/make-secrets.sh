#!/usr/bin/env bash
# Writes random secrets for compose.yaml into deploy/compose/secrets/ (kept out of git), once.
# Compose mounts them as they are, so they must be readable by the image's uid 65534.
set -euo pipefail
dir="$(dirname "$0")/secrets"
mkdir -p "$dir"
for name in jwt_secret jwt_refresh_secret passcode_key; do
  if [ ! -s "$dir/$name" ]; then
    # passcode_key must be 64 hex characters; the JWT secrets take the same form.
    openssl rand -hex 32 >"$dir/$name"
    chmod 0444 "$dir/$name"
  fi
done
echo "secrets in $dir"
