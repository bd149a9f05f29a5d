import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMikey, keyDomainToMccMnc, mccMncToKeyDomain } from '../../../src/protocols/mikey/decode';
import { encodeMikey, type MikeyMessageInput, type PayloadInput } from '../../../src/protocols/mikey/encode';
import { mbmsInfo } from '../../../src/protocols/mikey/mbms';
import type { MikeyMessage } from '../../../src/protocols/mikey/types';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const b = (n: number, fill: number) => Buffer.alloc(n, fill);

/** decode(encode(m)) gives m back, and encoding the decoded message gives the same bytes. */
function roundTrip(input: MikeyMessageInput): MikeyMessage {
  const bytes = encodeMikey(input);
  const r = decodeMikey(bytes);
  assert.deepEqual(r.problems.filter((p) => p.severity === 'error'), [], 'no decode errors');
  assert.ok(r.message);
  const again = encodeMikey(r.message);
  assert.deepEqual(again, bytes, 'encode(decode(bytes)) = bytes');
  assert.deepEqual(decodeMikey(again).message, r.message, 'decode(encode(m)) = m');
  assert.equal(r.message.length, bytes.length);
  return r.message;
}

const HDR = { dataType: 0, v: false, prf: 0, csbId: 0xcafe0001, csIdMapType: 1 };

