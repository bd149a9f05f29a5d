/**
 * MIKEY encoder: builds every payload the decoder reads, with the RFC 3830 crypto, so tests and the lab simulator
 * create real messages. `decodeMikey(encodeMikey(m)).message` gives `m` back. Throws only on bad parameters from
 * our own code (never on packet content: nothing here reads packets).
 */
import { MAC_LENGTH, PayloadType } from './tables';
import {
  computeMac, deriveMessageKeys, kemacEncrypt, type MessageKeys,
} from './crypto';
import type { GenericIdEntry, KeyValidityInterval, MikeyMessage, SrtpIdEntry } from './types';

export interface HeaderInput {
  version?: number;
  dataType: number;
  v?: boolean;
  prf?: number;
  csbId: number;
  /** Defaults to the number of map entries. */
  csCount?: number;
  csIdMapType: number;
  srtpIds?: SrtpIdEntry[];
  genericIds?: GenericIdEntry[];
}

export interface KeyDataInput {
  keyType: number;
  kv: number;
  key: Uint8Array;
  salt?: Uint8Array;
  spi?: Uint8Array;
  interval?: KeyValidityInterval | { from: Uint8Array; to: Uint8Array };
}

export type PayloadInput =
  | { type: 1; encrAlg: number; macAlg: number; encrData?: Uint8Array; keys?: KeyDataInput[]; mac?: Uint8Array }
  | { type: 2; c: number; data: Uint8Array }
  | { type: 3; group: number; value: Uint8Array; kv: number; spi?: Uint8Array; interval?: { from: Uint8Array; to: Uint8Array } }
  | { type: 4; signType: number; signature: Uint8Array }
  | { type: 5 | 13; tsType: number; value: Uint8Array }
  | { type: 6; idType: number; data: Uint8Array }
  | { type: 14; role?: number; idType: number; data: Uint8Array }
  | { type: 7; certType: number; data: Uint8Array }
  | { type: 8; hashFunc: number; hash: Uint8Array }
  | { type: 9; authAlg: number; mac?: Uint8Array }
  | { type: 10; policyNo: number; protType: number; params: { paramType: number; value: Uint8Array }[] }
  | { type: 11 | 15; rand: Uint8Array }
  | { type: 12; errorNo: number; reserved?: Uint8Array }
  | { type: 21; extType: number; data: Uint8Array }
  | { type: 17; ticketType: number; data: Uint8Array }
  | { type: 26; params: number; idScheme: number; data: Uint8Array };

export interface MikeyMessageInput {
  header: HeaderInput;
  payloads: PayloadInput[];
}

/** Crypto to apply while encoding. */
export interface EncodeProtection {
  /** Pre-shared key (MBMS: the MUK for MSK messages, the MSK for MTK messages). */
  psk?: Uint8Array;
  /** RAND for key derivation when the message has no RAND payload (MBMS MTK messages: the MSK message's RAND). */
  rand?: Uint8Array;
  /** For a verification message (V payload): the initiator's message keys and the MAC trailer inputs. */
  verification?: { authKey: Uint8Array; idi: Uint8Array; idr: Uint8Array; initiatorTs: Uint8Array };
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff, 0);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function kvBytes(kv: number, spi?: Uint8Array, interval?: { from: Uint8Array; to: Uint8Array }): Buffer {
  if (kv === 1) return Buffer.concat([Buffer.from([spi?.length ?? 0]), Buffer.from(spi ?? [])]);
  if (kv === 2) {
    const f = interval?.from ?? new Uint8Array(0);
    const t = interval?.to ?? new Uint8Array(0);
    return Buffer.concat([Buffer.from([f.length]), Buffer.from(f), Buffer.from([t.length]), Buffer.from(t)]);
  }
  return Buffer.alloc(0);
}

