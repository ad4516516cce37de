#!/usr/bin/env bash
# The project's test command: installs what is missing, type-checks, then runs the whole suite
# (unit tests, and integration tests against real XMPP servers: see test/servers/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
# Prosody + ejabberd for test/integration: installed here when run as root, otherwise the exact
# apt-get command is printed and the integration tests are skipped (they fail instead with CI=true).
bash scripts/servers/ensure-packages.sh
echo "[test] type-check"
npx tsc -p tsconfig.json --noEmit
echo "[test] vitest"
npx vitest run "$@"
