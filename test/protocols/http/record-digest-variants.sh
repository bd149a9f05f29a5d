#!/bin/bash
# Records captures/http-digest-curl-variants.pcap: curl 7.88's Digest client (an implementation independent of ours)
# answering challenges for every algorithm family, qop auth-int, RFC 2069 (no qop), userhash and stale=true.
# The server is a small python3 http.server stub that only issues the challenges and accepts whatever comes back:
# what the test checks is curl's computation. Loopback only. Needs: curl, python3, tcpdump. Run as root.
set -eu
OUT=${1:-captures/http-digest-curl-variants.pcap}
PORT=18082
W=$(mktemp -d /tmp/kvariants.XXXXXX)
cat > "$W/stub.py" <<'PY'
import sys, http.server
CH = {
  '/sha512-256-int': 'Digest realm="variants", nonce="n-sha512-256", algorithm=SHA-512-256, qop="auth-int"',
  '/sha512-256-sess': 'Digest realm="variants", nonce="n-sha512-256-sess", algorithm=SHA-512-256-sess, qop="auth"',
  '/sha256-sess': 'Digest realm="variants", nonce="n-sha256-sess", algorithm=SHA-256-sess, qop="auth", opaque="op1"',
  '/md5-sess': 'Digest realm="variants", nonce="n-md5-sess", algorithm=MD5-sess, qop="auth"',
  '/rfc2069': 'Digest realm="variants", nonce="n-rfc2069"',
  '/userhash': 'Digest realm="variants", nonce="n-userhash", algorithm=SHA-256, qop="auth", userhash=true, charset=UTF-8',
  '/post-int': 'Digest realm="variants", nonce="n-post-int", algorithm=MD5, qop="auth-int"',
}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def reply(self):
        n = int(self.headers.get('Content-Length') or 0)
        if n: self.rfile.read(n)
        auth = self.headers.get('Authorization')
        path = self.path.split('?')[0]
        if path == '/stale':
            if auth and 'nonce="n-stale-2"' in auth: return self.ok()
            if auth: return self.challenge('Digest realm="variants", nonce="n-stale-2", algorithm=MD5, qop="auth", stale=true')
            return self.challenge('Digest realm="variants", nonce="n-stale-1", algorithm=MD5, qop="auth"')
        if auth: return self.ok()
        self.challenge(CH[path])
    def challenge(self, v):
        self.send_response(401); self.send_header('WWW-Authenticate', v); self.send_header('Content-Length', '0'); self.end_headers()
    def ok(self):
        self.send_response(200); self.send_header('Content-Length', '3'); self.end_headers(); self.wfile.write(b'ok\n')
    do_GET = reply
    do_POST = reply
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
PY
python3 "$W/stub.py" $PORT & SPID=$!
sleep 1
timeout 60 tcpdump -i lo -U -s 0 -Z root -w "$W/cap.pcap" "tcp and host 127.0.0.1 and port $PORT" 2>"$W/tcpdump.err" & TPID=$!
sleep 1
C="curl -sS -o /dev/null --max-time 5 --digest -u alice:Circle-Of-Life"
for p in sha512-256-int sha512-256-sess sha256-sess md5-sess rfc2069 userhash stale; do $C "http://127.0.0.1:$PORT/$p" || true; done
# curl hashes an empty entity for auth-int (it does not support auth-int with a body): a real client mismatch
$C -H 'Content-Type: application/mbms-msk+xml' --data-binary '<mbmsMSKRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest"><MSK><keyDomainID>uHCd</keyDomainID><MSKID>aMkAAA==</MSKID></MSK></mbmsMSKRequest>' "http://127.0.0.1:$PORT/post-int" || true
sleep 1
kill "$TPID"; wait "$TPID" || true
kill "$SPID" || true
cp "$W/cap.pcap" "$OUT"
echo "wrote $OUT; work dir $W"
