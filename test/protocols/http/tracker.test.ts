import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamDirection } from '../../../src/reassembly/types';
import { HttpConnectionParser } from '../../../src/protocols/http/parser';
import { DigestTracker } from '../../../src/protocols/http/tracker';
import { computeDigestResponse, computeUserhash, digestAlgorithm, passwordSourceFromMap } from '../../../src/protocols/http/digest';
import type { HttpMessage } from '../../../src/protocols/http/types';

/** Runs [direction, text] steps through one connection's parser; returns messages in the order they started. */
function run(steps: [StreamDirection, string][], connId = 1): HttpMessage[] {
  const msgs: HttpMessage[] = [];
  const p = new HttpConnectionParser(connId, { message: (m) => msgs.push(m) });
  const off: [number, number] = [0, 0];
  steps.forEach(([dir, text], i) => {
    const data = Buffer.from(text, 'utf8');
    p.data(dir, { streamOffset: off[dir], data, frame: i + 1, frames: [i + 1], tsSec: i, tsNsec: 0 });
    off[dir] += data.length;
  });
  p.end(0, 'fin', { tsSec: 99, tsNsec: 0 });
  p.end(1, 'fin', { tsSec: 99, tsNsec: 0 });
  return msgs.sort((a, b) => a.firstFrame - b.firstFrame);
}

const codes = (m: HttpMessage): string[] => m.problems.map((p) => p.code);

// The vector set of digest.test.ts (values computed with python3 hashlib).
const USER = 'btid-1@bsf.example';
const REALM = '3GPP-bootstrapping@bmsc.example.org';
const PASS = 'bXJrLXBhc3N3b3Jk';
const NONCE = '6629fae49393a05397450978507c4ef1';
const URI = '/keymanagement?requesttype=msk-request';
const BODY =
  '<?xml version="1.0"?><mbmsMSKRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest"><MSK><keyDomainID>uHCd</keyDomainID><MSKID>aMkAAA==</MSKID></MSK></mbmsMSKRequest>';
const MD5_AUTH_INT_RESPONSE = 'bc53dc1bac2d6726351f506b08af1558';
const MD5_AUTH_INT_RSPAUTH = '64a17d8b86caaf7f0d9420aeb6d99e50';

const post = (auth?: string, ua = 'MBMSAgent; Release-6 3gpp-gba', host = 'bmsc.example.org:1234'): string =>
  `POST ${URI} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/mbms-msk+xml\r\nContent-Length: ${BODY.length}\r\nUser-Agent: ${ua}\r\n` +
  (auth ? `Authorization: ${auth}\r\n` : '') +
  `\r\n${BODY}`;
const challenge = (extra = '', qop = 'auth,auth-int', realm = REALM): string =>
  `HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="${realm}", nonce="${NONCE}", algorithm=MD5, qop="${qop}", opaque="5ccc069c403ebaf9f0171e9517f30e41"${extra}\r\nContent-Length: 0\r\n\r\n`;
const creds = (response: string, nc = '00000001', nonce = NONCE): string =>
  `Digest username="${USER}", realm="${REALM}", nonce="${nonce}", uri="${URI}", qop=auth-int, nc=${nc}, cnonce="0a4f113b", response="${response}", opaque="5ccc069c403ebaf9f0171e9517f30e41", algorithm=MD5`;

function chunked(s: string): string {
  return `${(40).toString(16)}\r\n${s.slice(0, 40)}\r\n${(s.length - 40).toString(16)}\r\n${s.slice(40)}\r\n0\r\n\r\n`;
}

test('MBMS MSK request flow (TS 33.246 Annex H shape): response and rspauth verify, auth-int over de-chunked body', () => {
  const msgs = run([
    [0, post()],
    [1, challenge()],
    [0, post(creds(MD5_AUTH_INT_RESPONSE))],
    [
      1,
      `HTTP/1.1 200 OK\r\nContent-Type: application/mbms-msk-response+xml\r\nTransfer-Encoding: chunked\r\nAuthentication-Info: qop=auth-int, rspauth="${MD5_AUTH_INT_RSPAUTH}", cnonce="0a4f113b", nc=00000001\r\n\r\n${chunked(BODY)}`,
    ],
  ]);
  const tr = new DigestTracker({ passwords: passwordSourceFromMap({ [USER]: PASS }) });
  const checks = msgs.map((m) => tr.observe(m));
  assert.deepEqual(checks.map((c) => c.verified), [null, null, true, true]);
  assert.equal(msgs[2].verified, true);
  assert.equal(msgs[3].verified, true);
  assert.deepEqual(msgs.flatMap(codes), ['mbms-xml-root-mismatch']); // the 200 carries a request body on purpose
});

