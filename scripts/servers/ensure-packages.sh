#!/usr/bin/env bash
# Make sure the Debian packages for the integration tests are installed, and that no system-started
# Prosody/ejabberd (or the epmd that ejabberdctl leaves behind) is running: the tests start their
# own servers on loopback (test/servers/) and a system service would only get in the way.
#
#   bash scripts/servers/ensure-packages.sh [--require] [--stop-services] [--only] [package ...]
#
# Packages named on the command line are added to the default list (prosody lua-unbound ejabberd);
# with --only they replace it (the demo and the gateway bench need only prosody).
# As root: installs what is missing (apt-get update + install, non-interactive) while a temporary
# policy-rc.d keeps the package scripts from starting the services, then stops any that run anyway.
# Not root: prints the exact command. --require makes a missing package an error (exit 1).
# --stop-services (CI): stop system prosody/ejabberd/epmd even when nothing was installed now.
# Without it they are only stopped right after this script installed the packages: the test
# servers use their own ports, so a developer's system service is left alone.
set -euo pipefail

require=0
stop_services=0
only=0
named=()
for arg in "$@"; do
  case "$arg" in
    --require) require=1 ;;
    --stop-services) stop_services=1 ;;
    --only) only=1 ;;
    -*) echo "[servers] unknown option $arg" >&2; exit 2 ;;
    *) named+=("$arg") ;;
  esac
done
if [ "$only" = 1 ]; then pkgs=("${named[@]}"); else pkgs=(prosody lua-unbound ejabberd "${named[@]}"); fi

say() { echo "[servers] $*"; }

if ! command -v dpkg-query >/dev/null 2>&1; then
  say "not a Debian-based system: install ${pkgs[*]} yourself (Prosody 0.12, ejabberd 23.01 were tested)"
  [ "$require" = 1 ] && exit 1
  exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

is_root=0
[ "$(id -u)" = 0 ] && is_root=1
install_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]:-}"

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$is_root" = 1 ]; then
    say "installing ${missing[*]}: $install_cmd"
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
    apt-get install -y -q --no-install-recommends "${missing[@]}"
    cleanup
    trap - EXIT
    say "installed ${missing[*]}"
    stop_services=1
  else
    say "missing Debian packages: ${missing[*]}. Install them as root with:"
    say "  sudo sh -c '$install_cmd'"
    if [ "$require" = 1 ]; then exit 1; fi
    say "continuing: the integration tests will be skipped (or fail, with CI=true)"
    exit 0
  fi
else
  say "packages present: ${pkgs[*]}"
fi

[ "$stop_services" = 1 ] || exit 0

# --- stop system-started servers -------------------------------------------------------------
# Only the services' own processes are touched: those of the system users "prosody" and "ejabberd"
# (the Debian init scripts and ejabberdctl run them, and ejabberdctl's epmd, under those users).
# The test servers run under the invoking user and are never matched.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  for svc in prosody ejabberd; do
    if systemctl is-active --quiet "$svc" 2>/dev/null || systemctl is-enabled --quiet "$svc" 2>/dev/null; then
      if [ "$is_root" = 1 ]; then
        say "systemd: disabling and stopping $svc (systemctl disable --now $svc)"
        systemctl disable --now "$svc" >/dev/null 2>&1 || true
      else
        say "systemd service $svc is enabled; stop it with: sudo systemctl disable --now $svc"
      fi
    fi
  done
fi

proc_state() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1 || true; }

# Live (not zombie) processes of the service users.
service_pids() {
  local user pid state
  for user in prosody ejabberd; do
    id -u "$user" >/dev/null 2>&1 || continue
    for pid in $(pgrep -u "$user" || true); do
      state=$(proc_state "$pid")
      if [ -n "$state" ] && [ "$state" != Z ]; then echo "$pid"; fi
    done
  done
}

pids=$(service_pids)
if [ -n "$pids" ]; then
  if [ "$is_root" != 1 ]; then
    say "system prosody/ejabberd processes are running (pids: $(echo $pids)); as root, stop them with: kill $(echo $pids)"
    exit 0
  fi
  # TERM is a clean stop for all of them: prosody, ejabberd's VM (init:stop) and epmd.
  for pid in $pids; do
    say "stopping system service process $pid: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-120)"
    kill -TERM "$pid" 2>/dev/null || true
  done
  alive=""
  for _ in $(seq 1 50); do
    alive=""
    for pid in $pids; do
      state=$(proc_state "$pid")
      if [ -n "$state" ] && [ "$state" != Z ]; then alive="$alive $pid"; fi
    done
    [ -z "$alive" ] && break
    sleep 0.1
  done
  if [ -n "$alive" ]; then
    say "killing processes that ignored TERM for 5 s:$alive"
    kill -KILL $alive 2>/dev/null || true
  fi
  say "system prosody/ejabberd/epmd processes stopped"
else
  say "no system prosody/ejabberd/epmd process is running"
fi
for pid in $(pgrep -x epmd || true); do
  say "note: epmd $pid (user $(ps -o user= -p "$pid" 2>/dev/null || echo '?')) is running; the test servers do not use epmd"
done
