#!/usr/bin/env bash
# deploy.sh: build -> copy -> switch -> health gate -> automatic rollback (NixOS hosts), and image push.
set -euo pipefail

PROG=$(basename "$0")

usage() {
  cat <<EOF
Usage: $PROG [OPTIONS] COMMAND [ARGS]

Commands:
  switch HOST     Build nixosConfigurations.NAME.config.system.build.toplevel from --flake, record the
                  system HOST runs now (the target of /nix/var/nix/profiles/system), nix copy the new
                  system to ssh://HOST, run nixos-rebuild switch --flake FLAKE#NAME --target-host HOST,
                  then gate on HOST itself, over ssh: educoin.service must be active (Type=notify: it
                  has sent READY=1) and http://127.0.0.1:PORT/api/v1/health/ready must answer 200.
                  If the switch or the gate fails and HOST's profile moved, the profile is set back to
                  the recorded system and its switch-to-configuration runs; the command exits 1. A
                  failure before the switch (build, ssh, copy) changes nothing on HOST.
  rollback HOST   Roll HOST back to its previous system generation (nixos-rebuild switch --rollback),
                  then run the same gate.
  image           Build the OCI image (nix build FLAKE#docker) and push it with skopeo to
                  docker://\$REGISTRY/educoin:TAG.

HOST is an ssh destination ([user@]host); NAME defaults to HOST without "user@" and any domain part.
switch and rollback need --flake: the flake of YOUR host configurations (the one that defines
nixosConfigurations.NAME), not this repository's, which defines none.

Prerequisites on HOST: an ssh login for the deploying user (non-interactive: keys or an agent), and
root@HOST or passwordless sudo for that user (the switch, the rollback and the gate run as root); the
user must also be a Nix trusted user (nix.settings.trusted-users) so that nix copy --to ssh://HOST may
add store paths that no trusted key signed.

Options:
  -n, --dry-run              Print every command instead of running it.
      --flake REF            Flake with nixosConfigurations.NAME (required for switch and rollback;
                             default: \$DEPLOY_FLAKE). image builds this repository's flake (default ".").
      --name NAME            nixosConfigurations attribute (default: derived from HOST).
      --port PORT            API port on HOST for the gate (default: PORT from educoin.service's
                             environment, else 5000).
      --health-url URL       Also require this URL to answer 200 from here, e.g. through the public
                             proxy (default: \$DEPLOY_HEALTH_URL, else none).
      --health-timeout SECS  How long the gate polls (default: \${DEPLOY_HEALTH_TIMEOUT:-120}).
      --registry REGISTRY    Image registry, e.g. ghcr.io/acme (default: \$REGISTRY).
      --tag TAG              Image tag (default: \$TAG, else the git short revision, else "latest").
  -h, --help                 Show this help.

Environment: DEPLOY_FLAKE, DEPLOY_HEALTH_URL, DEPLOY_HEALTH_TIMEOUT, DEPLOY_SUDO (auto|yes|no, default
auto: use sudo unless HOST starts with root@), NIXOS_REBUILD (default: nixos-rebuild), REGISTRY, TAG.

Examples:
  $PROG --flake ~/infra --dry-run switch admin@edu1.example.org
  $PROG --flake ~/infra --health-url https://api.educoin.example/api/v1/health/ready switch edu1
  $PROG --flake ~/infra rollback edu1
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
FLAKE=${DEPLOY_FLAKE:-}
NAME=""
PORT=""
HEALTH_URL=${DEPLOY_HEALTH_URL:-}
HEALTH_TIMEOUT=${DEPLOY_HEALTH_TIMEOUT:-120}
REGISTRY=${REGISTRY:-}
TAG=${TAG:-}
NIXOS_REBUILD=${NIXOS_REBUILD:-nixos-rebuild}
PROFILE=/nix/var/nix/profiles/system

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
    --port) need_value "$@"; PORT=$2; shift ;;
    --health-url) need_value "$@"; HEALTH_URL=$2; shift ;;
    --health-timeout) need_value "$@"; HEALTH_TIMEOUT=$2; shift ;;
    --registry) need_value "$@"; REGISTRY=$2; shift ;;
    --tag) need_value "$@"; TAG=$2; shift ;;
    --flake=* | --name=* | --port=* | --health-url=* | --health-timeout=* | --registry=* | --tag=*)
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
[[ -z $PORT || $PORT =~ ^[0-9]+$ ]] || die_usage "--port must be a number"
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

