#!/usr/bin/env bash
# Records the capture-stage test captures (captures/cap-*) with real tools on loopback only.
# Usage (as root, from the repo root): bash test/capture/record-captures.sh [outdir]
# Needs tcpdump, editcap, mergecap, python3, curl, gzip, node (+ tsx for the byte-order converter).
set -euo pipefail
OUT=${1:-captures}
TMP=$(mktemp -d /tmp/keyscope-cap.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# start_tcpdump <file> <tcpdump args...>: runs tcpdump in the background, sets TD_PID, waits until it listens
start_tcpdump() {
  local file=$1
  shift
  rm -f "$TMP/tcpdump.err"
  tcpdump -U --immediate-mode -Z root -w "$file" "$@" 2>"$TMP/tcpdump.err" &
  TD_PID=$!
  for _ in $(seq 50); do
    grep -q listening "$TMP/tcpdump.err" 2>/dev/null && break
    sleep 0.1
  done
  sleep 0.3
}
stop_tcpdump() {
  sleep 1.5
  kill -INT "$TD_PID"
  wait "$TD_PID" || true
  cat "$TMP/tcpdump.err" >&2
}

send_udp() { # send_udp <port>: 12 datagrams of growing size, then one of 3000 bytes
  python3 - "$1" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(12):
    s.sendto(b'keyscope udp test %d ' % i + b'x' * (i * 37), ('127.0.0.1', port))
    time.sleep(0.013)
s.sendto(b'L' * 3000, ('127.0.0.1', port))
EOF
}

# 1. UDP on lo, Ethernet link type, microseconds
start_tcpdump "$TMP/lo-udp.pcap" -i lo 'udp and host 127.0.0.1 and port 40001'
send_udp 40001
stop_tcpdump

# 2. the same traffic with a 96-byte snaplen (caplen < len on the longer frames)
start_tcpdump "$TMP/lo-udp-snap96.pcap" -i lo -s 96 'udp and host 127.0.0.1 and port 40002'
send_udp 40002
stop_tcpdump

# 3. UDP on lo with nanosecond timestamps straight from tcpdump
start_tcpdump "$TMP/lo-udp-nano.pcap" -i lo --time-stamp-precision=nano 'udp and host 127.0.0.1 and port 40003'
send_udp 40003
stop_tcpdump

# 4. a short TCP/HTTP exchange: python3 http.server and two curl GETs
mkdir -p "$TMP/www"
echo "keyscope capture test page" >"$TMP/www/index.html"
python3 -m http.server 18090 --bind 127.0.0.1 --directory "$TMP/www" >/dev/null 2>&1 &
HTTP_PID=$!
sleep 1
start_tcpdump "$TMP/lo-http.pcap" -i lo 'tcp and host 127.0.0.1 and port 18090'
curl -s -o /dev/null http://127.0.0.1:18090/
curl -s -o /dev/null http://127.0.0.1:18090/missing
stop_tcpdump
kill "$HTTP_PID"
wait "$HTTP_PID" || true

# 5. -i any: LINUX_SLL2 (tcpdump 4.99 default) and LINUX_SLL (-y LINUX_SLL)
start_tcpdump "$TMP/any-sll2-udp.pcap" -i any 'udp and host 127.0.0.1 and port 40004'
send_udp 40004
stop_tcpdump
start_tcpdump "$TMP/any-sll-udp.pcap" -i any -y LINUX_SLL 'udp and host 127.0.0.1 and port 40005'
send_udp 40005
stop_tcpdump

cp "$TMP/lo-udp.pcap" "$OUT/cap-lo-udp.pcap"
cp "$TMP/lo-udp-snap96.pcap" "$OUT/cap-lo-udp-snap96.pcap"
cp "$TMP/lo-udp-nano.pcap" "$OUT/cap-lo-udp-nano.pcap"
cp "$TMP/lo-http.pcap" "$OUT/cap-lo-http.pcap"
cp "$TMP/any-sll2-udp.pcap" "$OUT/cap-any-sll2-udp.pcap"
cp "$TMP/any-sll-udp.pcap" "$OUT/cap-any-sll-udp.pcap"

# Derived files
editcap -F pcapng "$OUT/cap-lo-udp.pcap" "$OUT/cap-lo-udp.pcapng"
editcap -F nsecpcap "$OUT/cap-lo-http.pcap" "$OUT/cap-lo-http-nsec.pcap"
editcap -F pcapng "$OUT/cap-lo-udp-nano.pcap" "$OUT/cap-lo-udp-nano.pcapng"
editcap -F pcapng -a "1:first datagram" -a "3:third datagram" -a "3:second comment on frame 3" -a "5:UTF-8 ✓ comment" \
  "$OUT/cap-lo-udp.pcap" "$OUT/cap-lo-udp-comments.pcapng"
gzip -9 -n -c "$OUT/cap-lo-http.pcap" >"$OUT/cap-lo-http.pcap.gz"
# gzip recognised by content, not name: a compressed pcapng without a .gz suffix
gzip -9 -n -c "$OUT/cap-lo-udp-nano.pcapng" >"$OUT/cap-lo-udp-nano-gzipped.pcapng"
mergecap -F pcapng -w "$OUT/cap-merged-eth-sll2.pcapng" "$OUT/cap-lo-udp.pcap" "$OUT/cap-any-sll2-udp.pcap"
editcap -F pcapng "$OUT/cap-any-sll-udp.pcap" "$TMP/any-sll-udp.pcapng"
cat "$OUT/cap-lo-udp-nano.pcapng" "$TMP/any-sll-udp.pcapng" >"$OUT/cap-two-sections.pcapng"
# Big-endian classic pcap: editcap cannot change byte order, so a test-only converter rewrites the headers.
node --import tsx test/capture/swap-byte-order.ts "$OUT/cap-lo-http.pcap" "$OUT/cap-lo-http-be.pcap"
node --import tsx test/capture/swap-byte-order.ts "$OUT/cap-lo-udp-nano.pcap" "$OUT/cap-lo-udp-nano-be.pcap"
ls -l "$OUT"/cap-*
