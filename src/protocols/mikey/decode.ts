/**
 * MIKEY message decoder (RFC 3830 and later code points, RFC 4563 Key ID). Pure: bytes in, record + problems out.
 * Never throws on packet content; every length field is checked against what is left before anything is read.
 */
import { escapeText } from '../../common/escape';
import type { Problem } from '../../common/problem';
import { mikeyProblem, type MikeyProblemCode } from './problems';
import {
  CERT_TYPE_NAMES, CS_ID_MAP_TYPE_NAMES, DATA_TYPE_NAMES, DH_GROUP_NAMES, DH_VALUE_LENGTH, ENCR_ALG_NAMES, ERR_NAMES,
  EXT_TYPE_NAMES, FEC_ORDER_NAMES, HASH_FUNC_NAMES, HASH_LENGTH, ID_ROLE_NAMES, ID_TYPE_NAMES, KEY_ID_TYPE_NAMES,
  KEY_TYPES_WITH_SALT, KEY_TYPE_NAMES, KV_NAMES, MAC_ALG_NAMES, MAC_LENGTH, nameOf, ON_OFF_NAMES, PAYLOAD_NAMES,
  PKE_C_NAMES, PRF_NAMES, PayloadType, SAKKE_ID_SCHEME_NAMES, SAKKE_PARAMS_NAMES, SIGN_TYPE_NAMES, SP_PROT_TYPE_NAMES,
  SRTP_AUTH_ALG_NAMES, SRTP_ENCR_ALG_NAMES, SRTP_PARAM_NAMES, SRTP_PRF_NAMES, TS_LENGTH, TS_TYPE_NAMES, type ValueNames,
} from './tables';
import type {
  DhPayload, ExtPayload, GenericIdEntry, KemacPayload, KeyDataPayload, KeyIdEntry, KeyValidityInterval, MikeyDecodeResult,
  MikeyHeader, MikeyPayload, SpParam, SrtpIdEntry, TimestampPayload,
} from './types';

/** A chain longer than this is treated as a loop: no MBMS message has more than a dozen payloads. */
export const MAX_PAYLOADS = 128;
const MAX_KEY_DATA = 32;
/** Payloads that RFC 3830 allows at most once per message; a second one means the chain went round again. */
const ONCE_ONLY: ReadonlySet<number> = new Set([
  PayloadType.KEMAC, PayloadType.PKE, PayloadType.DH, PayloadType.T, PayloadType.V, PayloadType.RAND, PayloadType.CHASH,
]);

const NTP_UNIX_OFFSET = 2208988800;

class Problems {
  readonly list: Problem[] = [];
  constructor(private readonly base: number) {}
  add(code: MikeyProblemCode, message: string, offset: number, length?: number): void {
    this.list.push(mikeyProblem(code, message, offset + this.base, length));
  }
}

function truncated(p: Problems, what: string, offset: number, need: number, have: number): void {
  p.add('mikey-truncated', `${what} truncated: needs ${need} bytes, ${Math.max(0, have)} left`, offset, Math.max(0, have));
}

/**
 * Whether n bytes are left at pos (a truncation problem when not). A function, not a closure per payload: a closure
 * over the payload loop's position made every read of it a context load (and a closure object per payload).
 */
function need(p: Problems, typeName: string, pos: number, end: number, n: number, what: string): boolean {
  if (pos + n <= end) return true;
  truncated(p, `${typeName} ${what}`, pos, n, end - pos);
  return false;
}

/** Key Domain ID (3 bytes, MCC ‖ MNC in the TS 24.008 PLMN BCD layout) as `MCC-MNC`, or undefined when not BCD. */
export function keyDomainToMccMnc(b: Uint8Array): string | undefined {
  if (b.length !== 3) return undefined;
  const d = [b[0] & 0x0f, b[0] >> 4, b[1] & 0x0f, b[2] & 0x0f, b[2] >> 4, b[1] >> 4];
  for (let i = 0; i < 5; i++) if (d[i] > 9) return undefined;
  if (d[5] !== 0x0f && d[5] > 9) return undefined;
  const mcc = `${d[0]}${d[1]}${d[2]}`;
  const mnc = d[5] === 0x0f ? `${d[3]}${d[4]}` : `${d[3]}${d[4]}${d[5]}`;
  return `${mcc}-${mnc}`;
}

