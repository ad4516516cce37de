#!/usr/bin/env bash
# The main job (`npm run demo`): install what is missing, build, and run the demo
# (scripts/demo.ts: Prosody on loopback + the DS gateway + three MLS clients).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
bash scripts/servers/ensure-prosody.sh
echo "[demo] building (tsc)"
npx tsc -p tsconfig.json
exec node dist/scripts/demo.js "$@"
