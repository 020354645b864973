#!/usr/bin/env sh
# Installs what the tests need and the machine may lack: caddy (real Caddyfile validation and routing),
# tmux (the interactive wizard test) and PostgreSQL (the per-app database script), from Debian/Ubuntu packages.
# Does nothing when they are present.
set -eu
missing=""
command -v caddy >/dev/null 2>&1 || missing="$missing caddy"
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
# PostgreSQL server binaries (the per-app database script runs against a throw-away cluster)
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
  echo "test/deps.sh: need root or sudo to install:$missing" >&2; exit 1
fi
echo "test/deps.sh: installing$missing" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
