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
# Every test's temporary files go into one folder, removed on exit: tests that make folders need not each clean up,
# and a killed test leaves nothing behind in the system's temp folder.
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ionrank-test.XXXXXX")
chmod 755 "$TEST_TMP" # PostgreSQL servers the tests start run as the postgres user when root
trap 'bash scripts/postgres.sh stop "$PG_DIR/pg"; rmdir "$PG_DIR" 2>/dev/null || true; rm -rf "$TEST_TMP"' EXIT
# A free port unless one is given: a server left by a killed run, or another checkout's, must not break this one.
PG_PORT=${IONRANK_TEST_POSTGRES_PORT:-$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')}
IONRANK_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start "$PG_DIR/pg" "$PG_PORT")
export IONRANK_TEST_POSTGRES_URL
export TMPDIR="$TEST_TMP"
npx turbo run build lint typecheck test --output-logs=new-only
# Cross-package and end-to-end tests (test/): type-check, lint, run.
npx tsc -p test/tsconfig.json
npx eslint test
npx vitest run --config test/vitest.config.ts
