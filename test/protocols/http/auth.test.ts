import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Problem } from '../../../src/common/problem';
import {
  authParam,
  decodeExtValue,
  digestChallengeView,
  digestCredentialsView,
  parseAuthHeaders,
  parseAuthInfo,
  parseAuthSchemes,
} from '../../../src/protocols/http/auth';

const pairs = (ps: { name: string; value: string }[]): [string, string][] => ps.map((p) => [p.name, p.value]);

test('several schemes in one WWW-Authenticate value, nothing dropped', () => {
  const problems: Problem[] = [];
  const ch = parseAuthSchemes('Basic realm="x", Digest realm="y", nonce="z", Newauth realm="apps", type=1, title="Login to \\"apps\\""', 'www-authenticate', problems);
  assert.deepEqual(problems, []);
  assert.deepEqual(ch.map((c) => c.scheme), ['Basic', 'Digest', 'Newauth']);
  assert.deepEqual(pairs(ch[0].params), [['realm', 'x']]);
  assert.deepEqual(pairs(ch[1].params), [['realm', 'y'], ['nonce', 'z']]);
  assert.deepEqual(pairs(ch[2].params), [['realm', 'apps'], ['type', '1'], ['title', 'Login to "apps"']]);
  assert.equal(ch[2].params[1].quoted, false);
  assert.equal(ch[2].params[2].quoted, true);
});

