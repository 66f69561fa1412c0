#!/usr/bin/env bash
# The one command that starts the IonRank platform on its embedded default (README: `npm ci && npm start`):
# installs and builds what is missing, opens (creating and migrating) the SQLite database under
# IONRANK_DATA_DIR (default ./data), loads the example data the first time (hops enumerated and predicted by
# the bundled model), then serves the GraphQL API (127.0.0.1:${IONRANK_API_PORT:-4000}/graphql) and the
# dashboard (127.0.0.1:${IONRANK_WEB_PORT:-3000}). A second start reuses the database. Ctrl-C stops both.
#
# Every child runs in the background while the script waits for it, so Ctrl-C or a SIGTERM to this script
# stops whatever is running at once (import, API, dashboard) and leaves no process behind.
set -euo pipefail
caller=$PWD
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1 NEXT_TELEMETRY_DISABLED=1

die() { echo "error: $*" >&2; exit 1; }

pids=() # the children still running
stop_all() {
  local p n
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for n in $(seq 1 50); do # up to 10 s to shut down cleanly, then SIGKILL
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && break; p=; done
    [ -n "$p" ] || break
    sleep 0.2
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
}
trap stop_all EXIT
trap 'stop_all; trap - EXIT; exit 130' INT
trap 'stop_all; trap - EXIT; exit 143' TERM
# Run a command as a child this script waits for (so a signal reaches the trap at once); returns its status.
run() {
  local p rc=0
  "$@" &
  p=$!
  pids+=("$p")
  wait "$p" || rc=$?
  local q keep=()
  for q in "${pids[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
  pids=("${keep[@]}")
  return "$rc"
}
ionrank() { run node packages/cli/bin/ionrank.js "$@"; }

# Check what the user controls before spending minutes on a build.
data_dir=${IONRANK_DATA_DIR:-$PWD/data}
case "$data_dir" in /*) ;; *) data_dir=$caller/$data_dir ;; esac # relative to where the command was typed
export IONRANK_DATA_DIR=$data_dir
API_PORT=${IONRANK_API_PORT:-4000}
WEB_PORT=${IONRANK_WEB_PORT:-3000}
check_number() { # PORT VAR
  [[ "$1" =~ ^[0-9]{1,5}$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ] || die "$2=$1 is not a port number (1-65535)"
}
check_number "$API_PORT" IONRANK_API_PORT
check_number "$WEB_PORT" IONRANK_WEB_PORT
[ "$API_PORT" != "$WEB_PORT" ] || die "IONRANK_API_PORT and IONRANK_WEB_PORT are both $API_PORT: give them different ports"
# 0: free; 1: in use; 2: not allowed (e.g. a port below 1024 without root).
port_state() {
  node -e 'const s = require("node:net").createServer();
    s.once("error", (e) => process.exit(e.code === "EADDRINUSE" ? 1 : 2));
    s.listen(Number(process.argv[1]), "127.0.0.1", () => s.close(() => process.exit(0)));' "$1" || return $?
}
check_port() { # PORT VAR WHAT
  local rc=0
  port_state "$1" || rc=$?
  [ $rc -ne 1 ] || die "port $1 on 127.0.0.1 (the $3) is already in use, perhaps by another IonRank: stop it, or set $2 to a free port"
  [ $rc -eq 0 ] || die "cannot listen on 127.0.0.1:$1 (the $3): set $2 to another port"
}
check_port "$API_PORT" IONRANK_API_PORT "GraphQL API"
check_port "$WEB_PORT" IONRANK_WEB_PORT dashboard
probe=$IONRANK_DATA_DIR/.write-test.$$
if ! err=$(mkdir -p "$IONRANK_DATA_DIR" 2>&1 && touch "$probe" 2>&1 && rm -f "$probe" 2>&1); then
  die "cannot write to IONRANK_DATA_DIR=$IONRANK_DATA_DIR (${err##*: }): set IONRANK_DATA_DIR to a folder IonRank may write to"
fi

[ -d node_modules ] || run npm ci || die "npm ci failed (see above)"
run npx turbo run build --output-logs=errors-only || die "the build failed (see above)"

# What is loaded into a database is recorded beside the database it went into: the embedded SQLite file, or
# the database DATABASE_URL names (a file per URL, by its hash), so switching databases loads the examples
# into the new one and gives the dashboard a key that exists there.
if [ -n "${DATABASE_URL:-}" ]; then
  state=.$(printf '%s' "$DATABASE_URL" | sha256sum | cut -c1-16)
  db_name=DATABASE_URL
else
  state=
  db_name=$IONRANK_DATA_DIR/ionrank.db
  # A deleted database starts over: its examples and the dashboard's key went with it.
  [ -e "$db_name" ] || rm -f "$IONRANK_DATA_DIR/.examples-loaded" "$IONRANK_DATA_DIR/web-api-key"
fi
marker=$IONRANK_DATA_DIR/.examples-loaded$state
key_file=$IONRANK_DATA_DIR/web-api-key$state

if [ ! -e "$marker" ]; then
  echo "First start: loading the example data into $db_name" >&2
  loaded=yes
  for dir in examples/structures/*/; do
    ion=$(basename "$dir")
    ionrank import "$dir" --ion "$ion" --predict --quiet >&2 || loaded=
  done
  ionrank import examples/dataset/em-sample.json --predict --quiet >&2 || loaded=
  # Only a complete load is recorded; an interrupted or failed one is repeated next time (a re-import stores
  # nothing twice and predicts what was stored without a prediction).
  if [ -n "$loaded" ]; then
    touch "$marker"
  else
    echo "warning: the example data did not load completely (see above); the next start loads it again" >&2
  fi
