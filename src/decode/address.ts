/**
 * Address formatting is the main per-packet cost of decoding (every record carries its addresses as strings), so it
 * works from precomputed byte→string tables and plain concatenation: no regexes, no arrays, no toString(16) per byte.
 */

const DECIMAL: string[] = [];
/** Two lower-case hex digits, zero-padded: MAC bytes and the low byte of an IPv6 group. */
const HEX2: string[] = [];
/** Lower-case hex without leading zeros: the high byte of an IPv6 group. */
const HEX1: string[] = [];
for (let i = 0; i < 256; i++) {
  DECIMAL.push(String(i));
  HEX2.push(i.toString(16).padStart(2, '0'));
  HEX1.push(i.toString(16));
}

/**
 * A capture holds few distinct MAC and IP addresses compared with its packets, so their strings are cached by numeric
 * value: a hit costs one Map lookup and gives back an already flat string shared by every record. The caches are
 * cleared when full, which bounds them whatever the traffic. Entries per cache: a fixed part of the memory reserve
 * (MEMORY_RESERVE_MB, docs/memory-budgets.md), not derived from --max-memory — a cache, so a smaller one costs only a
 * miss (≈ 0.1 µs). Measured per entry: 94 B for IPv4, 162 B for a MAC, ≈ 250 B for IPv6, so ≤ 2.1 MB for the three
 * at 4 096; at 65 536 (before issue #12) they held up to ≈ 33 MB, and a capture with 135 k UE addresses filled the IPv4
 * one to 6 MB as it went.
 */
const CACHE_LIMIT = 4096;
const ipv4Cache = new Map<number, string>();
const macCache = new Map<number, string>();
const ipv6Cache = new Map<string, string>();

/** Dotted-quad IPv4 address from 4 bytes at `off`. The caller has checked the bounds. */
export function formatIpv4(b: Uint8Array, off: number): string {
  const key = ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
  let s = ipv4Cache.get(key);
  if (s === undefined) {
    s = DECIMAL[b[off]] + '.' + DECIMAL[b[off + 1]] + '.' + DECIMAL[b[off + 2]] + '.' + DECIMAL[b[off + 3]];
    if (ipv4Cache.size >= CACHE_LIMIT) ipv4Cache.clear();
    ipv4Cache.set(key, s);
  }
  return s;
}

/** `aa:bb:cc:dd:ee:ff` from 6 bytes at `off`. */
export function formatMac(b: Uint8Array, off: number): string {
  const key = ((b[off] << 8) | b[off + 1]) * 0x100000000 + (((b[off + 2] << 24) | (b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5]) >>> 0);
  let s = macCache.get(key);
  if (s === undefined) {
    s = HEX2[b[off]] + ':' + HEX2[b[off + 1]] + ':' + HEX2[b[off + 2]] + ':' + HEX2[b[off + 3]] + ':' + HEX2[b[off + 4]] + ':' + HEX2[b[off + 5]];
    if (macCache.size >= CACHE_LIMIT) macCache.clear();
    macCache.set(key, s);
  }
  return s;
}

/** Colon-separated lower-case hex of `len` bytes (link-layer addresses that are not 6 bytes long). */
export function formatHexColons(b: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += i === 0 ? HEX2[b[off + i]] : ':' + HEX2[b[off + i]];
  return s;
}

function group(b: Uint8Array, i: number): string {
  const hi = b[i];
  return hi === 0 ? HEX1[b[i + 1]] : HEX1[hi] + HEX2[b[i + 1]];
}

/**
 * IPv6 address from 16 bytes at `off`, RFC 5952 canonical text: lower case, no leading zeros, the longest run of two or
 * more zero groups (the first one on a tie) replaced by `::`. Like tshark (which uses glibc inet_ntop), IPv4-mapped
 * addresses (::ffff:a.b.c.d, as RFC 5952 section 5 recommends) and the deprecated IPv4-compatible ones (::a.b.c.d, first
 * 96 bits zero, then a non-zero 7th group) end in dotted-quad form.
 */
export function formatIpv6(b: Buffer, off: number): string {
  // keyed by the 16 raw bytes as a latin1 string: one native call, and a hit skips building (and later flattening) the text
  const key = b.toString('latin1', off, off + 16);
  let s = ipv6Cache.get(key);
  if (s === undefined) {
    s = buildIpv6(b, off);
    if (ipv6Cache.size >= CACHE_LIMIT) ipv6Cache.clear();
    ipv6Cache.set(key, s);
  }
  return s;
}

function buildIpv6(b: Uint8Array, off: number): string {
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    const i = off + 2 * g;
    if (b[i] === 0 && b[i + 1] === 0) {
      if (runStart < 0) runStart = g;
      const len = g - runStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
    } else runStart = -1;
  }
  if (bestLen < 2) bestStart = -1;

  if (bestStart === 0) {
    if (bestLen === 5 && b[off + 10] === 0xff && b[off + 11] === 0xff) return '::ffff:' + formatIpv4(b, off + 12);
    if (bestLen === 6) return '::' + formatIpv4(b, off + 12);
  }

  let s = '';
  let g = 0;
  while (g < 8) {
    if (g === bestStart) {
      s += '::';
      g += bestLen;
      continue;
    }
    if (g !== 0 && g !== bestStart + bestLen) s += ':';
    s += group(b, off + 2 * g);
    g++;
  }
  return s;
}