const PAYLOADS: [string, PayloadInput, (m: MikeyMessage) => void][] = [
  ['KEMAC with key data (NULL encr, three KV kinds)', {
    type: 1, encrAlg: 0, macAlg: 1, mac: b(20, 0xee), keys: [
      { keyType: 0, kv: 0, key: b(16, 1) },
      { keyType: 3, kv: 1, key: b(16, 2), salt: b(14, 3), spi: hex('0001000200030004') },
      { keyType: 2, kv: 2, key: b(16, 4), interval: { from: hex('0001'), to: hex('00ff') } },
    ],
  }, (m) => {
    const k = m.payloads[0];
    assert.ok(k.type === 1 && k.keys);
    assert.deepEqual(k.keys.map((x) => [x.keyTypeName, x.kvName]), [['TGK', 'NULL'], ['TEK+SALT', 'SPI/MKI'], ['TEK', 'Interval']]);
    assert.deepEqual(k.keys[1].salt, b(14, 3));
    assert.deepEqual(k.keys[2].interval?.to, hex('00ff'));
    assert.equal(k.macAlgName, 'HMAC-SHA-1-160');
    assert.equal(k.macOffset, m.length - 20);
  }],
  ['KEMAC encrypted (opaque data), HMAC-SHA-256', { type: 1, encrAlg: 3, macAlg: 2, encrData: b(40, 9), mac: b(32, 8) }, (m) => {
    const k = m.payloads[0];
    assert.ok(k.type === 1);
    assert.equal(k.encrAlgName, 'AES-CM-256');
    assert.equal(k.keys, undefined);
    assert.equal(k.mac.length, 32);
  }],
  ['PKE', { type: 2, c: 2, data: b(300, 5) }, (m) => assert.ok(m.payloads[0].type === 2 && m.payloads[0].cName === 'Cache for CSB' && m.payloads[0].data.length === 300)],
  ['DH with interval KV', { type: 3, group: 2, value: b(128, 6), kv: 2, interval: { from: hex('01'), to: hex('0203') } }, (m) => {
    const d = m.payloads[0];
    assert.ok(d.type === 3);
    assert.equal(d.groupName, 'OAKLEY 2');
    assert.deepEqual(d.interval?.to, hex('0203'));
  }],
  ['T NTP-UTC', { type: 5, tsType: 0, value: hex('83aa7e8080000000') }, (m) => {
    const t = m.payloads[0];
    assert.ok(t.type === 5);
    assert.equal(t.time, '1970-01-01T00:00:00.500Z');
  }],
  ['T COUNTER', { type: 5, tsType: 2, value: hex('fffffffe') }, (m) => assert.ok(m.payloads[0].type === 5 && m.payloads[0].counter === 0xfffffffe)],
  ['T NTP-UTC-32', { type: 5, tsType: 3, value: hex('83aa7e81') }, (m) => assert.ok(m.payloads[0].type === 5 && m.payloads[0].time === '1970-01-01T00:00:01.000Z')],
  ['TR (RFC 6043)', { type: 13, tsType: 1, value: b(8, 1) }, (m) => assert.ok(m.payloads[0].type === 13 && m.payloads[0].tsTypeName === 'NTP')],
  ['ID URI', { type: 6, idType: 1, data: Buffer.from('sip:a@b') }, (m) => assert.ok(m.payloads[0].type === 6 && m.payloads[0].text === 'sip:a@b')],
  ['IDR', { type: 14, role: 4, idType: 2, data: b(5, 0x41) }, (m) => assert.ok(m.payloads[0].type === 14 && m.payloads[0].roleName === 'Pre-Shared Key (IDRpsk)')],
  ['CERT', { type: 7, certType: 1, data: Buffer.from('http://x/cert') }, (m) => assert.ok(m.payloads[0].type === 7 && m.payloads[0].certTypeName === 'X.509v3 URL')],
  ['CHASH MD5', { type: 8, hashFunc: 1, hash: b(16, 7) }, (m) => assert.ok(m.payloads[0].type === 8 && m.payloads[0].hash.length === 16)],
  ['V', { type: 9, authAlg: 1, mac: b(20, 2) }, (m) => assert.ok(m.payloads[0].type === 9 && m.payloads[0].macOffset === m.length - 20)],
  ['SP SRTP', { type: 10, policyNo: 3, protType: 0, params: [{ paramType: 0, value: hex('02') }, { paramType: 20, value: hex('10') }, { paramType: 99, value: hex('0102') }] }, (m) => {
    const s = m.payloads[0];
    assert.ok(s.type === 10);
    assert.deepEqual(s.params.map((p) => [p.paramTypeName, p.valueName]), [['Encryption algorithm', 'AES-F8'], ['AEAD authentication tag length', undefined], ['Unknown (99)', undefined]]);
  }],
  ['RAND', { type: 11, rand: b(16, 3) }, (m) => assert.ok(m.payloads[0].type === 11 && m.payloads[0].rand.length === 16)],
  ['RANDR', { type: 15, rand: b(32, 3) }, (m) => assert.ok(m.payloads[0].type === 15)],
  ['ERR', { type: 12, errorNo: 13 }, (m) => assert.ok(m.payloads[0].type === 12 && m.payloads[0].errorName === 'Unsupported message type')],
  ['EXT Key ID with MTK ID', { type: 21, extType: 3, data: hex('000300f110 010400010002 02020005') }, (m) => {
    const e = m.payloads[0];
    assert.ok(e.type === 21 && e.keyIds);
    assert.deepEqual(e.keyIds.map((k) => [k.keyIdTypeName, k.keyDomain, k.keyGroup, k.keyNumber, k.mtkId]), [
      ['MBMS Key Domain ID', '001-01', undefined, undefined, undefined], ['MBMS MSK ID', undefined, 1, 2, undefined], ['MBMS MTK ID', undefined, undefined, undefined, 5],
    ]);
  }],
  ['EXT unknown type kept', { type: 21, extType: 250, data: b(3, 1) }, (m) => assert.ok(m.payloads[0].type === 21 && m.payloads[0].extTypeName === 'Unknown (250)')],
  ['TICKET', { type: 17, ticketType: 2, data: b(10, 4) }, (m) => assert.ok(m.payloads[0].type === 17 && m.payloads[0].ticketType === 2)],
  ['SAKKE', { type: 26, params: 1, idScheme: 1, data: b(20, 4) }, (m) => assert.ok(m.payloads[0].type === 26 && m.payloads[0].paramsName === 'Parameter Set 1')],
  ['SIGN (last, no next payload byte)', { type: 4, signType: 1, signature: b(100, 9) }, (m) => assert.ok(m.payloads[0].type === 4 && m.payloads[0].signTypeName === 'RSA/PSS' && m.payloads[0].length === 102)],
];

for (const [name, payload, check] of PAYLOADS) {
  test(`round trip: ${name}`, () => {
    const m = roundTrip({ header: HDR, payloads: [payload] });
    assert.equal(m.payloads.length, 1);
    assert.equal(m.payloads[0].offset, 10);
    check(m);
  });
}

test('round trip: every payload in one message, wire order kept, SIGN last', () => {
  const seen = new Set<number>();
  const onceOnly = new Set([1, 2, 3, 5, 8, 9, 11]);
  const all = PAYLOADS.map((p) => p[1]).filter((p) => !(onceOnly.has(p.type) && seen.has(p.type)) && (seen.add(p.type), true));
  const m = roundTrip({ header: { ...HDR, csIdMapType: 0, srtpIds: [{ policyNo: 1, ssrc: 2, roc: 3 }] }, payloads: all });
  assert.deepEqual(m.payloads.map((p) => p.type), all.map((p) => p.type));
  for (let i = 0; i + 1 < m.payloads.length; i++) assert.equal(m.payloads[i].offset + m.payloads[i].length, m.payloads[i + 1].offset);
});

