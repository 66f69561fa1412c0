#!/usr/bin/env bash
# The one command that starts IonRank on its embedded default (README: `npm ci && npm start`): installs and
# builds what is missing, opens (creating and migrating) the SQLite database under IONRANK_DATA_DIR
# (default ./data), loads the example structures the first time (Li hops enumerated and predicted by the
# bundled model), then serves the GraphQL API on 127.0.0.1:${IONRANK_API_PORT:-4000}/graphql.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1 NEXT_TELEMETRY_DISABLED=1
[ -d node_modules ] || npm ci
npx turbo run build --output-logs=errors-only
export IONRANK_DATA_DIR="${IONRANK_DATA_DIR:-$PWD/data}"
mkdir -p "$IONRANK_DATA_DIR"
if [ -z "${DATABASE_URL:-}" ] && [ ! -e "$IONRANK_DATA_DIR/.examples-loaded" ]; then
  echo "First start: loading the example structures into $IONRANK_DATA_DIR/ionrank.db" >&2
  node packages/cli/bin/ionrank.js import examples/structures --ion Li --predict --quiet || true
  touch "$IONRANK_DATA_DIR/.examples-loaded"
fi
exec node apps/api/dist/main.js
