/**
 * The MBMS meaning of a decoded MIKEY message (TS 33.246 §6.3–6.5): its kind, the identifiers that matter, and the
 * profile rules a message can break on its own (rules that need history live in context.ts). Pure.
 */
import { escapeText } from '../../common/escape';
import type { Problem } from '../../common/problem';
import { mikeyProblem, type MikeyProblemCode } from './problems';
import { PayloadType } from './tables';
import type {
  ExtPayload, IdPayload, KemacPayload, KeyDataPayload, KeyIdEntry, MbmsInfo, MikeyMessage, TimestampPayload,
} from './types';


// loops, not find() with a closure per call: these run several times for every MIKEY message (issue #14)
export function findPayload<T extends MikeyMessage['payloads'][number]>(m: MikeyMessage, type: number): T | undefined {
  for (const p of m.payloads) if (p.type === type) return p as T;
  return undefined;
}

export function keyIdExtension(m: MikeyMessage): ExtPayload | undefined {
  for (const p of m.payloads) if (p.type === PayloadType.GENERAL_EXT && p.extType === 3) return p;
  return undefined;
}

function idText(p: IdPayload | undefined): string | undefined {
  if (!p) return undefined;
  // printable ASCII (a B-TID, a NAF name): the same text the check below gives, without decoding twice
  const d = p.data;
  let ascii = true;
  for (let i = 0; i < d.length; i++) {
    if (d[i] < 0x20 || d[i] > 0x7e) {
      ascii = false;
      break;
    }
  }
  if (ascii) return escapeText(d.toString('latin1'));
  // seed encoding puts a binary Network ID in IDi: show it as hex rather than as mojibake
  const text = p.data.toString('utf8');
  const printable = Buffer.from(text, 'utf8').equals(p.data) && !/[\u0000-\u001f\u007f-\u009f]/.test(text);
  return printable ? escapeText(text) : p.data.toString('hex');
}

/** The initiator's and responder's ID payloads: IDR roles when present, otherwise ID payloads in order. */
export function identities(m: MikeyMessage): { idi?: IdPayload; idr?: IdPayload } {
  // one pass (this runs for every MIKEY message): the first IDR of each role, and the plain ID payloads in order
  let role1: IdPayload | undefined;
  let role2: IdPayload | undefined;
  let first: IdPayload | undefined;
  let second: IdPayload | undefined;
  let last: IdPayload | undefined;
  let plain = 0;
  for (const q of m.payloads) {
    if (q.type === PayloadType.IDR) {
      const p = q as IdPayload;
      if (p.role === 1) role1 ??= p;
      else if (p.role === 2) role2 ??= p;
    } else if (q.type === PayloadType.ID) {
      const p = q as IdPayload;
      if (plain === 0) first = p;
      else if (plain === 1) second = p;
      last = p;
      plain++;
    }
  }
  if (m.header.dataType === 1 || m.header.dataType === 3) {
    // a verification message carries only the responder's identity
    return { idr: role2 ?? last, idi: role1 ?? (plain > 1 ? first : undefined) };
  }
  return { idi: role1 ?? first, idr: role2 ?? second };
}

function entry(keyIds: KeyIdEntry[] | undefined, t: number): KeyIdEntry | undefined {
  if (keyIds) for (const k of keyIds) if (k.keyIdType === t) return k;
  return undefined;
}

