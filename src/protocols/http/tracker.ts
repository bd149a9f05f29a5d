/**
 * Digest checks across a capture: verification of `response` and `rspauth` with known passwords, nonce and nc
 * bookkeeping, failed and stale authentications, and the MBMS Digest profile (TS 33.246 §6.2.1.3, Annex H).
 * Feed every HTTP message in capture order.
 *
 * Unknown nonce rule: credentials whose nonce no earlier challenge (WWW-/Proxy-Authenticate) or Authentication-Info
 * `nextnonce` in the capture carried. `nonce-unknown` (warning) when a challenge for the same realm was seen earlier in
 * the capture (so the challenge should have been seen too); `nonce-unseen` (chat) otherwise (the conversation most
 * likely started before the capture did).
 */
import type { Problem } from '../../common/problem';
import { httpProblem } from './problems';
import { escapeText } from '../../common/escape';
import { header } from './names';
import {
  authInfoView,
  authParam,
  digestChallengeView,
  digestCredentialsView,
  isDigest,
  type AuthInfo,
  type AuthScheme,
  type DigestCredentialsView,
} from './auth';
import {
  computeDigestResponse,
  computeUserhash,
  digestAlgorithm,
  sameHex,
  type DigestAlgorithm,
  type DigestPasswordSource,
} from './digest';
import type { HttpMessage } from './types';
import { ownString } from '../../common/own-string';
import { trimOldest } from '../../common/oldest-key';

export interface DigestTrackerOptions {
  passwords?: DigestPasswordSource;
  /** Apply the MBMS Digest profile checks: to MBMS-looking exchanges (auto, default), to all, or never. */
  mbmsProfile?: 'auto' | 'always' | 'never';
  /** Nonces remembered (challenged nonces and nc per nonce); the oldest are forgotten beyond this. */
  maxNonces?: number;
}

export interface DigestCheck {
  /** true: every Digest value checked matched; false: one did not; null: nothing could be checked (no password). */
  verified: boolean | null;
  problems: Problem[];
}

interface ResolvedUser {
  username: string;
  password: string;
}

/** Keys are nonces and realms sliced from header values: stored as their own strings (see ownString). */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(ownString(key), value);
  trimOldest(map, max);
}

const REALM_PREFIX = '3gpp-bootstrapping@';

export class DigestTracker {
  private readonly challenged = new Map<string, { realm?: string; frame: number }>();
  private readonly lastNc = new Map<string, number>();
  private readonly realmsChallenged = new Map<string, number>();
  private readonly maxNonces: number;

  constructor(private readonly options: DigestTrackerOptions = {}) {
    this.maxNonces = options.maxNonces ?? 10_000;
  }

  /** Checks one message; also stores the result in `msg.verified` and appends the findings to `msg.problems`. */
  observe(msg: HttpMessage): DigestCheck {
    const problems: Problem[] = [];
    const results: (boolean | null)[] = [];
    if (msg.kind === 'request') this.observeRequest(msg, problems, results);
    else this.observeResponse(msg, problems, results);
    const verified = results.includes(false) ? false : results.includes(true) ? true : null;
    if (results.length > 0) msg.verified = verified;
    msg.problems.push(...problems);
    return { verified, problems };
  }

  private isMbms(msg: HttpMessage): boolean {
    const mode = this.options.mbmsProfile ?? 'auto';
    if (mode !== 'auto') return mode === 'always';
    // called per message: no closure, no scheme array (both were in the profile's allocation top)
    return looksMbms(msg) || (msg.kind !== 'request' && looksMbms(msg.request));
  }

  private observeRequest(msg: HttpMessage, problems: Problem[], results: (boolean | null)[]): void {
    const mbms = this.isMbms(msg);
    if (mbms && !(header(msg, 'user-agent') ?? '').toLowerCase().includes('3gpp-gba'))
      problems.push(httpProblem('mbms-user-agent', 'User-Agent lacks "3gpp-gba" (TS 33.246 Annex H)'));
    for (const cr of msg.auth?.credentials ?? []) {
      if (!isDigest(cr)) continue;
      const v = digestCredentialsView(cr, problems);
      const tag = cr.header === 'proxy-authorization' ? 'Proxy-Authorization' : 'Authorization';
      for (const need of ['username', 'realm', 'nonce', 'uri', 'response'] as const) {
        if (v[need] === undefined) problems.push(httpProblem('digest-missing-param', `${tag} Digest without ${need}`));
      }
      if (v.qop !== undefined && (v.nc === undefined || v.cnonce === undefined))
        problems.push(httpProblem('digest-missing-param', `${tag} has qop=${escapeText(v.qop)} but no nc/cnonce`));
      if (v.uri !== undefined && msg.uri !== undefined && v.uri !== msg.uri)
        problems.push(httpProblem('digest-uri-mismatch', `digest uri ${escapeText(v.uri, 120)} differs from the request target ${escapeText(msg.uri, 120)}`));
      if (v.nonce !== undefined) {
        if (!this.challenged.has(v.nonce)) {
          const seenRealm = v.realm !== undefined && this.realmsChallenged.has(v.realm);
          problems.push(
            httpProblem(
              seenRealm ? 'nonce-unknown' : 'nonce-unseen',
              seenRealm
                ? `nonce ${escapeText(v.nonce, 80)} was never challenged in this capture`
                : `nonce ${escapeText(v.nonce, 80)} not challenged in the capture (conversation may predate it)`,
            ),
          );
          // remember it so later requests with the same nonce are not flagged again
          remember(this.challenged, v.nonce, { realm: v.realm === undefined ? undefined : ownString(v.realm), frame: msg.firstFrame }, this.maxNonces);
        }
        if (v.ncValue !== undefined) {
          const last = this.lastNc.get(v.nonce);
          if (last !== undefined && v.ncValue <= last)
            problems.push(httpProblem('nc-replay', `nc ${escapeText(v.nc ?? '')} not above ${last.toString(16).padStart(8, '0')} already used with this nonce`));
          remember(this.lastNc, v.nonce, Math.max(last ?? 0, v.ncValue), this.maxNonces);
        }
      }
      if (mbms) {
        this.checkRealm(msg, v.realm, problems);
        if (v.qop?.toLowerCase() !== 'auth-int')
          problems.push(httpProblem('mbms-digest-qop', `qop ${escapeText(v.qop ?? '(none)')} used; TS 33.246 uses auth-int`));
      }
      results.push(this.verifyRequest(msg, v, problems));
    }
  }

