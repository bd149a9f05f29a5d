#!/bin/bash
# Records captures/http-digest-loopback.pcap: real Digest clients (curl, python3 urllib) against real Digest
# servers (Apache 2.4 mod_auth_digest, lighttpd 1.4 mod_auth) on loopback only.
# Needs: apt-get install -y apache2 apache2-utils lighttpd curl tcpdump (Debian 12). Run as root.
set -eu
OUT=${1:-captures/http-digest-loopback.pcap}
W=$(mktemp -d /tmp/kdigest.XXXXXX)
APORT=18080; LPORT=18081
USER1='ABcd1234EFgh5678@bsf.mnc001.mcc001.pub.3gppnetwork.org'   # a B-TID-like username
PASS1='dGhpcyBpcyBhbiBNUksgYmFzZTY0'                              # an MRK-like (base64) password
USER2='alice'; PASS2='Circle Of Life'
REALM1='3GPP-bootstrapping@127.0.0.1'; REALM2='keyscope lab'

# htdigest-format files: user:realm:MD5(user:realm:pass)
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
printf '%s:%s:%s\n' "$USER1" "$REALM1" "$(md5 "$USER1:$REALM1:$PASS1")" >  "$W/apache.digest"
printf '%s:%s:%s\n' "$USER2" "$REALM1" "$(md5 "$USER2:$REALM1:$PASS2")" >> "$W/apache.digest"
# lighttpd's htdigest backend holds only MD5(A1), so SHA-256 needs its plain backend (user:password)
printf '%s:%s\n' "$USER2" "$PASS2" > "$W/lighttpd.plain"
mkdir -p "$W/htdocs/cgi" "$W/lhtdocs"
echo 'hello from apache' > "$W/htdocs/index.html"
echo 'hello from lighttpd' > "$W/lhtdocs/index.html"
cat > "$W/htdocs/cgi/keymanagement" <<'CGI'
#!/bin/sh
# A stand-in BM-SC: answers an MSK request with an mbms-msk-response body.
cat >/dev/null
printf 'Content-Type: application/mbms-msk-response+xml\r\n\r\n'
printf '<?xml version="1.0" encoding="UTF-8"?>\n<mbmsMSKResponse xmlns="urn:3GPP:metadata:2005:MBMS:mskResponse"><Response><MSK><keyDomainID>uHCd</keyDomainID><MSKID>aMkAAA==</MSKID></MSK><ResponseCode>200 OK</ResponseCode></Response></mbmsMSKResponse>\n'
CGI
chmod 755 "$W/htdocs/cgi/keymanagement"
chmod -R a+rX "$W"
cat > "$W/httpd.conf" <<CONF
ServerRoot "$W"
PidFile "$W/httpd.pid"
ErrorLog "$W/error.log"
Listen 127.0.0.1:$APORT
ServerName 127.0.0.1
LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so
LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so
LoadModule authn_file_module /usr/lib/apache2/modules/mod_authn_file.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule authz_user_module /usr/lib/apache2/modules/mod_authz_user.so
LoadModule auth_digest_module /usr/lib/apache2/modules/mod_auth_digest.so
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule cgi_module /usr/lib/apache2/modules/mod_cgi.so
User www-data
Group www-data
DocumentRoot "$W/htdocs"
ScriptAlias /keymanagement "$W/htdocs/cgi/keymanagement"
<Location "/">
  AuthType Digest
  AuthName "$REALM1"
  AuthDigestProvider file
  AuthUserFile "$W/apache.digest"
  AuthDigestQop auth
  Require valid-user
</Location>
CONF
cat > "$W/lighttpd.conf" <<CONF
server.document-root = "$W/lhtdocs"
server.bind = "127.0.0.1"
server.port = $LPORT
server.pid-file = "$W/lighttpd.pid"
server.errorlog = "$W/lighttpd.err"
server.modules = ( "mod_auth", "mod_authn_file" )
auth.backend = "plain"
auth.backend.plain.userfile = "$W/lighttpd.plain"
auth.require = ( "/" => ( "method" => "digest", "realm" => "$REALM2", "require" => "valid-user", "algorithm" => "SHA-256|MD5" ) )
CONF

apache2 -f "$W/httpd.conf" -k start
lighttpd -f "$W/lighttpd.conf"
sleep 1
timeout 60 tcpdump -i lo -U -s 0 -Z root -w "$W/cap.pcap" "tcp and host 127.0.0.1 and (port $APORT or port $LPORT)" 2>"$W/tcpdump.err" &
TPID=$!
sleep 1
MSK='<?xml version="1.0" encoding="UTF-8"?>
<mbmsMSKRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest"><MSK><keyDomainID>uHCd</keyDomainID><MSKID>aMkAAA==</MSKID></MSK></mbmsMSKRequest>'
C="curl -sS -o /dev/null --max-time 5"
# 1. MBMS-style MSK request, right password (curl --digest, MD5, qop auth), POST with body.
$C --digest -u "$USER1:$PASS1" -A 'MBMSAgent; Release-6 3gpp-gba' -H 'Content-Type: application/mbms-msk+xml' \
  --data-binary "$MSK" "http://127.0.0.1:$APORT/keymanagement?requesttype=msk-request"
# 2. Wrong password: the server answers the credentials with 401.
$C --digest -u "$USER1:wrong-password" -A 'MBMSAgent; Release-6 3gpp-gba' -H 'Content-Type: application/mbms-msk+xml' \
  --data-binary "$MSK" "http://127.0.0.1:$APORT/keymanagement?requesttype=msk-request" || true
# 3. Two GETs over one keep-alive connection (second reuses the nonce with nc=00000002).
$C --digest -u "$USER2:$PASS2" "http://127.0.0.1:$APORT/index.html" -o /dev/null "http://127.0.0.1:$APORT/index.html"
# 4. python3 urllib's Digest client (MD5, qop auth, its own cnonce scheme).
python3 - "$APORT" "$USER2" "$PASS2" "$REALM1" <<'PY'
import sys, urllib.request
port, user, pw, realm = sys.argv[1:5]
h = urllib.request.HTTPDigestAuthHandler(); h.add_password(realm, f'http://127.0.0.1:{port}/', user, pw)
print(urllib.request.build_opener(h).open(f'http://127.0.0.1:{port}/index.html', timeout=5).status)
PY
# 5. lighttpd offers SHA-256 and MD5 challenges in one 401; curl picks one.
$C --digest -u "$USER2:$PASS2" "http://127.0.0.1:$LPORT/index.html"
# 6. lighttpd, wrong password.
$C --digest -u "$USER2:nope" "http://127.0.0.1:$LPORT/index.html" || true
sleep 1
kill "$TPID"; wait "$TPID" || true
apache2 -f "$W/httpd.conf" -k stop || true
kill "$(cat "$W/lighttpd.pid")" || true
cp "$W/cap.pcap" "$OUT"
echo "wrote $OUT; work dir $W"
