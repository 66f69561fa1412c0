#!/usr/bin/env bash
# The one command that starts IonRank on its embedded default (README: `npm ci && npm start`).
# Until the API and dashboard land, this reads the bundled example structures with the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1
[ -d node_modules ] || npm ci
npx turbo run build --output-logs=errors-only
exec node packages/cli/bin/ionrank.js inspect packages/crystal/test/fixtures/*.cif
