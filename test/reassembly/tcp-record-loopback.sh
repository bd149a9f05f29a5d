#!/usr/bin/env bash
# Records captures/tcp-http-loopback.pcap: one HTTP/1.1 POST over loopback between a Node http server and a Node
# http client, both sides writing in several pieces so that each direction has many segments. Run as root.
set -euo pipefail
out=${1:-captures/tcp-http-loopback.pcap}
port=18090
js=$(mktemp /tmp/tcp-loopback-XXXX.js)
cat >"$js" <<'JS'
const http = require('http');
const port = Number(process.argv[2]);
const pieces = (tag, n, size) => Array.from({ length: n }, (_, i) => `${tag}${i}:` + String.fromCharCode(97 + (i % 26)).repeat(size) + '\n');
const server = http.createServer((req, res) => {
  const got = [];
  req.on('data', (d) => got.push(d));
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'text/plain', Connection: 'close' });
    const parts = pieces('resp', 6, 3000);
    let i = 0;
    const next = () => (i < parts.length ? (res.write(parts[i++]), setTimeout(next, 20)) : res.end(`got ${Buffer.concat(got).length}\n`));
    next();
  });
});
server.listen(port, '127.0.0.1', () => {
  const parts = pieces('req', 5, 2000);
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/upload', agent: false,
    headers: { 'Content-Length': parts.reduce((a, p) => a + Buffer.byteLength(p), 0), Connection: 'close' } }, (res) => {
    res.on('data', () => {});
    res.on('end', () => server.close());
  });
  req.on('socket', (s) => s.setNoDelay(true));
  let i = 0;
  const next = () => (i < parts.length ? (req.write(parts[i++]), setTimeout(next, 20)) : req.end());
  next();
});
setTimeout(() => process.exit(1), 10000).unref();
JS
timeout 20 tcpdump -i lo -U -s 0 -Z root -w "$out" "tcp and host 127.0.0.1 and port $port" 2>/dev/null &
dump=$!
sleep 1
node "$js" "$port"
sleep 1
kill "$dump"
wait "$dump" || true
rm -f "$js"
