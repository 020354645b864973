#!/bin/sh
# Stand-in for the Valkey/Redis images' entrypoint, from their documented behaviour: a leading flag means the
# server; as root, own the working folder and drop to the server's user; protected mode off (the network is the
# boundary, as in the official images).
set -eu
SERVER_USER="${SERVER_USER:-valkey}"
case "${1:-}" in -*) set -- "${SERVER_BIN:-valkey-server}" "$@" ;; esac
case "${1:-}" in
  valkey-server|redis-server)
    set -- "$@" --protected-mode no
    if [ "$(id -u)" = 0 ]; then
      find . \! -user "$SERVER_USER" -exec chown "$SERVER_USER" '{}' +
      exec setpriv --reuid="$SERVER_USER" --regid="$SERVER_USER" --init-groups "$@"
    fi ;;
esac
exec "$@"
