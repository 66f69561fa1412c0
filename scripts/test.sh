#!/usr/bin/env bash
# The one command that runs every test (README: `npm ci && npm test`).
# Sets up what the tests need, then runs lint, type checks, unit tests and cross-package tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1
[ -d node_modules ] || npm ci
# System packages the test suite uses (installed only when missing).
bash scripts/system-deps.sh ${IONRANK_TEST_SYSTEM_PACKAGES:-}
npx turbo run build lint typecheck test --output-logs=new-only
npx vitest run --config test/vitest.config.ts
