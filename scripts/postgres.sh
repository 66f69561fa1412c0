#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests: Debian's postgresql, on 127.0.0.1 only, trust auth, data in
# a temporary folder. Usage: scripts/postgres.sh start DIR PORT  → prints the admin URL
#                            scripts/postgres.sh stop DIR
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user the package creates.
set -euo pipefail
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    port=$3
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -A trust -U ionrank -E UTF8 --no-locale >"$dir/initdb.log" 2>&1
    # fsync off: a test database need not survive a power cut, and it makes the suite much faster.
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
    echo "postgresql://ionrank@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
