/**
 * Deterministic MBMS MIKEY traffic of every kind with real crypto: the content of captures/mikey-mbms-kinds.pcap.
 * Shared by the capture script (make-mbms-capture.ts) and the tests, which can rebuild the expected bytes.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  encodeMikey, type HeaderInput, type MikeyMessageInput, buildErrorMessage, buildMskAck, buildMskDelivery, buildMtkDelivery, buildSolicitedPullTrigger,
} from '../../../src/protocols/mikey/encode';

/** Walk up from this file to the directory holding package.json (works from test/ and from dist/test/). */
export function repoRoot(): string {
  let d = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(d, 'package.json'))) return d;
    const up = path.dirname(d);
    if (up === d) throw new Error('package.json not found above ' + __dirname);
    d = up;
  }
}

const h = (label: string, n: number) => createHash('sha256').update(label).digest().subarray(0, n);

export const BMSC = '127.0.0.1';
export const UE_A = '127.0.0.2';
export const MTK_DST = '127.0.0.3';
export const UE_B = '127.0.0.4';
export const BMSC_FQDN = 'bmsc.mnc001.mcc001.pub.3gppnetwork.org';
export const BTID_A = 'RkY2RkQ3QkQ=@bsf.mnc001.mcc001.pub.3gppnetwork.org';
export const BTID_B = 'QjJCMkIyQjI=@bsf.mnc001.mcc001.pub.3gppnetwork.org';
export const KD = Buffer.from('00f110', 'hex'); // 001-01
export const NAF_A = h('Ks_NAF of UE A', 32);
export const MUK_B = h('MUK of UE B (GBA_U)', 16);
export const RAND_1 = h('RAND for MSK 0001:0002', 16);
export const RAND_2 = h('RAND for MSK 0003:0001', 16);
export const RAND_3 = h('RAND for MSK 0001:0003 to B', 16);
export const MSK_1 = h('MSK 0001:0002', 16);
export const MSK_2 = h('MSK 0003:0001', 16);
export const MSK_3 = h('MSK 0001:0003', 16);
export const MTK_1 = h('MTK 1 under MSK 0001:0002', 16);
export const MTK_2 = h('MTK 1 under MSK 0003:0001', 16);
export const SALT_2 = h('salt of MTK 1 under MSK 0003:0001', 14);
export const MTK_3 = h('MTK 2 under MSK 0001:0002', 16);

export interface FixtureDatagram {
  src: string;
  dst: string;
  kind: 'msk-delivery' | 'mtk-delivery' | 'verification' | 'solicited-pull-trigger' | 'error';
  description: string;
  bytes: Buffer;
  /** The key this message delivers, in clear, when it delivers one. */
  key?: Buffer;
  salt?: Buffer;
}

const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);

