#!/usr/bin/env bash
# One database and one role per app on the shared PostgreSQL, with the listed extensions (pgvector) in each.
#
# Runs on the first start (mounted into /docker-entrypoint-initdb.d, which PostgreSQL's entrypoint only reads on an
# empty data folder) and again whenever `npx zx tasks/01-data/databases.ts` asks for it, e.g. after an app was added
# to an existing installation. Idempotent: it creates what is missing and sets every app role's password to the
# current value (so a rotated <APP>_DB_PASSWORD takes effect); it never drops anything.
#
# Input, from the container environment (set in compose/01-data/docker-compose.yml):
#   APP_DATABASES        space-separated app names; each is the name of its database and of its role
#   <APP>_DB_PASSWORD    the password of each app's role (upper-case app name), or <APP>_DB_PASSWORD_FILE naming a
#                        file that holds it (a Docker secret under the swarm engine); not both
#   APP_EXTENSIONS       space-separated extensions created in every app database (e.g. vector); may be empty
#   POSTGRES_USER        the superuser it connects as (over the local socket)
#
# Secrets: a password reaches psql through `\getenv` (psql reads it from its own environment), so it is never on a
# command line, never in this script, never echoed; `log_min_error_statement = panic` keeps the server from logging
# the statement even when it fails.
set -euo pipefail

fail() {
  echo "app-databases: $*" >&2
  exit 1
}

apps="${APP_DATABASES:-}"
[[ -n "${apps// /}" ]] || fail "APP_DATABASES is empty: nothing to create"
user="${POSTGRES_USER:-postgres}"
extensions="${APP_EXTENSIONS:-}"
export PGOPTIONS="-c client_min_messages=warning" # no "already exists, skipping" notices on a re-run
name='^[a-z][a-z0-9_]{0,62}$'
for ext in $extensions; do
  [[ "$ext" =~ $name ]] || fail "APP_EXTENSIONS: \"$ext\" is not a valid extension name"
done

for app in $apps; do
  [[ "$app" =~ $name ]] || fail "\"$app\" is not a valid name (lower-case letters, digits and _, starting with a letter)"
  var="${app^^}_DB_PASSWORD"
  file_var="${var}_FILE"
  if [[ -n "${!file_var:-}" ]]; then
    [[ -z "${!var:-}" ]] || fail "both $var and $file_var are set: keep one"
    [[ -r "${!file_var}" ]] || fail "$file_var: ${!file_var} is not a readable file"
    printf -v "$var" '%s' "$(<"${!file_var}")"
    export "${var?}"
  fi
  [[ -n "${!var:-}" ]] || fail "$var is not set in the postgres service's environment"

  psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --username "$user" --dbname postgres \
    --set app="$app" --set pwvar="$var" <<'SQL'
SET log_min_error_statement = panic;
SET log_statement = 'none';
\getenv pw :pwvar
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') AS role_missing \gset
\if :role_missing
CREATE ROLE :"app" LOGIN;
\endif
ALTER ROLE :"app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pw';
\unset pw
SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'app') AS db_missing \gset
\if :db_missing
CREATE DATABASE :"app" OWNER :"app";
\endif
REVOKE ALL ON DATABASE :"app" FROM PUBLIC;
SQL
  for ext in $extensions; do
    psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --username "$user" --dbname "$app" --set ext="$ext" \
      <<<'CREATE EXTENSION IF NOT EXISTS :"ext";'
  done
  echo "app-databases: database and role \"$app\" ready"
done
