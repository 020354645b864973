#!/usr/bin/env sh
# Installs what the tests need and the machine may lack, from Debian's packages only (no change to apt's sources):
# caddy (real Caddyfile validation and routing), tmux (the interactive wizard test), PostgreSQL (the per-app database
# script), the Docker engine (docker.io), debootstrap (the stand-in images' root) and Docker Compose v2 (Debian
# trixie's docker-compose package, CLI plugin only, installed with dpkg: bookworm's is v1), restic (offsite copies)
# systemd-analyze (the schedule's units) and ip/nsenter (a second dockerd for the two-node swarm test). Does nothing when all are present. The stand-in images are built by the
# test run itself (test/standins/build.ts), not here.
set -eu
missing=""
command -v caddy >/dev/null 2>&1 || missing="$missing caddy"
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
# PostgreSQL server binaries (the per-app database script runs against a throw-away cluster)
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
command -v restic >/dev/null 2>&1 || missing="$missing restic"
# systemd-analyze verify checks the backup schedule's generated units
command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
# ip (a network namespace and a veth pair for the second dockerd of the two-node swarm test; nsenter comes with util-linux)
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
command -v nsenter >/dev/null 2>&1 || missing="$missing util-linux"
compose_v2() { docker compose version >/dev/null 2>&1; }
[ -z "$missing" ] && compose_v2 && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
  echo "test/deps.sh: need root or sudo to install:$missing${missing:+ }$(compose_v2 || echo 'docker-compose (v2)')" >&2; exit 1
fi
if [ -n "$missing" ]; then
  echo "test/deps.sh: installing$missing" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if ! compose_v2; then
  # Compose v2 from Debian trixie: a temporary sources list and state folder, so the system's apt setup is untouched
  echo "test/deps.sh: installing docker-compose (v2) from Debian trixie" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "deb ${DEBIAN_MIRROR:-http://deb.debian.org/debian} trixie main" > "$tmp/sources.list"
  mkdir -p "$tmp/lists/partial" "$tmp/archives/partial"
  opts="-o Dir::Etc::sourcelist=$tmp/sources.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=$tmp/lists -o Dir::Cache::archives=$tmp/archives -o APT::Sandbox::User=root"
  $sudo apt-get $opts update -qq
  (cd "$tmp" && $sudo apt-get $opts download docker-compose >/dev/null)
  $sudo dpkg -i "$tmp"/docker-compose_*.deb >/dev/null
  compose_v2 || { echo "test/deps.sh: docker compose still does not answer after installing docker-compose" >&2; exit 1; }
fi