export function mbmsKindsDatagrams(): FixtureDatagram[] {
  const out: FixtureDatagram[] = [];
  const d1 = buildMskDelivery({
    muk: NAF_A, rand: RAND_1, counter: 7, csbId: 0x5a17c0de, idi: BMSC_FQDN, idr: BTID_A, keyDomainId: KD, keyGroup: 1,
    keyNumber: 2, msk: MSK_1, interval: { seqL: 0, seqU: 100 }, v: true,
  });
  out.push({ src: BMSC, dst: UE_A, kind: 'msk-delivery', description: 'MSK push, download (Empty map), V set, AES-CM-128', bytes: d1, key: MSK_1 });
  out.push({
    src: UE_A, dst: BMSC, kind: 'verification', description: 'ACK of the MSK push',
    bytes: buildMskAck({ delivery: { csbId: 0x5a17c0de, rand: RAND_1, counterValue: u32(7), idi: Buffer.from(BMSC_FQDN), idr: Buffer.from(BTID_A) }, muk: NAF_A }),
  });
  out.push({
    src: BMSC, dst: UE_A, kind: 'msk-delivery', description: 'MSK push, streaming (SRTP-ID map, SP), no V',
    key: MSK_2,
    bytes: buildMskDelivery({
      muk: NAF_A, rand: RAND_2, counter: 8, csbId: 0x00c0ffee, idi: BMSC_FQDN, idr: BTID_A, keyDomainId: KD, keyGroup: 3,
      keyNumber: 1, msk: MSK_2, interval: { seqL: 0, seqU: 0x0fff },
      srtp: {
        ssrc: 0x11223344, roc: 0, params: [
          { paramType: 0, value: Buffer.from([1]) }, { paramType: 1, value: Buffer.from([16]) }, { paramType: 2, value: Buffer.from([1]) },
          { paramType: 3, value: Buffer.from([20]) }, { paramType: 4, value: Buffer.from([14]) }, { paramType: 6, value: Buffer.from([0]) },
          { paramType: 7, value: Buffer.from([1]) }, { paramType: 8, value: Buffer.from([1]) }, { paramType: 10, value: Buffer.from([1]) },
          { paramType: 11, value: Buffer.from([10]) }, { paramType: 13, value: Buffer.from([1]) },
        ],
      },
    }),
  });
  out.push({
    src: BMSC, dst: MTK_DST, kind: 'mtk-delivery', description: 'MTK 1 under MSK 0001:0002 (download: TGK)', key: MTK_1,
    bytes: buildMtkDelivery({ msk: MSK_1, rand: RAND_1, counter: 1, csbId: 0x0badcafe, keyDomainId: KD, keyGroup: 1, keyNumber: 2, mtkId: 1, mtk: MTK_1 }),
  });
  out.push({
    src: BMSC, dst: MTK_DST, kind: 'mtk-delivery', description: 'MTK 1 under MSK 0003:0001 (streaming: TEK+SALT)', key: MTK_2, salt: SALT_2,
    bytes: buildMtkDelivery({ msk: MSK_2, rand: RAND_2, counter: 1, csbId: 0x0badf00d, keyDomainId: KD, keyGroup: 3, keyNumber: 1, mtkId: 1, mtk: MTK_2, salt: SALT_2 }),
  });
  out.push({
    src: BMSC, dst: MTK_DST, kind: 'mtk-delivery', description: 'MTK 2 under MSK 0001:0002', key: MTK_3,
    bytes: buildMtkDelivery({ msk: MSK_1, rand: RAND_1, counter: 2, csbId: 0x0badcafe, keyDomainId: KD, keyGroup: 1, keyNumber: 2, mtkId: 2, mtk: MTK_3 }),
  });
  out.push({
    src: BMSC, dst: UE_A, kind: 'solicited-pull-trigger', description: 'Solicited-pull trigger for Key Group 1 to UE A',
    bytes: buildSolicitedPullTrigger({ muk: NAF_A, rand: h('RAND trigger A', 16), counter: 9, csbId: 0x01020304, idi: BMSC_FQDN, idr: BTID_A, keyDomainId: KD, keyGroup: 1 }),
  });
  out.push({
    src: BMSC, dst: UE_B, kind: 'solicited-pull-trigger', description: 'Solicited-pull trigger to UE B (MUK by address)',
    bytes: buildSolicitedPullTrigger({ muk: MUK_B, rand: h('RAND trigger B', 16), counter: 1, csbId: 0x0a0b0c0d, idi: BMSC_FQDN, idr: BTID_B, keyDomainId: KD, keyGroup: 1 }),
  });
  out.push({
    src: BMSC, dst: UE_B, kind: 'msk-delivery', description: 'MSK push to UE B, AES-KW-128, V set', key: MSK_3,
    bytes: buildMskDelivery({
      muk: MUK_B, rand: RAND_3, counter: 2, csbId: 0x77777777, idi: BMSC_FQDN, idr: BTID_B, keyDomainId: KD, keyGroup: 1,
      keyNumber: 3, msk: MSK_3, interval: { seqL: 10, seqU: 20 }, v: true, encrAlg: 2,
    }),
  });
  out.push({
    src: UE_B, dst: BMSC, kind: 'verification', description: 'ACK from UE B',
    bytes: buildMskAck({ delivery: { csbId: 0x77777777, rand: RAND_3, counterValue: u32(2), idi: Buffer.from(BMSC_FQDN), idr: Buffer.from(BTID_B) }, muk: MUK_B }),
  });
  out.push({
    src: BMSC, dst: UE_B, kind: 'msk-delivery', description: 'MSK push to UE B with NULL encryption (flagged), HMAC', key: MSK_3,
    bytes: buildMskDelivery({
      muk: MUK_B, rand: RAND_3, counter: 3, csbId: 0x77777778, idi: BMSC_FQDN, idr: BTID_B, keyDomainId: KD, keyGroup: 1,
      keyNumber: 3, msk: MSK_3, interval: { seqL: 10, seqU: 20 }, encrAlg: 0,
    }),
  });
  out.push({ src: UE_B, dst: BMSC, kind: 'error', description: 'MIKEY error message (invalid MAC)', bytes: buildErrorMessage({ csbId: 0x77777778, counter: 3, errors: [3] }) });
  return out;
}

