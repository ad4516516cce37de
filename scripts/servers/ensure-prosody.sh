#!/usr/bin/env bash
# Make sure Prosody (the Debian package) is installed, for `npm run demo` and `npm run bench:gateway`,
# which start their own Prosody on loopback (scripts/demo/stack.ts). Only prosody is needed there;
# scripts/servers/ensure-packages.sh installs everything the integration tests need (ejabberd too).
#
# As root: apt-get installs it, with a temporary policy-rc.d so that the package scripts do not
# start the system service (the demo runs its own server on its own ports).
# Not root: prints the exact command and exits 1.
set -euo pipefail
say() { echo "[prosody] $*"; }

if command -v prosody >/dev/null 2>&1 && command -v prosodyctl >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "prosody is not installed and this is not a Debian-based system: install Prosody 0.12 yourself (prosody and prosodyctl on PATH)"
  exit 1
fi
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prosody"
if [ "$(id -u)" != 0 ]; then
  say "Prosody is not installed. Install it as root, then run this again:"
  say "  sudo sh -c '$cmd'"
  exit 1
fi
say "installing Prosody: $cmd"
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  # Debian's standard switch: exit code 101 tells invoke-rc.d not to start services.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends prosody
cleanup
trap - EXIT
# On a systemd machine the unit may be enabled (policy-rc.d only stops invoke-rc.d): stop it.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now prosody >/dev/null 2>&1 || true
fi
say "installed $(dpkg-query -W -f='${Package} ${Version}' prosody)"
