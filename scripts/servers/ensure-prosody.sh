#!/usr/bin/env bash
# Make sure Prosody (the Debian package) is installed, for `npm run demo` and `npm run bench:gateway`,
# which start their own Prosody on loopback (scripts/demo/stack.ts). As root it is installed with
# apt-get (package scripts kept from starting the system service); otherwise the exact command is
# printed and this exits 1. One implementation: scripts/servers/ensure-packages.sh.
set -euo pipefail
exec bash "$(dirname "$0")/ensure-packages.sh" --require --only prosody
