/**
 * MIKEY cryptography (RFC 3830 §4.1–4.2) on node:crypto.
 *
 * Two points the RFC leaves loose, and how keyscope reads them (also in docs/mikey-crypto.md):
 * - AES-CM IV (§4.2.3): IV = (S XOR (0x0000 ‖ CSB ID ‖ T)) ‖ 0x0000 with T the 64-bit timestamp. A 32-bit timestamp
 *   (COUNTER, NTP-UTC-32) is taken as a 64-bit number: zero in the high 32 bits, the value in the low 32 bits.
 * - Verification MAC (§5.2): the MAC input is the verification message up to (not including) the MAC field, then the
 *   ID *data* of IDi and of IDr (the identities only, without the ID payload headers), then the initiator's timestamp
 *   *value* as carried in its T payload (4 bytes for a COUNTER). IDi comes from the initiator's message (MBMS: the
 *   BM-SC FQDN in the MSK delivery), IDr from the verification message or, if it has none, from the initiator's.
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { aesCtr } from './aes-ctr';
import { hmacSha1, hmacSha1Into, padStates, type PadStates } from './hmac-sha1';

export const KEY_DERIVATION_CONSTANT = {
  encryption: 0x150533e1,
  authentication: 0x2d22ac75,
  salt: 0x29b88916,
} as const;

/** Scratch for the PRF's A(i) chain and one block of P's output (the PRF is not re-entrant: nothing here yields). */
const prfA = new Uint8Array(20);
const prfBlock = new Uint8Array(20);
const prfAParts: Uint8Array[] = [prfA];
const prfBlockParts: Uint8Array[] = [prfA, prfA];

/**
 * RFC 3830 §4.1.2 P(s, label, m) XORed into `out` (m × 20 bytes): A(0) = label, A(i) = HMAC(s, A(i-1)), block i =
 * HMAC(s, A(i) ‖ label). HMAC-SHA-1 with the key's pad states made once per key (hmac-sha1.ts): every block of every
 * PRF under one key costs two compression rounds, into reused scratch (no Buffer per block).
 */
function xorPFunction(s: PadStates, label: Uint8Array, m: number, out: Uint8Array): void {
  prfAParts[0] = label;
  prfBlockParts[1] = label;
  for (let i = 0; i < m; i++) {
    hmacSha1Into(s, prfAParts, prfA, 0);
    prfAParts[0] = prfA;
    hmacSha1Into(s, prfBlockParts, prfBlock, 0);
    const at = i * 20;
    for (let j = 0; j < 20; j++) out[at + j] ^= prfBlock[j];
  }
  prfAParts[0] = prfA;
  prfBlockParts[1] = prfA;
}

/** The MIKEY-1 PRF with the pad states of each 256-bit chunk of inkey given (`chunkStates`, in order). */
function prfWithStates(chunkStates: readonly PadStates[], label: Uint8Array, outBits: number): Buffer {
  const outBytes = Math.ceil(outBits / 8);
  const m = Math.ceil(outBits / 160);
  const out = Buffer.alloc(m * 20);
  for (const st of chunkStates) xorPFunction(st, label, m, out);
  return outBytes === out.length ? out : out.subarray(0, outBytes);
}

/** The pad states of inkey's 256-bit chunks s1..sn (the last may be shorter; an empty key is one empty chunk). */
function chunkPadStates(inkey: Uint8Array): PadStates[] {
  if (inkey.length <= 32) return [padStates(inkey)];
  const n = Math.ceil(inkey.length / 32);
  const out: PadStates[] = [];
  for (let i = 0; i < n; i++) out.push(padStates(inkey.subarray(i * 32, Math.min(inkey.length, (i + 1) * 32))));
  return out;
}

/**
 * MIKEY-1 PRF (RFC 3830 §4.1.2): inkey split into 256-bit chunks s1..sn (the last may be shorter), output is the XOR
 * of P(si, label, m) with m = ceil(outBits / 160), truncated to outBits.
 */
export function mikeyPrf(inkey: Uint8Array, label: Uint8Array, outBits: number): Buffer {
  return prfWithStates(chunkPadStates(inkey), label, outBits);
}

/** Label for the keys protecting a message (§4.1.4): constant ‖ 0xFF ‖ CSB ID ‖ RAND. */
export function messageKeyLabel(constant: number, csbId: number, rand: Uint8Array): Buffer {
  const l = Buffer.alloc(9 + rand.length);
  l.writeUInt32BE(constant >>> 0, 0);
  l[4] = 0xff;
  l.writeUInt32BE(csbId >>> 0, 5);
  l.set(rand, 9);
  return l;
}

export interface MessageKeys {
  encrKey: Buffer;
  authKey: Buffer;
  saltKey: Buffer;
}

/** Encryption key length in bytes per KEMAC encryption algorithm. */
export function encrKeyLength(encrAlg: number): number {
  return encrAlg === 3 ? 32 : 16;
}

/** Authentication key length in bytes per MAC algorithm (TS 33.246 §6.4.1: 160 bits for HMAC-SHA-1). */
export function authKeyLength(macAlg: number): number {
  return macAlg === 2 ? 32 : 20;
}

/**
 * Derive encryption, authentication and salt keys from the pre-shared key (MBMS: MUK or MSK): the psk's pad states
 * looked up once for the three PRFs, one label buffer with its constant rewritten between them.
 */
