#!/usr/bin/env bash
# A real Docker engine for the tests, and a local base image made without any registry.
#
#   scripts/docker-engine.sh start        start dockerd on unix:///tmp/mlops-docker/docker.sock
#   scripts/docker-engine.sh base-image   make localhost/mlops-base:bookworm (cached tarball)
#   scripts/docker-engine.sh stop         stop the dockerd this script started (by its PID)
#   scripts/docker-engine.sh status       say whether the engine answers
#   scripts/docker-engine.sh env          print `export DOCKER_HOST=...` for eval
#
# Idempotent (a running engine / an existing image is reused), prints what it does, and never
# hangs: every wait is bounded. Needs root and Debian's docker.io + debootstrap (installed with
# apt-get when missing). See ../shared/CONTAINERS.md for why: no registry is reachable here, so the
# base image is built with debootstrap from Debian's mirror and cached between runs under
# ${XDG_CACHE_HOME:-$HOME/.cache}/jupyterlab-mlops/.
set -euo pipefail

STATE_DIR="${MLOPS_DOCKER_DIR:-/tmp/mlops-docker}"
SOCKET="$STATE_DIR/docker.sock"
PID_FILE="$STATE_DIR/dockerd.pid"
LOG_FILE="$STATE_DIR/dockerd.log"
BASE_IMAGE="${MLOPS_BASE_IMAGE:-localhost/mlops-base:bookworm}"
SUITE="${MLOPS_BASE_SUITE:-bookworm}"
MIRROR="${MLOPS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/jupyterlab-mlops"
CACHE_TARBALL="$CACHE_DIR/mlops-base-$SUITE.tar.zst"
START_TIMEOUT="${MLOPS_DOCKER_START_TIMEOUT:-60}"
DEBOOTSTRAP_TIMEOUT="${MLOPS_DEBOOTSTRAP_TIMEOUT:-900}"
export DOCKER_HOST="unix://$SOCKET"

say() { echo "[docker-engine] $*"; }
die() { echo "[docker-engine] error: $*" >&2; exit 1; }

engine_answers() {
  # /_ping over the socket; bounded so a wedged daemon cannot hang us.
  [ -S "$SOCKET" ] && timeout 5 curl -sf --unix-socket "$SOCKET" http://localhost/_ping \
    >/dev/null 2>&1
}

ensure_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v zstd >/dev/null || missing+=(zstd)
  command -v curl >/dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing ${missing[*]} and not root: apt-get install -y ${missing[*]}"
    say "installing Debian packages: ${missing[*]}"
    timeout 600 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

start() {
  if engine_answers; then
    say "engine already running at $DOCKER_HOST"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "dockerd needs root"
  ensure_packages
  mkdir -p "$STATE_DIR"
  if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    say "dockerd (pid $(cat "$PID_FILE")) is running but not answering; stopping it first"
    stop
  fi
  rm -f "$SOCKET"
  say "starting dockerd (data $STATE_DIR/data, log $LOG_FILE)"
  # setsid: the daemon outlives this script and is not killed with make's process group.
  setsid dockerd --data-root "$STATE_DIR/data" --exec-root "$STATE_DIR/exec" \
    --pidfile "$STATE_DIR/dockerd.own.pid" -H "$DOCKER_HOST" \
    >"$LOG_FILE" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + START_TIMEOUT))
  until engine_answers; do
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
      tail -n 20 "$LOG_FILE" >&2 || true
      die "dockerd exited during start-up (log above)"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 20 "$LOG_FILE" >&2 || true
      die "dockerd did not answer within ${START_TIMEOUT}s"
    fi
    sleep 0.5
  done
  say "engine ready: export DOCKER_HOST=$DOCKER_HOST"
}

stop() {
  if [ ! -f "$PID_FILE" ]; then
    say "no dockerd started by this script"
    return 0
  fi
  local pid
  pid="$(cat "$PID_FILE")"
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
      if [ $SECONDS -ge $deadline ]; then
        say "dockerd did not stop within 30s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.5
    done
  fi
  rm -f "$PID_FILE"
  umount "$STATE_DIR/exec/netns/default" 2>/dev/null || true
  say "stopped"
}

docker_import() {
  # Reads a rootfs tarball on stdin and imports it as $BASE_IMAGE.
  if command -v docker >/dev/null; then
    docker import - "$BASE_IMAGE" >/dev/null
  else
    curl -sf --unix-socket "$SOCKET" -X POST -H "Content-Type: application/x-tar" \
      --data-binary @- \
      "http://localhost/images/create?fromSrc=-&repo=${BASE_IMAGE%:*}&tag=${BASE_IMAGE##*:}" \
      >/dev/null
  fi
}

image_exists() {
  timeout 10 curl -sf --unix-socket "$SOCKET" "http://localhost/images/$BASE_IMAGE/json" \
    >/dev/null 2>&1
}

base_image() {
  engine_answers || start
  if image_exists; then
    say "base image $BASE_IMAGE already present"
    return 0
  fi
  if [ ! -s "$CACHE_TARBALL" ]; then
    ensure_packages
    local rootfs
    rootfs="$(mktemp -d /tmp/mlops-rootfs.XXXXXX)"
    say "debootstrap $SUITE (minbase + python3, venv, pip, ca-certificates) into $rootfs" \
      "(about a minute; at most ${DEBOOTSTRAP_TIMEOUT}s)"
    if ! timeout "$DEBOOTSTRAP_TIMEOUT" debootstrap --variant=minbase \
      --include=python3,python3-venv,python3-pip,ca-certificates \
      "$SUITE" "$rootfs" "$MIRROR" >"$STATE_DIR/debootstrap.log" 2>&1; then
      tail -n 20 "$STATE_DIR/debootstrap.log" >&2 || true
      rm -rf "$rootfs"
      die "debootstrap failed (log: $STATE_DIR/debootstrap.log)"
    fi
    # Package caches and lists are not needed in the image.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    mkdir -p "$CACHE_DIR"
    say "caching the rootfs as $CACHE_TARBALL"
    tar -C "$rootfs" -c . | zstd -q -T0 -3 -o "$CACHE_TARBALL.part"
    mv "$CACHE_TARBALL.part" "$CACHE_TARBALL"
    rm -rf "$rootfs"
  else
    say "using cached rootfs $CACHE_TARBALL"
  fi
  say "importing $BASE_IMAGE"
  zstd -q -d -c "$CACHE_TARBALL" | docker_import
  image_exists || die "import of $BASE_IMAGE failed"
  say "base image $BASE_IMAGE ready"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  base-image) base_image ;;
  status)
    if engine_answers; then say "running at $DOCKER_HOST"; else say "not running"; exit 1; fi
    ;;
  env) echo "export DOCKER_HOST=$DOCKER_HOST" ;;
  *)
    echo "usage: $0 start|stop|base-image|status|env" >&2
    exit 64
    ;;
esac
