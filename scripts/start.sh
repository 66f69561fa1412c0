#!/usr/bin/env bash
# The one command that starts the IonRank platform on its embedded default (README: `npm ci && npm start`):
# installs and builds what is missing, opens (creating and migrating) the SQLite database under
# IONRANK_DATA_DIR (default ./data), loads the example data the first time (hops enumerated and predicted by
# the bundled model), then serves the GraphQL API (127.0.0.1:${IONRANK_API_PORT:-4000}/graphql) and the
# dashboard (127.0.0.1:${IONRANK_WEB_PORT:-3000}). A second start reuses the database. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1 NEXT_TELEMETRY_DISABLED=1
[ -d node_modules ] || npm ci
npx turbo run build --output-logs=errors-only
export IONRANK_DATA_DIR="${IONRANK_DATA_DIR:-$PWD/data}"
API_PORT="${IONRANK_API_PORT:-4000}"
WEB_PORT="${IONRANK_WEB_PORT:-3000}"
mkdir -p "$IONRANK_DATA_DIR"
ionrank() { node packages/cli/bin/ionrank.js "$@"; }

if [ ! -e "$IONRANK_DATA_DIR/.examples-loaded" ]; then
  echo "First start: loading the example data into ${DATABASE_URL:+DATABASE_URL}${DATABASE_URL:-$IONRANK_DATA_DIR/ionrank.db}" >&2
  for dir in examples/structures/*/; do
    ion=$(basename "$dir")
    ionrank import "$dir" --ion "$ion" --predict --quiet >&2 || true # failures are listed, the rest is stored
  done
  ionrank import examples/dataset/em-sample.json --predict --quiet >&2 || true
  touch "$IONRANK_DATA_DIR/.examples-loaded"
fi
# The dashboard's import page writes through the API with its own editor key, kept beside the database.
if [ ! -s "$IONRANK_DATA_DIR/web-api-key" ]; then
  (umask 077 && ionrank apikey create --role editor | tail -n 1 >"$IONRANK_DATA_DIR/web-api-key")
fi
export IONRANK_WEB_API_KEY="$(cat "$IONRANK_DATA_DIR/web-api-key")"
export IONRANK_API_URL="http://127.0.0.1:$API_PORT/graphql"
export IONRANK_CORS_ORIGINS="http://127.0.0.1:$WEB_PORT,http://localhost:$WEB_PORT"

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait' EXIT INT TERM
IONRANK_API_PORT=$API_PORT node apps/api/dist/main.js &
pids+=($!)
for _ in $(seq 1 120); do
  node -e "fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" "http://127.0.0.1:$API_PORT/health" && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "error: the API did not start" >&2; exit 1; }
  sleep 0.5
done
(cd apps/web && exec node ../../node_modules/next/dist/bin/next start -H 127.0.0.1 -p "$WEB_PORT") &
pids+=($!)
echo "IonRank dashboard at http://127.0.0.1:$WEB_PORT — GraphQL API at $IONRANK_API_URL" >&2
wait -n "${pids[@]}"
