#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests: Debian's postgresql, on 127.0.0.1 only, trust auth, data in
# a temporary folder. Usage: scripts/postgres.sh start DIR PORT  → prints the admin URL
#                            scripts/postgres.sh stop DIR        → stops the server and removes DIR
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user the package creates.
# start refuses a DIR whose server is still running and a PORT that is taken (naming the leftover server's
# DIR when it is one of these); it starts again a stopped server found in DIR. stop removes only a DIR
# holding what start made, and succeeds when nothing runs there.
set -euo pipefail
usage() { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }
die() { echo "error: $*" >&2; exit 1; }
[ $# -ge 2 ] && [ -n "$2" ] || usage
cmd=$1 dir=$2
bins=(/usr/lib/postgresql/*/bin/pg_ctl)
[ -x "${bins[0]}" ] || die "PostgreSQL is not installed: run scripts/system-deps.sh postgresql (or apt-get install postgresql)"
bin=$(printf '%s\n' "${bins[@]%/pg_ctl}" | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
running() { [ -f "$dir/data/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; }
# The data folder of the PostgreSQL server listening on PORT, when it is one started by this script.
server_on() {
  local c args d
  for c in /proc/[0-9]*/cmdline; do
    args=$(tr '\0' ' ' 2>/dev/null <"$c") || continue
    case "$args" in
      */bin/postgres\ -D\ *"-p $1 "*) d=${args#*-D }; echo "${d%% *}"; return ;;
    esac
  done
}
case "$cmd" in
  start)
    [ $# -eq 3 ] || usage
    port=$3
    [[ "$port" =~ ^[0-9]{1,5}$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "PORT $port is not a port number (1-65535)"
    running && die "a PostgreSQL server is already running in $dir: stop it first ($0 stop $dir)"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      other=$(server_on "$port")
      other=${other%/data}
      die "port $port on 127.0.0.1 is in use${other:+ by a PostgreSQL left running in $other (stop it: $0 stop $other)}: free it or choose another port"
    fi
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      rm -rf "$dir/data" # what an interrupted initdb left
      as_pg "$bin/initdb" -D "$dir/data" -A trust -U ionrank -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
        || die "initdb failed: $(tail -n 1 "$dir/initdb.log") (log: $dir/initdb.log)"
    fi # else a server an earlier run stopped (or left when killed): start it again
    # fsync off: a test database need not survive a power cut, and it makes the suite much faster.
    if ! as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k '$dir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null 2>&1; then
      why=$(grep -E 'FATAL|ERROR' "$dir/server.log" 2>/dev/null | tail -n 1 | sed -E 's/^.*(FATAL|ERROR): +//')
      as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true # one that started too slowly
      die "PostgreSQL did not start on 127.0.0.1:$port${why:+: $why} (log: $dir/server.log)"
    fi
    echo "postgresql://ionrank@127.0.0.1:$port/postgres"
    ;;
  stop)
    [ $# -eq 2 ] || usage
    [ -e "$dir" ] || exit 0
    # Remove only a folder that holds what start made, never one given by mistake.
    for f in "$dir"/* "$dir"/.[!.]*; do
      [ -e "$f" ] || continue
      case "${f##*/}" in
        data | initdb.log | server.log | .s.PGSQL.*) ;;
        *) die "$dir holds ${f##*/}, which $0 start did not make: not removing it" ;;
      esac
    done
    if running; then
      as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
        || as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 \
        || die "could not stop the PostgreSQL server in $dir (log: $dir/server.log)"
    fi
    rm -rf "$dir"
    ;;
  *) usage ;;
esac
