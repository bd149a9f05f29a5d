/** Output helpers: the one-line info column and the `mikey` JSON object (the `-V` tree is built from the field registry, src/fields/mikey-fields.ts). */
import { nameOf } from './tables';
import type { MikeyAnalysis } from './tracker';
import type { MbmsInfo, MikeyMessage, MikeyPayload } from './types';

export const KIND_LABEL: Readonly<Record<MbmsInfo['kind'], string>> = {
  'msk-delivery': 'MSK delivery',
  'mtk-delivery': 'MTK delivery',
  verification: 'MSK verification (ACK)',
  'solicited-pull-trigger': 'Solicited-pull trigger',
  error: 'MIKEY error',
  other: 'MIKEY',
};

const hex16 = (n: number) => `0x${(n & 0xffff).toString(16).padStart(4, '0')}`;

/** What output helpers accept: an analysis from MbmsKeyTracker, or a bare decode with its MBMS info. */
export interface MikeyView {
  message: MikeyMessage | null;
  mbms: MbmsInfo | null;
  verified?: boolean | null;
  verifiedWith?: string;
  keySource?: string;
  keys?: MikeyAnalysis['keys'];
  answersFrame?: number;
  /** Key material in clear (`--show-keys`); otherwise every key, NULL-encrypted ones included, is masked. */
  showKeys?: boolean;
}

/** e.g. `MSK delivery kd=001-01 msk=0x0001:0x0002 V ctr=7`. */
export function mikeyInfoLine(v: MikeyView): string {
  const m = v.message;
  if (!m) return 'MIKEY [malformed]';
  const i = v.mbms;
  const parts: string[] = [];
  if (!i || i.kind === 'other') {
    parts.push(`MIKEY ${m.header.dataTypeName}`);
    const names = m.payloads.map((p) => nameOf({ 1: 'KEMAC', 5: 'T', 6: 'ID', 9: 'V', 10: 'SP', 11: 'RAND', 12: 'ERR', 21: 'EXT' }, p.type).replace(/^Unknown \((\d+)\)$/, 'P$1'));
    if (names.length) parts.push(`[${names.join(' ')}]`);
  } else {
    parts.push(KIND_LABEL[i.kind]);
    if (i.kind === 'error') {
      const errs = m.payloads.filter((p) => p.type === 12).map((p) => (p.type === 12 ? p.errorName : ''));
      if (errs.length) parts[0] = `MIKEY error: ${errs.join(', ')}`;
    }
    if (i.keyDomain ?? i.keyDomainId) parts.push(`kd=${i.keyDomain ?? i.keyDomainId}`);
    if (i.keyGroup !== undefined && i.keyNumber !== undefined) parts.push(`msk=${hex16(i.keyGroup)}:${hex16(i.keyNumber)}`);
    if (i.mtkId !== undefined) parts.push(`mtk=${i.mtkId}`);
    if (i.v) parts.push('V');
    if (i.counter !== undefined) parts.push(`ctr=${i.counter}`);
    if (i.kind === 'verification' && i.idr) parts.push(`idr=${i.idr}`);
    if (i.kind === 'verification' && v.answersFrame !== undefined) parts.push(`answers #${v.answersFrame}`);
  }
  if (v.verified === true) parts.push('[verified]');
  else if (v.verified === false) parts.push('[MAC invalid]');
  return parts.join(' ');
}

/** Key bytes as shown without `--show-keys`: the length only (same text as the tracker's delivered keys). */
export const maskedKey = (b: Uint8Array): string => `[hidden, ${b.length} bytes]`;

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function toJson(x: unknown): Json {
  if (x === null || x === undefined) return null;
  if (Buffer.isBuffer(x) || x instanceof Uint8Array) return Buffer.from(x).toString('hex');
  if (Array.isArray(x)) return x.map(toJson);
  if (typeof x === 'object') {
    const o: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(x as Record<string, unknown>)) if (v !== undefined) o[k] = toJson(v);
    return o;
  }
  if (typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean') return x;
  return String(x);
}

/** A KEMAC as JSON may show without `--show-keys`: NULL-encrypted key data and decoded keys replaced by their masks. */
function maskPayload(p: MikeyPayload): unknown {
  if (p.type !== 1) return p;
  const keys = p.keys?.map((k) => ({ ...k, key: maskedKey(k.key), salt: k.salt ? maskedKey(k.salt) : undefined }));
  return { ...p, encrData: p.encrAlg === 0 ? maskedKey(p.encrData) : p.encrData, keys };
}

/** The `mikey` JSON object (`--json`). Bytes as lower-case hex; payloads in wire order with `type` = payload code. */
export function mikeyToJson(v: MikeyView): { [k: string]: Json } | null {
  const m = v.message;
  if (!m) return null;
  const h = m.header;
  const out: { [k: string]: Json } = {
    version: h.version, dataType: h.dataType, dataTypeName: h.dataTypeName, nextPayload: h.nextPayload, v: h.v, prf: h.prf,
    csbId: h.csbId, csCount: h.csCount, csIdMapType: h.csIdMapType, csIdMapTypeName: h.csIdMapTypeName,
  };
  if (h.srtpIds) out.srtpIds = toJson(h.srtpIds);
  if (h.genericIds) out.genericIds = toJson(h.genericIds);
  out.payloads = m.payloads.map((p) => toJson(v.showKeys === true ? p : maskPayload(p)));
  const i = v.mbms;
  if (i) {
    const mb: { [k: string]: Json } = { kind: i.kind, idEncoding: i.idEncoding };
    const put = (k: string, x: unknown) => { mb[k] = x === undefined ? null : toJson(x); };
    put('keyDomainId', i.keyDomainId);
    put('keyDomain', i.keyDomain);
    put('mskId', i.mskId);
    put('keyGroup', i.keyGroup);
    put('keyNumber', i.keyNumber);
    put('mtkId', i.mtkId);
    put('counter', i.counter);
    mb.v = i.v;
    put('idi', i.idi);
    put('idr', i.idr);
    mb.verified = v.verified ?? null;
    if (v.verifiedWith) mb.verifiedWith = v.verifiedWith;
    if (v.keySource) mb.keySource = v.keySource;
    if (v.answersFrame !== undefined) mb.answersFrame = v.answersFrame;
    if (v.keys) mb.keys = toJson(v.keys);
    out.mbms = mb;
  }
  return out;
}
