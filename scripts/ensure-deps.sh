#!/usr/bin/env bash
# Install npm dependencies when node_modules is missing or older than the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."
need_node() {
  if ! command -v node >/dev/null; then echo "Node.js >= 20.19 is required (apt-get install nodejs, or nodesource)" >&2; exit 1; fi
  local major; major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then echo "Node.js >= 20.19 is required, found $(node --version)" >&2; exit 1; fi
}
need_node
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
