/**
 * MbmsKeyTracker: the stateful side of MIKEY analysis, fed messages in capture order. It keeps what it needs to find
 * and check keys (RAND per MSK, learned MSKs, MTK IDs and MSK intervals, the deliveries an ACK may answer) and answers,
 * per message: was it verified with a known key, what did it deliver, what is wrong. A wrong or missing key is a
 * finding, never an exception. All maps are bounded.
 *
 * Counter replay and ACKs that answer no delivery are procedure rules over time: the correlator owns them
 * (diagnostics `counter-replay`, `ack-unmatched`), so the tracker does not report them again.
 */
import type { Problem } from '../../common/problem';
import { mikeyProblem, type MikeyProblemCode } from './problems';
import type { PacketTime } from '../../common/time';
import type { KeyStore } from '../keys';
import { computeMac, deriveMessageKeys, kemacDecrypt, macAlgorithmKnown, macEquals } from './crypto';
import { decodeKeyDataChain, decodeMikey } from './decode';
import { findPayload, identities, keyDataProblems, mbmsInfo, mbmsProfileProblems } from './mbms';
import { PayloadType } from './tables';
import { ownString } from '../../common/own-string';
import { trimOldest } from '../../common/oldest-key';
import type {
  KemacPayload, KeyDataPayload, MbmsInfo, MikeyDecodeResult, MikeyMessage, RandPayload, TimestampPayload, VerificationPayload,
} from './types';

export const MAX_TRACKED = 4096;

const EMPTY = Buffer.alloc(0);

/**
 * Copies of a few small byte strings kept in the tables above, in one buffer of their own (views into it). Not
 * Buffer.from: a small copy lands in Node's shared 8 KiB pool slab, and keeps that whole slab (with whatever else was
 * allocated in it) alive as long as the table keeps the copy — issue #12: the pending deliveries' RAND, IDi, IDr and
 * timestamp copies pinned ≈ 420 slabs (3.4 MB) more late in a long live run. Measured: ≈ 400 B of resident memory per
 * own buffer, so one per record rather than one per field.
 */
function ownCopies(...parts: Uint8Array[]): Buffer[] {
  let n = 0;
  for (const p of parts) n += p.length;
  const own = Buffer.allocUnsafeSlow(n);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of parts) {
    own.set(p, at);
    out.push(own.subarray(at, at + p.length));
    at += p.length;
  }
  return out;
}

export interface MikeyPacketMeta {
  frame: number;
  time: PacketTime;
  src: string;
  dst: string;
}

export interface MikeyTrackerOptions {
  /** Show delivered keys in clear (default: masked). */
  showKeys?: boolean;
}

/** A key found in a KEMAC, as shown to a person: the key itself masked unless showKeys. */
export interface DeliveredKey {
  keyType: number;
  keyTypeName: string;
  kv: number;
  kvName: string;
  keyLength: number;
  /** Hex when showKeys, otherwise a mask. */
  key: string;
  saltLength?: number;
  salt?: string;
  spi?: string;
  /** Key validity interval; MBMS MSK: MTK ID range (SEQl, SEQu]. */
  validFrom?: number;
  validTo?: number;
}

/** Which key verified the message. */
export type VerifiedWith = 'muk' | 'previous-muk' | 'msk' | 'delivery-keys';

export interface MikeyAnalysis {
  frame: number;
  message: MikeyMessage | null;
  mbms: MbmsInfo | null;
  /** true: MAC verified with a known key; false: a key was known but the MAC does not match; null: no key to check with. */
  verified: boolean | null;
  verifiedWith?: VerifiedWith;
  /** Where the key came from: `naf`/`muk`/`msk` line of the key file or `learned` in frame N. */
  keySource?: string;
  keys?: DeliveredKey[];
  /** For an ACK: the frame of the delivery it answers. */
  answersFrame?: number;
  /** Key material may be shown in clear (`showKeys`); output masks every key otherwise. */
  showKeys?: boolean;
  problems: Problem[];
}