/** Inverse of keyDomainToMccMnc: `001-01` → 00 f1 10. */
export function mccMncToKeyDomain(s: string): Buffer | undefined {
  const m = /^(\d)(\d)(\d)-(\d)(\d)(\d)?$/.exec(s);
  if (!m) return undefined;
  const n = m.slice(1).map((x) => (x === undefined ? 0x0f : Number(x)));
  return Buffer.from([(n[1] << 4) | n[0], (n[5] << 4) | n[2], (n[4] << 4) | n[3]]);
}

function ntpToIso(seconds: number, fraction: number): string | undefined {
  const ms = (seconds - NTP_UNIX_OFFSET) * 1000 + Math.floor((fraction / 2 ** 32) * 1000);
  const d = new Date(ms);
  return Number.isFinite(d.getTime()) ? d.toISOString() : undefined;
}

function decodeKv(
  buf: Buffer,
  pos: number,
  end: number,
  kv: number,
  p: Problems,
  what: string,
): { next: number; spi?: Buffer; interval?: KeyValidityInterval; ok: boolean } {
  if (kv === 0) return { next: pos, ok: true };
  if (kv === 1) {
    if (pos + 1 > end) return (truncated(p, `${what} SPI length`, pos, 1, end - pos), { next: end, ok: false });
    const len = buf[pos];
    if (pos + 1 + len > end) return (truncated(p, `${what} SPI`, pos + 1, len, end - pos - 1), { next: end, ok: false });
    return { next: pos + 1 + len, spi: buf.subarray(pos + 1, pos + 1 + len), ok: true };
  }
  if (kv === 2) {
    if (pos + 1 > end) return (truncated(p, `${what} valid-from length`, pos, 1, end - pos), { next: end, ok: false });
    const fl = buf[pos];
    if (pos + 1 + fl + 1 > end) return (truncated(p, `${what} valid-from`, pos + 1, fl + 1, end - pos - 1), { next: end, ok: false });
    const from = buf.subarray(pos + 1, pos + 1 + fl);
    const tp = pos + 1 + fl;
    const tl = buf[tp];
    if (tp + 1 + tl > end) return (truncated(p, `${what} valid-to`, tp + 1, tl, end - tp - 1), { next: end, ok: false });
    return { next: tp + 1 + tl, interval: { from, to: buf.subarray(tp + 1, tp + 1 + tl) }, ok: true };
  }
  p.add('mikey-unknown-kv', `${what}: unknown key validity type ${kv}; its data cannot be delimited`, pos);
  return { next: end, ok: false };
}

/**
 * Decode a chain of Key data sub-payloads (KEMAC/PKE encrypted data in clear, or after decryption).
 * `base` is the offset of `buf[0]` within the MIKEY message, for problem offsets. AES-KW plaintext may carry up to
 * 7 zero bytes of padding after the last key, which are accepted silently when `allowZeroPadding` is set.
 */
