#!/usr/bin/env bash
# deploy.sh: build -> copy -> switch -> health gate -> automatic rollback (NixOS hosts), and image push.
set -euo pipefail

PROG=$(basename "$0")

usage() {
  cat <<EOF
Usage: $PROG [OPTIONS] COMMAND [ARGS]

Commands:
  switch HOST     Build nixosConfigurations.<NAME>.config.system.build.toplevel from the flake,
                  nix copy it to ssh://HOST, run nixos-rebuild switch --flake FLAKE#NAME --target-host
                  HOST (with --sudo or --use-remote-sudo, whichever this nixos-rebuild knows), then poll
                  the health URL. If the switch or the health gate fails, HOST is rolled back with
                  nixos-rebuild switch --rollback and the command exits 1.
  rollback HOST   Roll HOST back to its previous system generation (nixos-rebuild switch --rollback),
                  then run the health gate.
  image           Build the OCI image (nix build FLAKE#docker) and push it with skopeo to
                  docker://\$REGISTRY/educoin:TAG.

HOST is an ssh destination ([user@]host); NAME defaults to HOST without "user@" and any domain part.

Options:
  -n, --dry-run              Print every command instead of running it.
      --flake REF            Flake to deploy (default: \${DEPLOY_FLAKE:-.}).
      --name NAME            nixosConfigurations attribute (default: derived from HOST).
      --health-url URL       Readiness URL (default: \${DEPLOY_HEALTH_URL:-http://HOST:5000/api/v1/health/ready}).
      --health-timeout SECS  How long the gate polls (default: \${DEPLOY_HEALTH_TIMEOUT:-120}).
      --registry REGISTRY    Image registry, e.g. ghcr.io/acme (default: \$REGISTRY).
      --tag TAG              Image tag (default: \$TAG, else the git short revision, else "latest").
  -h, --help                 Show this help.

Environment: DEPLOY_FLAKE, DEPLOY_HEALTH_URL, DEPLOY_HEALTH_TIMEOUT, DEPLOY_SUDO (auto|yes|no, default
auto: use sudo unless HOST starts with root@), NIXOS_REBUILD (default: nixos-rebuild), REGISTRY, TAG.

Examples:
  $PROG --dry-run switch admin@edu1.example.org
  $PROG --health-url https://api.educoin.example/api/v1/health/ready switch edu1
  $PROG rollback edu1
  REGISTRY=ghcr.io/acme $PROG image
EOF
}

die_usage() {
  echo "$PROG: $*" >&2
  echo "Try '$PROG --help'." >&2
  exit 2
}

log() { echo "==> $*" >&2; }

DRY_RUN=0
FLAKE=${DEPLOY_FLAKE:-.}
NAME=""
HEALTH_URL=${DEPLOY_HEALTH_URL:-}
HEALTH_TIMEOUT=${DEPLOY_HEALTH_TIMEOUT:-120}
REGISTRY=${REGISTRY:-}
TAG=${TAG:-}
NIXOS_REBUILD=${NIXOS_REBUILD:-nixos-rebuild}

# Print a command (shell-quoted) in dry-run mode, run it otherwise.
run() {
  if ((DRY_RUN)); then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

need_value() { [[ $# -ge 2 && -n $2 ]] || die_usage "option $1 needs a value"; }

args=()
while (($#)); do
  case $1 in
    -n | --dry-run) DRY_RUN=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    --flake) need_value "$@"; FLAKE=$2; shift ;;
    --name) need_value "$@"; NAME=$2; shift ;;
    --health-url) need_value "$@"; HEALTH_URL=$2; shift ;;
    --health-timeout) need_value "$@"; HEALTH_TIMEOUT=$2; shift ;;
    --registry) need_value "$@"; REGISTRY=$2; shift ;;
    --tag) need_value "$@"; TAG=$2; shift ;;
    --flake=* | --name=* | --health-url=* | --health-timeout=* | --registry=* | --tag=*)
      opt=${1%%=*}
      val=${1#*=}
      set -- "$opt" "$val" "${@:2}"
      continue
      ;;
    --) shift; args+=("$@"); break ;;
    -*) die_usage "unknown option: $1" ;;
    *) args+=("$1") ;;
  esac
  shift
done

