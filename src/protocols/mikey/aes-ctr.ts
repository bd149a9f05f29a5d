/**
 * AES-128/256 in counter mode (FIPS 197, NIST SP 800-38A; the OpenSSL aes-*-ctr counter: the whole 16-byte block
 * incremented as one big-endian number) for the short KEMAC data of MIKEY (RFC 3830 §4.2.3, AES-CM: one to three
 * blocks per message). Written here rather than taken from node:crypto for the same reason as hmac-sha1.ts: the cost of
 * a MIKEY decryption is set-up, not ciphering — createCipheriv costs ≈ 5–10 µs per call on the lab machine whatever
 * the length (a native cipher context per call; the key is new with every message's RAND, so a context cannot be
 * kept), ≈ 3 % of `analyze --keys` (issue #14 round 5, docs/performance.md). No AES package is among the project's
 * dependencies. Checked against node:crypto in test/protocols/mikey/aes-ctr.test.ts (FIPS 197 and SP 800-38A vectors,
 * random keys, counters and lengths).
 */

/** The S-box and the four encryption T-tables (T[x] = the MixColumns column of S[x], rotated per table). */
const SBOX = new Uint8Array(256);
const T0 = new Int32Array(256);
const T1 = new Int32Array(256);
const T2 = new Int32Array(256);
const T3 = new Int32Array(256);

(function makeTables(): void {
  // powers and logarithms of 3 in GF(2^8), then the S-box as the affine map of the multiplicative inverse
  const exp = new Uint8Array(256);
  const log = new Uint8Array(256);
  let x = 1;
  for (let i = 0; i < 255; i++) {
    exp[i] = x;
    log[x] = i;
    x ^= (x << 1) ^ ((x & 0x80) !== 0 ? 0x11b : 0);
    x &= 0xff;
  }
  for (let i = 0; i < 256; i++) {
    const inv = i === 0 ? 0 : exp[(255 - log[i]) % 255];
    let s = inv;
    for (let r = 1; r < 5; r++) s ^= ((inv << r) | (inv >>> (8 - r))) & 0xff;
    SBOX[i] = s ^ 0x63;
  }
  for (let i = 0; i < 256; i++) {
    const s = SBOX[i];
    const s2 = ((s << 1) ^ ((s & 0x80) !== 0 ? 0x11b : 0)) & 0xff;
    const s3 = s2 ^ s;
    const t = (s2 << 24) | (s << 16) | (s << 8) | s3;
    T0[i] = t;
    T1[i] = (t >>> 8) | (t << 24);
    T2[i] = (t >>> 16) | (t << 16);
    T3[i] = (t >>> 24) | (t << 8);
  }
})();

/** The expanded key, reused (nothing here is re-entrant): room for AES-256's 60 words. */
const schedule = new Int32Array(60);

/** The expanded key (FIPS 197 §5.2) of a 16- or 32-byte key into `schedule`: 4 × (rounds + 1) words. Returns rounds. */
function expandKey(key: Uint8Array): number {
  const nk = key.length >>> 2;
  const rounds = nk + 6;
  const w = schedule;
  const words = 4 * (rounds + 1);
  for (let i = 0; i < nk; i++) w[i] = (key[4 * i] << 24) | (key[4 * i + 1] << 16) | (key[4 * i + 2] << 8) | key[4 * i + 3];
  let rcon = 1;
  for (let i = nk; i < words; i++) {
    let t = w[i - 1];
    if (i % nk === 0) {
      t = (SBOX[(t >>> 16) & 0xff] << 24) | (SBOX[(t >>> 8) & 0xff] << 16) | (SBOX[t & 0xff] << 8) | SBOX[t >>> 24];
      t ^= rcon << 24;
      rcon = ((rcon << 1) ^ ((rcon & 0x80) !== 0 ? 0x11b : 0)) & 0xff;
    } else if (nk > 6 && i % nk === 4) {
      t = (SBOX[t >>> 24] << 24) | (SBOX[(t >>> 16) & 0xff] << 16) | (SBOX[(t >>> 8) & 0xff] << 8) | SBOX[t & 0xff];
    }
    w[i] = w[i - nk] ^ t;
  }
  return rounds;
}

