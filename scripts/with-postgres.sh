#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server on 127.0.0.1 and
# FLOPCARDS_TEST_DATABASE_URL pointing at it, so the database tests also run on PostgreSQL.
# Installs Debian's postgresql when it is missing and apt is usable; otherwise runs the
# command as it is (SQLite only) and says so.
set -euo pipefail

if [ -n "${FLOPCARDS_TEST_DATABASE_URL:-}" ]; then exec "$@"; fi

find_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

BIN=$(find_bin || true)
if [ -z "$BIN" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "with-postgres: installing Debian's postgresql" >&2
  (apt-get install -y -qq postgresql >/dev/null 2>&1 ||
    (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq postgresql >/dev/null 2>&1)) || true
  BIN=$(find_bin || true)
fi
if [ -z "$BIN" ]; then
  echo "with-postgres: no PostgreSQL available; database tests run on SQLite only" >&2
  exec "$@"
fi

DATA=$(mktemp -d /tmp/flopcards-pg.XXXXXX)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUN=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root: use its own system user (created by the package).
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$DATA"
  RUN=(runuser -u postgres --)
fi
cleanup() {
  "${RUN[@]}" "$BIN/pg_ctl" -D "$DATA/db" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT
"${RUN[@]}" "$BIN/initdb" -D "$DATA/db" -U flopcards --auth=trust -E UTF8 >/dev/null
"${RUN[@]}" "$BIN/pg_ctl" -D "$DATA/db" -l "$DATA/log" -w -o \
  "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off -c max_connections=200" start >/dev/null
export FLOPCARDS_TEST_DATABASE_URL="postgresql+psycopg://flopcards@127.0.0.1:$PORT/postgres"
echo "with-postgres: PostgreSQL on 127.0.0.1:$PORT" >&2
"$@"
