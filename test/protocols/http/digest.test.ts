import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  computeDigestResponse,
  computeHA1,
  computeUserhash,
  digestAlgorithm,
  digestHash,
  type DigestAlgorithm,
} from '../../../src/protocols/http/digest';

const alg = (n: string): DigestAlgorithm => {
  const a = digestAlgorithm(n);
  assert.ok(a, n);
  return a;
};

test('RFC 2617 §3.5 worked example', () => {
  const r = computeDigestResponse({
    algorithm: alg('MD5'),
    username: 'Mufasa',
    realm: 'testrealm@host.com',
    password: 'Circle Of Life',
    nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
    cnonce: '0a4f113b',
    nc: '00000001',
    qop: 'auth',
    method: 'GET',
    uri: '/dir/index.html',
  });
  assert.equal(r, '6629fae49393a05397450978507c4ef1');
});

test('RFC 7616 §3.9.1 examples (MD5 and SHA-256)', () => {
  const base = {
    username: 'Mufasa',
    realm: 'http-auth@example.org',
    password: 'Circle of Life',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    nc: '00000001',
    qop: 'auth',
    method: 'GET',
    uri: '/dir/index.html',
  };
  assert.equal(computeDigestResponse({ ...base, algorithm: alg('MD5') }), '8ca523f5e9506fed4657c9700eebdbec');
  assert.equal(
    computeDigestResponse({ ...base, algorithm: alg('SHA-256') }),
    '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
  );
});

test('SHA-512/256 primitive matches the FIPS 180-4 "abc" vector', () => {
  assert.equal(digestHash('sha512-256', 'abc'), '53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23');
});

test('algorithm names: case-insensitive, absent means MD5, unknown refused', () => {
  assert.equal(digestAlgorithm(undefined)?.name, 'MD5');
  assert.equal(digestAlgorithm('sha-512-256-SESS')?.name, 'SHA-512-256-sess');
  assert.equal(digestAlgorithm('SHA-1'), undefined);
});

// Vectors computed with python3 hashlib from the RFC 7616 formulas (an implementation independent of ours):
// [response, rspauth] for every algorithm × qop.
const PY: Record<string, [string, string]> = {
  'MD5/none': ['62b81d0d3bcc6a8b3d8dbecb3635de55', '4a31ce0ae8d09a6a2c870b60c129e0d2'],
  'MD5/auth': ['762e88d8a841306a6c19e5010c209a09', '4bfb3c5fcfc32ea97768fe93e782f1f6'],
  'MD5/auth-int': ['bc53dc1bac2d6726351f506b08af1558', '64a17d8b86caaf7f0d9420aeb6d99e50'],
  'MD5-sess/none': ['2808c3c51b6c995ae59828a092edd173', 'c296391f7f35ff7af0ffdfef790380a8'],
  'MD5-sess/auth': ['fba7ffe2dcdd339c62f0d5a954344dd6', '4969c88060c291eeafa3993bca5002b3'],
  'MD5-sess/auth-int': ['6c5579d067e70f57edadcc87a43e605b', 'e32b0fb82b9e76467fb8b4817f78d365'],
  'SHA-256/none': [
    '8fd95dff1f4f8af53f5de777132ae218b020861e6ad3636313d6f9de24cfb873',
    'd8635c6187e4b53b29531c12b65f97edc97c855b11e616ca2368455a2c4ab574',
  ],
  'SHA-256/auth': [
    '8b3519f6378621fcb5dfc928f34b0b783e8cd55dd9e1e8185d55eeff5482fb90',
    'e42364b26ed1f30c13dbc81dc5813e977e31224817c4680d51571a8f250a1ca2',
  ],
  'SHA-256/auth-int': [
    '665fd3fb62a20b217b1910b66450f063491c7ee0b13665598ff98e41be8e8140',
    '197a589a683aded331e1173867173d66c331a26289a83aea3f29f8ff016dfb05',
  ],
  'SHA-256-sess/none': [
    '952489703688be2676ce3d5ec19bece85487fdd1c887f63b1eeae148519e0989',
    'a7658e999d16386828fc9525bf05ad86f9d34977954adf29fdece304e060e185',
  ],
  'SHA-256-sess/auth': [
    '411671a6f12bc4a4f20040ec6e6248302f2d50cb9e26fa8424f77fc6520a68f7',
    '3d2e20decd78ea187096a00ee6af4a8e583fa1b3f8c2aa1735acf7d2d84eb2e4',
  ],
  'SHA-256-sess/auth-int': [
    '72873c066c6cdff744fbe702d237c0a6b96c6fc4fa446d7fa3171925a49e25dd',
    '8466718878b1d212489803b7a36b9bb8fd84ba791a55d3d83f9cb9bf81516254',
  ],
  'SHA-512-256/none': [
    'd172f4048e9bcdd6c0a62a094ee47a8a71a5218e5dddc99aadd86bc21fb8c12e',
    '48469fd2af46894a220b3eb5eb62dbc5842dcaf1e00eb911937dc4f57e6d888b',
  ],
  'SHA-512-256/auth': [
    'fc69cf24df0b0f4c4538e2ebc27f6870d3b3b43b8e465c2bdbb43d526d9091ce',
    'df4c135f7d8c2bd8cd90e84b0a50c1b62f01b6dffa61053f0ac54be57f132e42',
  ],
  'SHA-512-256/auth-int': [
    '32d708cd6e68e2f6a4e60096531f65b7a7d6d877bc759171fe33f51a17f230a4',
    'ed0e8ce5b80346376bee3cf7f25d0181af36c3a06a6f2ccf60980f9c48323eae',
  ],
  'SHA-512-256-sess/none': [
    'b8b649948a1866fd847fa9b11f6c171c109f17bf4bb5787b6d17291e785e7a25',
    '5b000788418cfabe812e6501ec79b83ff29ff29d1a1e095e04e266b34843998c',
  ],
  'SHA-512-256-sess/auth': [
    '7717891bfa2e9ab32378652bbc9b82fc8e1a5acdf7d5a06f536cd15e48f5a70b',
    '7420e9f64f99e0292f9d4a2eb4ff9ecfc0a50b20556ceb7d3b396f9179243c6a',
  ],
  'SHA-512-256-sess/auth-int': [
    '8c6d35f08493e2126d211e3c6bbc32e76989815ee7530e523e73414c13e97842',
    'd886b34d0cbf6cd3f63559f8cc5d2e626af455e67e6d0523fc00c1be463efd05',
  ],
};

