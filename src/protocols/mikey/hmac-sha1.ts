/**
 * HMAC-SHA-1 (RFC 2104, FIPS 180-4) for the short inputs of MIKEY: the PRF's blocks (RFC 3830 §4.1.2) and the MACs
 * of MSK/MTK messages and their ACKs. Written here rather than taken from node:crypto or a library because the cost
 * of a MIKEY key check is set-up, not hashing: node:crypto's createHmac costs ≈ 3 µs per call whatever the input
 * (a native object per call), and neither it nor the JS libraries reuse a key's padded states across calls. Here
 * the states after the key's inner and outer pad blocks are computed once per key and kept (a small bounded cache),
 * so an HMAC of a message under 56 bytes is two compression rounds (≈ 0.3 µs). Checked against node:crypto in
 * test/protocols/mikey/hmac-sha1.test.ts.
 */
import { createHash } from 'node:crypto';

/** Keys whose pad states are kept (a message's keys, a MUK, an MSK): cleared when full, so bounded. */
const MAX_CACHED_KEYS = 256;

/** A key's SHA-1 states after its inner and outer pad blocks (never written once made). */
export interface PadStates {
  inner: Int32Array;
  outer: Int32Array;
}

const cache = new Map<string, PadStates>();
/** The message schedule and block buffer: one of each, reused (nothing here is re-entrant). */
const W = new Int32Array(80);
const block = new Uint8Array(64);

function compress(h: Int32Array, b: Uint8Array, off: number): void {
  const w = W;
  for (let i = 0; i < 16; i++) {
    const j = off + i * 4;
    w[i] = (b[j] << 24) | (b[j + 1] << 16) | (b[j + 2] << 8) | b[j + 3];
  }
  for (let i = 16; i < 80; i++) {
    const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
    w[i] = (x << 1) | (x >>> 31);
  }
  let a = h[0];
  let bb = h[1];
  let c = h[2];
  let d = h[3];
  let e = h[4];
  for (let i = 0; i < 80; i++) {
    let f: number;
    let k: number;
    if (i < 20) {
      f = (bb & c) | (~bb & d);
      k = 0x5a827999;
    } else if (i < 40) {
      f = bb ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (i < 60) {
      f = (bb & c) | (bb & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = bb ^ c ^ d;
      k = 0xca62c1d6;
    }
    const t = (((a << 5) | (a >>> 27)) + f + e + k + w[i]) | 0;
    e = d;
    d = c;
    c = (bb << 30) | (bb >>> 2);
    bb = a;
    a = t;
  }
  h[0] = (h[0] + a) | 0;
  h[1] = (h[1] + bb) | 0;
  h[2] = (h[2] + c) | 0;
  h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0;
}

const IV = Int32Array.of(0x67452301, 0xefcdab89, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0);

/** The state after one 64-byte block `key XOR pad`. */
function padState(key: Uint8Array, pad: number): Int32Array {
  const h = Int32Array.from(IV);
  for (let i = 0; i < 64; i++) block[i] = (i < key.length ? key[i] : 0) ^ pad;
  compress(h, block, 0);
  return h;
}

/** The pad states of `key`, from the cache or made and kept there. */
export function padStates(key: Uint8Array): PadStates {
  const id = (Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength)).toString('latin1');
  let s = cache.get(id);
  if (s) return s;
  s = freshPadStates(key);
  if (cache.size >= MAX_CACHED_KEYS) cache.clear();
  cache.set(id, s);
  return s;
}

/** The pad states of `key`, made without the cache (a key used once: no string id, and no cached key pushed out). */
export function freshPadStates(key: Uint8Array): PadStates {
  // a key longer than the block is hashed first (RFC 2104 §2)
  const k = key.length > 64 ? createHash('sha1').update(key).digest() : key;
  return { inner: padState(k, 0x36), outer: padState(k, 0x5c) };
}

/** SHA-1 continued from state `h` (which already took `done` bytes) over `parts`; the digest into `out` at `at`. */
function finish(h: Int32Array, done: number, parts: readonly Uint8Array[], out: Uint8Array, at: number): void {
  let fill = 0;
  let total = done;
  for (const p of parts) {
    total += p.length;
    let i = 0;
    // whole blocks straight from the input when nothing is buffered
    if (fill === 0) {
      while (i + 64 <= p.length) {
        compress(h, p, i);
        i += 64;
      }
    }
    while (i < p.length) {
      // a byte loop, not block.set(p.subarray(...)): the inputs are short, and a Buffer view costs more than the copy
      const n = Math.min(64 - fill, p.length - i);
      for (let j = 0; j < n; j++) block[fill + j] = p[i + j];
      fill += n;
      i += n;
      if (fill === 64) {
        compress(h, block, 0);
        fill = 0;
      }
    }
  }
  block[fill++] = 0x80;
  if (fill > 56) {
    block.fill(0, fill, 64);
    compress(h, block, 0);
    fill = 0;
  }
  block.fill(0, fill, 56);
  const bits = total * 8;
  const hi = Math.floor(bits / 0x100000000);
  const lo = bits >>> 0;
  block[56] = hi >>> 24;
  block[57] = (hi >>> 16) & 0xff;
  block[58] = (hi >>> 8) & 0xff;
  block[59] = hi & 0xff;
  block[60] = lo >>> 24;
  block[61] = (lo >>> 16) & 0xff;
  block[62] = (lo >>> 8) & 0xff;
  block[63] = lo & 0xff;
  compress(h, block, 0);
  for (let i = 0; i < 5; i++) {
    const v = h[i];
    out[at + i * 4] = v >>> 24;
    out[at + i * 4 + 1] = (v >>> 16) & 0xff;
    out[at + i * 4 + 2] = (v >>> 8) & 0xff;
    out[at + i * 4 + 3] = v & 0xff;
  }
}

const innerDigest = new Uint8Array(20);
const state = new Int32Array(5);
const innerParts: Uint8Array[] = [innerDigest];

/** HMAC-SHA-1 of the concatenated `parts` under `key`: a new 20-byte Buffer. */
export function hmacSha1(key: Uint8Array, parts: readonly Uint8Array[]): Buffer {
  const out = Buffer.allocUnsafe(20);
  hmacSha1Into(padStates(key), parts, out, 0);
  return out;
}

/**
 * HMAC-SHA-1 of the concatenated `parts` under the key whose pad states are `s`, written into `out` at `at` (20
 * bytes). `out` may be one of `parts`: the parts are read before the digest is written.
 */
export function hmacSha1Into(s: PadStates, parts: readonly Uint8Array[], out: Uint8Array, at: number): void {
  state.set(s.inner);
  finish(state, 64, parts, innerDigest, 0);
  state.set(s.outer);
  finish(state, 64, innerParts, out, at);
}