test('wrong password on a key-management request: digest-mismatch, and no auth-failed (the analyzer\'s credentials-rejected owns it)', () => {
  const msgs = run([
    [0, post()],
    [1, challenge()],
    [0, post(creds('00000000000000000000000000000000'))],
    [1, challenge()],
  ]);
  const tr = new DigestTracker({ passwords: passwordSourceFromMap({ [USER]: PASS }) });
  msgs.forEach((m) => tr.observe(m));
  assert.equal(msgs[2].verified, false);
  assert.ok(codes(msgs[2]).includes('digest-mismatch'));
  assert.ok(!codes(msgs[3]).includes('auth-failed'));
  // no password known: null, not false
  const tr2 = new DigestTracker();
  assert.equal(tr2.observe(run([[0, post(creds(MD5_AUTH_INT_RESPONSE))]])[0]).verified, null);
});

test('stale challenge is reported as stale, not as a failed authentication', () => {
  const msgs = run([
    [0, post(creds(MD5_AUTH_INT_RESPONSE))],
    [1, challenge(', stale=TRUE')],
  ]);
  const tr = new DigestTracker();
  msgs.forEach((m) => tr.observe(m));
  assert.ok(codes(msgs[1]).includes('stale'));
  assert.ok(!codes(msgs[1]).includes('auth-failed'));
});

test('nc-replay: nc must increase under one nonce', () => {
  const tr = new DigestTracker({ passwords: passwordSourceFromMap({ [USER]: PASS }) });
  const msgs = run([
    [1, challenge()],
    [0, post(creds(MD5_AUTH_INT_RESPONSE, '00000001'))],
    [0, post(creds(MD5_AUTH_INT_RESPONSE, '00000001'))],
  ]);
  msgs.forEach((m) => tr.observe(m));
  assert.ok(!codes(msgs[1]).includes('nc-replay'));
  assert.ok(codes(msgs[2]).includes('nc-replay'));
});

test('unknown nonce: nonce-unseen (chat) when the conversation may predate the capture, nonce-unknown (warning) when the realm was challenged', () => {
  const tr = new DigestTracker();
  const first = run([[0, post(creds('x', '00000001', 'never-seen-1'))]])[0];
  tr.observe(first);
  assert.equal(first.problems.find((p) => p.code === 'nonce-unseen')?.severity, 'chat');
  assert.ok(!codes(first).includes('nonce-unknown'));
  const later = run([
    [1, challenge()],
    [0, post(creds('x', '00000001', 'never-seen-2'))],
  ]);
  later.forEach((m) => tr.observe(m));
  assert.equal(later[1].problems.find((p) => p.code === 'nonce-unknown')?.severity, 'warning');
  const ok = run([[0, post(creds('x', '00000002'))]])[0];
  tr.observe(ok);
  assert.ok(!codes(ok).includes('nonce-unknown') && !codes(ok).includes('nonce-unseen'));
});