test('round trip: every CS ID map type', () => {
  assert.deepEqual(roundTrip({ header: { ...HDR, csIdMapType: 0, srtpIds: [{ policyNo: 0, ssrc: 0xffffffff, roc: 1 }, { policyNo: 1, ssrc: 2, roc: 0 }] }, payloads: [] }).header.srtpIds?.length, 2);
  const g = roundTrip({
    header: { ...HDR, csIdMapType: 2, genericIds: [{ csId: 1, protType: 0, sFlag: true, policies: [0, 1], sessionData: b(9, 1), spi: b(4, 2) }] },
    payloads: [],
  });
  assert.equal(g.header.csIdMapTypeName, 'GENERIC-ID');
  assert.deepEqual(g.header.genericIds?.[0].policies, [0, 1]);
  assert.equal(roundTrip({ header: HDR, payloads: [] }).header.csIdMapTypeName, 'Empty map');
});

test('unknown code points are named Unknown (N), never dropped', () => {
  const r = decodeMikey(encodeMikey({ header: { dataType: 99, v: true, prf: 77, csbId: 1, csIdMapType: 1 }, payloads: [{ type: 12, errorNo: 99 }] }));
  assert.ok(r.message);
  assert.equal(r.message.header.dataTypeName, 'Unknown (99)');
  assert.equal(r.message.header.prfName, 'Unknown (77)');
  assert.ok(r.message.payloads[0].type === 12 && r.message.payloads[0].errorName === 'Unknown (99)');
});

test('Key Domain ID as MCC-MNC (TS 24.008 BCD layout), both ways', () => {
  assert.equal(keyDomainToMccMnc(hex('00f110')), '001-01');
  assert.equal(keyDomainToMccMnc(hex('130062')), '310-260');
  assert.equal(keyDomainToMccMnc(hex('62f220')), '262-02');
  assert.equal(keyDomainToMccMnc(hex('ffffff')), undefined);
  assert.deepEqual(mccMncToKeyDomain('310-260'), hex('130062'));
  assert.deepEqual(mccMncToKeyDomain('001-01'), hex('00f110'));
});

test('seed (draft) identifiers: Network ID in IDi, Key Group in the CSB ID, 2-byte MSK ID', () => {
  const m = decodeMikey(encodeMikey({
    header: { dataType: 0, v: false, prf: 0, csbId: 0x0007, csIdMapType: 1 },
    payloads: [
      { type: 5, tsType: 2, value: hex('00000001') }, { type: 11, rand: b(16, 1) }, { type: 6, idType: 0, data: hex('62f220') },
      { type: 6, idType: 0, data: Buffer.from('btid@bsf') }, { type: 21, extType: 3, data: hex('01020009') },
      { type: 1, encrAlg: 1, macAlg: 1, encrData: b(20, 1), mac: b(20, 1) },
    ],
  })).message;
  assert.ok(m);
  const i = mbmsInfo(m);
  assert.deepEqual([i.kind, i.idEncoding, i.keyDomain, i.keyDomainId, i.keyGroup, i.keyNumber, i.mskId, i.idi], ['msk-delivery', 'seed', '262-02', '62f220', 7, 9, 0x00070009, '62f220']);
  const t = decodeMikey(encodeMikey({
    header: { dataType: 0, v: false, prf: 0, csbId: 0x0007, csIdMapType: 1 },
    payloads: [{ type: 5, tsType: 2, value: hex('00000002') }, { type: 11, rand: b(16, 1) }, { type: 6, idType: 0, data: hex('62f220') }, { type: 21, extType: 3, data: hex('01020000') }, { type: 1, encrAlg: 1, macAlg: 1, mac: b(20, 1) }],
  })).message;
  assert.ok(t);
  assert.equal(mbmsInfo(t).kind, 'solicited-pull-trigger', 'seed: MSK ID 0 with no key marks a solicited pull');
});

// ---- Vectors from other projects' test suites (bytes and expected values taken as facts) ----

