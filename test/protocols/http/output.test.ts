import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpConnectionParser } from '../../../src/protocols/http/parser';
import { DigestTracker } from '../../../src/protocols/http/tracker';
import { httpInfoLine, httpToJson } from '../../../src/protocols/http/output';
import { httpTree } from '../../../src/fields/http-fields';
import type { HttpMessage } from '../../../src/protocols/http/types';

function run(client: string, server: string): HttpMessage[] {
  const msgs: HttpMessage[] = [];
  const p = new HttpConnectionParser(3, { message: (m) => msgs.push(m) });
  p.data(0, { streamOffset: 0, data: Buffer.from(client, 'latin1'), frame: 1, frames: [1], tsSec: 1, tsNsec: 0 });
  p.data(1, { streamOffset: 0, data: Buffer.from(server, 'latin1'), frame: 2, frames: [2], tsSec: 2, tsNsec: 0 });
  p.end(0, 'fin', { tsSec: 3, tsNsec: 0 });
  p.end(1, 'fin', { tsSec: 3, tsNsec: 0 });
  const t = new DigestTracker();
  msgs.forEach((m) => t.observe(m));
  return msgs;
}

const BODY = '<mbmsMSKRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest"><MSK><keyDomainID>uHCd</keyDomainID><MSKID>aMkAAA==</MSKID></MSK></mbmsMSKRequest>';

test('info lines in the documented shape', () => {
  const [req, rsp] = run(
    `POST /keymanagement?requesttype=msk-request HTTP/1.1\r\nHost: bmsc\r\nContent-Type: application/mbms-msk+xml\r\nContent-Length: ${BODY.length}\r\nAuthorization: Digest username="btid@bsf", realm="3GPP-bootstrapping@bmsc", nonce="n", uri="/keymanagement?requesttype=msk-request", qop=auth-int, nc=00000001, cnonce="c", response="r"\r\n\r\n${BODY}`,
    'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="3GPP-bootstrapping@bmsc", nonce="n2", qop="auth,auth-int"\r\nContent-Length: 0\r\n\r\n',
  );
  assert.equal(
    httpInfoLine(req),
    'POST /keymanagement?requesttype=msk-request [Digest user=btid@bsf nc=00000001 qop=auth-int] {msk-request keyDomainID=b8709d MSKID=68c90000 (group 0x68c9, number 0x0000 current)}',
  );
  assert.equal(httpInfoLine(rsp), '401 Unauthorized [Digest realm=3GPP-bootstrapping@bmsc nonce=n2 qop=auth,auth-int]');
});

test('text from the packet is escaped in the info line and the tree', () => {
  const [req, rsp] = run(
    'GET /\x1b[2J HTTP/1.1\r\nAuthorization: Digest username="evil\\\x1b]0;pwn\x07", realm="r", nonce="n", uri="/", response="x"\r\n\r\n',
    'HTTP/1.1 401 Bad\x7f\r\nWWW-Authenticate: Digest realm="a\x1bb", nonce="n"\r\nContent-Length: 0\r\n\r\n',
  );
  for (const text of [httpInfoLine(req), httpInfoLine(rsp), ...httpTree(req), ...httpTree(rsp)]) {
    assert.doesNotMatch(text, /[\x00-\x1f\x7f]/, text);
  }
  assert.match(httpInfoLine(req), /user=evil\\x1b\]0;pwn\\x07/);
});