/** The key file that opens the fixture: UE A by its NAF key, UE B by a MUK keyed on its address, one MSK given. */
export function mbmsKindsKeyFile(): string {
  return [
    '# keyscope keys for captures/mikey-mbms-kinds.pcap',
    `naf ${BTID_A} ${NAF_A.toString('hex')}`,
    `muk ${UE_B} ${MUK_B.toString('hex')}`,
    `msk ${KD.toString('hex')} 00030001 ${MSK_2.toString('hex')}`,
    'digest lab-user pass word with spaces',
    '',
  ].join('\n');
}

/** The same file with every key wrong (one bit flipped). */
export function wrongKeyFile(): string {
  const flip = (b: Buffer) => { const c = Buffer.from(b); c[0] ^= 1; return c.toString('hex'); };
  return [`naf ${BTID_A} ${flip(NAF_A)}`, `muk ${UE_B} ${flip(MUK_B)}`, `msk ${KD.toString('hex')} 00010002 ${flip(MSK_1)}`,
    `msk ${KD.toString('hex')} 00030001 ${flip(MSK_2)}`, ''].join('\n');
}

/**
 * One message per payload family, for decoder coverage against tshark: every payload type the decoder reads, every CS ID
 * map type, every timestamp type, every key validity type. Unauthenticated (no crypto needed to exercise the fields).
 */
