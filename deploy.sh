#!/usr/bin/env bash
# deploy.sh: build -> copy -> switch -> health gate -> automatic rollback (NixOS hosts), image push, and
# blue-green releases on Kubernetes (deploy/kubernetes/overlays/blue-green).
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
  k8s-bluegreen   Release --image to the idle color of deploy/kubernetes/overlays/blue-green (applied
                  once before): read the live color from Service educoin's selector; run the migration
                  Job (deploy/kubernetes/migrate) with the new image and wait for it; set the idle
                  Deployment's image and wait for its rollout (every pod ready); smoke-check it through
                  its own Service (kubectl port-forward): health, readiness, a canary teacher's login
                  and one read; then point Service educoin at it, recording the color it left. The
                  old color keeps running, for k8s-rollback. A failure before the switch leaves
                  traffic where it was.
  k8s-rollback    Point Service educoin back at the color recorded by the last k8s-bluegreen, once
                  that color's pods are ready.

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
      --image IMAGE          k8s-bluegreen: the image to release (default: \$REGISTRY/educoin:\$TAG
                             when both are set), e.g. registry.example.org/educoin:0.2.0 or @sha256:...
      --namespace NS         Kubernetes namespace (default: \$K8S_NAMESPACE, else educoin).
      --canary-email EMAIL   k8s-bluegreen: a teacher account for the smoke check (default:
                             \$DEPLOY_CANARY_EMAIL).
      --canary-password-file FILE
                             Its password, read from FILE, sent on stdin, never printed (default:
                             \$DEPLOY_CANARY_PASSWORD_FILE).
  -h, --help                 Show this help.

Environment: DEPLOY_FLAKE, DEPLOY_HEALTH_URL, DEPLOY_HEALTH_TIMEOUT, DEPLOY_SUDO (auto|yes|no, default
auto: use sudo unless HOST starts with root@), NIXOS_REBUILD (default: nixos-rebuild), REGISTRY, TAG,
KUBECTL (default: kubectl; its current context is the cluster), K8S_NAMESPACE, DEPLOY_CANARY_EMAIL,
DEPLOY_CANARY_PASSWORD_FILE. --health-timeout also bounds the migration Job and the rollout.

Examples:
  $PROG --flake ~/infra --dry-run switch admin@edu1.example.org
  $PROG --flake ~/infra --health-url https://api.educoin.example/api/v1/health/ready switch edu1
  $PROG --flake ~/infra rollback edu1
  REGISTRY=ghcr.io/acme $PROG image
  $PROG --dry-run --image registry.example.org/educoin:0.2.0 --canary-email canary@school.example \\
    --canary-password-file ~/.educoin-canary k8s-bluegreen
  $PROG k8s-rollback
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
IMAGE=""
NAMESPACE=${K8S_NAMESPACE:-educoin}
CANARY_EMAIL=${DEPLOY_CANARY_EMAIL:-}
CANARY_PASSWORD_FILE=${DEPLOY_CANARY_PASSWORD_FILE:-}
KUBECTL=${KUBECTL:-kubectl}

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
    --image) need_value "$@"; IMAGE=$2; shift ;;
    --namespace) need_value "$@"; NAMESPACE=$2; shift ;;
    --canary-email) need_value "$@"; CANARY_EMAIL=$2; shift ;;
    --canary-password-file) need_value "$@"; CANARY_PASSWORD_FILE=$2; shift ;;
    --flake=* | --name=* | --port=* | --health-url=* | --health-timeout=* | --registry=* | --tag=* | \
      --image=* | --namespace=* | --canary-email=* | --canary-password-file=*)
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

# ---- Kubernetes blue-green (deploy/kubernetes/overlays/blue-green) ----

K8S_DIR="$(cd "$(dirname "$0")" && pwd)/deploy/kubernetes"
ANNOTATION=educoin.example/previous-color

k() { run "$KUBECTL" --namespace "$NAMESPACE" "$@"; }

other_color() { if [[ $1 == blue ]]; then echo green; else echo blue; fi; }

