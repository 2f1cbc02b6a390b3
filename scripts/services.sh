#!/usr/bin/env bash
# Starts the PostgreSQL and Redis servers the integration tests use, idempotently, without
# systemd. Prints the environment variables the tests read.
#   PostgreSQL 15: data in ${TA_SERVICES_DIR:-/tmp/ta-services}/pg, port 55432, socket dir /tmp
#   Redis:         port 56379, AOF on, maxmemory-policy noeviction
set -euo pipefail
dir="${TA_SERVICES_DIR:-/tmp/ta-services}"
mkdir -p "$dir"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

if ! "$pg_bin/pg_isready" -h 127.0.0.1 -p 55432 -q 2>/dev/null; then
  if [ ! -s "$dir/pg/PG_VERSION" ]; then
    rm -rf "$dir/pg"; mkdir -p "$dir/pg"; chown postgres:postgres "$dir" "$dir/pg"
    su postgres -c "$pg_bin/initdb -D $dir/pg -U postgres --auth=trust >/dev/null"
  fi
  chown -R postgres:postgres "$dir/pg"
  su postgres -c "$pg_bin/pg_ctl -D $dir/pg -l $dir/pg.log -w -o '-p 55432 -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off' start >/dev/null"
fi
for _ in $(seq 1 50); do "$pg_bin/pg_isready" -h 127.0.0.1 -p 55432 -q && break; sleep 0.2; done
psql -h 127.0.0.1 -p 55432 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='transient_access_test'" | grep -q 1 \
  || psql -h 127.0.0.1 -p 55432 -U postgres -qc "CREATE DATABASE transient_access_test"

if ! redis-cli -p 56379 ping >/dev/null 2>&1; then
  mkdir -p "$dir/redis"
  redis-server --daemonize yes --port 56379 --bind 127.0.0.1 --dir "$dir/redis" --appendonly yes \
    --maxmemory-policy noeviction --save "" --logfile "$dir/redis.log"
  for _ in $(seq 1 50); do redis-cli -p 56379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

echo "export TA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/transient_access_test"
echo "export TA_TEST_REDIS_URL=redis://127.0.0.1:56379"