# Whether commands on HOST need sudo (everything this script runs there needs root).
use_sudo() {
  case $DEPLOY_SUDO in
    yes) return 0 ;;
    no) return 1 ;;
    auto) [[ $1 != root@* ]] ;;
  esac
}

# nixos-rebuild renamed --use-remote-sudo to --sudo; ask the installed one which it knows.
sudo_flag() {
  use_sudo "$1" || return 0
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

# Runs a command on HOST as root, over ssh (non-interactive: never waits for a password).
on_host() { # HOST CMD...
  local host=$1
  shift
  local cmd=("$@")
  use_sudo "$host" && cmd=(sudo -n "${cmd[@]}")
  run ssh -o BatchMode=yes "$host" "$(printf '%q ' "${cmd[@]}")"
}

# The system HOST runs now: the store path its system profile points to.
profile_target() { on_host "$1" readlink -e "$PROFILE"; }

# One readiness probe on HOST without curl (a NixOS host need not have it): bash's /dev/tcp.
# shellcheck disable=SC2016 # expanded by the remote bash, not here
PROBE='exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET /api/v1/health/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 && IFS=" " read -r -t 5 _ code _ <&3 && [ "$code" = 200 ]'

# The API port on HOST: --port, else PORT from the unit's environment, else 5000.
host_port() {
  if [[ -n $PORT ]]; then
    echo "$PORT"
    return
  fi
  local env p
  env=$(on_host "$1" systemctl show -P Environment educoin.service 2>/dev/null || true)
  p=$(tr ' ' '\n' <<<"$env" | sed -n 's/^PORT=\([0-9][0-9]*\)$/\1/p' | head -n1)
  echo "${p:-5000}"
}

# The gate: educoin.service active (READY=1 sent) and readiness 200 on HOST, then --health-url if given.
health_gate() { # HOST
  local host=$1 port state
  if ((DRY_RUN)); then
    printf '+ # poll every 2 s for up to %ss until both succeed:\n' "$HEALTH_TIMEOUT"
    on_host "$host" systemctl is-active educoin.service
    on_host "$host" bash -c "$PROBE" probe "${PORT:-PORT}"
    [[ -z $HEALTH_URL ]] || run curl --fail --silent --show-error --max-time 5 --output /dev/null "$HEALTH_URL"
    return 0
  fi
  port=$(host_port "$host")
  log "gate on $host: educoin.service active and 127.0.0.1:$port/api/v1/health/ready 200 (up to ${HEALTH_TIMEOUT}s)"
  local deadline=$((SECONDS + HEALTH_TIMEOUT))
  while ((SECONDS < deadline)); do
    state=$(on_host "$host" systemctl is-active educoin.service 2>/dev/null || true)
    if [[ $state == active ]] && on_host "$host" bash -c "$PROBE" probe "$port" 2>/dev/null; then
      if [[ -z $HEALTH_URL ]] || curl --fail --silent --max-time 5 --output /dev/null "$HEALTH_URL"; then
        log "healthy: educoin.service active and ready on $host"
        return 0
      fi
    fi
    sleep 2
  done
  log "unhealthy: educoin.service on $host is '${state:-unknown}' and not ready after ${HEALTH_TIMEOUT}s"
  return 1
}

# Sets HOST's system profile back to SYSTEM and activates it (what nixos-rebuild --rollback does,
# but to a recorded generation rather than "one before the current one").
restore() { # HOST SYSTEM
  local host=$1 system=$2
  on_host "$host" nix-env -p "$PROFILE" --set "$system" &&
    on_host "$host" "$system/bin/switch-to-configuration" switch
}

need_flake() {
  [[ -n $FLAKE ]] || die_usage "$COMMAND needs --flake REF: the flake that defines nixosConfigurations.$(host_name "$1") (or set DEPLOY_FLAKE)"
}

cmd_switch() {
  local host=$1 name=${NAME:-$(host_name "$1")}
  local attr="$FLAKE#nixosConfigurations.$name.config.system.build.toplevel"
  local toplevel previous now sudo

  log "build $attr"
  if ((DRY_RUN)); then
    run nix build --no-link --print-out-paths "$attr"
    toplevel="/nix/store/HASH-nixos-system-$name"
  else
    toplevel=$(nix build --no-link --print-out-paths "$attr") || { log "build failed; nothing changed on $host"; return 1; }
  fi

  log "record the system $host runs now"
  if ((DRY_RUN)); then
    profile_target "$host"
    previous="/nix/store/PREVIOUS-nixos-system-$name"
  else
    previous=$(profile_target "$host") || previous=""
    [[ $previous == /* ]] || { log "cannot read $PROFILE on $host over ssh; nothing changed"; return 1; }
    log "$host runs $previous"
  fi

  log "copy $toplevel to $host"
  run nix copy --to "ssh://$host" "$toplevel" || { log "copy failed; nothing changed on $host"; return 1; }

  sudo=$(sudo_flag "$host")
  local cmd=("$NIXOS_REBUILD" switch --flake "$FLAKE#$name" --target-host "$host")
  [[ -n $sudo ]] && cmd+=("$sudo")
  log "switch $host to $toplevel"
  local ok=1
  run "${cmd[@]}" || { ok=0; log "switch failed"; }
  ((ok)) && { health_gate "$host" || ok=0; }
  if ((DRY_RUN)); then
    printf '+ # only if the switch or the gate failed, and the profile moved away from PREVIOUS:\n'
    profile_target "$host"
    restore "$host" "$previous"
    health_gate "$host"
    return 0
  fi
  if ((ok)); then
    log "deployed $toplevel to $host"
    return 0
  fi
  if ! now=$(profile_target "$host"); then
    log "ROLLBACK NOT ATTEMPTED: cannot read $PROFILE on $host; it should run $previous"
    return 1
  fi
  if [[ $now == "$previous" ]]; then
    log "$host's profile did not move; it still runs $previous"
  else
    log "rolling $host back to $previous (the profile had moved to $now)"
    restore "$host" "$previous" || log "ROLLBACK FAILED: inspect $host by hand"
  fi
  health_gate "$host" || log "the previous system is not healthy either: inspect $host"
  return 1
}

cmd_rollback() {
  local host=$1 name=${NAME:-$(host_name "$1")} sudo
  sudo=$(sudo_flag "$host")
  log "roll $host back to its previous generation"
  local cmd=("$NIXOS_REBUILD" switch --rollback --flake "$FLAKE#$name" --target-host "$host")
  [[ -n $sudo ]] && cmd+=("$sudo")
  run "${cmd[@]}"
  health_gate "$host"
}

cmd_image() {
  [[ -n $REGISTRY ]] || die_usage "image needs REGISTRY (or --registry), e.g. ghcr.io/acme"
  local tag=$TAG archive
  if [[ -z $tag ]]; then
    tag=$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo latest)
  fi
  local flake=${FLAKE:-.}
  log "build $flake#docker"
  if ((DRY_RUN)); then
    run nix build --no-link --print-out-paths "$flake#docker"
    archive=/nix/store/HASH-educoin.tar.gz # buildLayeredImage names it NAME.tar.gz
  else
    archive=$(nix build --no-link --print-out-paths "$flake#docker")
  fi
  log "push to docker://$REGISTRY/educoin:$tag"
  run skopeo copy "docker-archive:$archive" "docker://$REGISTRY/educoin:$tag"
}

case $COMMAND in
  switch | rollback)
    [[ ${#args[@]} -eq 2 ]] || die_usage "$COMMAND needs exactly one HOST"
    [[ ${args[1]} =~ ^[A-Za-z0-9._@-]+$ ]] || die_usage "invalid HOST: ${args[1]}"
    need_flake "${args[1]}"
    "cmd_$COMMAND" "${args[1]}"
    ;;
  image)
    [[ ${#args[@]} -eq 1 ]] || die_usage "image takes no arguments"
    cmd_image
    ;;
  *) die_usage "unknown command: $COMMAND" ;;
esac