/** Encode a chain of Key data sub-payloads (the KEMAC plaintext). */
export function encodeKeyData(keys: KeyDataInput[]): Buffer {
  const parts: Buffer[] = [];
  keys.forEach((k, i) => {
    parts.push(Buffer.from([i + 1 < keys.length ? PayloadType.KEY_DATA : 0, ((k.keyType & 0x0f) << 4) | (k.kv & 0x0f)]));
    parts.push(u16(k.key.length), Buffer.from(k.key));
    if (k.salt) parts.push(u16(k.salt.length), Buffer.from(k.salt));
    parts.push(kvBytes(k.kv, k.spi, k.interval));
  });
  return Buffer.concat(parts);
}

function encodeHeader(h: HeaderInput, next: number): Buffer {
  const map: Buffer[] = [];
  let count = h.csCount;
  if (h.csIdMapType === 0 && h.srtpIds) {
    for (const e of h.srtpIds) map.push(Buffer.from([e.policyNo]), u32(e.ssrc), u32(e.roc));
    count ??= h.srtpIds.length;
  } else if (h.csIdMapType === 2 && h.genericIds) {
    for (const e of h.genericIds) {
      map.push(Buffer.from([e.csId, e.protType, (e.sFlag ? 0x80 : 0) | (e.policies.length & 0x7f)]), Buffer.from(e.policies));
      map.push(u16(e.sessionData.length), Buffer.from(e.sessionData), Buffer.from([e.spi.length]), Buffer.from(e.spi));
    }
    count ??= h.genericIds.length;
  }
  const head = Buffer.alloc(10);
  head[0] = h.version ?? 1;
  head[1] = h.dataType;
  head[2] = next;
  head[3] = (h.v ? 0x80 : 0) | ((h.prf ?? 0) & 0x7f);
  head.writeUInt32BE(h.csbId >>> 0, 4);
  head[8] = count ?? 0;
  head[9] = h.csIdMapType;
  return Buffer.concat([head, ...map]);
}

/** Body of one payload, after its Next Payload byte (SIGN: the whole payload). */
function payloadBody(p: PayloadInput): Buffer {
  switch (p.type) {
    case 1: {
      const data = Buffer.from(p.encrData ?? (p.keys ? encodeKeyData(p.keys) : new Uint8Array(0)));
      const macLen = MAC_LENGTH[p.macAlg] ?? p.mac?.length ?? 0;
      const mac = p.mac ? Buffer.from(p.mac) : Buffer.alloc(macLen);
      return Buffer.concat([Buffer.from([p.encrAlg]), u16(data.length), data, Buffer.from([p.macAlg]), mac]);
    }
    case 2:
      return Buffer.concat([u16(((p.c & 3) << 14) | (p.data.length & 0x3fff)), Buffer.from(p.data)]);
    case 3:
      return Buffer.concat([Buffer.from([p.group]), Buffer.from(p.value), Buffer.from([p.kv & 0x0f]), kvBytes(p.kv, p.spi, p.interval)]);
    case 4:
      return Buffer.concat([u16(((p.signType & 0x0f) << 12) | (p.signature.length & 0x0fff)), Buffer.from(p.signature)]);
    case 5:
    case 13:
      return Buffer.concat([Buffer.from([p.tsType]), Buffer.from(p.value)]);
    case 6:
      return Buffer.concat([Buffer.from([p.idType]), u16(p.data.length), Buffer.from(p.data)]);
    case 14:
      return Buffer.concat([Buffer.from([p.role ?? 0, p.idType]), u16(p.data.length), Buffer.from(p.data)]);
    case 7:
      return Buffer.concat([Buffer.from([p.certType]), u16(p.data.length), Buffer.from(p.data)]);
    case 8:
      return Buffer.concat([Buffer.from([p.hashFunc]), Buffer.from(p.hash)]);
    case 9: {
      const mac = p.mac ? Buffer.from(p.mac) : Buffer.alloc(MAC_LENGTH[p.authAlg] ?? 0);
      return Buffer.concat([Buffer.from([p.authAlg]), mac]);
    }
    case 10: {
      const params = Buffer.concat(p.params.flatMap((x) => [Buffer.from([x.paramType, x.value.length]), Buffer.from(x.value)]));
      return Buffer.concat([Buffer.from([p.policyNo, p.protType]), u16(params.length), params]);
    }
    case 11:
    case 15:
      return Buffer.concat([Buffer.from([p.rand.length]), Buffer.from(p.rand)]);
    case 12:
      return Buffer.concat([Buffer.from([p.errorNo]), Buffer.from(p.reserved ?? [0, 0])]);
    case 21:
      return Buffer.concat([Buffer.from([p.extType]), u16(p.data.length), Buffer.from(p.data)]);
    case 17:
      return Buffer.concat([u16(p.ticketType), u16(p.data.length), Buffer.from(p.data)]);
    case 26:
      return Buffer.concat([Buffer.from([p.params, p.idScheme]), u16(p.data.length), Buffer.from(p.data)]);
  }
}

