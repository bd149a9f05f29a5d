#!/usr/bin/env bash
# System packages the tests use as oracles and traffic tools (tshark, tcpdump, editcap/mergecap/capinfos; dumpcap,
# which comes with tshark, is also live's --engine dumpcap),
# libpcap-dev so the optional `cap` addon builds for live capture, tmux for the dashboard tests, and procps (pgrep)
# for the tests that check no process outlives them, tcpreplay for the live benchmark's high-rate traffic on lo,
# prometheus (the server and promtool) for the metrics tests, which start their own server on loopback.
#
# Run it as root, or as a user with sudo: it calls sudo itself for apt-get only (so node_modules stays owned by
# whoever runs it). Idempotent: does nothing when everything is already there.
#
# After the packages, it makes live capture work in an existing install: `npm ci` run before libpcap was there
# skipped the optional `cap` addon (npm drops an optional dependency whose build fails), so when node_modules exists
# and `cap` does not load, the locked dependencies are installed again with libpcap present.
set -euo pipefail
cd "$(dirname "$0")/.."

# as_root: the command prefix that runs apt-get as root (nothing when root, sudo otherwise); stops when neither works
root_for() {
  if [ "$(id -u)" = 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install-system-deps: installing $1 needs root: run this script as root, or install sudo" >&2
    exit 1
  fi
}

PACKAGES=(tshark tcpdump libpcap-dev tmux procps tcpreplay python3-minimal)
need=0
for c in tshark dumpcap tcpdump editcap mergecap capinfos tmux pgrep tcpreplay python3; do command -v "$c" >/dev/null 2>&1 || need=1; done
[ -e /usr/include/pcap/pcap.h ] || need=1

if [ "$need" = 1 ]; then
  root_for "${PACKAGES[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "install-system-deps: apt-get install ${PACKAGES[*]}" >&2
  "${as_root[@]}" apt-get update -qq
  # tshark asks whether non-root users may capture; answer no without a prompt
  echo "wireshark-common wireshark-common/install-setuid boolean false" | "${as_root[@]}" debconf-set-selections
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
fi

# Prometheus: the tests run their own server (temporary config and storage, a loopback port). Without its
# recommends (prometheus-node-exporter, another daemon). Debian's package enables and starts a system service where
# systemd runs: when this script installed it, that service is stopped and disabled again (nothing listens on :9090).
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  root_for prometheus
  echo "install-system-deps: apt-get install prometheus" >&2
  [ "$need" = 1 ] || "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    "${as_root[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1; then
    "${as_root[@]}" service prometheus stop >/dev/null 2>&1 || true
  fi
fi

# The live-capture addon: only meaningful once the npm install has happened (the README runs `npm ci` first).
if [ -d node_modules ] && ! node -e "require('cap')" >/dev/null 2>&1; then
  echo "install-system-deps: the optional 'cap' addon does not load; installing it now that libpcap is present" >&2
  # --no-save keeps package.json and package-lock.json as they are; the lockfile pins cap's version
  npm install --no-save --no-audit --no-fund >/dev/null
  if ! node -e "require('cap')" >/dev/null 2>&1; then
    echo "install-system-deps: 'cap' still does not load: live capture will not work (see README, Live capture)" >&2
    exit 1
  fi
fi
exit 0