interface MukCandidate {
  key: Buffer;
  label: string;
  previous: boolean;
}

interface PendingDelivery {
  frame: number;
  authKey: Buffer | null;
  csbId: number;
  rand: Buffer | null;
  macAlg: number;
  idi: Buffer;
  idr: Buffer;
  tsValue: Buffer;
  ue: string;
}

interface MskState {
  rand?: Buffer;
  randFrame?: number;
  lastMtkBytes?: Buffer;
  key?: Buffer;
  /**
   * The MTK message keys last derived under this MSK, and what they were derived from (the same key object, RAND
   * object, CSB ID and algorithms give the same keys): a stream of MTK messages under one MSK derives them once,
   * not six HMACs per message.
   */
  derived?: { key: Uint8Array; rand: Buffer; csbId: number; encrAlg: number; macAlg: number; keys: ReturnType<typeof deriveMessageKeys> };
}

/** RFC 1982 serial-number "greater than" for 32-bit serials; undefined relations count as not greater. */
export function serialGreater(a: number, b: number): boolean {
  const x = a >>> 0;
  const y = b >>> 0;
  const half = 0x80000000;
  return (x < y && y - x > half) || (x > y && x - y < half);
}

/** A Map that forgets its oldest entries past a bound. */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly bound: number) {
    super();
  }
  override set(k: K, v: V): this {
    if (this.has(k)) this.delete(k);
    super.set(k, v);
    // the oldest through a kept iterator: a fresh one walks every deleted entry's hole (src/common/oldest-key.ts)
    trimOldest<K>(this, this.bound);
    return this;
  }
}

function maskKey(b: Uint8Array): string {
  return `[hidden, ${b.length} bytes]`;
}

function intervalNumber(b: Buffer): number | undefined {
  return b.length >= 1 && b.length <= 6 ? b.readUIntBE(0, b.length) : undefined;
}

export class MbmsKeyTracker {
  private readonly msks = new BoundedMap<string, MskState>(MAX_TRACKED);
  private readonly pending = new BoundedMap<string, PendingDelivery>(MAX_TRACKED);
  /** UE address → the last MUK that verified a message sent to it (the "last MUK successfully used"). */
  private readonly lastGoodMuk = new BoundedMap<string, MukCandidate>(MAX_TRACKED);
  /** UE address → Digest usernames (B-TIDs) seen from it. */
  private readonly usersByAddress = new BoundedMap<string, string[]>(MAX_TRACKED);

  constructor(private readonly keys: KeyStore | null, private readonly options: MikeyTrackerOptions = {}) {}

  /** Tell the tracker that `address` authenticated over HTTP Digest as `username` (a B-TID): its MUK may then be found. */
  associateUser(address: string, username: string): void {
    const list = this.usersByAddress.get(address) ?? [];
    if (!list.includes(username)) list.push(ownString(username));
    if (list.length > 8) list.shift();
    this.usersByAddress.set(address, list);
  }

  /** Process one MIKEY message (bytes, or a decode result already made for it). */
  process(input: Uint8Array | MikeyDecodeResult, meta: MikeyPacketMeta): MikeyAnalysis {
    const decoded = input instanceof Uint8Array ? decodeMikey(input) : input;
    const problems = [...decoded.problems];
    const m = decoded.message;
    const out: MikeyAnalysis = { frame: meta.frame, message: m, mbms: null, verified: null, problems };
    if (this.options.showKeys === true) out.showKeys = true;
    if (!m) return out;
    const info = mbmsInfo(m);
    out.mbms = info;
    problems.push(...mbmsProfileProblems(m, info));
    const needsCrypto = info.kind === 'msk-delivery' || info.kind === 'solicited-pull-trigger' || info.kind === 'mtk-delivery' || info.kind === 'verification';
    if (needsCrypto && m.header.prf !== 0) {
      // only MIKEY-1 is implemented (and TS 33.246 uses only it): deriving with it would give false mac-invalid findings
      problems.push(mikeyProblem('mikey-prf-not-implemented', `PRF ${m.header.prfName}: key derivation not implemented, MAC not checked`, 3, 1));
      return out;
    }
    try {
      switch (info.kind) {
        case 'msk-delivery':
        case 'solicited-pull-trigger':
          this.mskMessage(m, info, meta, out);
          break;
        case 'mtk-delivery':
          this.mtkMessage(m, info, meta, out);
          break;
        case 'verification':
          this.ackMessage(m, info, meta, out);
          break;
        default:
          break;
      }
    } catch (e) {
      // a defect of ours must not stop a capture: report it on the message
      problems.push(mikeyProblem('mikey-internal-error', `internal error: ${(e as Error).message}`));
    }
    return out;
  }

