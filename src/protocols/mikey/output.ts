/** Output helpers: the one-line info column, a `tshark -V`-like tree and the `mikey` JSON object. */
import { escapeText } from '../../common/escape';
import { PAYLOAD_NAMES, nameOf } from './tables';
import type { MikeyAnalysis } from './tracker';
import type { KeyDataPayload, MbmsInfo, MikeyMessage, MikeyPayload } from './types';

const KIND_LABEL: Readonly<Record<MbmsInfo['kind'], string>> = {
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

const bhex = (b: Uint8Array, max = 64) => {
  const h = Buffer.from(b.subarray(0, max)).toString('hex');
  return b.length > max ? `${h}…` : h;
};

/** Key bytes as shown without `--show-keys`: the length only (same text as the tracker's delivered keys). */
const masked = (b: Uint8Array) => `[hidden, ${b.length} bytes]`;

function keyLines(k: KeyDataPayload, pad: string, show: boolean): string[] {
  const l = [`${pad}Key data (KEY): ${k.keyTypeName}, KV ${k.kvName}`, `${pad}    Type: ${k.keyTypeName} (${k.keyType})`, `${pad}    KV: ${k.kvName} (${k.kv})`,
    `${pad}    Key len: ${k.key.length}`, `${pad}    Key: ${show ? bhex(k.key) : masked(k.key)}`];
  if (k.salt) l.push(`${pad}    Salt key len: ${k.salt.length}`, `${pad}    Salt key: ${show ? bhex(k.salt) : masked(k.salt)}`);
  if (k.spi) l.push(`${pad}    Valid SPI: ${bhex(k.spi)}`);
  if (k.interval) l.push(`${pad}    Valid from: ${bhex(k.interval.from)}`, `${pad}    Valid to: ${bhex(k.interval.to)}`);
  return l;
}

function payloadLines(p: MikeyPayload, show: boolean): string[] {
  const I = '        ';
  const np = p.type === 4 ? [] : [`${I}Next Payload: ${nameOf(PAYLOAD_NAMES, p.nextPayload)} (${p.nextPayload})`];
  const head = (title: string) => [`    ${title}  [offset ${p.offset}, length ${p.length}]`, ...np];
  switch (p.type) {
    case 1:
      return [...head(`Key Data Transport (KEMAC): ${p.encrAlgName}, ${p.macAlgName}`), `${I}Encr alg: ${p.encrAlgName} (${p.encrAlg})`,
        // with NULL encryption the key data is the keys in clear
        `${I}Key data len: ${p.encrData.length}`, `${I}Key data: ${p.encrAlg === 0 && !show ? masked(p.encrData) : bhex(p.encrData)}`,
        ...(p.keys ?? []).flatMap((k) => keyLines(k, I, show)),
        `${I}Mac alg: ${p.macAlgName} (${p.macAlg})`, `${I}MAC: ${bhex(p.mac)}`];
    case 2:
      return [...head('Envelope Data (PKE)'), `${I}C: ${p.cName} (${p.c})`, `${I}Data len: ${p.data.length}`, `${I}Data: ${bhex(p.data)}`];
    case 3:
      return [...head(`DH Data (DH): ${p.groupName}`), `${I}DH-Group: ${p.groupName} (${p.group})`, `${I}DH-Value: ${bhex(p.value)}`, `${I}KV: ${p.kvName} (${p.kv})`];
    case 4:
      return [...head(`Signature (SIGN): ${p.signTypeName}`), `${I}Signature type: ${p.signTypeName} (${p.signType})`, `${I}Signature len: ${p.signature.length}`, `${I}Signature: ${bhex(p.signature)}`];
    case 5:
    case 13: {
      const val = p.counter !== undefined ? `${p.counter}` : p.time ?? bhex(p.value);
      return [...head(`${p.typeName}: ${p.tsTypeName} ${val}`), `${I}TS type: ${p.tsTypeName} (${p.tsType})`,
        p.counter !== undefined ? `${I}Counter: ${p.counter}` : `${I}${p.tsTypeName} timestamp: ${val}`];
    }
    case 6:
    case 14:
      return [...head(`${p.typeName}: ${p.text}`), ...(p.role !== undefined ? [`${I}ID role: ${p.roleName} (${p.role})`] : []),
        `${I}ID type: ${p.idTypeName} (${p.idType})`, `${I}ID len: ${p.data.length}`, `${I}ID: ${p.text}`];
    case 7:
      return [...head(`Certificate (CERT): ${p.certTypeName}`), `${I}Certificate type: ${p.certTypeName} (${p.certType})`, `${I}Certificate len: ${p.data.length}`, `${I}Certificate: ${bhex(p.data)}`];
    case 8:
      return [...head(`CHASH: ${p.hashFuncName}`), `${I}Hash func: ${p.hashFuncName} (${p.hashFunc})`, `${I}Hash: ${bhex(p.hash)}`];
    case 9:
      return [...head(`Ver msg (V): ${p.authAlgName}`), `${I}Auth alg: ${p.authAlgName} (${p.authAlg})`, `${I}Ver data: ${bhex(p.mac)}`];
    case 10:
      return [...head(`Security Policy (SP): ${p.protTypeName}`), `${I}Policy No: ${p.policyNo}`, `${I}Protocol type: ${p.protTypeName} (${p.protType})`,
        ...p.params.map((x) => `${I}${x.paramTypeName}: ${x.valueName ? `${x.valueName} (${x.value.length === 1 ? x.value[0] : bhex(x.value)})` : x.value.length === 1 ? x.value[0] : bhex(x.value)}`)];
    case 11:
    case 15:
      return [...head(`${p.typeName}: ${bhex(p.rand)}`), `${I}RAND len: ${p.rand.length}`, `${I}RAND: ${bhex(p.rand)}`];
    case 12:
      return [...head(`Error (ERR): ${p.errorName}`), `${I}Error no.: ${p.errorName} (${p.errorNo})`];
    case 21: {
      const l = [...head(`General Extension (EXT): ${p.extTypeName}`), `${I}Extension type: ${p.extTypeName} (${p.extType})`, `${I}Length: ${p.data.length}`, `${I}Data: ${bhex(p.data)}`];
      for (const k of p.keyIds ?? []) {
        let v = bhex(k.value);
        if (k.keyIdType === 0 && k.keyDomain) v = `${k.keyDomain} (${bhex(k.value)})`;
        if (k.keyIdType === 1 && k.keyGroup !== undefined) v = `Key Group ${hex16(k.keyGroup)}, Key Number ${hex16(k.keyNumber ?? 0)}`;
        if (k.keyIdType === 1 && k.keyGroup === undefined && k.keyNumber !== undefined) v = `${hex16(k.keyNumber)} (2-byte seed encoding)`;
        if (k.keyIdType === 2 && k.mtkId !== undefined) v = `${k.mtkId}`;
        l.push(`${I}${k.keyIdTypeName}: ${v}`);
      }
      return l;
    }
    case 17:
      return [...head('Ticket (TICKET)'), `${I}Ticket type: ${p.ticketType}`, `${I}Ticket data: ${bhex(p.data)}`];
    case 26:
      return [...head('SAKKE Encapsulated Data (SAKKE)'), `${I}SAKKE params: ${p.paramsName} (${p.params})`, `${I}ID scheme: ${p.idSchemeName} (${p.idScheme})`, `${I}SAKKE data: ${bhex(p.data)}`];
  }
}

/** Indented lines like `tshark -V`. */
export function mikeyTree(v: MikeyView): string[] {
  const m = v.message;
  const out = ['Multimedia Internet KEYing'];
  if (!m) return [...out, '    [Malformed: no common header]'];
  const h = m.header;
  out.push(`    Common Header (HDR)  [offset 0, length ${h.length}]`, `        Version: ${h.version}`, `        Data Type: ${h.dataTypeName} (${h.dataType})`,
    `        Next Payload: ${nameOf(PAYLOAD_NAMES, h.nextPayload)} (${h.nextPayload})`, `        V: ${h.v ? 'True' : 'False'}`,
    `        PRF func: ${h.prfName} (${h.prf})`, `        CSB ID: 0x${h.csbId.toString(16).padStart(8, '0')} (${h.csbId})`, `        #CS: ${h.csCount}`,
    `        CS ID map type: ${h.csIdMapTypeName} (${h.csIdMapType})`);
  for (const s of h.srtpIds ?? []) out.push(`        SRTP ID: Policy No ${s.policyNo}, SSRC 0x${s.ssrc.toString(16).padStart(8, '0')}, ROC ${s.roc}`);
  for (const p of m.payloads) out.push(...payloadLines(p, v.showKeys === true));
  const i = v.mbms;
  if (i) {
    out.push(`    MBMS: ${KIND_LABEL[i.kind]}`);
    if (i.keyDomainId !== undefined) out.push(`        Key Domain ID: ${i.keyDomain ?? '?'} (${i.keyDomainId})`);
    if (i.mskId !== undefined) out.push(`        MSK ID: 0x${(i.mskId >>> 0).toString(16).padStart(8, '0')} (Key Group ${hex16(i.keyGroup ?? 0)}, Key Number ${hex16(i.keyNumber ?? 0)})`);
    if (i.mtkId !== undefined) out.push(`        MTK ID: ${i.mtkId}`);
    if (i.counter !== undefined) out.push(`        Counter: ${i.counter}`);
    if (i.idi !== undefined) out.push(`        IDi: ${escapeText(i.idi)}`);
    if (i.idr !== undefined) out.push(`        IDr: ${escapeText(i.idr)}`);
    if (i.idEncoding === 'seed') out.push('        Identifier encoding: seed (draft)');
    if (v.verified !== undefined)
      out.push(`        Verified: ${v.verified === null ? 'no key' : v.verified ? `yes${v.verifiedWith ? ` (${v.verifiedWith}${v.keySource ? `, ${v.keySource}` : ''})` : ''}` : 'NO, MAC invalid'}`);
    if (v.answersFrame !== undefined) out.push(`        Answers frame: ${v.answersFrame}`);
    for (const k of v.keys ?? []) {
      let s = `        Delivered key: ${k.keyTypeName}, KV ${k.kvName}, ${k.keyLength} bytes: ${k.key}`;
      if (k.validFrom !== undefined && k.validTo !== undefined) s += `, MTK IDs (${k.validFrom}, ${k.validTo}]`;
      if (k.salt !== undefined) s += `, salt ${k.salt}`;
      out.push(s);
    }
  }
  return out;
}

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
  const keys = p.keys?.map((k) => ({ ...k, key: masked(k.key), salt: k.salt ? masked(k.salt) : undefined }));
  return { ...p, encrData: p.encrAlg === 0 ? masked(p.encrData) : p.encrData, keys };
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
