#!/usr/bin/env bash
# The one command that runs every test (README: `npm ci && npm test`).
# Sets up what the tests need, then runs lint, type checks, unit tests and cross-package tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1
[ -d node_modules ] || npm ci
# System packages the test suite uses (installed only when missing):
# python3-numpy reads featurized datasets back the way the PyTorch training code does.
bash scripts/system-deps.sh python3 python3-numpy
npx turbo run build lint typecheck test --output-logs=new-only
npx vitest run --config test/vitest.config.ts