  private add(out: MikeyAnalysis, code: MikeyProblemCode, msg: string, offset?: number, length?: number): void {
    out.problems.push(mikeyProblem(code, msg, offset, length));
  }

  /** A key-protected message whose key is not known. */
  private noKey(out: MikeyAnalysis, msg: string, offset: number, length: number): void {
    // without any key file, "no key" is true of every message and would bury the findings that matter
    if (this.keys === null) return;
    this.add(out, 'mikey-no-key', msg, offset, length);
  }

  private mukCandidates(info: MbmsInfo, meta: MikeyPacketMeta, idr: string | undefined): MukCandidate[] {
    const out: MukCandidate[] = [];
    const push = (key: Buffer | undefined, label: string, previous: boolean) => {
      if (key && !out.some((c) => c.key.equals(key))) out.push({ key, label, previous });
    };
    if (this.keys) {
      if (idr !== undefined) {
        const s = this.keys.mukFor(idr);
        if (s) push(s.key, `${s.source} line ${s.line ?? '?'}`, false);
      }
      const byAddr = this.keys.muk.get(meta.dst);
      if (byAddr) push(byAddr.key, `muk line ${byAddr.line ?? '?'}`, false);
      for (const u of this.usersByAddress.get(meta.dst) ?? []) {
        const s = this.keys.mukFor(u);
        if (s) push(s.key, `${s.source} line ${s.line ?? '?'}`, false);
      }
    }
    const prev = this.lastGoodMuk.get(meta.dst);
    if (prev) push(prev.key, prev.label, true);
    void info;
    return out;
  }

  private showKey(k: KeyDataPayload): DeliveredKey {
    const show = this.options.showKeys === true;
    const d: DeliveredKey = {
      keyType: k.keyType, keyTypeName: k.keyTypeName, kv: k.kv, kvName: k.kvName, keyLength: k.key.length,
      key: show ? k.key.toString('hex') : maskKey(k.key),
    };
    if (k.salt) {
      d.saltLength = k.salt.length;
      d.salt = show ? k.salt.toString('hex') : maskKey(k.salt);
    }
    if (k.spi) d.spi = k.spi.toString('hex');
    if (k.interval) {
      const f = intervalNumber(k.interval.from);
      const t = intervalNumber(k.interval.to);
      if (f !== undefined) d.validFrom = f;
      if (t !== undefined) d.validTo = t;
    }
    return d;
  }

  private decryptKeys(
    m: MikeyMessage, kemac: KemacPayload, keys: ReturnType<typeof deriveMessageKeys>, info: MbmsInfo, out: MikeyAnalysis,
  ): KeyDataPayload[] {
    if (kemac.encrData.length === 0) return [];
    if (kemac.encrAlg === 0) return kemac.keys ?? [];
    const t = findPayload<TimestampPayload>(m, PayloadType.T);
    const plain = kemacDecrypt(kemac.encrAlg, keys, m.header.csbId, t?.value ?? Buffer.alloc(8), kemac.encrData);
    if (!plain) {
      this.add(out, 'mikey-decrypt-failed', `KEMAC data could not be decrypted with ${kemac.encrAlgName}`, kemac.encrDataOffset, kemac.encrData.length);
      return [];
    }
    const r = decodeKeyDataChain(plain, kemac.encrDataOffset, kemac.encrAlg === 2);
    if (r.problems.length > 0)
      this.add(out, 'mikey-decrypt-failed', `Decrypted KEMAC data is not a valid Key data chain (${r.problems[0].message})`, kemac.encrDataOffset, kemac.encrData.length);
    out.problems.push(...keyDataProblems(info, r.keys));
    return r.keys;
  }