export function decodeKeyDataChain(
  data: Buffer,
  base: number,
  allowZeroPadding = false,
): { keys: KeyDataPayload[]; problems: Problem[] } {
  const p = new Problems(base);
  const keys: KeyDataPayload[] = [];
  let pos = 0;
  let next: number = PayloadType.KEY_DATA;
  const end = data.length;
  while (pos < end) {
    if (next !== PayloadType.KEY_DATA) {
      p.add('mikey-unknown-payload', `Key data chain names ${nameOf(PAYLOAD_NAMES, next)} as next; only Key data (20) may follow inside KEMAC`, pos);
      break;
    }
    if (keys.length >= MAX_KEY_DATA) {
      p.add('mikey-next-payload-loop', `More than ${MAX_KEY_DATA} Key data sub-payloads`, pos);
      break;
    }
    const start = pos;
    if (pos + 4 > end) {
      truncated(p, 'Key data header', pos, 4, end - pos);
      break;
    }
    const np = data[pos];
    const keyType = data[pos + 1] >> 4;
    const kv = data[pos + 1] & 0x0f;
    const keyLen = data.readUInt16BE(pos + 2);
    pos += 4;
    if (pos + keyLen > end) {
      p.add('mikey-overlong-payload', `Key data length ${keyLen} runs past the encrypted data (${end - pos} left)`, start + 2, 2);
      break;
    }
    const key = data.subarray(pos, pos + keyLen);
    pos += keyLen;
    let salt: Buffer | undefined;
    if (KEY_TYPES_WITH_SALT.has(keyType)) {
      if (pos + 2 > end) {
        truncated(p, 'Key data salt length', pos, 2, end - pos);
        break;
      }
      const sl = data.readUInt16BE(pos);
      if (pos + 2 + sl > end) {
        p.add('mikey-overlong-payload', `Salt length ${sl} runs past the encrypted data`, pos, 2);
        break;
      }
      salt = data.subarray(pos + 2, pos + 2 + sl);
      pos += 2 + sl;
    }
    const kvr = decodeKv(data, pos, end, kv, p, 'Key data');
    if (!kvr.ok) break;
    pos = kvr.next;
    const k: KeyDataPayload = {
      type: 20, typeName: PAYLOAD_NAMES[20], nextPayload: np, offset: start + base, length: pos - start,
      keyType, keyTypeName: nameOf(KEY_TYPE_NAMES, keyType), kv, kvName: nameOf(KV_NAMES, kv), key,
    };
    if (salt) k.salt = salt;
    if (kvr.spi) k.spi = kvr.spi;
    if (kvr.interval) k.interval = kvr.interval;
    keys.push(k);
    next = np;
    if (np === 0) break;
  }
  if (pos < end) {
    const rest = data.subarray(pos);
    const allZero = rest.every((b) => b === 0);
    if (!(allowZeroPadding && allZero && rest.length < 8) && p.list.length === 0)
      p.add('mikey-overlong-payload', `${rest.length} bytes after the last Key data sub-payload`, pos, rest.length);
  } else if (next !== 0 && p.list.length === 0 && keys.length > 0) {
    truncated(p, 'Key data chain (last sub-payload names another)', pos, 4, 0);
  }
  return { keys, problems: p.list };
}

/** RFC 4563 Key ID entries inside a general extension of type 3. */
function decodeKeyIds(data: Buffer, base: number, p: Problems): KeyIdEntry[] {
  const out: KeyIdEntry[] = [];
  let pos = 0;
  while (pos < data.length) {
    if (pos + 2 > data.length) {
      p.add('mikey-overlong-payload', 'Key ID entry header runs past the extension data', base + pos, data.length - pos);
      break;
    }
    const t = data[pos];
    const len = data[pos + 1];
    if (pos + 2 + len > data.length) {
      p.add('mikey-overlong-payload', `Key ID length ${len} runs past the extension data`, base + pos + 1, 1);
      break;
    }
    const value = data.subarray(pos + 2, pos + 2 + len);
    const e: KeyIdEntry = { offset: base + pos, length: 2 + len, keyIdType: t, keyIdTypeName: nameOf(KEY_ID_TYPE_NAMES, t), value };
    if (t === 0) {
      const kd = keyDomainToMccMnc(value);
      if (kd) e.keyDomain = kd;
    } else if (t === 1) {
      if (len === 4) {
        e.keyGroup = value.readUInt16BE(0);
        e.keyNumber = value.readUInt16BE(2);
      } else if (len === 2) {
        // seed (draft) encoding: a 2-byte MSK ID, the Key Group travelling in the CSB ID
        e.keyNumber = value.readUInt16BE(0);
      }
    } else if (t === 2 && len === 2) {
      e.mtkId = value.readUInt16BE(0);
    }
    out.push(e);
    pos += 2 + len;
  }
  return out;
}