const BODY = Buffer.from(
  '<?xml version="1.0"?><mbmsMSKRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest"><MSK><keyDomainID>uHCd</keyDomainID><MSKID>aMkAAA==</MSKID></MSK></mbmsMSKRequest>',
);
const V = {
  username: 'btid-1@bsf.example',
  realm: '3GPP-bootstrapping@bmsc.example.org',
  password: 'bXJrLXBhc3N3b3Jk',
  nonce: '6629fae49393a05397450978507c4ef1',
  cnonce: '0a4f113b',
  nc: '00000001',
  method: 'POST',
  uri: '/keymanagement?requesttype=msk-request',
  entityBody: BODY,
};

/** The formula written out again with node:crypto, step by step, as a second in-test reference. */
function reference(algName: string, qop: string | undefined, method: string): string {
  const h = algName.startsWith('SHA-512-256') ? 'sha512-256' : algName.startsWith('SHA-256') ? 'sha256' : 'md5';
  const H = (s: string | Buffer): string => createHash(h).update(s).digest('hex');
  let ha1 = H(`${V.username}:${V.realm}:${V.password}`);
  if (algName.endsWith('-sess')) ha1 = H(`${ha1}:${V.nonce}:${V.cnonce}`);
  const ha2 = H(`${method}:${V.uri}` + (qop === 'auth-int' ? `:${H(BODY)}` : ''));
  return qop === undefined ? H(`${ha1}:${V.nonce}:${ha2}`) : H(`${ha1}:${V.nonce}:${V.nc}:${V.cnonce}:${qop}:${ha2}`);
}

for (const a of ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess']) {
  for (const qop of [undefined, 'auth', 'auth-int']) {
    test(`response and rspauth: ${a}, qop ${qop ?? 'absent'}`, () => {
      const inp = { ...V, algorithm: alg(a), qop };
      const [pyResponse, pyRspauth] = PY[`${a}/${qop ?? 'none'}`];
      const response = computeDigestResponse(inp);
      const rspauth = computeDigestResponse(inp, true);
      assert.equal(response, pyResponse);
      assert.equal(rspauth, pyRspauth);
      assert.equal(response, reference(a, qop, 'POST'));
      assert.equal(rspauth, reference(a, qop, ''));
    });
  }
}

test('auth-int: a different body changes the response', () => {
  const inp = { ...V, algorithm: alg('MD5'), qop: 'auth-int' };
  assert.notEqual(computeDigestResponse(inp), computeDigestResponse({ ...inp, entityBody: Buffer.from('x') }));
});

test('userhash = H(username ":" realm) (values from python3 hashlib)', () => {
  assert.equal(computeUserhash(alg('SHA-256'), V.username, V.realm), '11536b9a242de75d78196954763fb6ca7a31836aa06055337d2b742aefb4dfcd');
  assert.equal(computeUserhash(alg('MD5'), V.username, V.realm), '1002697849831ce865406f5031afe787');
});

test('HA1 cache: the same user with another realm, password or hash is hashed anew, not served the cached H(A1)', () => {
  const h = (alg: 'md5' | 'sha256', s: string) => createHash(alg).update(s).digest('hex');
  const md5 = digestAlgorithm('MD5');
  const sha = digestAlgorithm('SHA-256');
  assert.ok(md5 && sha);
  const base = { username: 'ha1-cache-user', nonce: 'n', method: 'GET', uri: '/' };
  const cases: Array<[typeof md5, string, string]> = [
    [md5, 'realm-a', 'pw-1'], [md5, 'realm-a', 'pw-1'], [md5, 'realm-b', 'pw-1'], [md5, 'realm-b', 'pw-2'],
    [sha, 'realm-b', 'pw-2'], [md5, 'realm-a', 'pw-1'],
  ];
  for (const [algorithm, realm, password] of cases) {
    const got = computeHA1({ ...base, algorithm, realm, password });
    assert.equal(got, h(algorithm.hash === 'md5' ? 'md5' : 'sha256', `ha1-cache-user:${realm}:${password}`), `${algorithm.name} ${realm} ${password}`);
  }
});
