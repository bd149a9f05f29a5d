/**
 * Digest computation (RFC 7616, with RFC 2617's qop-less form): HA1, HA2, `response` and `rspauth`.
 * Strings are hashed as UTF-8 (RFC 7616 §3.4.1 with charset=UTF-8; identical to ISO-8859-1 for ASCII).
 */
import { hashHex } from '../../common/one-shot-hash';
import { trimOldest } from '../../common/oldest-key';
import { ownString } from '../../common/own-string';

export type DigestHashName = 'md5' | 'sha256' | 'sha512-256';

export interface DigestAlgorithm {
  /** Canonical name: MD5, MD5-sess, SHA-256, SHA-256-sess, SHA-512-256, SHA-512-256-sess. */
  name: string;
  hash: DigestHashName;
  sess: boolean;
}

const ALGORITHMS: Record<string, DigestAlgorithm> = {
  md5: { name: 'MD5', hash: 'md5', sess: false },
  'md5-sess': { name: 'MD5-sess', hash: 'md5', sess: true },
  'sha-256': { name: 'SHA-256', hash: 'sha256', sess: false },
  'sha-256-sess': { name: 'SHA-256-sess', hash: 'sha256', sess: true },
  'sha-512-256': { name: 'SHA-512-256', hash: 'sha512-256', sess: false },
  'sha-512-256-sess': { name: 'SHA-512-256-sess', hash: 'sha512-256', sess: true },
};

/** The algorithm named in a challenge/credentials (absent = MD5, RFC 7616 §3.3); undefined when unknown. */
export function digestAlgorithm(name: string | undefined): DigestAlgorithm | undefined {
  if (name === undefined) return ALGORITHMS.md5;
  return ALGORITHMS[name.trim().toLowerCase()];
}

/** Digest's hashes by the one-shot call (src/common/one-shot-hash.ts: no Hash object per call). */
export function digestHash(hash: DigestHashName, data: string | Uint8Array): string {
  return hashHex(hash, data);
}

export interface DigestInput {
  algorithm: DigestAlgorithm;
  /** The real user name (before any userhash). */
  username: string;
  realm: string;
  password: string;
  nonce: string;
  /** Required with a qop and with -sess algorithms. */
  cnonce?: string;
  /** The nc string exactly as sent (8 hex digits). */
  nc?: string;
  /** `auth`, `auth-int` or absent (RFC 2069 form). */
  qop?: string;
  method: string;
  /** The digest-uri as sent in the credentials' `uri` parameter. */
  uri: string;
  /** Entity body for qop=auth-int (the message body after removing the transfer coding). */
  entityBody?: Uint8Array;
}

/**
 * H(username:realm:password) per user, realm and password (a UE's requests and the BM-SC's rspauth all hash the same
 * A1): remembered for the most recent users, at most this many (a cache, so an evicted entry is only hashed again).
 */
export const HA1_CACHE_ENTRIES = 4096;

/** The H(A1) last computed for a user: kept with what it was computed from (a user's requests repeat all of it). */
interface Ha1Entry {
  hash: DigestHashName;
  realm: string;
  password: string;
  ha1: string;
}

/**
 * Keyed by the user name alone (not a `hash\0user:realm:password` string built, flattened and hashed per call: that
 * was ≈ 1 % of `analyze --keys`), the rest compared; names and realms kept as their own strings (see ownString).
 */
const ha1Cache = new Map<string, Ha1Entry>();

export function computeHA1(inp: DigestInput): string {
  const h = inp.algorithm.hash;
  const e = ha1Cache.get(inp.username);
  let base: string;
  if (e !== undefined && e.hash === h && e.realm === inp.realm && e.password === inp.password) base = e.ha1;
  else {
    base = digestHash(h, `${inp.username}:${inp.realm}:${inp.password}`);
    ha1Cache.set(e === undefined ? ownString(inp.username) : inp.username, { hash: h, realm: ownString(inp.realm), password: inp.password, ha1: base });
    trimOldest(ha1Cache, HA1_CACHE_ENTRIES);
  }
  if (!inp.algorithm.sess) return base;
  return digestHash(h, `${base}:${inp.nonce}:${inp.cnonce ?? ''}`);
}

/** A2 hash. `forRspauth` leaves the method empty (RFC 7616 §3.5: A2 = ":" uri for the Authentication-Info rspauth). */
export function computeHA2(inp: DigestInput, forRspauth = false): string {
  const h = inp.algorithm.hash;
  const method = forRspauth ? '' : inp.method;
  if (inp.qop !== undefined && inp.qop.toLowerCase() === 'auth-int') {
    const bodyHash = digestHash(h, inp.entityBody ?? new Uint8Array(0));
    return digestHash(h, `${method}:${inp.uri}:${bodyHash}`);
  }
  return digestHash(h, `${method}:${inp.uri}`);
}

/** `response` (or, with forRspauth, `rspauth`) in lower-case hex. */
export function computeDigestResponse(inp: DigestInput, forRspauth = false): string {
  const h = inp.algorithm.hash;
  const ha1 = computeHA1(inp);
  const ha2 = computeHA2(inp, forRspauth);
  if (inp.qop === undefined) return digestHash(h, `${ha1}:${inp.nonce}:${ha2}`);
  return digestHash(h, `${ha1}:${inp.nonce}:${inp.nc ?? ''}:${inp.cnonce ?? ''}:${inp.qop}:${ha2}`);
}

/** The hashed user name sent when userhash=true (RFC 7616 §3.4.4). */
export function computeUserhash(algorithm: DigestAlgorithm, username: string, realm: string): string {
  return digestHash(algorithm.hash, `${username}:${realm}`);
}

/** Where passwords come from (the key file, `digest <username> <password…>`, or NAF entries giving an MRK). */
export interface DigestPasswordSource {
  passwordFor(username: string): string | undefined;
  /** All known user names; needed to resolve userhash=true credentials. */
  usernames?(): Iterable<string>;
}

/** A password source from a plain map (tests, small tools). */
export function passwordSourceFromMap(map: ReadonlyMap<string, string> | Record<string, string>): DigestPasswordSource {
  const m = map instanceof Map ? map : new Map(Object.entries(map));
  return { passwordFor: (u) => m.get(u), usernames: () => m.keys() };
}

/** Compares two hex digests, case-insensitively (an analyzer has no timing channel to protect). */
export function sameHex(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}