function decodeHeader(buf: Buffer, p: Problems): { header: MikeyHeader; ok: boolean } {
  const end = buf.length;
  const header: MikeyHeader = {
    offset: 0, length: Math.min(end, 10), version: buf[0] ?? 0, dataType: buf[1] ?? 0,
    dataTypeName: nameOf(DATA_TYPE_NAMES, buf[1] ?? 0), nextPayload: buf[2] ?? 0, v: ((buf[3] ?? 0) & 0x80) !== 0,
    prf: (buf[3] ?? 0) & 0x7f, prfName: nameOf(PRF_NAMES, (buf[3] ?? 0) & 0x7f), csbId: end >= 8 ? buf.readUInt32BE(4) : 0,
    csCount: buf[8] ?? 0, csIdMapType: buf[9] ?? 0, csIdMapTypeName: nameOf(CS_ID_MAP_TYPE_NAMES, buf[9] ?? 0),
  };
  if (end < 10) {
    truncated(p, 'Common header', 0, 10, end);
    return { header, ok: false };
  }
  if (header.version !== 1) p.add('mikey-bad-version', `MIKEY version ${header.version}, expected 1`, 0, 1);
  if (DATA_TYPE_NAMES[header.dataType] === undefined && header.dataType < 241)
    p.add('mikey-unknown-data-type', `Unknown data type ${header.dataType}`, 1, 1);
  if (PRF_NAMES[header.prf] === undefined)
    p.add('mikey-unknown-prf', `Unknown PRF function ${header.prf}`, 3, 1);
  let pos = 10;
  if (header.csIdMapType === 0) {
    const need = header.csCount * 9;
    if (pos + need > end) {
      truncated(p, 'SRTP-ID map', pos, need, end - pos);
      return { header, ok: false };
    }
    const ids: SrtpIdEntry[] = [];
    for (let i = 0; i < header.csCount; i++, pos += 9)
      ids.push({ policyNo: buf[pos], ssrc: buf.readUInt32BE(pos + 1), roc: buf.readUInt32BE(pos + 5) });
    header.srtpIds = ids;
  } else if (header.csIdMapType === 1) {
    if (header.csCount !== 0)
      p.add('mikey-empty-map-cs-count', `Empty map with #CS = ${header.csCount} (RFC 4563: no map info)`, 8, 1);
  } else if (header.csIdMapType === 2) {
    const ids: GenericIdEntry[] = [];
    for (let i = 0; i < header.csCount; i++) {
      const s = pos;
      if (pos + 3 > end) return (truncated(p, 'GENERIC-ID entry', pos, 3, end - pos), { header, ok: false });
      const np = buf[pos + 2] & 0x7f;
      let q = pos + 3;
      if (q + np + 2 > end) return (truncated(p, 'GENERIC-ID policies', q, np + 2, end - q), { header, ok: false });
      const policies = Array.from(buf.subarray(q, q + np));
      q += np;
      const sdl = buf.readUInt16BE(q);
      q += 2;
      if (q + sdl + 1 > end) return (truncated(p, 'GENERIC-ID session data', q, sdl + 1, end - q), { header, ok: false });
      const sessionData = buf.subarray(q, q + sdl);
      q += sdl;
      const spil = buf[q];
      q += 1;
      if (q + spil > end) return (truncated(p, 'GENERIC-ID SPI', q, spil, end - q), { header, ok: false });
      ids.push({ csId: buf[s], protType: buf[s + 1], sFlag: (buf[s + 2] & 0x80) !== 0, policies, sessionData, spi: buf.subarray(q, q + spil) });
      pos = q + spil;
    }
    header.genericIds = ids;
  } else {
    p.add('mikey-unknown-cs-id-map', `Unknown CS ID map type ${header.csIdMapType}: the map info cannot be delimited`, 9, 1);
    header.length = pos;
    return { header, ok: false };
  }
  header.length = pos;
  return { header, ok: true };
}

function spValueName(protType: number, paramType: number, value: Buffer): string | undefined {
  if (protType !== 0 || value.length !== 1) return undefined;
  const v = value[0];
  const table: ValueNames | undefined =
    paramType === 0 ? SRTP_ENCR_ALG_NAMES : paramType === 2 ? SRTP_AUTH_ALG_NAMES : paramType === 5 ? SRTP_PRF_NAMES
      : paramType === 7 || paramType === 8 || paramType === 10 ? ON_OFF_NAMES : paramType === 9 ? FEC_ORDER_NAMES : undefined;
  return table ? nameOf(table, v) : undefined;
}

/**
 * Decode one MIKEY message. `base` shifts problem offsets (e.g. to frame offsets); by default offsets are within the
 * MIKEY message. The returned message owns a copy of the bytes.
 */
