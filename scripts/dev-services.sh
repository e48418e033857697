#!/usr/bin/env bash
# Local development services (the job docker-compose did in the old Node backend):
#   MongoDB as a single-node replica set (transactions need one) and Redis, both on 127.0.0.1, with
#   their data, logs and pid files under ./.dev/ (EDUCOIN_DEV_DIR).
#
# usage: nix run .#dev [-- up|down|status|env]      (or scripts/dev-services.sh ... inside `nix develop`)
#   up      start both (idempotent), initiate the replica set, print the environment to use
#   down    stop both (data is kept; rm -rf .dev to start over)
#   status  show what is running
#   env     print the export lines only:  eval "$(nix run .#dev -- env)"
# Ports: MONGO_PORT (default 27017), REDIS_PORT (default 6379).
set -euo pipefail

DEV_DIR=${EDUCOIN_DEV_DIR:-.dev}
MONGO_PORT=${MONGO_PORT:-27017}
REDIS_PORT=${REDIS_PORT:-6379}
RS=rs0
DEV_DIR=$(realpath -m "$DEV_DIR")

mongo_pidfile="$DEV_DIR/mongod.pid"
redis_pidfile="$DEV_DIR/redis.pid"

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

print_env() {
  echo "export DATABASE_URL='mongodb://127.0.0.1:$MONGO_PORT/educoin?replicaSet=$RS&directConnection=true'"
  echo "export REDIS_URL='redis://127.0.0.1:$REDIS_PORT'"
}

up() {
  mkdir -p "$DEV_DIR/mongo" "$DEV_DIR/redis"
  if alive "$mongo_pidfile"; then
    echo "mongod already running (pid $(cat "$mongo_pidfile"))"
  else
    mongod --replSet "$RS" --bind_ip 127.0.0.1 --port "$MONGO_PORT" --dbpath "$DEV_DIR/mongo" \
      --logpath "$DEV_DIR/mongod.log" --pidfilepath "$mongo_pidfile" --fork >/dev/null
    echo "mongod started on 127.0.0.1:$MONGO_PORT (log: $DEV_DIR/mongod.log)"
  fi
  for _ in $(seq 60); do
    mongosh --quiet --port "$MONGO_PORT" --eval 'db.runCommand({ ping: 1 }).ok' >/dev/null 2>&1 && break
    sleep 0.5
  done
  mongosh --quiet --port "$MONGO_PORT" --eval "
    try { rs.status().ok } catch (e) {
      rs.initiate({ _id: '$RS', members: [ { _id: 0, host: '127.0.0.1:$MONGO_PORT' } ] }).ok
    }" >/dev/null
  for _ in $(seq 60); do
    [[ $(mongosh --quiet --port "$MONGO_PORT" --eval 'db.hello().isWritablePrimary' 2>/dev/null) == true ]] && break
    sleep 0.5
  done
  echo "replica set $RS: primary ready"

  if alive "$redis_pidfile"; then
    echo "redis already running (pid $(cat "$redis_pidfile"))"
  else
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DEV_DIR/redis" --daemonize yes \
      --pidfile "$redis_pidfile" --logfile "$DEV_DIR/redis.log" --appendonly yes
    for _ in $(seq 50); do alive "$redis_pidfile" && break; sleep 0.1; done
    echo "redis started on 127.0.0.1:$REDIS_PORT (log: $DEV_DIR/redis.log)"
  fi
  echo
  echo "Use them with:"
  print_env
}

down() {
  if alive "$mongo_pidfile"; then
    mongod --shutdown --dbpath "$DEV_DIR/mongo" >/dev/null && echo "mongod stopped"
  fi
  if alive "$redis_pidfile"; then
    kill "$(cat "$redis_pidfile")" && echo "redis stopped"
  fi
  rm -f "$mongo_pidfile" "$redis_pidfile"
}

status() {
  local rc=0
  if alive "$mongo_pidfile"; then echo "mongod: running (pid $(cat "$mongo_pidfile"))"; else echo "mongod: stopped"; rc=1; fi
  if alive "$redis_pidfile"; then echo "redis:  running (pid $(cat "$redis_pidfile"))"; else echo "redis:  stopped"; rc=1; fi
  return "$rc"
}

case ${1:-up} in
  up) up ;;
  down) down ;;
  status) status ;;
  env) print_env ;;
  -h | --help)
    cat <<'USAGE'
usage: educoin-dev-services [up|down|status|env]
  up      start MongoDB (replica set rs0) and Redis under $EDUCOIN_DEV_DIR (default ./.dev), print the env
  down    stop both (data is kept; rm -rf .dev to start over)
  status  show what is running
  env     print export lines:  eval "$(nix run .#dev -- env)"
Ports: MONGO_PORT (default 27017), REDIS_PORT (default 6379).
USAGE
    ;;
  *)
    echo "usage: ${0##*/} [up|down|status|env]" >&2
    exit 2
    ;;
esac