/**
 * Encode a MIKEY message. With `protection.psk`, a KEMAC carrying `keys` is encrypted and MAC'd (keys derived from the
 * psk, the header's CSB ID and the message's RAND or `protection.rand`); with `protection.verification`, the V
 * payload's MAC is computed over the message and the trailer IDi ‖ IDr ‖ initiator's timestamp.
 */
export function encodeMikey(input: MikeyMessageInput | MikeyMessage, protection: EncodeProtection = {}): Buffer {
  // a decoded MikeyMessage carries every field the encoder reads, under the same names
  const payloads = (input.payloads as PayloadInput[]).map((p) => ({ ...p })) as PayloadInput[];
  const rand = (payloads.find((p) => p.type === 11) as { rand: Uint8Array } | undefined)?.rand ?? protection.rand;
  const ts = (payloads.find((p) => p.type === 5) as { value: Uint8Array } | undefined)?.value ?? new Uint8Array(8);
  let keys: MessageKeys | undefined;
  const kemac = payloads.find((p) => p.type === 1) as Extract<PayloadInput, { type: 1 }> | undefined;
  if (protection.psk) {
    if (!rand) throw new Error('encodeMikey: protection needs a RAND payload or protection.rand');
    keys = deriveMessageKeys(protection.psk, input.header.csbId, rand, kemac?.encrAlg ?? 1, kemac?.macAlg ?? 1);
    if (kemac && kemac.keys && kemac.keys.length === 0) kemac.encrData = new Uint8Array(0);
    else if (kemac && kemac.keys) {
      const enc = kemacEncrypt(kemac.encrAlg, keys, input.header.csbId, ts, encodeKeyData(kemac.keys));
      if (!enc) throw new Error(`encodeMikey: cannot encrypt with algorithm ${kemac.encrAlg}`);
      kemac.encrData = enc;
    } else if (kemac && !kemac.encrData) kemac.encrData = new Uint8Array(0);
  } else if (kemac && kemac.keys && !kemac.encrData && kemac.encrAlg !== 0) {
    throw new Error('encodeMikey: KEMAC keys with encryption need protection.psk');
  }
  const parts: Buffer[] = [encodeHeader(input.header, payloads[0]?.type ?? 0)];
  payloads.forEach((p, i) => {
    const next = payloads[i + 1]?.type ?? 0;
    if (p.type !== PayloadType.SIGN) parts.push(Buffer.from([next]));
    parts.push(payloadBody(p));
  });
  const out = Buffer.concat(parts);
  if (keys && kemac) {
    const macLen = MAC_LENGTH[kemac.macAlg] ?? 0;
    const macOffset = kemacMacOffset(out, parts, payloads, payloads.indexOf(kemac), macLen);
    const mac = computeMac(kemac.macAlg, keys.authKey, out.subarray(0, macOffset));
    if (mac) mac.copy(out, macOffset);
  }
  const vIndex = payloads.findIndex((p) => p.type === PayloadType.V);
  if (protection.verification && vIndex >= 0) {
    const v = payloads[vIndex] as Extract<PayloadInput, { type: 9 }>;
    const macLen = MAC_LENGTH[v.authAlg] ?? 0;
    const macOffset = kemacMacOffset(out, parts, payloads, vIndex, macLen);
    const { authKey, idi, idr, initiatorTs } = protection.verification;
    const mac = computeMac(v.authAlg, authKey, out.subarray(0, macOffset), idi, idr, initiatorTs);
    if (mac) mac.copy(out, macOffset);
  }
  return out;
}