test('MBMS profile findings: realm host, qop offered/used, User-Agent', () => {
  const msgs = run([
    [0, post(undefined, 'curl/7.88.1', 'bmsc.other.org')],
    [1, challenge('', 'auth')],
  ]);
  const tr = new DigestTracker();
  msgs.forEach((m) => tr.observe(m));
  assert.ok(codes(msgs[0]).includes('mbms-user-agent'));
  assert.ok(codes(msgs[1]).includes('mbms-digest-qop'));
  const realm = msgs[1].problems.find((p) => p.code === 'mbms-digest-realm');
  assert.ok(realm);
  assert.equal(realm.severity, 'note');
  const other = run([
    [0, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'],
    [1, challenge('', 'auth', 'plain realm')],
  ]);
  new DigestTracker().observe(other[1]);
  // not an MBMS exchange (no keymanagement URI, no mbms body, no 3GPP-bootstrapping realm): no profile findings
  assert.deepEqual(codes(other[1]), []);
  const forced = run([
    [0, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'],
    [1, challenge('', 'auth', 'plain realm')],
  ]);
  new DigestTracker({ mbmsProfile: 'always' }).observe(forced[1]);
  assert.ok(codes(forced[1]).includes('mbms-digest-realm'));
});

test('userhash and SHA-256-sess with a chunked auth-int request body', () => {
  const algorithm = digestAlgorithm('SHA-256-sess');
  assert.ok(algorithm);
  const hashed = computeUserhash(algorithm, 'alice', 'lab');
  const response = computeDigestResponse({
    algorithm,
    username: 'alice',
    realm: 'lab',
    password: 'pw',
    nonce: 'n0',
    cnonce: 'c0',
    nc: '00000001',
    qop: 'auth-int',
    method: 'PUT',
    uri: '/x',
    entityBody: Buffer.from(BODY),
  });
  const msgs = run([
    [1, 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="lab", nonce="n0", algorithm=SHA-256-sess, qop="auth-int", userhash=true\r\nContent-Length: 0\r\n\r\n'],
    [
      0,
      `PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nAuthorization: Digest username="${hashed}", realm="lab", nonce="n0", uri="/x", algorithm=SHA-256-sess, qop=auth-int, nc=00000001, cnonce="c0", userhash=true, response="${response}"\r\n\r\n${chunked(BODY)}`,
    ],
  ]);
  const tr = new DigestTracker({ passwords: passwordSourceFromMap({ bob: 'x', alice: 'pw' }) });
  msgs.forEach((m) => tr.observe(m));
  assert.equal(msgs[1].verified, true);
});

test('Proxy-Authorization answered by 407 is an auth failure', () => {
  const msgs = run([
    [0, 'GET http://a/ HTTP/1.1\r\nHost: a\r\nProxy-Authorization: Digest username="u", realm="p", nonce="n", uri="http://a/", response="00"\r\n\r\n'],
    [1, 'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Digest realm="p", nonce="n2"\r\nContent-Length: 0\r\n\r\n'],
  ]);
  const tr = new DigestTracker();
  msgs.forEach((m) => tr.observe(m));
  assert.ok(codes(msgs[1]).includes('auth-failed'));
});

test('a non-ASCII (UTF-8) username in the header verifies', () => {
  const algorithm = digestAlgorithm('SHA-256');
  assert.ok(algorithm);
  const response = computeDigestResponse({ algorithm, username: 'Jäsøn Doe', realm: 'api', password: 'Secret, or not?', nonce: 'n', cnonce: 'c', nc: '00000001', qop: 'auth', method: 'GET', uri: '/doe.json' });
  const msgs = run([[0, `GET /doe.json HTTP/1.1\r\nAuthorization: Digest username="Jäsøn Doe", realm="api", nonce="n", uri="/doe.json", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c", response="${response}"\r\n\r\n`]]);
  const star = run([[0, `GET /doe.json HTTP/1.1\r\nAuthorization: Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm="api", nonce="n", uri="/doe.json", algorithm=SHA-256, qop=auth, nc=00000002, cnonce="c", response="${computeDigestResponse({ algorithm, username: 'Jäsøn Doe', realm: 'api', password: 'Secret, or not?', nonce: 'n', cnonce: 'c', nc: '00000002', qop: 'auth', method: 'GET', uri: '/doe.json' })}"\r\n\r\n`]]);
  const tr = new DigestTracker({ passwords: passwordSourceFromMap({ 'Jäsøn Doe': 'Secret, or not?' }) });
  tr.observe(msgs[0]);
  tr.observe(star[0]);
  assert.equal(msgs[0].verified, true);
  assert.equal(star[0].verified, true);
});

test('messages observed in emission order: an early 401 before the request body ends still sees the credentials', () => {
  const emitted: HttpMessage[] = [];
  const p = new HttpConnectionParser(1, { message: (m) => emitted.push(m) });
  const send = (dir: StreamDirection, off: number, text: string, frame: number): void =>
    p.data(dir, { streamOffset: off, data: Buffer.from(text), frame, frames: [frame], tsSec: frame, tsNsec: 0 });
  const head = `POST /k HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nAuthorization: Digest username="u", realm="r", nonce="n", uri="/k", response="00"\r\n\r\n01234`;
  send(0, 0, head, 1);
  send(1, 0, 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="r", nonce="n2"\r\nContent-Length: 0\r\n\r\n', 2);
  send(0, head.length, '56789', 3);
  assert.deepEqual(emitted.map((m) => m.kind), ['response', 'request']);
  const tr = new DigestTracker();
  emitted.forEach((m) => tr.observe(m));
  assert.ok(codes(emitted[0]).includes('auth-failed'));
});
