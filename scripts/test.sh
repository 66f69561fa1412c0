#!/usr/bin/env bash
# The one command that runs every test (README: `npm ci && npm test`).
# Sets up what the tests need, then runs lint, type checks, unit tests and cross-package tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1
[ -d node_modules ] || npm ci
# System packages the test suite uses (installed only when missing):
# python3-numpy and python3-torch: the training core and its tests (OpenBLAS and tcmalloc make it fast).
bash scripts/system-deps.sh python3 python3-numpy python3-torch python3-onnx libopenblas0-pthread libtcmalloc-minimal4
# postgresql: the database and API tests run on it too; chromium: the dashboard's browser tests.
bash scripts/system-deps.sh postgresql chromium
# A throw-away PostgreSQL on 127.0.0.1 for the database and API tests (stopped and removed on exit).
PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ionrank-pg.XXXXXX")
chmod 755 "$PG_DIR"
trap 'bash scripts/postgres.sh stop "$PG_DIR/pg"; rmdir "$PG_DIR" 2>/dev/null || true' EXIT
# A free port unless one is given: a server left by a killed run, or another checkout's, must not break this one.
PG_PORT=${IONRANK_TEST_POSTGRES_PORT:-$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')}
IONRANK_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start "$PG_DIR/pg" "$PG_PORT")
export IONRANK_TEST_POSTGRES_URL
npx turbo run build lint typecheck test --output-logs=new-only
# Cross-package and end-to-end tests (test/): type-check, lint, run.
npx tsc -p test/tsconfig.json
npx eslint test
npx vitest run --config test/vitest.config.ts