/** One block of keystream: the encrypted counter, as four big-endian words into `out`. */
const ks = new Int32Array(4);

function encryptBlock(rounds: number, c0: number, c1: number, c2: number, c3: number): void {
  const w = schedule;
  let s0 = c0 ^ w[0];
  let s1 = c1 ^ w[1];
  let s2 = c2 ^ w[2];
  let s3 = c3 ^ w[3];
  let k = 4;
  for (let r = 1; r < rounds; r++) {
    const t0 = T0[s0 >>> 24] ^ T1[(s1 >>> 16) & 0xff] ^ T2[(s2 >>> 8) & 0xff] ^ T3[s3 & 0xff] ^ w[k];
    const t1 = T0[s1 >>> 24] ^ T1[(s2 >>> 16) & 0xff] ^ T2[(s3 >>> 8) & 0xff] ^ T3[s0 & 0xff] ^ w[k + 1];
    const t2 = T0[s2 >>> 24] ^ T1[(s3 >>> 16) & 0xff] ^ T2[(s0 >>> 8) & 0xff] ^ T3[s1 & 0xff] ^ w[k + 2];
    const t3 = T0[s3 >>> 24] ^ T1[(s0 >>> 16) & 0xff] ^ T2[(s1 >>> 8) & 0xff] ^ T3[s2 & 0xff] ^ w[k + 3];
    s0 = t0;
    s1 = t1;
    s2 = t2;
    s3 = t3;
    k += 4;
  }
  // the last round has no MixColumns
  ks[0] = ((SBOX[s0 >>> 24] << 24) | (SBOX[(s1 >>> 16) & 0xff] << 16) | (SBOX[(s2 >>> 8) & 0xff] << 8) | SBOX[s3 & 0xff]) ^ w[k];
  ks[1] = ((SBOX[s1 >>> 24] << 24) | (SBOX[(s2 >>> 16) & 0xff] << 16) | (SBOX[(s3 >>> 8) & 0xff] << 8) | SBOX[s0 & 0xff]) ^ w[k + 1];
  ks[2] = ((SBOX[s2 >>> 24] << 24) | (SBOX[(s3 >>> 16) & 0xff] << 16) | (SBOX[(s0 >>> 8) & 0xff] << 8) | SBOX[s1 & 0xff]) ^ w[k + 2];
  ks[3] = ((SBOX[s3 >>> 24] << 24) | (SBOX[(s0 >>> 16) & 0xff] << 16) | (SBOX[(s1 >>> 8) & 0xff] << 8) | SBOX[s2 & 0xff]) ^ w[k + 3];
}

function word(b: Uint8Array, at: number): number {
  return (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}

/**
 * `data` XOR the AES-CTR keystream of `key` (16 or 32 bytes) from the 16-byte counter block `iv`: a new Buffer of
 * data's length. Encryption and decryption are the same operation.
 */
export function aesCtr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  if ((key.length !== 16 && key.length !== 32) || iv.length !== 16) throw new RangeError('AES-CTR: key of 16 or 32 bytes and a 16-byte counter block');
  const rounds = expandKey(key);
  let c0 = word(iv, 0);
  let c1 = word(iv, 4);
  let c2 = word(iv, 8);
  let c3 = word(iv, 12);
  const out = Buffer.allocUnsafe(data.length);
  for (let at = 0; at < data.length; at += 16) {
    encryptBlock(rounds, c0, c1, c2, c3);
    const n = Math.min(16, data.length - at);
    for (let i = 0; i < n; i++) out[at + i] = data[at + i] ^ ((ks[i >>> 2] >>> (24 - 8 * (i & 3))) & 0xff);
    // the 128-bit counter, carried across its words
    c3 = (c3 + 1) | 0;
    if (c3 === 0) {
      c2 = (c2 + 1) | 0;
      if (c2 === 0) {
        c1 = (c1 + 1) | 0;
        if (c1 === 0) c0 = (c0 + 1) | 0;
      }
    }
  }
  return out;
}
