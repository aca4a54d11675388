#!/usr/bin/env bash
# Prepares a container engine for the container tests (npm run test:containers)
# on a machine where none runs, and prints the variables those tests need as
# `export NAME=value` lines on stdout (everything else goes to stderr):
#
#   eval "$(scripts/containers.sh)" && npm run test:containers
#
# With a Docker engine that answers (`docker info`), it does nothing: the
# tests use that engine and the images from its registry.
#
# Otherwise it installs Debian's podman, configures it for this kind of
# machine (runc, because crun refuses hybrid cgroups; ulimits within the
# machine's hard limits), serves its Docker-compatible API on a socket for
# testcontainers, and builds, from Debian's packages alone, stand-ins for the
# images the Dockerfile and the compose files name (node, RabbitMQ, Redis,
# Prometheus), because no image registry can be reached. Images an earlier
# run built are reused.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '== containers: %s\n' "$*" >&2; }

SOCKET=/run/podman/podman.sock
BASE=localhost/debian-minbase:bookworm
NODE_VERSION=$(sed -n 's/^ARG NODE_VERSION=//p' Dockerfile)
# The names the Dockerfile and the compose files use; a stand-in answers to each.
NODE_IMAGE=docker.io/library/node:${NODE_VERSION}-bookworm-slim
RABBITMQ_IMAGES="docker.io/library/rabbitmq:3.13-management docker.io/library/rabbitmq:3.13-alpine"
REDIS_IMAGES="docker.io/library/redis:7-alpine"
PROMETHEUS_IMAGES="docker.io/prom/prometheus:v2.55.1"

if command -v docker >/dev/null && docker info >/dev/null 2>&1 && ! docker --version | grep -qi podman; then
  say "a Docker engine answers; using it"
  exit 0
fi

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

if ! command -v podman >/dev/null || ! command -v podman-compose >/dev/null || ! command -v debootstrap >/dev/null || [ ! -x /usr/lib/cni/dnsname ]; then
  say "installing podman"
  # dnsname: containers on one network (a compose project's) find each other by name.
  apt-get update -qq >&2
  apt_install podman runc uidmap slirp4netns fuse-overlayfs podman-compose debootstrap iptables golang-github-containernetworking-plugin-dnsname
fi

mkdir -p /etc/containers
cat > /etc/containers/containers.conf <<'EOF'
# Written by scripts/containers.sh for this kind of machine.
[engine]
# crun refuses the machine's hybrid cgroup layout; runc runs.
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[containers]
# Podman's defaults exceed the machine's hard limits.
default_ulimits = ["nofile=10000:10000", "nproc=10000:10000"]
EOF

image_exists() { podman image exists "$1"; }

build_image() { # build_image <tag...> -- reads a Containerfile on stdin, context is $CONTEXT
  local tags=() tag
  while [ "$1" != "--" ]; do tags+=("$1"); shift; done
  shift
  local first=${tags[0]}
  podman build --pull=never --format docker -q -t "$first" -f - "$CONTEXT" >&2
  for tag in "${tags[@]:1}"; do podman tag "$first" "$tag"; done
}

# stand_in <what> <tag...>: builds the Containerfile on stdin under every tag, unless each exists already.
stand_in() {
  local what=$1 tag
  shift
  for tag in "$@"; do
    if ! image_exists "$tag"; then
      say "building the $what stand-in ($*)"
      build_image "$@" -- # the Containerfile is this function's stdin
      return
    fi
  done
  cat >/dev/null
}

if ! image_exists "$BASE"; then
  say "building $BASE with debootstrap (about a minute)"
  rootfs=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >&2
  tar -C "$rootfs" -c . | podman import - "$BASE" >&2
  rm -rf "$rootfs"
fi

CONTEXT=$(mktemp -d)
trap 'rm -rf "$CONTEXT"' EXIT

if ! image_exists "$NODE_IMAGE"; then
  say "building the node stand-in from this machine's node and npm"
  node_bin=$(command -v node)
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  mkdir -p "$CONTEXT/node/bin" "$CONTEXT/node/lib/node_modules"
  cp "$(readlink -f "$node_bin")" "$CONTEXT/node/bin/node"
  cp -a "$npm_dir" "$CONTEXT/node/lib/node_modules/npm"
  # The official image runs as root by default and has a `node` user (uid 1000), which the Dockerfile uses.
  build_image "$NODE_IMAGE" -- <<EOF
FROM $BASE
COPY node /usr/local/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
CMD ["node"]
EOF
  rm -rf "$CONTEXT/node"
fi

# Like the official image: RABBITMQ_DEFAULT_USER/PASS create the user, and the server runs in the foreground.
stand_in RabbitMQ $RABBITMQ_IMAGES <<EOF
FROM $BASE
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/* \
 && printf 'loopback_users = none\nlisteners.tcp.default = 5672\n' > /etc/rabbitmq/rabbitmq.conf \
 && printf '[rabbitmq_management,rabbitmq_prometheus].\n' > /etc/rabbitmq/enabled_plugins \
 && printf '%s\n' '#!/bin/sh' \
   'set -e' \
   'if [ -n "\$RABBITMQ_DEFAULT_USER" ]; then' \
   '  printf "default_user = %s\ndefault_pass = %s\n" "\$RABBITMQ_DEFAULT_USER" "\${RABBITMQ_DEFAULT_PASS:-guest}" >> /etc/rabbitmq/rabbitmq.conf' \
   'fi' \
   'exec "\$@"' > /usr/local/bin/entrypoint && chmod +x /usr/local/bin/entrypoint
ENV RABBITMQ_LOGS=-
ENTRYPOINT ["/usr/local/bin/entrypoint"]
CMD ["rabbitmq-server"]
EOF

stand_in Redis $REDIS_IMAGES <<EOF
FROM $BASE
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /data
WORKDIR /data
CMD ["redis-server", "--protected-mode", "no", "--bind", "0.0.0.0"]
EOF

# Like prom/prometheus: its config at /etc/prometheus/prometheus.yml, its data in /prometheus; wget for the health check.
stand_in Prometheus $PROMETHEUS_IMAGES <<EOF
FROM $BASE
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus wget \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /prometheus
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", "--web.listen-address=:9090"]
EOF

# The Docker-compatible API, for testcontainers. `exec` leaves no shell between
# this script and the service: a shell that waited for it would hold this
# script's stdout open, and a caller reading it would wait for ever.
if ! curl -fsS --unix-socket "$SOCKET" http://d/_ping >/dev/null 2>&1; then
  say "starting podman's API service on $SOCKET"
  mkdir -p "$(dirname "$SOCKET")"
  (cd / && exec setsid podman system service --time=0 "unix://$SOCKET" </dev/null >/var/log/podman-service.log 2>&1) &
  for _ in $(seq 1 50); do
    curl -fsS --unix-socket "$SOCKET" http://d/_ping >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS --unix-socket "$SOCKET" http://d/_ping >/dev/null || { say "podman's API service did not start"; exit 1; }
fi

say "ready"
echo "export CONTAINER_ENGINE=podman"
echo "export DOCKER_HOST=unix://$SOCKET"
echo "export TESTCONTAINERS_RYUK_DISABLED=true"