/** Classify a message and lift the MBMS fields. */
export function mbmsInfo(m: MikeyMessage): MbmsInfo {
  const info: MbmsInfo = { kind: 'other', idEncoding: 'none', v: m.header.v };
  const t = findPayload<TimestampPayload>(m, PayloadType.T);
  if (t?.counter !== undefined) info.counter = t.counter;
  const { idi, idr } = identities(m);
  const idiText = idText(idi);
  const idrText = idText(idr);
  if (idiText !== undefined) info.idi = idiText;
  if (idrText !== undefined) info.idr = idrText;

  const ext = keyIdExtension(m);
  const kd = entry(ext?.keyIds, 0);
  const msk = entry(ext?.keyIds, 1);
  const mtk = entry(ext?.keyIds, 2);
  if (msk && msk.value.length === 4) {
    info.idEncoding = 'published';
    info.keyGroup = msk.keyGroup;
    info.keyNumber = msk.keyNumber;
    info.mskId = msk.value.readUInt32BE(0);
  } else if (msk && msk.value.length === 2) {
    // seed (draft) encoding: Key Group in the CSB ID, Network ID (MCC ‖ MNC) in IDi *(inferred layout: low 16 bits)*
    info.idEncoding = 'seed';
    info.keyGroup = m.header.csbId & 0xffff;
    info.keyNumber = msk.keyNumber;
    info.mskId = ((info.keyGroup << 16) | (msk.keyNumber ?? 0)) >>> 0;
  }
  if (kd) {
    info.keyDomainId = kd.value.toString('hex');
    if (kd.keyDomain) info.keyDomain = kd.keyDomain;
  } else if (info.idEncoding === 'seed' && idi && idi.data.length === 3) {
    info.keyDomainId = idi.data.toString('hex');
    const mm = decodePlmn(idi.data);
    if (mm) info.keyDomain = mm;
  }
  if (mtk?.mtkId !== undefined) info.mtkId = mtk.mtkId;

  const kemac = findPayload<KemacPayload>(m, PayloadType.KEMAC);
  const hasErr = findPayload(m, PayloadType.ERR) !== undefined;
  if (m.header.dataType === 6 || hasErr) info.kind = 'error';
  else if (m.header.dataType === 1 && findPayload(m, PayloadType.V) !== undefined) info.kind = 'verification';
  else if (m.header.dataType === 0 && kemac && info.idEncoding !== 'none') {
    if (mtk) info.kind = 'mtk-delivery';
    else if (info.keyNumber === 0 && kemac.encrData.length === 0) info.kind = 'solicited-pull-trigger';
    else info.kind = 'msk-delivery';
  }
  return info;
}

function decodePlmn(b: Uint8Array): string | undefined {
  // local copy of keyDomainToMccMnc to keep this module free of the decoder
  const d = [b[0] & 0x0f, b[0] >> 4, b[1] & 0x0f, b[2] & 0x0f, b[2] >> 4, b[1] >> 4];
  for (let i = 0; i < 5; i++) if (d[i] > 9) return undefined;
  if (d[5] !== 0x0f && d[5] > 9) return undefined;
  return `${d[0]}${d[1]}${d[2]}-${d[3]}${d[4]}${d[5] === 0x0f ? '' : d[5]}`;
}

/** Whether a message looks like MBMS key delivery even without a Key ID (PSK init with a KEMAC and a COUNTER). */
function looksMbms(m: MikeyMessage): boolean {
  const t = findPayload<TimestampPayload>(m, PayloadType.T);
  return m.header.dataType === 0 && !!findPayload(m, PayloadType.KEMAC) && t?.tsType === 2;
}