/** Offset of the MAC of payload `index` (KEMAC or V): the end of that payload minus the MAC length. */
function kemacMacOffset(_out: Buffer, parts: Buffer[], payloads: PayloadInput[], index: number, macLen: number): number {
  // parts[0] is the header; each non-SIGN payload contributes two parts (next byte, body)
  let off = parts[0].length;
  let pi = 1;
  for (let i = 0; i <= index; i++) {
    const n = payloads[i].type === PayloadType.SIGN ? 1 : 2;
    for (let j = 0; j < n; j++) off += parts[pi++].length;
  }
  return off - macLen;
}

// ---------------------------------------------------------------------------------------------------------------
// MBMS message builders (TS 33.246 §6.4.5) from high-level parameters.

export interface KeyIdInput {
  /** Key Domain ID, 3 bytes. */
  keyDomainId: Uint8Array;
  keyGroup: number;
  keyNumber: number;
  mtkId?: number;
}

/** RFC 4563 Key ID extension data: Key Domain ID, MSK ID and optionally MTK ID. */
export function encodeKeyIdExtension(k: KeyIdInput): Buffer {
  const parts = [Buffer.from([0, k.keyDomainId.length]), Buffer.from(k.keyDomainId), Buffer.from([1, 4]), u16(k.keyGroup), u16(k.keyNumber)];
  if (k.mtkId !== undefined) parts.push(Buffer.from([2, 2]), u16(k.mtkId));
  return Buffer.concat(parts);
}

export interface MskDeliveryParams extends KeyIdInput {
  muk: Uint8Array;
  rand: Uint8Array;
  counter: number;
  csbId: number;
  /** BM-SC FQDN. */
  idi: string;
  /** B-TID. */
  idr: string;
  /** The MSK; omit for a key-less message (solicited-pull trigger or validity update). */
  msk?: Uint8Array;
  /** MTK ID interval (SEQl, SEQu], 2 bytes each. */
  interval?: { seqL: number; seqU: number };
  v?: boolean;
  encrAlg?: number;
  macAlg?: number;
  /** Streaming: one SRTP crypto session and an SP payload. */
  srtp?: { ssrc: number; roc: number; policyNo?: number; params: { paramType: number; value: Uint8Array }[] };
  /** Extra general extensions placed before the Key ID (e.g. an unknown one the MAC must cover). */
  extraExtensions?: { extType: number; data: Uint8Array }[];
}

/** MSK delivery: HDR, T, RAND, IDi, IDr, [SP], EXT(Key ID), KEMAC(TEK, interval). */
export function buildMskDelivery(p: MskDeliveryParams): Buffer {
  const payloads: PayloadInput[] = [
    { type: 5, tsType: 2, value: u32(p.counter) },
    { type: 11, rand: p.rand },
    { type: 6, idType: 0, data: Buffer.from(p.idi, 'utf8') },
    { type: 6, idType: 0, data: Buffer.from(p.idr, 'utf8') },
  ];
  if (p.srtp) payloads.push({ type: 10, policyNo: p.srtp.policyNo ?? 0, protType: 0, params: p.srtp.params });
  for (const e of p.extraExtensions ?? []) payloads.push({ type: 21, extType: e.extType, data: e.data });
  payloads.push({ type: 21, extType: 3, data: encodeKeyIdExtension(p) });
  const keys: KeyDataInput[] = [];
  if (p.msk) {
    const iv = p.interval ?? { seqL: 0, seqU: 0xfffe };
    keys.push({ keyType: 2, kv: 2, key: p.msk, interval: { from: u16(iv.seqL), to: u16(iv.seqU) } });
  }
  payloads.push({ type: 1, encrAlg: p.encrAlg ?? 1, macAlg: p.macAlg ?? 1, keys });
  const header: HeaderInput = p.srtp
    ? { dataType: 0, v: p.v ?? false, prf: 0, csbId: p.csbId, csIdMapType: 0, srtpIds: [{ policyNo: p.srtp.policyNo ?? 0, ssrc: p.srtp.ssrc, roc: p.srtp.roc }] }
    : { dataType: 0, v: p.v ?? false, prf: 0, csbId: p.csbId, csCount: 0, csIdMapType: 1 };
  return encodeMikey({ header, payloads }, { psk: p.muk });
}