  private mskMessage(m: MikeyMessage, info: MbmsInfo, meta: MikeyPacketMeta, out: MikeyAnalysis): void {
    const kemac = findPayload<KemacPayload>(m, PayloadType.KEMAC);
    const rand = findPayload<RandPayload>(m, PayloadType.RAND);
    const ids = identities(m);
    const mskKeyId = info.keyDomainId !== undefined && info.mskId !== undefined
      ? `${info.keyDomainId}:${(info.mskId >>> 0).toString(16).padStart(8, '0')}` : undefined;
    if (!kemac) return;
    if (rand && mskKeyId && info.kind === 'msk-delivery') {
      // RAND is in clear: keep it even without a MUK, an MSK from the key file may still open the MTK messages
      const st = this.msks.get(mskKeyId) ?? {};
      st.rand = ownCopies(rand.rand)[0];
      st.randFrame = meta.frame;
      this.msks.set(mskKeyId, st);
    }
    if (!rand) return;
    const candidates = this.mukCandidates(info, meta, ids.idr ? ids.idr.data.toString('utf8') : undefined);
    if (candidates.length === 0) {
      this.noKey(out, `No MUK known for ${info.idr ?? meta.dst}: MAC not checked, key not decrypted`, kemac.macOffset, kemac.mac.length);
      this.rememberPending(m, info, meta, null, kemac.macAlg);
      return;
    }
    if (kemac.macAlg === 0 || !macAlgorithmKnown(kemac.macAlg)) {
      // NULL (or unknown) MAC: nothing to verify; the null-mac finding is already there
      const keys = deriveMessageKeys(candidates[0].key, m.header.csbId, rand.rand, kemac.encrAlg, kemac.macAlg);
      this.finishMsk(m, info, meta, out, kemac, keys, mskKeyId);
      return;
    }
    const macInput = m.raw.subarray(0, kemac.macOffset);
    let good: MukCandidate | undefined;
    let goodKeys: ReturnType<typeof deriveMessageKeys> | undefined;
    for (const c of candidates) {
      const keys = deriveMessageKeys(c.key, m.header.csbId, rand.rand, kemac.encrAlg, kemac.macAlg);
      const mac = computeMac(kemac.macAlg, keys.authKey, macInput);
      if (mac && macEquals(mac, kemac.mac)) {
        good = c;
        goodKeys = keys;
        break;
      }
    }
    if (!good || !goodKeys) {
      out.verified = false;
      this.add(out, 'mikey-mac-invalid', `KEMAC MAC does not verify with ${candidates.length === 1 ? 'the MUK' : `any of ${candidates.length} MUKs`} known for ${info.idr ?? meta.dst}`, kemac.macOffset, kemac.mac.length);
      this.rememberPending(m, info, meta, null, kemac.macAlg);
      return;
    }
    out.verified = true;
    out.verifiedWith = good.previous ? 'previous-muk' : 'muk';
    out.keySource = good.label;
    if (good.previous && info.kind === 'solicited-pull-trigger')
      this.add(out, 'mikey-trigger-previous-muk', 'Solicited-pull trigger verified with the UE\'s previous MUK (TS 33.246 §6.3.2.2.4)', kemac.macOffset, kemac.mac.length);
    else if (good.previous)
      this.add(out, 'mikey-previous-muk', 'MSK message verified with a MUK that is not the latest for this UE: the UE requests the MSK and sends no ACK (§6.3.2.3.1)', kemac.macOffset, kemac.mac.length);
    this.lastGoodMuk.set(meta.dst, good);
    this.finishMsk(m, info, meta, out, kemac, goodKeys, mskKeyId);
  }