export function decodeMikey(bytes: Uint8Array): MikeyDecodeResult {
  const raw = Buffer.from(bytes); // own copy (no view first): fields are views into it and may outlive the packet buffer
  const p = new Problems(0);
  if (raw.length === 0) {
    truncated(p, 'MIKEY message', 0, 10, 0);
    return { message: null, problems: p.list };
  }
  const { header, ok } = decodeHeader(raw, p);
  if (raw.length < 10) return { message: null, problems: p.list };
  const payloads: MikeyPayload[] = [];
  const end = raw.length;
  let pos = header.length;
  let next = header.nextPayload;
  let npOffset = 2; // where the current `next` value was read, for problem offsets
  // payload types seen among ONCE_ONLY's (all below 32): a bit each, not a Set per message
  let seen = 0;
  while (ok && next !== 0) {
    if (payloads.length >= MAX_PAYLOADS) {
      p.add('mikey-next-payload-loop', `More than ${MAX_PAYLOADS} payloads: the next-payload chain does not end`, npOffset, 1);
      break;
    }
    const once = ONCE_ONLY.has(next);
    if (once && (seen & (1 << next)) !== 0) {
      p.add('mikey-next-payload-loop', `${nameOf(PAYLOAD_NAMES, next)} appears a second time: the next-payload chain loops`, npOffset, 1);
      // keep decoding: the bytes are still well delimited
    }
    if (once) seen |= 1 << next;
    if (pos >= end) {
      p.add('mikey-truncated', `Message ends where ${nameOf(PAYLOAD_NAMES, next)} was announced`, npOffset, 1);
      break;
    }
    const start = pos;
    const type = next;
    const typeName = nameOf(PAYLOAD_NAMES, type);
    let np = 0;
    let stop = false;
    let payload: MikeyPayload | undefined;
    switch (type) {
      case PayloadType.KEMAC: {
        if (!need(p, typeName, pos, end, 4, 'header')) { stop = true; break; }
        np = raw[pos];
        const encrAlg = raw[pos + 1];
        const len = raw.readUInt16BE(pos + 2);
        pos += 4;
        if (pos + len > end) {
          p.add('mikey-overlong-payload', `KEMAC encrypted data length ${len} runs past the message (${end - pos} left)`, start + 2, 2);
          stop = true;
          break;
        }
        const encrData = raw.subarray(pos, pos + len);
        const encrDataOffset = pos;
        pos += len;
        if (!need(p, typeName, pos, end, 1, 'MAC algorithm')) { stop = true; break; }
        const macAlg = raw[pos];
        pos += 1;
        let macLen = MAC_LENGTH[macAlg];
        if (macLen === undefined) {
          p.add('mikey-unsupported-algorithm', `Unknown KEMAC MAC algorithm ${macAlg}: MAC length unknown, rest taken as MAC`, pos - 1, 1);
          macLen = end - pos;
        }
        if (!need(p, typeName, pos, end, macLen, 'MAC')) { stop = true; break; }
        const k: KemacPayload = {
          type: 1, typeName, nextPayload: np, offset: start, length: 0, encrAlg, encrAlgName: nameOf(ENCR_ALG_NAMES, encrAlg),
          encrData, encrDataOffset, macAlg, macAlgName: nameOf(MAC_ALG_NAMES, macAlg), mac: raw.subarray(pos, pos + macLen),
          macOffset: pos,
        };
        pos += macLen;
        if (ENCR_ALG_NAMES[encrAlg] === undefined)
          p.add('mikey-unsupported-algorithm', `Unknown KEMAC encryption algorithm ${encrAlg}`, start + 1, 1);
        if (encrAlg === 0 && len > 0) {
          const r = decodeKeyDataChain(encrData, encrDataOffset);
          k.keys = r.keys;
          p.list.push(...r.problems);
        }
        payload = k;
        break;
      }
      case PayloadType.PKE: {
        if (!need(p, typeName, pos, end, 3, 'header')) { stop = true; break; }
        np = raw[pos];
        const w = raw.readUInt16BE(pos + 1);
        const c = w >> 14;
        const len = w & 0x3fff;
        pos += 3;
        if (pos + len > end) {
          p.add('mikey-overlong-payload', `PKE data length ${len} runs past the message`, start + 1, 2);
          stop = true;
          break;
        }
        payload = { type: 2, typeName, nextPayload: np, offset: start, length: 0, c, cName: nameOf(PKE_C_NAMES, c), data: raw.subarray(pos, pos + len) };
        pos += len;
        break;
      }
      case PayloadType.DH: {
        if (!need(p, typeName, pos, end, 2, 'header')) { stop = true; break; }
        np = raw[pos];
        const group = raw[pos + 1];
        const vlen = DH_VALUE_LENGTH[group];
        pos += 2;
        if (vlen === undefined) {
          p.add('mikey-unsupported-algorithm', `Unknown DH group ${group}: the DH value cannot be delimited`, start + 1, 1);
          stop = true;
          break;
        }
        if (!need(p, typeName, pos, end, vlen + 1, 'value')) { stop = true; break; }
        const value = raw.subarray(pos, pos + vlen);
        pos += vlen;
        const kv = raw[pos] & 0x0f;
        pos += 1;
        const kvr = decodeKv(raw, pos, end, kv, p, 'DH');
        if (!kvr.ok) { stop = true; break; }
        pos = kvr.next;
        const d: DhPayload = { type: 3, typeName, nextPayload: np, offset: start, length: 0, group, groupName: nameOf(DH_GROUP_NAMES, group), value, kv, kvName: nameOf(KV_NAMES, kv) };
        if (kvr.spi) d.spi = kvr.spi;
        if (kvr.interval) d.interval = kvr.interval;
        payload = d;
        break;
      }
      case PayloadType.SIGN: {
        if (!need(p, typeName, pos, end, 2, 'header')) { stop = true; break; }
        const w = raw.readUInt16BE(pos);
        const signType = w >> 12;
        const len = w & 0x0fff;
        pos += 2;
        if (pos + len > end) {
          p.add('mikey-overlong-payload', `Signature length ${len} runs past the message`, start, 2);
          stop = true;
          break;
        }
        payload = { type: 4, typeName, nextPayload: 0, offset: start, length: 0, signType, signTypeName: nameOf(SIGN_TYPE_NAMES, signType), signature: raw.subarray(pos, pos + len) };
        pos += len;
        stop = true; // SIGN is always last and names no successor
        break;
      }
      case PayloadType.T:
      case PayloadType.TR: {
        if (!need(p, typeName, pos, end, 2, 'header')) { stop = true; break; }
        np = raw[pos];
        const tsType = raw[pos + 1];
        pos += 2;
        const len = TS_LENGTH[tsType];
        if (len === undefined) {
          p.add('mikey-unsupported-algorithm', `Unknown timestamp type ${tsType}: its length is unknown`, start + 1, 1);
          stop = true;
          break;
        }
        if (!need(p, typeName, pos, end, len, 'value')) { stop = true; break; }
        const value = raw.subarray(pos, pos + len);
        pos += len;
        const t: TimestampPayload = { type, typeName, nextPayload: np, offset: start, length: 0, tsType, tsTypeName: nameOf(TS_TYPE_NAMES, tsType), value };
        if (tsType === 2) t.counter = value.readUInt32BE(0);
        else if (tsType === 0 || tsType === 1) {
          t.ntpSeconds = value.readUInt32BE(0);
          t.ntpFraction = value.readUInt32BE(4);
          const iso = ntpToIso(t.ntpSeconds, t.ntpFraction);
          if (iso) t.time = iso;
        } else if (tsType === 3) {
          t.ntpSeconds = value.readUInt32BE(0);
          const iso = ntpToIso(t.ntpSeconds, 0);
          if (iso) t.time = iso;
        }
        payload = t;
        break;
      }
      case PayloadType.ID:
      case PayloadType.IDR: {
        const hdr = type === PayloadType.IDR ? 5 : 4;
        if (!need(p, typeName, pos, end, hdr, 'header')) { stop = true; break; }
        np = raw[pos];
        const role = type === PayloadType.IDR ? raw[pos + 1] : undefined;
        const idType = raw[pos + hdr - 3];
        const len = raw.readUInt16BE(pos + hdr - 2);
        pos += hdr;
        if (pos + len > end) {
          p.add('mikey-overlong-payload', `ID length ${len} runs past the message`, pos - 2, 2);
          stop = true;
          break;
        }
        const data = raw.subarray(pos, pos + len);
        pos += len;
        const id: MikeyPayload = {
          type, typeName, nextPayload: np, offset: start, length: 0, idType, idTypeName: nameOf(ID_TYPE_NAMES, idType), data,
          text: escapeText(data.toString('utf8')),
        };
        if (role !== undefined) {
          id.role = role;
          id.roleName = nameOf(ID_ROLE_NAMES, role);
        }
        payload = id;
        break;
      }
      case PayloadType.CERT: {
        if (!need(p, typeName, pos, end, 4, 'header')) { stop = true; break; }
        np = raw[pos];
        const certType = raw[pos + 1];
        const len = raw.readUInt16BE(pos + 2);
        pos += 4;
        if (pos + len > end) {
          p.add('mikey-overlong-payload', `Certificate length ${len} runs past the message`, start + 2, 2);
          stop = true;
          break;
        }
        payload = { type: 7, typeName, nextPayload: np, offset: start, length: 0, certType, certTypeName: nameOf(CERT_TYPE_NAMES, certType), data: raw.subarray(pos, pos + len) };
        pos += len;
        break;
      }
      case PayloadType.CHASH: {
        if (!need(p, typeName, pos, end, 2, 'header')) { stop = true; break; }
        np = raw[pos];
        const hashFunc = raw[pos + 1];
        pos += 2;
        const len = HASH_LENGTH[hashFunc];
        if (len === undefined) {
          p.add('mikey-unsupported-algorithm', `Unknown CHASH hash function ${hashFunc}`, start + 1, 1);
          stop = true;
          break;
        }
        if (!need(p, typeName, pos, end, len, 'hash')) { stop = true; break; }
        payload = { type: 8, typeName, nextPayload: np, offset: start, length: 0, hashFunc, hashFuncName: nameOf(HASH_FUNC_NAMES, hashFunc), hash: raw.subarray(pos, pos + len) };
        pos += len;
        break;
      }
      case PayloadType.V: {
        if (!need(p, typeName, pos, end, 2, 'header')) { stop = true; break; }
        np = raw[pos];
        const authAlg = raw[pos + 1];
        pos += 2;
        let len = MAC_LENGTH[authAlg];
        if (len === undefined) {
          p.add('mikey-unsupported-algorithm', `Unknown V authentication algorithm ${authAlg}: rest taken as MAC`, start + 1, 1);
          len = end - pos;
        }
        if (!need(p, typeName, pos, end, len, 'verification data')) { stop = true; break; }
        payload = { type: 9, typeName, nextPayload: np, offset: start, length: 0, authAlg, authAlgName: nameOf(MAC_ALG_NAMES, authAlg), mac: raw.subarray(pos, pos + len), macOffset: pos };
        pos += len;
        break;
      }
      case PayloadType.SP: {
        if (!need(p, typeName, pos, end, 5, 'header')) { stop = true; break; }
        np = raw[pos];
        const policyNo = raw[pos + 1];
        const protType = raw[pos + 2];
        const len = raw.readUInt16BE(pos + 3);
        pos += 5;
        if (pos + len > end) {
          p.add('mikey-overlong-payload', `SP parameter length ${len} runs past the message`, start + 3, 2);
          stop = true;
          break;
        }
        const params: SpParam[] = [];
        const pend = pos + len;
        let q = pos;
        while (q < pend) {
          if (q + 2 > pend || q + 2 + raw[q + 1] > pend) {
            p.add('mikey-overlong-payload', 'SP parameter runs past the policy parameter length', q, pend - q);
            break;
          }
          const pt = raw[q];
          const value = raw.subarray(q + 2, q + 2 + raw[q + 1]);
          const sp: SpParam = {
            offset: q, length: 2 + value.length, paramType: pt,
            paramTypeName: protType === 0 ? nameOf(SRTP_PARAM_NAMES, pt) : `Unknown (${pt})`, value,
          };
          const vn = spValueName(protType, pt, value);
          if (vn) sp.valueName = vn;
          params.push(sp);
          q += 2 + value.length;
        }
        pos = pend;
        payload = { type: 10, typeName, nextPayload: np, offset: start, length: 0, policyNo, protType, protTypeName: nameOf(SP_PROT_TYPE_NAMES, protType), params };
        break;
      }
      case PayloadType.RAND:
      case PayloadType.RANDR: {
        if (!need(p, typeName, pos, end, 2, 'header')) { stop = true; break; }
        np = raw[pos];
        const len = raw[pos + 1];
        pos += 2;
        if (pos + len > end) {
          p.add('mikey-overlong-payload', `RAND length ${len} runs past the message`, start + 1, 1);
          stop = true;
          break;
        }
        payload = { type, typeName, nextPayload: np, offset: start, length: 0, rand: raw.subarray(pos, pos + len) };
        pos += len;
        break;
      }
      case PayloadType.ERR: {
        if (!need(p, typeName, pos, end, 4, 'body')) { stop = true; break; }
        np = raw[pos];
        const errorNo = raw[pos + 1];
        payload = { type: 12, typeName, nextPayload: np, offset: start, length: 0, errorNo, errorName: nameOf(ERR_NAMES, errorNo), reserved: raw.subarray(pos + 2, pos + 4) };
        pos += 4;
        break;
      }
      case PayloadType.GENERAL_EXT: {
        if (!need(p, typeName, pos, end, 4, 'header')) { stop = true; break; }
        np = raw[pos];
        const extType = raw[pos + 1];
        const len = raw.readUInt16BE(pos + 2);
        pos += 4;
        if (pos + len > end) {
          p.add('mikey-overlong-payload', `Extension length ${len} runs past the message`, start + 2, 2);
          stop = true;
          break;
        }
        const data = raw.subarray(pos, pos + len);
        const e: ExtPayload = { type: 21, typeName, nextPayload: np, offset: start, length: 0, extType, extTypeName: nameOf(EXT_TYPE_NAMES, extType), data };
        if (extType === 3) e.keyIds = decodeKeyIds(data, pos, p);
        else if (extType === 1) e.text = escapeText(data.toString('utf8'));
        pos += len;
        payload = e;
        break;
      }
      case PayloadType.TICKET: {
        if (!need(p, typeName, pos, end, 5, 'header')) { stop = true; break; }
        np = raw[pos];
        const ticketType = raw.readUInt16BE(pos + 1);
        const len = raw.readUInt16BE(pos + 3);
        pos += 5;
        if (pos + len > end) {
          p.add('mikey-overlong-payload', `Ticket length ${len} runs past the message`, start + 3, 2);
          stop = true;
          break;
        }
        payload = { type: 17, typeName, nextPayload: np, offset: start, length: 0, ticketType, data: raw.subarray(pos, pos + len) };
        pos += len;
        break;
      }
      case PayloadType.SAKKE: {
        if (!need(p, typeName, pos, end, 5, 'header')) { stop = true; break; }
        np = raw[pos];
        const params = raw[pos + 1];
        const idScheme = raw[pos + 2];
        const len = raw.readUInt16BE(pos + 3);
        pos += 5;
        if (pos + len > end) {
          p.add('mikey-overlong-payload', `SAKKE data length ${len} runs past the message`, start + 3, 2);
          stop = true;
          break;
        }
        payload = {
          type: 26, typeName, nextPayload: np, offset: start, length: 0, params, paramsName: nameOf(SAKKE_PARAMS_NAMES, params),
          idScheme, idSchemeName: nameOf(SAKKE_ID_SCHEME_NAMES, idScheme), data: raw.subarray(pos, pos + len),
        };
        pos += len;
        break;
      }
      default: {
        if (PAYLOAD_NAMES[type] !== undefined)
          p.add('mikey-unsupported-payload', `${typeName} is not decoded: its length cannot be determined, rest of message left undecoded`, npOffset, 1);
        else
          p.add('mikey-unknown-payload', `Unknown payload type ${type}: rest of message left undecoded`, npOffset, 1);
        stop = true;
      }
    }
    if (payload) {
      payload.length = pos - start;
      payloads.push(payload);
    }
    if (stop) {
      pos = Math.max(pos, start);
      if (!payload) pos = end; // undecodable: nothing after it can be trusted
      break;
    }
    npOffset = start;
    next = np;
  }
  if (ok && pos < end && (payloads.length === 0 || next === 0 || payloads[payloads.length - 1].type === PayloadType.SIGN)) {
    p.add('mikey-trailing-data', `${end - pos} bytes after the last payload`, pos, end - pos);
  }
  return { message: { header, payloads, length: end, raw }, problems: p.list };
}
