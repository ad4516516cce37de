#!/usr/bin/env bash
# The project's test command: installs what is missing, type-checks, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
echo "[test] type-check"
npx tsc -p tsconfig.json --noEmit
echo "[test] vitest"
npx vitest run "$@"