  private finishMsk(
    m: MikeyMessage, info: MbmsInfo, meta: MikeyPacketMeta, out: MikeyAnalysis, kemac: KemacPayload,
    keys: ReturnType<typeof deriveMessageKeys>, mskKeyId: string | undefined,
  ): void {
    const delivered = this.decryptKeys(m, kemac, keys, info, out);
    out.keys = delivered.map((k) => this.showKey(k));
    this.rememberPending(m, info, meta, keys.authKey, kemac.macAlg);
    if (info.kind !== 'msk-delivery' || !mskKeyId) return;
    const st = this.msks.get(mskKeyId) ?? {};
    const k = delivered[0];
    if (k) {
      if (!st.key || !st.key.equals(k.key)) {
        // a new MSK: MTK IDs start again (TS 33.246 §6.4.3)
        st.lastMtkBytes = undefined;
      }
      st.key = ownCopies(k.key)[0];
      if (this.keys && info.keyDomainId !== undefined) this.keys.learnMsk(info.keyDomainId, mskKeyId.split(':')[1], k.key, meta.frame);
    }
    this.msks.set(mskKeyId, st);
  }

  private rememberPending(m: MikeyMessage, info: MbmsInfo, meta: MikeyPacketMeta, authKey: Buffer | null, macAlg: number): void {
    if (!m.header.v || info.kind !== 'msk-delivery') return;
    const t = findPayload<TimestampPayload>(m, PayloadType.T);
    const ids = identities(m);
    if (!t) return;
    const rand = findPayload<RandPayload>(m, PayloadType.RAND);
    const [randCopy, idi, idr, tsValue] = ownCopies(rand?.rand ?? EMPTY, ids.idi?.data ?? EMPTY, ids.idr?.data ?? EMPTY, t.value);
    this.pending.set(`${m.header.csbId}:${t.value.toString('hex')}`, {
      frame: meta.frame, authKey, macAlg, csbId: m.header.csbId, rand: rand ? randCopy : null, idi, idr, tsValue, ue: meta.dst,
    });
  }