  private observeResponse(msg: HttpMessage, problems: Problem[], results: (boolean | null)[]): void {
    const mbms = this.isMbms(msg);
    let stale = false;
    for (const ch of msg.auth?.challenges ?? []) {
      if (!isDigest(ch)) continue;
      const v = digestChallengeView(ch);
      if (v.nonce !== undefined) remember(this.challenged, v.nonce, { realm: v.realm === undefined ? undefined : ownString(v.realm), frame: msg.firstFrame }, this.maxNonces);
      if (v.realm !== undefined) remember(this.realmsChallenged, v.realm, msg.firstFrame, this.maxNonces);
      if (v.stale) {
        stale = true;
        problems.push(httpProblem('stale', 'stale nonce: the credentials were right but the nonce expired'));
      }
      if (v.nonce === undefined || v.realm === undefined)
        problems.push(httpProblem('digest-missing-param', 'Digest challenge without realm or nonce'));
      if (v.algorithm !== undefined && !digestAlgorithm(v.algorithm))
        problems.push(httpProblem('digest-unknown-algorithm', `unknown Digest algorithm ${escapeText(v.algorithm, 40)}`));
      if (mbms) {
        this.checkRealm(msg, v.realm, problems);
        const qops = (v.qop ?? []).map((q) => q.toLowerCase());
        if (!qops.includes('auth-int'))
          problems.push(httpProblem('mbms-digest-qop', `qop ${escapeText(v.qop?.join(',') ?? '(none)')} offered; TS 33.246 uses auth-int`));
      }
    }
    const req = msg.request;
    const status = msg.status ?? 0;
    // on an MBMS key-management exchange the analyzer's credentials-rejected owns this fact (one finding per event)
    if (req && (status === 401 || status === 407) && !stale && !mbms) {
      const wanted = status === 401 ? 'authorization' : 'proxy-authorization';
      if ((req.auth?.credentials ?? []).some((c) => c.header === wanted))
        problems.push(httpProblem('auth-failed', `${status} answering a request that carried credentials (frame ${req.firstFrame})`));
    }
    for (const info of msg.auth?.info ?? []) {
      const iv = authInfoView(info);
      if (iv.nextnonce !== undefined) remember(this.challenged, iv.nextnonce, { frame: msg.firstFrame }, this.maxNonces);
      if (iv.rspauth !== undefined) results.push(this.verifyRspauth(msg, info, problems));
    }
  }

  private checkRealm(msg: HttpMessage, realm: string | undefined, problems: Problem[]): void {
    if (realm === undefined) return;
    if (!realm.toLowerCase().startsWith(REALM_PREFIX)) {
      problems.push(httpProblem('mbms-digest-realm', `realm ${escapeText(realm, 120)} is not 3GPP-bootstrapping@<BM-SC host>`));
      return;
    }
    const host = realm.slice(REALM_PREFIX.length).toLowerCase();
    const req = msg.kind === 'request' ? msg : msg.request;
    const hostHeader = req ? header(req, 'host') : undefined;
    if (hostHeader === undefined) return;
    const bmsc = bmscHost(hostHeader);
    if (host !== bmsc)
      problems.push(httpProblem('mbms-digest-realm', `realm host ${escapeText(host, 120)} is not the BM-SC host ${escapeText(bmsc, 120)}`));
  }

  private resolveUser(v: DigestCredentialsView, algorithm: DigestAlgorithm): ResolvedUser | undefined {
    const src = this.options.passwords;
    if (!src || v.username === undefined) return undefined;
    if (v.userhash && v.realm !== undefined && src.usernames) {
      for (const u of src.usernames()) {
        if (sameHex(computeUserhash(algorithm, u, v.realm), v.username)) {
          const pw = src.passwordFor(u);
          if (pw !== undefined) return { username: u, password: pw };
        }
      }
      return undefined;
    }
    const pw = src.passwordFor(v.username);
    return pw === undefined ? undefined : { username: v.username, password: pw };
  }