test('GStreamer tests/check/libs/mikey.c: common header and SRTP-ID map bytes', () => {
  // create_common: 01 00 00 00 12 34 56 78 00 00 = version 1, PSK init, no payload, V 0, MIKEY-1, CSB 0x12345678, #CS 0, SRTP-ID
  const h = decodeMikey(hex('01000000123456780000'));
  assert.deepEqual(h.problems, []);
  assert.deepEqual(
    h.message && [h.message.header.version, h.message.header.dataType, h.message.header.v, h.message.header.prf, h.message.header.csbId, h.message.header.csCount, h.message.header.csIdMapType],
    [1, 0, false, 0, 0x12345678, 0, 0],
  );
  // then two crypto sessions (policy 1, SSRC 0x12345678, ROC 0) and (2, 0x23456789, 1): 28 bytes in all
  const two = hex('01000000123456780200' + '011234567800000000' + '022345678900000001');
  const r = decodeMikey(two);
  assert.deepEqual(r.message?.header.srtpIds, [{ policyNo: 1, ssrc: 0x12345678, roc: 0 }, { policyNo: 2, ssrc: 0x23456789, roc: 1 }]);
  assert.deepEqual(encodeMikey({ header: { dataType: 0, prf: 0, csbId: 0x12345678, csIdMapType: 0, srtpIds: [{ policyNo: 1, ssrc: 0x12345678, roc: 0 }, { policyNo: 2, ssrc: 0x23456789, roc: 1 }] }, payloads: [] }), two);
  // create_payloads: adding a T payload of NTP type makes the message 20 bytes
  assert.equal(encodeMikey({ header: { dataType: 0, prf: 0, csbId: 0x12345678, csIdMapType: 0 }, payloads: [{ type: 5, tsType: 1, value: hex('0102030405060708') }] }).length, 20);
});

test('a MIKEY message from an RTSP server test suite\'s SDP (a=key-mgmt:mikey …)', () => {
  const b64 = 'AQAFAElq4SIBAAA6zCzrAAAAAAsA7d5mHVUyqcsKEP9Ynnh3rIApS64s5GNDOb4BAAAAHgABAQEBEAIBAQMBFAQBDgUBAAcBAQgBAQoBAQsBCgAAACcAIQAepnM1qcQLCtXMUZ8imXhhE4K37b1PTMal3WhDgdssBAAAAAEA';
  const bytes = Buffer.from(b64, 'base64');
  const r = decodeMikey(bytes);
  assert.deepEqual(r.problems, []);
  const m = r.message;
  assert.ok(m);
  assert.equal(m.header.csbId, 0x496ae122);
  assert.deepEqual(m.header.srtpIds, [{ policyNo: 0, ssrc: 0x3acc2ceb, roc: 0 }]);
  assert.deepEqual(m.payloads.map((p) => p.type), [5, 11, 10, 1]);
  const sp = m.payloads[2];
  assert.ok(sp.type === 10);
  assert.deepEqual(sp.params.map((p) => [p.paramType, p.value[0]]), [[0, 1], [1, 16], [2, 1], [3, 20], [4, 14], [5, 0], [7, 1], [8, 1], [10, 1], [11, 10]]);
  const k = m.payloads[3];
  assert.ok(k.type === 1 && k.keys);
  assert.equal(k.encrAlgName, 'NULL');
  assert.equal(k.macAlgName, 'NULL');
  assert.deepEqual([k.keys[0].keyTypeName, k.keys[0].key.length, k.keys[0].spi?.toString('hex')], ['TEK', 30, '00000001']);
  assert.deepEqual(encodeMikey(m), bytes);
});

test('dissectMikey: decode + MBMS kind + profile problems in one call', async () => {
  const { dissectMikey } = await import('../../../src/protocols/mikey/dissect');
  const { buildMskDelivery } = await import('../../../src/protocols/mikey/encode');
  const d = dissectMikey(buildMskDelivery({
    muk: b(16, 1), rand: b(16, 2), counter: 1, csbId: 1, idi: 'bmsc', idr: 'btid', keyDomainId: hex('00f110'), keyGroup: 0, keyNumber: 1, msk: b(16, 3), encrAlg: 0,
  }));
  assert.equal(d.mbms?.kind, 'msk-delivery');
  assert.deepEqual(d.problems.map((p) => p.code).sort(), ['mikey-key-group-zero', 'mikey-null-encryption']);
  assert.deepEqual(dissectMikey(hex('01')).mbms, null);
});