  private mtkMessage(m: MikeyMessage, info: MbmsInfo, meta: MikeyPacketMeta, out: MikeyAnalysis): void {
    const kemac = findPayload<KemacPayload>(m, PayloadType.KEMAC);
    if (!kemac || info.keyDomainId === undefined || info.mskId === undefined) return;
    const mskIdHex = (info.mskId >>> 0).toString(16).padStart(8, '0');
    const id = `${info.keyDomainId}:${mskIdHex}`;
    const st = this.msks.get(id) ?? {};
    const stored = this.keys?.mskFor(info.keyDomainId, mskIdHex);
    // the MTK ID order and interval checks of the ME (§6.4.6.2), the counter replay check of the MGV-F (§6.5.4) and
    // the periodic resend are rules over several messages: the correlator's MTK room owns them
    const retransmission = st.lastMtkBytes !== undefined && st.lastMtkBytes.equals(m.raw);
    const mskKey = stored?.key ?? st.key;
    if (!mskKey) {
      this.noKey(out, `MSK ${info.keyDomain ?? info.keyDomainId}/0x${mskIdHex} unknown: MAC not checked, MTK not decrypted`, kemac.macOffset, kemac.mac.length);
      return;
    }
    if (!st.rand) {
      this.add(out, 'mikey-no-rand', `No MSK message for ${info.keyDomain ?? info.keyDomainId}/0x${mskIdHex} seen: its RAND is needed to derive the MTK message keys`, kemac.macOffset, kemac.mac.length);
      return;
    }
    const memo = st.derived;
    let keys: ReturnType<typeof deriveMessageKeys>;
    if (memo && memo.key === mskKey && memo.rand === st.rand && memo.csbId === m.header.csbId && memo.encrAlg === kemac.encrAlg && memo.macAlg === kemac.macAlg) keys = memo.keys;
    else {
      keys = deriveMessageKeys(mskKey, m.header.csbId, st.rand, kemac.encrAlg, kemac.macAlg);
      st.derived = { key: mskKey, rand: st.rand, csbId: m.header.csbId, encrAlg: kemac.encrAlg, macAlg: kemac.macAlg, keys };
    }
    out.keySource = stored ? `${stored.source}${stored.line !== undefined ? ` line ${stored.line}` : stored.frame !== undefined ? ` in frame ${stored.frame}` : ''}` : 'learned';
    if (kemac.macAlg !== 0) {
      const mac = computeMac(kemac.macAlg, keys.authKey, m.raw.subarray(0, kemac.macOffset));
      if (!mac || !macEquals(mac, kemac.mac)) {
        out.verified = false;
        this.add(out, 'mikey-mac-invalid', `KEMAC MAC does not verify with MSK ${info.keyDomain ?? info.keyDomainId}/0x${mskIdHex} and the RAND of frame ${st.randFrame ?? '?'}`, kemac.macOffset, kemac.mac.length);
        return;
      }
      out.verified = true;
      out.verifiedWith = 'msk';
    }
    const delivered = this.decryptKeys(m, kemac, keys, info, out);
    out.keys = delivered.map((k) => this.showKey(k));
    if (out.verified !== false && !retransmission) {
      st.lastMtkBytes = m.raw; // the decoder's own copy, never a view into a packet buffer
      this.msks.set(id, st);
    }
  }

  private ackMessage(m: MikeyMessage, info: MbmsInfo, meta: MikeyPacketMeta, out: MikeyAnalysis): void {
    const v = findPayload<VerificationPayload>(m, PayloadType.V);
    const t = findPayload<TimestampPayload>(m, PayloadType.T);
    if (!v || !t) return;
    const key = `${m.header.csbId}:${t.value.toString('hex')}`;
    const pend = this.pending.get(key);
    // no delivery to verify against: the correlator reports the unmatched ACK (ack-unmatched)
    if (!pend) return;
    out.answersFrame = pend.frame;
    // an IDr other than the delivery's is a matter between two messages: the correlator's ack-idr-mismatch
    const idr = identities(m).idr;
    if (v.authAlg === 0) return;
    const idrBytes = idr ? idr.data : pend.idr;
    const macInput = m.raw.subarray(0, v.macOffset);
    // the delivery's keys when it was verified; otherwise whatever MUKs are known for this UE (the ACK's sender)
    const authKeys: Buffer[] = [];
    if (pend.authKey) authKeys.push(pend.authKey);
    else if (pend.rand) {
      const cands = this.mukCandidates(info, { ...meta, dst: meta.src }, idrBytes.toString('utf8'));
      for (const c of cands) authKeys.push(deriveMessageKeys(c.key, pend.csbId, pend.rand, 1, v.authAlg).authKey);
    }
    if (authKeys.length === 0) {
      this.noKey(out, `No MUK known for the delivery in frame ${pend.frame}: ACK MAC not checked`, v.macOffset, v.mac.length);
      return;
    }
    const ok = authKeys.some((k) => {
      const mac = computeMac(v.authAlg, k, macInput, pend.idi, idrBytes, pend.tsValue);
      return mac !== null && macEquals(mac, v.mac);
    });
    if (!ok) {
      out.verified = false;
      this.add(out, 'mikey-mac-invalid', `Verification MAC does not verify against the delivery in frame ${pend.frame}`, v.macOffset, v.mac.length);
      return;
    }
    out.verified = true;
    out.verifiedWith = 'delivery-keys';
    this.pending.delete(key);
  }
}

