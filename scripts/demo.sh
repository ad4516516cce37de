#!/usr/bin/env bash
# The main job: install what is missing, build, and run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx tsc -p tsconfig.json
node dist/scripts/demo.js "$@"