# Points Service educoin at COLOR and records FROM as the color to roll back to.
switch_service() { # COLOR FROM
  k patch service educoin --type=merge \
    -p "{\"metadata\":{\"annotations\":{\"$ANNOTATION\":\"$2\"}},\"spec\":{\"selector\":{\"color\":\"$1\"}}}"
}

# The smoke check's requests, once the port-forward logged its local port.
smoke_requests() { # PORT_FORWARD_LOG
  local port="" base token password
  for _ in $(seq 50); do
    port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9][0-9]*\) .*/\1/p' "$1" | head -n1)
    [[ -n $port ]] && break
    sleep 0.2
  done
  [[ -n $port ]] || { log "port-forward failed: $(cat "$1")"; return 1; }
  base="http://127.0.0.1:$port/api/v1"
  curl --fail --silent --show-error --max-time 5 --output /dev/null "$base/health" || return 1
  curl --fail --silent --show-error --max-time 5 --output /dev/null "$base/health/ready" || return 1
  password=$(cat "$CANARY_PASSWORD_FILE") || return 1
  token=$(python3 -c 'import json,sys; print(json.dumps({"email": sys.argv[1], "password": sys.stdin.read().rstrip("\n")}))' \
      "$CANARY_EMAIL" <<<"$password" |
    curl --fail --silent --show-error --max-time 10 -H 'Content-Type: application/json' --data-binary @- "$base/teacher/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"])') || { log "canary login failed"; return 1; }
  curl --fail --silent --show-error --max-time 5 --output /dev/null \
    -H "Authorization: Bearer $token" "$base/teacher/profile/" || { log "canary read failed"; return 1; }
}

# Health, readiness, the canary's login and one read, through the color's own Service.
smoke_check() { # COLOR
  local color=$1 pf_log pf_pid
  if ((DRY_RUN)); then
    printf '+ # in the background, until the smoke check ends (local port: the one it prints):\n'
    k port-forward "service/educoin-$color" :80
    run curl --fail --silent --show-error --max-time 5 http://127.0.0.1:PORT/api/v1/health
    run curl --fail --silent --show-error --max-time 5 http://127.0.0.1:PORT/api/v1/health/ready
    printf '+ # body {"email": CANARY_EMAIL, "password": the file'"'"'s content} on stdin:\n'
    run curl --fail --silent --show-error --max-time 10 -H 'Content-Type: application/json' --data-binary @- \
      http://127.0.0.1:PORT/api/v1/teacher/login
    run curl --fail --silent --show-error --max-time 5 -H 'Authorization: Bearer TOKEN' \
      http://127.0.0.1:PORT/api/v1/teacher/profile/
    return 0
  fi
  pf_log=$(mktemp)
  "$KUBECTL" --namespace "$NAMESPACE" port-forward "service/educoin-$color" :80 >"$pf_log" 2>&1 &
  pf_pid=$!
  local ok=0
  smoke_requests "$pf_log" && ok=1
  kill "$pf_pid" 2>/dev/null || true
  wait "$pf_pid" 2>/dev/null || true
  rm -f "$pf_log"
  ((ok)) || return 1
  log "smoke check passed on educoin-$color: health, readiness, canary login, profile read"
}