  private verifyRequest(msg: HttpMessage, v: DigestCredentialsView, problems: Problem[]): boolean | null {
    const algorithm = digestAlgorithm(v.algorithm);
    if (!algorithm) {
      problems.push(httpProblem('digest-unknown-algorithm', `unknown Digest algorithm ${escapeText(v.algorithm ?? '', 40)}; not verified`));
      return null;
    }
    if (v.response === undefined || v.realm === undefined || v.nonce === undefined || v.uri === undefined || msg.method === undefined) return null;
    const user = this.resolveUser(v, algorithm);
    if (!user) return null;
    const authInt = v.qop?.toLowerCase() === 'auth-int';
    if (authInt && (msg.bodyTruncated || !msg.complete)) {
      problems.push(httpProblem('digest-body-incomplete', 'qop=auth-int but the body was not captured whole; not verified'));
      return null;
    }
    const expected = computeDigestResponse({
      algorithm,
      username: user.username,
      realm: v.realm,
      password: user.password,
      nonce: v.nonce,
      cnonce: v.cnonce,
      nc: v.nc,
      qop: v.qop,
      method: msg.method,
      uri: v.uri,
      entityBody: msg.body,
    });
    if (sameHex(expected, v.response)) return true;
    problems.push(
      httpProblem('digest-mismatch', `Digest response for ${escapeText(user.username, 120)} does not match the known password (expected ${expected})`),
    );
    return false;
  }

  private verifyRspauth(msg: HttpMessage, info: AuthInfo, problems: Problem[]): boolean | null {
    const iv = authInfoView(info);
    const req = msg.request;
    const wanted = info.header === 'proxy-authentication-info' ? 'proxy-authorization' : 'authorization';
    const cr: AuthScheme | undefined = req?.auth?.credentials.find((c) => c.header === wanted && isDigest(c));
    if (!req || !cr) return null;
    const v = digestCredentialsView(cr);
    const algorithm = digestAlgorithm(v.algorithm);
    if (!algorithm || v.realm === undefined || v.nonce === undefined || v.uri === undefined || iv.rspauth === undefined) return null;
    if (iv.cnonce !== undefined && v.cnonce !== undefined && iv.cnonce !== v.cnonce)
      problems.push(httpProblem('digest-info-mismatch', 'Authentication-Info cnonce differs from the request'));
    if (iv.nc !== undefined && v.nc !== undefined && iv.nc.toLowerCase() !== v.nc.toLowerCase())
      problems.push(httpProblem('digest-info-mismatch', 'Authentication-Info nc differs from the request'));
    const user = this.resolveUser(v, algorithm);
    if (!user) return null;
    const qop = iv.qop ?? v.qop;
    if (qop?.toLowerCase() === 'auth-int' && (msg.bodyTruncated || !msg.complete)) {
      problems.push(httpProblem('digest-body-incomplete', 'qop=auth-int but the response body was not captured whole; rspauth not verified'));
      return null;
    }
    const expected = computeDigestResponse(
      {
        algorithm,
        username: user.username,
        realm: v.realm,
        password: user.password,
        nonce: v.nonce,
        cnonce: iv.cnonce ?? v.cnonce,
        nc: iv.nc ?? v.nc,
        qop,
        method: req.method ?? '',
        uri: v.uri,
        entityBody: msg.body,
      },
      true,
    );
    if (sameHex(expected, iv.rspauth)) return true;
    problems.push(httpProblem('digest-mismatch', `rspauth does not match the known password for ${escapeText(user.username, 120)} (expected ${expected})`));
    return false;
  }
}

/** The last Host header value and the host it names (one B-SC: the same value message after message). */
let lastHostHeader: string | undefined;
let lastBmscHost = '';

/** The host a Host header names: lower case, without port or IPv6 brackets. */
function bmscHost(hostHeader: string): string {
  if (hostHeader !== lastHostHeader) {
    lastBmscHost = hostHeader.trim().toLowerCase().replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    lastHostHeader = hostHeader;
  }
  return lastBmscHost;
}


const KEYMANAGEMENT = /\/keymanagement\b/i;

function mbmsRealm(schemes: readonly AuthScheme[]): boolean {
  for (const s of schemes) if (isDigest(s) && (authParam(s.params, 'realm') ?? '').toLowerCase().startsWith(REALM_PREFIX)) return true;
  return false;
}

/** The message looks like MBMS key management (URI, Content-Type, User-Agent or a 3GPP-bootstrapping realm). */
function looksMbms(m: HttpMessage | undefined): boolean {
  if (!m) return false;
  if (m.uri && KEYMANAGEMENT.test(m.uri)) return true;
  if (m.contentType?.startsWith('application/mbms-')) return true;
  if (header(m, 'user-agent')?.toLowerCase().includes('3gpp-gba')) return true;
  const auth = m.auth;
  return auth !== undefined && (mbmsRealm(auth.challenges) || mbmsRealm(auth.credentials));
}