fi
# The dashboard's import page writes through the API with its own editor key, kept beside the database.
if [ ! -s "$key_file" ]; then
  : >"$key_file.tmp" && chmod 600 "$key_file.tmp"
  ionrank apikey create --role editor >"$key_file.tmp" || die "could not create the dashboard's API key in $db_name (see above)"
  key=$(tail -n 1 "$key_file.tmp") && printf '%s\n' "$key" >"$key_file.tmp" && mv "$key_file.tmp" "$key_file"
fi
export IONRANK_WEB_API_KEY="$(cat "$key_file")"
export IONRANK_API_URL="http://127.0.0.1:$API_PORT/graphql"
export IONRANK_CORS_ORIGINS="http://127.0.0.1:$WEB_PORT,http://localhost:$WEB_PORT"

# Whether URL answers (2xx for the API's health; any HTTP answer for the dashboard) within 5 s; prints why not.
answers() {
  node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(5000) }).then(
    (r) => { if (r.ok || process.argv[2] === "any") process.exit(0); console.log(`HTTP ${r.status}`); process.exit(1); },
    (e) => { console.log(e?.cause?.code ?? e?.name ?? String(e)); process.exit(1); })' "$@"
}
# Wait (up to 120 s) until PID answers on URL; fail with a message (and the last try's error) if it exits or never answers.
await_up() { # PID WHAT URL [any]
  local deadline=$((SECONDS + 120)) rc=0 why=
  until why=$(answers "$3" "${4:-ok}"); do
    if ! kill -0 "$1" 2>/dev/null; then
      wait "$1" || rc=$?
      die "the $2 did not start (exit status $rc; see above)"
    fi
    [ $SECONDS -lt $deadline ] || die "the $2 did not answer on $3 within 120 s (last try: ${why:-no answer})"
    sleep 0.5
  done
}
# Production mode unless told otherwise: clients get error codes and messages, not stack traces.
NODE_ENV=${NODE_ENV:-production} IONRANK_API_PORT=$API_PORT node apps/api/dist/main.js &
api=$!
pids+=("$api")
await_up "$api" "GraphQL API" "http://127.0.0.1:$API_PORT/health"
(cd apps/web && exec node ../../node_modules/next/dist/bin/next start -H 127.0.0.1 -p "$WEB_PORT") &
web=$!
pids+=("$web")
await_up "$web" dashboard "http://127.0.0.1:$WEB_PORT/_next/static/ionrank-ready" any # a quick 404 once up
echo "IonRank dashboard at http://127.0.0.1:$WEB_PORT — GraphQL API at $IONRANK_API_URL" >&2
# Serve until the API or the dashboard stops, or, under `npm start`, until npm does: npm passes a SIGTERM on
# to the `sh -c` it runs this script in, which dies of it without passing it on.
npm_shell=
[ "${npm_lifecycle_event:-}" != start ] || npm_shell=$PPID
while kill -0 "$api" 2>/dev/null && kill -0 "$web" 2>/dev/null; do
  if [ -n "$npm_shell" ] && ! kill -0 "$npm_shell" 2>/dev/null; then
    echo "npm start was stopped: stopping IonRank" >&2
    exit 143
  fi
  sleep 1
done
what=dashboard gone=$web
if ! kill -0 "$api" 2>/dev/null; then what="GraphQL API" gone=$api; fi
rc=0
wait "$gone" || rc=$?
die "the $what stopped (exit status $rc); stopping IonRank"