test('JSON: kind, method/uri/status, headers, digest with every parameter and verified, body with MBMS fields, frame links', () => {
  const [req, rsp] = run(
    `POST /k HTTP/1.1\r\nHost: h\r\nContent-Type: application/mbms-msk+xml\r\nContent-Length: ${BODY.length}\r\nAuthorization: Digest username*=UTF-8''%C3%A9, realm="r", nonce="n", uri="/k", response="x", x-extra=1\r\n\r\n${BODY}`,
    'HTTP/1.1 200 OK\r\nAuthentication-Info: rspauth="ab", nextnonce="nn"\r\nContent-Length: 0\r\n\r\n',
  );
  const j = httpToJson(req);
  assert.equal(j.kind, 'request');
  assert.equal(j.method, 'POST');
  assert.equal(j.uri, '/k');
  assert.equal(j.responseFrame, 2);
  assert.deepEqual(j.headers[0], { name: 'Host', value: 'h' });
  assert.ok(j.digest);
  assert.equal(j.digest.verified, null);
  assert.equal(j.digest.credentials[0].username, 'é');
  assert.deepEqual(
    j.digest.credentials[0].params.map((p) => p.name),
    ['username*', 'realm', 'nonce', 'uri', 'response', 'x-extra'],
  );
  assert.equal(j.body?.contentType, 'application/mbms-msk+xml');
  assert.equal(j.body?.length, BODY.length);
  assert.equal(j.body?.mbms?.msks[0].keyGroup, 0x68c9);
  assert.equal('tree' in (j.body?.mbms ?? {}), false);
  const r = httpToJson(rsp);
  assert.equal(r.kind, 'response');
  assert.equal(r.status, 200);
  assert.equal(r.requestFrame, 1);
  assert.deepEqual(r.digest?.info[0].params.map((p) => [p.name, p.value]), [['rspauth', 'ab'], ['nextnonce', 'nn']]);
  JSON.stringify(j); // no cycles, no Buffers
  assert.ok(!JSON.stringify(r).includes('"request"'));
});

test('tree lists headers, parsed parameters, body and links', () => {
  const [req] = run(
    'GET /x HTTP/1.1\r\nWWW-Authenticate: Basic realm="b"\r\nAuthorization: Digest username="u", realm="r", nonce="n", uri="/x", response="x"\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
  );
  const lines = httpTree(req);
  assert.equal(lines[0], 'Hypertext Transfer Protocol (request, frame 1)');
  assert.ok(lines.includes('  Authorization credentials: Digest'));
  assert.ok(lines.includes('    username: u'));
  assert.ok(lines.includes('    realm="b"'), 'a Basic parameter is shown as sent');
  assert.ok(lines.includes('  Request Method: GET'));
  assert.ok(lines.includes('  [Response in frame: 2]'));
});

test('mutated messages never throw through parser, tracker and output', () => {
  const base = Buffer.from(
    `POST /keymanagement?requesttype=msk-request HTTP/1.1\r\nHost: bmsc\r\nContent-Type: application/mbms-msk+xml\r\nTransfer-Encoding: chunked\r\nAuthorization: Digest username*=UTF-8''%C3%A9, realm="3GPP-bootstrapping@bmsc", nonce="n", uri="/k", qop=auth-int, nc=00000001, cnonce="c", response="r", userhash=true\r\n\r\n${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n` +
      'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="x", Digest realm="y", nonce="z", stale=true\r\nAuthentication-Info: rspauth="a", nextnonce="b"\r\nContent-Length: 0\r\n\r\n',
    'latin1',
  );
  let seed = 4242;
  const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  for (let round = 0; round < 500; round++) {
    const b = Buffer.from(base);
    for (let k = 0; k < 1 + rnd(6); k++) b[rnd(b.length)] = rnd(256);
    const msgs: HttpMessage[] = [];
    const connCodes: string[] = [];
    const p = new HttpConnectionParser(1, { message: (m) => msgs.push(m), problem: (_c, _f, pr) => connCodes.push(pr.code) }, { limits: { maxHeaderBytes: 4096 } });
    const cut = rnd(b.length);
    p.data(0, { streamOffset: 0, data: b.subarray(0, cut), frame: 1, frames: [1], tsSec: 0, tsNsec: 0 });
    p.data(0, { streamOffset: cut, data: b.subarray(cut), frame: 2, frames: [2], tsSec: 0, tsNsec: 0 });
    p.data(1, { streamOffset: 0, data: b, frame: 3, frames: [3], tsSec: 0, tsNsec: 0 });
    p.end(0, 'fin', { tsSec: 1, tsNsec: 0 });
    p.end(1, 'rst', { tsSec: 1, tsNsec: 0 });
    const t = new DigestTracker({ passwords: { passwordFor: () => 'pw', usernames: () => ['é'] } });
    for (const m of msgs) {
      t.observe(m);
      httpInfoLine(m);
      httpTree(m);
      JSON.stringify(httpToJson(m));
    }
    assert.ok(!connCodes.includes('http-internal-error'), `round ${round}`);
  }
});
