#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server on 127.0.0.1 and
# FLOPCARDS_TEST_DATABASE_URL pointing at it, so the database tests also run on PostgreSQL.
# Installs Debian's postgresql when it is missing and apt is usable (as root); otherwise runs
# the command as it is (SQLite only) and says so.
set -euo pipefail

if [ -n "${FLOPCARDS_TEST_DATABASE_URL:-}" ]; then exec "$@"; fi

find_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

BIN=$(find_bin || true)
if [ -z "$BIN" ]; then
  # As root with apt: installs Debian's postgresql; otherwise says why it does not.
  "$(dirname "$0")/apt-install.sh" "the database tests run on SQLite only" postgresql
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
  "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off -c max_connections=400" start >/dev/null
export FLOPCARDS_TEST_DATABASE_URL="postgresql+psycopg://flopcards@127.0.0.1:$PORT/postgres"
echo "with-postgres: PostgreSQL on 127.0.0.1:$PORT" >&2
"$@"