/** TS 33.246 profile rules visible in one message. Offsets are within the MIKEY message. */
export function mbmsProfileProblems(m: MikeyMessage, info: MbmsInfo): Problem[] {
  const out: Problem[] = [];
  const add = (code: MikeyProblemCode, msg: string, off: number, len?: number) => out.push(mikeyProblem(code, msg, off, len));
  const kemac = findPayload<KemacPayload>(m, PayloadType.KEMAC);
  const ext = keyIdExtension(m);
  const keyDelivery = info.kind === 'msk-delivery' || info.kind === 'mtk-delivery' || info.kind === 'solicited-pull-trigger';

  if (!ext && looksMbms(m))
    add('mikey-missing-key-id', 'MBMS-style key delivery (PSK, KEMAC, COUNTER) without a Key ID extension (RFC 4563)', m.header.offset, m.header.length);
  if (keyDelivery && kemac) {
    if (kemac.encrAlg === 0) add('mikey-null-encryption', 'KEMAC encryption is NULL: the key travels in clear (TS 33.246 §6.4.5 forbids it)', kemac.offset + 1, 1);
    if (kemac.macAlg === 0) add('mikey-null-mac', 'KEMAC MAC is NULL: the message is not authenticated (TS 33.246 §6.4.5 forbids it)', kemac.macOffset - 1, 1);
  }
  if (info.kind === 'verification') {
    const v = findPayload(m, PayloadType.V);
    if (v && v.type === 9 && v.authAlg === 0) add('mikey-null-mac', 'Verification MAC is NULL (TS 33.246 §6.4.5.2 forbids it)', v.offset + 1, 1);
    if (!identities(m).idr) add('mikey-ack-without-idr', 'MSK verification message without IDr (TS 33.246 §6.4.5.2: HDR ‖ TS ‖ IDr ‖ V)', m.header.offset, m.header.length);
  }
  const sp = findPayload(m, PayloadType.SP);
  if (sp && m.header.csIdMapType === 1)
    add('mikey-sp-with-empty-map', 'SP payload present with the Empty map (RFC 4563 forbids it)', sp.offset, sp.length);
  if (m.header.v && info.kind === 'mtk-delivery')
    add('mikey-v-on-mtk', 'V flag set on an MTK message: no verification is ever sent for MTKs (TS 33.246 §6.3.3.2)', 3, 1);
  if (m.header.v && info.kind === 'solicited-pull-trigger')
    add('mikey-v-on-trigger', 'V flag set on a solicited-pull trigger (TS 33.246 §6.3.2.2.4)', 3, 1);

  if (ext?.keyIds) {
    const msk = entry(ext.keyIds, 1);
    if (msk && info.keyGroup === 0)
      add('mikey-key-group-zero', 'Key Group 0x0000 is reserved (TS 33.246 §6.3.2.1)', msk.offset + 2, Math.min(2, msk.value.length));
    const mtk = entry(ext.keyIds, 2);
    if (mtk && (mtk.mtkId === 0 || mtk.mtkId === 0xffff))
      add('mikey-mtk-id-reserved', `MTK ID ${mtk.mtkId} is not allowed (starts above 0, never the maximum)`, mtk.offset + 2, 2);
    if (info.kind === 'msk-delivery' || info.kind === 'mtk-delivery' || info.kind === 'solicited-pull-trigger') {
      if (info.idEncoding === 'published' && !entry(ext.keyIds, 0))
        add('mikey-missing-key-domain-id', 'Key ID extension without a Key Domain ID', ext.offset, ext.length);
    }
  }
  if (keyDelivery) {
    const t = findPayload<TimestampPayload>(m, PayloadType.T);
    if (!t) add('mikey-missing-timestamp', 'No timestamp payload (TS 33.246 §6.4.3)', m.header.offset, m.header.length);
    else if (t.tsType !== 2) add('mikey-ts-not-counter', `Timestamp type ${t.tsTypeName}, TS 33.246 §6.4.3 requires COUNTER`, t.offset + 1, 1);
    if (info.kind !== 'mtk-delivery' && !findPayload(m, PayloadType.RAND))
      add('mikey-missing-rand', 'MSK message without RAND (TS 33.246 §6.4.5.1)', m.header.offset, m.header.length);
    if (info.kind === 'mtk-delivery' && m.header.csIdMapType !== 1)
      add('mikey-mtk-map-type', `MTK message with CS ID map type ${m.header.csIdMapTypeName}; TS 33.246 §6.4.5.3 requires the Empty map`, 9, 1);
  }
  if (kemac?.keys) out.push(...keyDataProblems(info, kemac.keys));
  return out;
}

/** Rules on the delivered key data (in clear, or after decryption). Offsets are those of the key data. */
export function keyDataProblems(info: MbmsInfo, keys: KeyDataPayload[]): Problem[] {
  const out: Problem[] = [];
  const add = (code: MikeyProblemCode, msg: string, off: number, len?: number) => out.push(mikeyProblem(code, msg, off, len));
  if (info.kind === 'msk-delivery') {
    if (keys.length > 1) add('mikey-multiple-keys', `${keys.length} keys in one MSK message; TS 33.246 allows one`, keys[1].offset, keys[1].length);
    const k = keys[0];
    if (k && (k.keyType !== 2 || k.kv !== 2))
      add('mikey-msk-not-tek-interval', `MSK carried as ${k.keyTypeName} with KV ${k.kvName}; TS 33.246 §6.4.5.1 requires TEK with an interval`, k.offset + 1, 1);
    if (k?.interval && k.interval.from.length === 2 && k.interval.to.length === 2) {
      const lo = k.interval.from.readUInt16BE(0);
      const hi = k.interval.to.readUInt16BE(0);
      if (hi === 0xffff) add('mikey-sequ-max', 'SEQu is the maximum MTK ID (TS 33.246 §6.4.5.1: never)', k.offset + k.length - 2, 2);
      if (lo > hi) add('mikey-msk-invalidated', `MTK ID interval (${lo}, ${hi}] is empty: the BM-SC invalidates this MSK (§6.3.2.1B)`, k.offset, k.length);
    }
  } else if (info.kind === 'mtk-delivery') {
    if (keys.length > 1) add('mikey-multiple-keys', `${keys.length} keys in one MTK message; TS 33.246 allows one`, keys[1].offset, keys[1].length);
    const k = keys[0];
    if (k && ((k.keyType !== 3 && k.keyType !== 0) || k.kv !== 0))
      add('mikey-mtk-key-type', `MTK carried as ${k.keyTypeName} with KV ${k.kvName}; TS 33.246 §6.4.5.3 requires TEK+SALT (streaming) or TGK (download) with KV NULL`, k.offset + 1, 1);
  }
  return out;
}