export function allPayloadMessages(): { description: string; bytes: Buffer }[] {
  const hdr = (dataType: number, csIdMapType = 1, extra: Partial<HeaderInput> = {}) =>
    ({ dataType, v: false, prf: 0, csbId: 0x01020304, csIdMapType, ...extra });
  const ntp = Buffer.from('e8f4a1b280000000', 'hex');
  const msgs: { description: string; input: MikeyMessageInput }[] = [
    {
      description: 'PK init: T NTP-UTC, RAND, IDi URI, PKE, SIGN',
      input: {
        header: hdr(2, 0, { srtpIds: [{ policyNo: 1, ssrc: 0xdeadbeef, roc: 7 }] }),
        payloads: [
          { type: 5, tsType: 0, value: ntp }, { type: 11, rand: h('rand pk', 16) },
          { type: 6, idType: 1, data: Buffer.from('sip:alice@example.org') },
          // no CERT or CHASH here: tshark parses CERT as X.509 and does not decode CHASH, stopping at either
          // (both are covered by round-trip tests)
          { type: 2, c: 1, data: h('envelope', 40) }, { type: 4, signType: 1, signature: h('sig', 32) },
        ],
      },
    },
    {
      description: 'DH init: T NTP, RAND, ID, DH group 1, SP TESLA and SRTP with all params, SIGN',
      input: {
        header: hdr(4, 0, { v: true, srtpIds: [{ policyNo: 0, ssrc: 1, roc: 0 }, { policyNo: 1, ssrc: 2, roc: 3 }] }),
        payloads: [
          { type: 5, tsType: 1, value: ntp }, { type: 11, rand: h('rand dh', 32) }, { type: 6, idType: 0, data: Buffer.from('bob@example.org') },
          { type: 3, group: 1, value: Buffer.concat([h('dh1', 32), h('dh2', 32), h('dh3', 32)]), kv: 0 },
          {
            type: 10, policyNo: 0, protType: 0, params: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((t) => ({ paramType: t, value: Buffer.from([t === 1 ? 16 : t % 2]) })),
          },
          { type: 10, policyNo: 1, protType: 1, params: [{ paramType: 0, value: Buffer.from([1, 2]) }] },
          { type: 4, signType: 0, signature: h('sig2', 64) },
        ],
      },
    },
    {
      description: 'PSK init: NULL KEMAC with TGK+SALT (SPI) and TEK+SALT (interval), general extensions, IDR',
      input: {
        header: hdr(0, 1),
        payloads: [
          { type: 5, tsType: 2, value: Buffer.from([0, 0, 1, 0]) }, { type: 11, rand: h('rand psk', 16) },
          { type: 14, role: 1, idType: 0, data: Buffer.from('bmsc.example.org') },
          { type: 21, extType: 0, data: Buffer.from('vendor') }, { type: 21, extType: 1, data: Buffer.from('sdp-id') },
          { type: 21, extType: 3, data: Buffer.from('000300f1100104000100020202000a', 'hex') },
          {
            type: 1, encrAlg: 0, macAlg: 1, mac: h('mac', 20), keys: [
              { keyType: 1, kv: 1, key: h('tgk', 16), salt: h('salt', 14), spi: Buffer.from([1, 2, 3, 4]) },
              { keyType: 3, kv: 2, key: h('tek', 16), salt: h('salt2', 14), interval: { from: Buffer.from([0, 1]), to: Buffer.from([0, 9]) } },
            ],
          },
        ],
      },
    },
    {
      description: 'Error message with three ERR payloads and a V payload',
      input: {
        header: hdr(6),
        payloads: [{ type: 5, tsType: 2, value: Buffer.from([0, 0, 0, 5]) }, { type: 12, errorNo: 0 }, { type: 12, errorNo: 14 }, { type: 12, errorNo: 200 }, { type: 9, authAlg: 1, mac: h('v', 20) }],
      },
    },
    {
      description: 'SAKKE (RFC 6509): T NTP-UTC, RAND, IDR roles, SAKKE, SIGN ECCSI',
      input: {
        header: hdr(26, 1),
        payloads: [
          { type: 5, tsType: 0, value: ntp }, { type: 11, rand: h('rand sakke', 16) },
          { type: 14, role: 1, idType: 1, data: Buffer.from('tel:+15550001') }, { type: 14, role: 2, idType: 1, data: Buffer.from('tel:+15550002') },
          { type: 26, params: 1, idScheme: 1, data: h('sakke', 32) }, { type: 4, signType: 2, signature: h('eccsi', 32) },
        ],
      },
    },
    {
      description: 'Unknown data type 200 and CS ID map, key types and algorithms (unknown values named, not dropped)',
      input: {
        header: { dataType: 200, v: false, prf: 5, csbId: 0xffffffff, csCount: 0, csIdMapType: 1 },
        payloads: [{ type: 5, tsType: 2, value: Buffer.from([0xff, 0xff, 0xff, 0xff]) }, { type: 21, extType: 99, data: Buffer.from([1, 2, 3]) }, { type: 1, encrAlg: 7, macAlg: 1, encrData: Buffer.from([9, 9, 9]), mac: h('m', 20) }],
      },
    },
  ];
  return msgs.map((m) => ({ description: m.description, bytes: encodeMikey(m.input) }));
}