cmd_k8s_bluegreen() {
  local image=$IMAGE live target manifest
  if [[ -z $image && -n $REGISTRY && -n $TAG ]]; then image="$REGISTRY/educoin:$TAG"; fi
  [[ -n $image ]] || die_usage "k8s-bluegreen needs --image IMAGE (or REGISTRY and TAG)"
  [[ $image =~ ^[A-Za-z0-9./:@_-]+$ && $image != *:latest ]] || die_usage "invalid or unpinned image: $image"
  [[ -n $CANARY_EMAIL ]] || die_usage "k8s-bluegreen needs --canary-email (a teacher account for the smoke check)"
  [[ -n $CANARY_PASSWORD_FILE ]] || die_usage "k8s-bluegreen needs --canary-password-file FILE"
  ((DRY_RUN)) || [[ -r $CANARY_PASSWORD_FILE ]] || die_usage "cannot read $CANARY_PASSWORD_FILE"

  log "live color (Service educoin's selector) in namespace $NAMESPACE"
  if ((DRY_RUN)); then
    k get service educoin -o 'jsonpath={.spec.selector.color}'
    live=blue
    printf '+ # (assumed for this dry run: live color blue)\n'
  else
    live=$("$KUBECTL" --namespace "$NAMESPACE" get service educoin -o 'jsonpath={.spec.selector.color}') || live=""
  fi
  [[ $live == blue || $live == green ]] ||
    { log "Service educoin has no color selector: kubectl apply -k $K8S_DIR/overlays/blue-green first"; return 1; }
  target=$(other_color "$live")
  log "live: $live; releasing $image to $target"

  log "migrations: Job educoin-migrate with $image"
  k delete job educoin-migrate --ignore-not-found --wait=true || return 1
  manifest=$(mktemp)
  # shellcheck disable=SC2064 # expand now
  trap "rm -f '$manifest'" EXIT
  if ((DRY_RUN)); then
    printf '+ %q kustomize %q > MANIFEST\n' "$KUBECTL" "$K8S_DIR/migrate"
    printf '+ %q set image --local -f MANIFEST -o yaml %q > MANIFEST.image\n' "$KUBECTL" "educoin=$image"
    k apply -f MANIFEST.image
  else
    "$KUBECTL" kustomize "$K8S_DIR/migrate" >"$manifest" || return 1
    "$KUBECTL" set image --local -f "$manifest" -o yaml "educoin=$image" >"$manifest.image" || return 1
    mv "$manifest.image" "$manifest"
    k apply -f "$manifest" || return 1
  fi
  k wait --for=condition=complete --timeout="${HEALTH_TIMEOUT}s" job/educoin-migrate ||
    { log "migration Job failed or timed out; nothing switched (kubectl -n $NAMESPACE logs job/educoin-migrate)"; return 1; }

  log "deploy $image to educoin-$target and wait for every pod to be ready"
  k set image "deployment/educoin-$target" "educoin=$image" || return 1
  k rollout status "deployment/educoin-$target" --timeout="${HEALTH_TIMEOUT}s" ||
    { log "educoin-$target did not become ready; traffic stays on $live"; return 1; }

  log "smoke check educoin-$target"
  smoke_check "$target" || { log "smoke check failed on educoin-$target; traffic stays on $live"; return 1; }

  log "switch Service educoin from $live to $target"
  switch_service "$target" "$live" || return 1
  log "released $image on $target; $live keeps running for ./deploy.sh k8s-rollback"
}

cmd_k8s_rollback() {
  local live previous
  log "live and recorded colors of Service educoin in namespace $NAMESPACE"
  if ((DRY_RUN)); then
    k get service educoin -o 'jsonpath={.spec.selector.color} {.metadata.annotations.educoin\.example/previous-color}'
    live=green previous=blue
    printf '+ # (assumed for this dry run: live green, recorded blue)\n'
  else
    read -r live previous < <("$KUBECTL" --namespace "$NAMESPACE" get service educoin \
      -o 'jsonpath={.spec.selector.color} {.metadata.annotations.educoin\.example/previous-color}') || true
  fi
  if [[ $previous != blue && $previous != green ]] || [[ $previous == "$live" ]]; then
    log "no color to roll back to (live: ${live:-none}, recorded: ${previous:-none})"
    return 1
  fi
  log "wait for educoin-$previous to be ready"
  k rollout status "deployment/educoin-$previous" --timeout="${HEALTH_TIMEOUT}s" ||
    { log "educoin-$previous is not ready; traffic stays on $live"; return 1; }
  log "switch Service educoin back from $live to $previous"
  switch_service "$previous" "$live"
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
  k8s-bluegreen | k8s-rollback)
    [[ ${#args[@]} -eq 1 ]] || die_usage "$COMMAND takes no arguments"
    [[ $NAMESPACE =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die_usage "invalid namespace: $NAMESPACE"
    if [[ $COMMAND == k8s-bluegreen ]]; then cmd_k8s_bluegreen; else cmd_k8s_rollback; fi
    ;;
  *) die_usage "unknown command: $COMMAND" ;;
esac
