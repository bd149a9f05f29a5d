#!/usr/bin/env bash
# System packages the tests use as oracles and traffic tools (tshark, tcpdump, editcap/mergecap/capinfos),
# libpcap-dev so the optional `cap` addon builds for live capture, and tmux for the dashboard tests.
# Idempotent: does nothing when everything is already there. Needs root (CI runs as root).
set -euo pipefail
need=0
for c in tshark tcpdump editcap mergecap capinfos tmux; do command -v "$c" >/dev/null 2>&1 || need=1; done
[ -e /usr/include/pcap/pcap.h ] || need=1
[ "$need" = 0 ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get install -y -qq tshark tcpdump libpcap-dev tmux >/dev/null