test('RFC 7616 §3.9.1 challenge: every parameter, last one included', () => {
  const v =
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
  const problems: Problem[] = [];
  const [ch] = parseAuthSchemes(v, 'www-authenticate', problems);
  assert.deepEqual(problems, []);
  assert.deepEqual(ch.params.map((p) => p.name), ['realm', 'qop', 'algorithm', 'nonce', 'opaque']);
  const view = digestChallengeView(ch);
  assert.deepEqual(view.qop, ['auth', 'auth-int']);
  assert.equal(view.algorithm, 'SHA-256');
  assert.equal(view.opaque, 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS');
});

test('names are case-insensitive, unknown parameters kept, stale/userhash booleans', () => {
  const [ch] = parseAuthSchemes('DIGEST REALM="r", Nonce=abc, STALE=TRUE, userhash=true, x-vendor="v,1"', 'www-authenticate', []);
  assert.equal(authParam(ch.params, 'realm'), 'r');
  const v = digestChallengeView(ch);
  assert.equal(v.nonce, 'abc');
  assert.equal(v.stale, true);
  assert.equal(v.userhash, true);
  assert.equal(authParam(ch.params, 'X-VENDOR'), 'v,1');
});

test('Authorization with username* (RFC 5987) and token68 credentials', () => {
  const problems: Problem[] = [];
  const [cr] = parseAuthSchemes(
    "Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm=\"api@example.org\", uri=\"/doe.json\", qop=auth, nc=0000000a, cnonce=\"NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v\", response=\"ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd\", nonce=\"5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK\", opaque=\"HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS\", userhash=false",
    'authorization',
    problems,
  );
  const v = digestCredentialsView(cr, problems);
  assert.deepEqual(problems, []);
  assert.equal(v.username, 'Jäsøn Doe');
  assert.equal(v.usernameFromExt, true);
  assert.equal(v.nc, '0000000a');
  assert.equal(v.ncValue, 10);
  assert.equal(v.userhash, false);
  const [basic] = parseAuthSchemes('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==', 'authorization', []);
  assert.equal(basic.token68, 'QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
  assert.deepEqual(basic.params, []);
});

test('RFC 8187 ext-value decoding', () => {
  assert.equal(decodeExtValue("UTF-8''%c2%a3%20and%20%e2%82%ac%20rates"), '£ and € rates');
  assert.equal(decodeExtValue("iso-8859-1'en'%A3%20rates"), '£ rates');
  assert.equal(decodeExtValue("UTF-8''%zz"), undefined);
  assert.equal(decodeExtValue('no-quotes'), undefined);
});

test('Authentication-Info and the Proxy- forms', () => {
  const problems: Problem[] = [];
  const auth = parseAuthHeaders(
    [
      { name: 'Proxy-Authenticate', value: 'Digest realm="proxy", nonce="n1"' },
      { name: 'Proxy-Authorization', value: 'Digest username="u", realm="proxy", nonce="n1", uri="/", response="00"' },
      { name: 'Authentication-Info', value: 'qop=auth-int, rspauth="6629fae49394a05397450978507c4ef1", cnonce="6629fae49393a05397450978507c4ef1", nc=00000001' },
      { name: 'proxy-authentication-info', value: 'nextnonce="n2"' },
      { name: 'Content-Type', value: 'text/plain' },
    ],
    problems,
  );
  assert.ok(auth);
  assert.deepEqual(problems, []);
  assert.equal(auth.challenges[0].header, 'proxy-authenticate');
  assert.equal(auth.credentials[0].header, 'proxy-authorization');
  assert.deepEqual(auth.info.map((i) => i.header), ['authentication-info', 'proxy-authentication-info']);
  assert.deepEqual(pairs(auth.info[0].params), [
    ['qop', 'auth-int'],
    ['rspauth', '6629fae49394a05397450978507c4ef1'],
    ['cnonce', '6629fae49393a05397450978507c4ef1'],
    ['nc', '00000001'],
  ]);
  assert.equal(authParam(auth.info[1].params, 'nextnonce'), 'n2');
});

test('quoted-string escapes and commas inside quotes', () => {
  const [ch] = parseAuthSchemes('Digest realm="a\\\\b\\"c, d", nonce="x"', 'www-authenticate', []);
  assert.equal(authParam(ch.params, 'realm'), 'a\\b"c, d');
  assert.equal(authParam(ch.params, 'nonce'), 'x');
});

test('malformed values become problems, never exceptions', () => {
  const problems: Problem[] = [];
  const [ch] = parseAuthSchemes('Digest realm="unterminated, nonce=1', 'www-authenticate', problems);
  assert.equal(ch.scheme, 'Digest');
  assert.ok(problems.some((p) => p.code === 'http-auth-unterminated-quote'));
  const p2: Problem[] = [];
  parseAuthSchemes('realm="x"', 'www-authenticate', p2);
  assert.ok(p2.some((p) => p.code === 'http-auth-no-scheme'));
  const p3: Problem[] = [];
  parseAuthInfo('rspauth="a", rspauth="b", garbage', 'authentication-info', p3);
  assert.ok(p3.some((p) => p.code === 'http-auth-duplicate-param'));
  assert.ok(p3.some((p) => p.code === 'http-auth-bad-param'));
  // deterministic pseudo-random junk: must terminate without throwing
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = 'Digest realm=",\\ \t=abc;"';
  for (let i = 0; i < 2000; i++) {
    let s = '';
    const n = Math.floor(rnd() * 40);
    for (let j = 0; j < n; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    parseAuthSchemes(s, 'www-authenticate', []);
    parseAuthInfo(s, 'authentication-info', []);
  }
});

test('TS 33.246 Annex H example headers parse whole', () => {
  const problems: Problem[] = [];
  const auth = parseAuthHeaders(
    [
      { name: 'WWW-Authenticate', value: 'Digest realm="3GPP-bootstrapping@bmsc.home1.net", nonce="6629fae49393a05397450978507c4ef1", algorithm=MD5, qop="auth,auth-int", opaque="5ccc069c403ebaf9f0171e9517f30e41"' },
      { name: 'Authorization', value: 'Digest username="(B-TID)", realm="3GPP-bootstrapping@bmsc.home1.net", nonce="a6332ffd2d234==", uri="/bmsc.home1.net/keymanagement?requesttype=msk-request", qop=auth-int, nc=00000001, cnonce="6629fae49393a05397450978507c4ef1", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f30e41", algorithm=MD5' },
      { name: 'Authentication-Info', value: 'qop=auth-int, rspauth="6629fae49394a05397450978507c4ef1", cnonce="6629fae49393a05397450978507c4ef1", nc=00000001' },
    ],
    problems,
  );
  assert.deepEqual(problems, []);
  assert.ok(auth);
  assert.deepEqual(digestChallengeView(auth.challenges[0]).qop, ['auth', 'auth-int']);
  const v = digestCredentialsView(auth.credentials[0]);
  assert.equal(v.nonce, 'a6332ffd2d234==');
  assert.equal(v.qop, 'auth-int');
  assert.equal(auth.credentials[0].params.length, 10);
  assert.equal(auth.info[0].params.length, 4);
});