export function deriveMessageKeys(psk: Uint8Array, csbId: number, rand: Uint8Array, encrAlg = 1, macAlg = 1): MessageKeys {
  const states = chunkPadStates(psk);
  const label = messageKeyLabel(KEY_DERIVATION_CONSTANT.encryption, csbId, rand);
  const encrKey = prfWithStates(states, label, encrKeyLength(encrAlg) * 8);
  label.writeUInt32BE(KEY_DERIVATION_CONSTANT.authentication >>> 0, 0);
  const authKey = prfWithStates(states, label, authKeyLength(macAlg) * 8);
  label.writeUInt32BE(KEY_DERIVATION_CONSTANT.salt >>> 0, 0);
  const saltKey = prfWithStates(states, label, 112);
  return { encrKey, authKey, saltKey };
}

/** The timestamp value as the 64-bit T of the IV: 32-bit values go into the low half. */
export function timestampAs64(tsValue: Uint8Array): Buffer {
  const t = Buffer.alloc(8);
  const v = Buffer.from(tsValue);
  if (v.length >= 8) v.copy(t, 0, 0, 8);
  else v.copy(t, 8 - v.length);
  return t;
}

/** AES-CM IV (§4.2.3): (S XOR (0x0000 ‖ CSB ID ‖ T)) ‖ 0x0000. */
export function aesCmIv(saltKey: Uint8Array, csbId: number, tsValue: Uint8Array): Buffer {
  const x = Buffer.alloc(14);
  x.writeUInt32BE(csbId >>> 0, 2);
  timestampAs64(tsValue).copy(x, 6);
  const iv = Buffer.alloc(16);
  for (let i = 0; i < 14; i++) iv[i] = (saltKey[i] ?? 0) ^ x[i];
  return iv;
}

/** AES in counter mode; encryption and decryption are the same operation. */
export function aesCm(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  // the keys and counter blocks of MIKEY: in JS, without a native cipher context per message (aes-ctr.ts)
  if ((key.length === 16 || key.length === 32) && iv.length === 16) return aesCtr(key, iv, data);
  const alg = key.length === 32 ? 'aes-256-ctr' : 'aes-128-ctr';
  // a stream mode: update() gives every byte and final() nothing (no copy into a concatenation)
  return createCipheriv(alg, key, iv).update(data);
}

/** RFC 3394 AES key wrap (default IV). Plaintext must be a multiple of 8 bytes, at least 16. */
export function aesKeyWrap(kek: Uint8Array, plaintext: Uint8Array): Buffer {
  const c = createCipheriv('id-aes128-wrap', kek, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'));
  return Buffer.concat([c.update(plaintext), c.final()]);
}

/** RFC 3394 AES key unwrap; null when the integrity check fails or the length is not valid. Never throws. */
export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Buffer | null {
  if (wrapped.length < 24 || wrapped.length % 8 !== 0 || kek.length !== 16) return null;
  try {
    const d = createDecipheriv('id-aes128-wrap', kek, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'));
    return Buffer.concat([d.update(wrapped), d.final()]);
  } catch {
    return null;
  }
}

/** Whether computeMac knows the MAC algorithm (NULL, HMAC-SHA-1-160, HMAC-SHA-256-256): it gives null for others. */
export function macAlgorithmKnown(macAlg: number): boolean {
  return macAlg === 0 || macAlg === 1 || macAlg === 2;
}

/** MAC per KEMAC/V MAC algorithm; NULL gives an empty MAC; unknown algorithms give null. */
export function computeMac(macAlg: number, authKey: Uint8Array, ...parts: Uint8Array[]): Buffer | null {
  if (macAlg === 0) return Buffer.alloc(0);
  const hash = macAlg === 1 ? 'sha1' : macAlg === 2 ? 'sha256' : undefined;
  if (!hash) return null;
  if (macAlg === 1) return hmacSha1(authKey, parts);
  const h = createHmac(hash, authKey);
  for (const p of parts) h.update(p);
  return h.digest();
}

export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/** Encrypt (or decrypt, for AES-CM) KEMAC data per encryption algorithm. */
export function kemacEncrypt(encrAlg: number, keys: MessageKeys, csbId: number, tsValue: Uint8Array, plain: Uint8Array): Buffer | null {
  if (encrAlg === 0) return Buffer.from(plain);
  if (encrAlg === 1 || encrAlg === 3) return aesCm(keys.encrKey, aesCmIv(keys.saltKey, csbId, tsValue), plain);
  if (encrAlg === 2) {
    const padded = Buffer.alloc(Math.max(16, Math.ceil(plain.length / 8) * 8));
    Buffer.from(plain).copy(padded);
    return aesKeyWrap(keys.encrKey, padded);
  }
  return null;
}

export function kemacDecrypt(encrAlg: number, keys: MessageKeys, csbId: number, tsValue: Uint8Array, data: Uint8Array): Buffer | null {
  if (encrAlg === 0) return Buffer.from(data);
  if (encrAlg === 1 || encrAlg === 3) return aesCm(keys.encrKey, aesCmIv(keys.saltKey, csbId, tsValue), data);
  if (encrAlg === 2) return aesKeyUnwrap(keys.encrKey, data);
  return null;
}
