#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL 15 server: initdb in a temporary folder, started on
# a loopback port, stopped and removed afterwards (whatever the command's exit code, which is
# returned). The command sees YKT_TEST_PG_URL (a superuser URL; tests create databases there).
#   scripts/with-postgres.sh npx tap            # the suite on PostgreSQL (npm run test:pg)
# Durability as in production: fsync on, synchronous_commit on. Needs Debian's postgresql-15.
set -euo pipefail
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PORT="${YKT_PG_PORT:-55432}"
if [ ! -x "$PG_BIN/initdb" ]; then
  echo "with-postgres: $PG_BIN/initdb not found: install PostgreSQL 15 (apt-get install -y postgresql-15)" >&2
  exit 3
fi
DIR="$(mktemp -d /tmp/yikatong-pg.XXXXXX)"
AS=()
# PostgreSQL refuses to run as root: run it as the postgres user Debian's package creates.
if [ "$(id -u)" = 0 ]; then chown -R postgres "$DIR"; AS=(runuser -u postgres --); fi
cleanup () {
  "${AS[@]}" "$PG_BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
"${AS[@]}" "$PG_BIN/initdb" -D "$DIR/data" -A trust -U postgres >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 3; }
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on -c synchronous_commit=on" start >/dev/null \
  || { cat "$DIR/server.log" >&2; exit 3; }
export YKT_TEST_PG_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
set +e
"$@"
code=$?
set -e
exit $code