/** Solicited-pull trigger: Key Number 0, V = 0, KEMAC with no key (MAC only). */
export function buildSolicitedPullTrigger(p: Omit<MskDeliveryParams, 'keyNumber' | 'msk' | 'interval' | 'v'>): Buffer {
  // callers may pass a full delivery's parameters: a trigger never carries a key
  return buildMskDelivery({ ...p, keyNumber: 0, v: false, msk: undefined, interval: undefined });
}

export interface MskAckParams {
  /** The MSK delivery being acknowledged (its bytes). */
  delivery: { csbId: number; rand: Uint8Array; counterValue: Uint8Array; idi: Uint8Array; idr: Uint8Array };
  muk: Uint8Array;
  /** Put IDr in the ACK (TS 33.246: it shall be there). */
  includeIdr?: boolean;
  authAlg?: number;
}

/** MSK verification message: HDR(data type 1, Empty map) ‖ T(the delivery's counter) ‖ IDr ‖ V. */
export function buildMskAck(p: MskAckParams): Buffer {
  const authAlg = p.authAlg ?? 1;
  const keys = deriveMessageKeys(p.muk, p.delivery.csbId, p.delivery.rand, 1, authAlg === 0 ? 1 : authAlg);
  const payloads: PayloadInput[] = [{ type: 5, tsType: p.delivery.counterValue.length === 8 ? 0 : 2, value: p.delivery.counterValue }];
  if (p.includeIdr !== false) payloads.push({ type: 6, idType: 0, data: p.delivery.idr });
  payloads.push({ type: 9, authAlg });
  return encodeMikey(
    { header: { dataType: 1, v: false, prf: 0, csbId: p.delivery.csbId, csCount: 0, csIdMapType: 1 }, payloads },
    { verification: { authKey: keys.authKey, idi: p.delivery.idi, idr: p.delivery.idr, initiatorTs: p.delivery.counterValue } },
  );
}

export interface MtkDeliveryParams extends KeyIdInput {
  msk: Uint8Array;
  /** RAND of the MSK message that delivered the MSK. */
  rand: Uint8Array;
  counter: number;
  csbId: number;
  mtkId: number;
  mtk: Uint8Array;
  /** Streaming: TEK+SALT with a 112-bit salt; download (no salt): TGK. */
  salt?: Uint8Array;
  encrAlg?: number;
  macAlg?: number;
}

/** MTK delivery: HDR(V 0, Empty map), T, EXT(Key ID with MTK ID), KEMAC(TEK+SALT or TGK, KV null). No RAND. */
export function buildMtkDelivery(p: MtkDeliveryParams): Buffer {
  const key: KeyDataInput = p.salt ? { keyType: 3, kv: 0, key: p.mtk, salt: p.salt } : { keyType: 0, kv: 0, key: p.mtk };
  return encodeMikey(
    {
      header: { dataType: 0, v: false, prf: 0, csbId: p.csbId, csCount: 0, csIdMapType: 1 },
      payloads: [
        { type: 5, tsType: 2, value: u32(p.counter) },
        { type: 21, extType: 3, data: encodeKeyIdExtension(p) },
        { type: 1, encrAlg: p.encrAlg ?? 1, macAlg: p.macAlg ?? 1, keys: [key] },
      ],
    },
    { psk: p.msk, rand: p.rand },
  );
}

/** Error message (data type 6): HDR ‖ T ‖ ERR… (unauthenticated, as MBMS UEs send them). */
export function buildErrorMessage(p: { csbId: number; counter: number; errors: number[] }): Buffer {
  return encodeMikey({
    header: { dataType: 6, v: false, prf: 0, csbId: p.csbId, csCount: 0, csIdMapType: 1 },
    payloads: [{ type: 5, tsType: 2, value: u32(p.counter) }, ...p.errors.map((e) => ({ type: 12 as const, errorNo: e }))],
  });
}