[[ $HEALTH_TIMEOUT =~ ^[0-9]+$ ]] || die_usage "--health-timeout must be a number of seconds"
DEPLOY_SUDO=${DEPLOY_SUDO:-auto}
[[ $DEPLOY_SUDO =~ ^(auto|yes|no)$ ]] || die_usage "DEPLOY_SUDO must be auto, yes or no"
((${#args[@]})) || {
  usage >&2
  exit 2
}

COMMAND=${args[0]}

host_name() { # user@edu1.example.org -> edu1
  local h=${1#*@}
  echo "${h%%.*}"
}

host_addr() { # user@edu1.example.org -> edu1.example.org
  echo "${1#*@}"
}

# nixos-rebuild renamed --use-remote-sudo to --sudo; ask the installed one which it knows.
sudo_flag() {
  local host=$1
  case $DEPLOY_SUDO in
    no) return 0 ;;
    auto) [[ $host == root@* ]] && return 0 ;;
  esac
  local help=""
  if command -v "$NIXOS_REBUILD" >/dev/null 2>&1; then
    help=$(MANPAGER=cat PAGER=cat "$NIXOS_REBUILD" --help 2>&1 </dev/null || true)
  fi
  if grep -qE -- '(^|[^-[:alnum:]])--sudo([^-[:alnum:]]|$)' <<<"$help"; then
    echo "--sudo"
  elif grep -qF -- '--use-remote-sudo' <<<"$help"; then
    echo "--use-remote-sudo"
  else
    ((DRY_RUN)) && echo "$PROG: $NIXOS_REBUILD not found here; assuming --sudo" >&2
    echo "--sudo"
  fi
}

health_gate() { # URL TIMEOUT
  local url=$1 timeout=$2
  if ((DRY_RUN)); then
    printf '+ # poll every 2 s for up to %ss until HTTP 200:\n' "$timeout"
    run curl --fail --silent --show-error --max-time 5 --output /dev/null "$url"
    return 0
  fi
  log "health gate: $url (up to ${timeout}s)"
  local deadline=$((SECONDS + timeout)) code
  while ((SECONDS < deadline)); do
    code=$(curl --silent --max-time 5 --output /dev/null --write-out '%{http_code}' "$url" || true)
    if [[ $code == 200 ]]; then
      log "healthy: $url answered 200"
      return 0
    fi
    sleep 2
  done
  log "unhealthy: $url did not answer 200 within ${timeout}s (last: ${code:-none})"
  return 1
}

rollback_host() { # HOST SUDO_FLAG
  local host=$1 sudo=$2
  local cmd=("$NIXOS_REBUILD" switch --rollback --target-host "$host")
  [[ -n $sudo ]] && cmd+=("$sudo")
  run "${cmd[@]}"
}

cmd_switch() {
  local host=$1 name=${NAME:-$(host_name "$1")} url=${HEALTH_URL:-http://$(host_addr "$1"):5000/api/v1/health/ready}
  local attr="$FLAKE#nixosConfigurations.$name.config.system.build.toplevel"
  local toplevel sudo

  log "build $attr"
  if ((DRY_RUN)); then
    run nix build --no-link --print-out-paths "$attr"
    toplevel="/nix/store/HASH-nixos-system-$name"
  else
    toplevel=$(nix build --no-link --print-out-paths "$attr")
  fi

  log "copy $toplevel to $host"
  run nix copy --to "ssh://$host" "$toplevel"

  sudo=$(sudo_flag "$host")
  local cmd=("$NIXOS_REBUILD" switch --flake "$FLAKE#$name" --target-host "$host")
  [[ -n $sudo ]] && cmd+=("$sudo")
  log "switch $host to $toplevel"
  local ok=1
  run "${cmd[@]}" || ok=0
  if ((ok)); then
    health_gate "$url" "$HEALTH_TIMEOUT" || ok=0
  else
    log "switch failed"
  fi
  if ((DRY_RUN)); then
    printf '+ # only if the switch or the health gate failed:\n'
    rollback_host "$host" "$sudo"
    return 0
  fi
  if ((!ok)); then
    log "rolling $host back to its previous generation"
    rollback_host "$host" "$sudo" || log "ROLLBACK FAILED: inspect $host by hand"
    health_gate "$url" "$HEALTH_TIMEOUT" || log "the previous generation is not healthy either"
    return 1
  fi
  log "deployed $toplevel to $host"
}

cmd_rollback() {
  local host=$1 url=${HEALTH_URL:-http://$(host_addr "$1"):5000/api/v1/health/ready}
  local sudo
  sudo=$(sudo_flag "$host")
  log "roll $host back to its previous generation"
  rollback_host "$host" "$sudo"
  health_gate "$url" "$HEALTH_TIMEOUT"
}

cmd_image() {
  [[ -n $REGISTRY ]] || die_usage "image needs REGISTRY (or --registry), e.g. ghcr.io/acme"
  local tag=$TAG archive
  if [[ -z $tag ]]; then
    tag=$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo latest)
  fi
  log "build $FLAKE#docker"
  if ((DRY_RUN)); then
    run nix build --no-link --print-out-paths "$FLAKE#docker"
    archive=/nix/store/HASH-docker-image-educoin.tar.gz
  else
    archive=$(nix build --no-link --print-out-paths "$FLAKE#docker")
  fi
  log "push to docker://$REGISTRY/educoin:$tag"
  run skopeo copy "docker-archive:$archive" "docker://$REGISTRY/educoin:$tag"
}

case $COMMAND in
  switch | rollback)
    [[ ${#args[@]} -eq 2 ]] || die_usage "$COMMAND needs exactly one HOST"
    [[ ${args[1]} =~ ^[A-Za-z0-9._@-]+$ ]] || die_usage "invalid HOST: ${args[1]}"
    "cmd_$COMMAND" "${args[1]}"
    ;;
  image)
    [[ ${#args[@]} -eq 1 ]] || die_usage "image takes no arguments"
    cmd_image
    ;;
  *) die_usage "unknown command: $COMMAND" ;;
esac
