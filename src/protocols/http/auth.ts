/**
 * HTTP authentication headers (RFC 7235 §2.1 / RFC 9110 §11): WWW-Authenticate, Proxy-Authenticate, Authorization,
 * Proxy-Authorization, Authentication-Info and Proxy-Authentication-Info. Every parameter is kept, in order, with
 * duplicates and unknown names: the point is to show what was sent, not what a server would accept.
 */
import type { Problem } from '../../common/problem';
import { httpProblem } from './problems';
import { escapeText } from '../../common/escape';
import { isTcharCode } from '../../common/ascii';
import { LowerCaseNames, lowerName } from './names';

export interface AuthParam {
  /** The name as sent (compare with `lower`). */
  name: string;
  lower: string;
  /** Unquoted, unescaped value. */
  value: string;
  /** True when the value was a quoted-string. */
  quoted: boolean;
}

export type AuthHeaderName =
  | 'www-authenticate'
  | 'proxy-authenticate'
  | 'authorization'
  | 'proxy-authorization'
  | 'authentication-info'
  | 'proxy-authentication-info';

/** One challenge (WWW-/Proxy-Authenticate) or one set of credentials (Authorization / Proxy-Authorization). */
export interface AuthScheme {
  header: AuthHeaderName;
  /** Scheme as sent, e.g. `Digest`. */
  scheme: string;
  /** RFC 7235 token68 form (e.g. Basic credentials); absent for auth-param lists. */
  token68?: string;
  params: AuthParam[];
}

/** Authentication-Info / Proxy-Authentication-Info: a bare auth-param list. */
export interface AuthInfo {
  header: AuthHeaderName;
  params: AuthParam[];
}

/** First value of a parameter, names compared case-insensitively. */
export function authParam(params: readonly AuthParam[], name: string): string | undefined {
  const lower = lowerToken(name);
  for (const p of params) if (p.lower === lower) return p.value;
  return undefined;
}

/** Strings by length, for sliceKnown. */
type KnownStrings = (readonly string[] | undefined)[];

function byLength(list: readonly string[]): KnownStrings {
  const out: KnownStrings = [];
  for (const t of list) out[t.length] = [...(out[t.length] ?? []), t];
  return out;
}

/** Tokens sent in nearly every authentication header: schemes and Digest parameter names. */
const KNOWN_TOKENS = byLength(['Digest', 'Basic', 'username', 'realm', 'nonce', 'uri', 'response', 'algorithm', 'cnonce', 'opaque', 'qop', 'nc', 'stale', 'domain', 'userhash', 'rspauth', 'nextnonce', 'charset']);
/**
 * Lower case of the known tokens without a new string: names are found by identity of the shared strings token()
 * gives, and of the literals callers pass.
 */
const KNOWN_TOKENS_LOWER = new LowerCaseNames(KNOWN_TOKENS.flatMap((list) => list ?? [])).withLower(['username*', 'digest', 'basic']);

function lowerToken(name: string): string {
  return KNOWN_TOKENS_LOWER.lower(name);
}

/** Digest parameter values sent in nearly every header (qop, algorithm, stale, userhash). */
const KNOWN_VALUES = byLength(['auth', 'auth-int', 'MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'true', 'false', 'UTF-8']);

/** s.slice(start, end), or the equal string of `known` (shared, not a new string per header). */
function sliceKnown(s: string, start: number, end: number, known: KnownStrings): string {
  const len = end - start;
  const list = len < known.length ? known[len] : undefined;
  if (list !== undefined) for (const k of list) if (s.startsWith(k, start)) return k;
  return s.slice(start, end);
}

class Cursor {
  pos = 0;
  constructor(readonly s: string) {}
  get done(): boolean {
    return this.pos >= this.s.length;
  }
  peek(): string {
    return this.s[this.pos] ?? '';
  }
  skipWs(): void {
    while (this.pos < this.s.length && (this.s[this.pos] === ' ' || this.s[this.pos] === '\t')) this.pos++;
  }
  skipWsAndCommas(): void {
    while (this.pos < this.s.length && (this.s[this.pos] === ' ' || this.s[this.pos] === '\t' || this.s[this.pos] === ',')) this.pos++;
  }
  /** Position of the next backslash at or after pos, -1 when none (one scan of the value, not one per quoted string). */
  private bs = -2;
  nextBackslash(): number {
    if (this.bs === -1) return -1;
    if (this.bs < this.pos) this.bs = this.s.indexOf('\\', this.pos);
    return this.bs;
  }
  token(): string {
    const start = this.pos;
    const s = this.s;
    while (this.pos < s.length && isTcharCode(s.charCodeAt(this.pos))) this.pos++;
    // the schemes and Digest parameter names as sent by every client: shared strings, not a slice per parameter
    return sliceKnown(s, start, this.pos, KNOWN_TOKENS);
  }
}

/** Reads a quoted-string starting at the opening quote; backslash escapes any character (RFC 9110 quoted-pair). */
function readQuoted(c: Cursor, problems: Problem[], header: string): string {
  const start = c.pos;
  c.pos++; // opening quote
  // the common case, no quoted-pair: one slice instead of a string built a character at a time
  const close = c.s.indexOf('"', c.pos);
  if (close >= 0) {
    const bs = c.nextBackslash();
    if (bs < 0 || bs > close) {
      const v = sliceKnown(c.s, c.pos, close, KNOWN_VALUES);
      c.pos = close + 1;
      return v;
    }
  }
  let out = '';
  while (c.pos < c.s.length) {
    const ch = c.s[c.pos];
    if (ch === '\\') {
      if (c.pos + 1 < c.s.length) out += c.s[c.pos + 1];
      c.pos += 2;
      continue;
    }
    if (ch === '"') {
      c.pos++;
      return out;
    }
    out += ch;
    c.pos++;
  }
  problems.push(httpProblem('http-auth-unterminated-quote', `${header}: quoted string not terminated`, start));
  return out;
}

/** Reads an unquoted value: a token, tolerating the non-token characters real clients send (up to , or end). */
function readBareValue(c: Cursor, problems: Problem[], header: string, name: string): string {
  const start = c.pos;
  const s = c.s;
  const comma = s.indexOf(',', start);
  c.pos = comma < 0 ? s.length : comma;
  // trailing blanks dropped before the one slice (was a slice, then a regular-expression replace)
  let e = c.pos;
  while (e > start && (s.charCodeAt(e - 1) === 0x20 || s.charCodeAt(e - 1) === 0x09)) e--;
  const v = sliceKnown(s, start, e, KNOWN_VALUES);
  for (let i = start; i < e; i++) {
    if (!isTcharCode(s.charCodeAt(i))) {
      problems.push(
        httpProblem('http-auth-bad-token', `${header}: value of ${escapeText(name)} is not a token: ${escapeText(v, 80)}`, start),
      );
      break;
    }
  }
  return v;
}

/** After `name`, skips BWS and tells whether an `=` follows (without consuming it). */
function equalsFollows(c: Cursor): boolean {
  let p = c.pos;
  while (p < c.s.length && (c.s[p] === ' ' || c.s[p] === '\t')) p++;
  return c.s[p] === '=';
}

function parseParamValue(c: Cursor, name: string, problems: Problem[], header: string): AuthParam {
  c.skipWs();
  c.pos++; // '='
  c.skipWs();
  let value: string;
  let quoted = false;
  if (c.peek() === '"') {
    value = readQuoted(c, problems, header);
    quoted = true;
    c.skipWs();
    if (!c.done && c.peek() !== ',') {
      problems.push(httpProblem('http-auth-junk', `${header}: unexpected text after quoted value of ${escapeText(name)}`, c.pos));
      while (!c.done && c.peek() !== ',') c.pos++;
    }
  } else {
    value = readBareValue(c, problems, header, name);
  }
  return { name, lower: lowerToken(name), value, quoted };
}

/** token68 (e.g. Basic credentials): token68 characters, '=' padding only at the end, then a comma or the end. */
const TOKEN68 = /^([A-Za-z0-9\-._~+/]+=*)[ \t]*(?:,|$)/;
/** TOKEN68 at lastIndex of the whole value (the same match when the value ends within the window). */
const TOKEN68_AT = /([A-Za-z0-9\-._~+/]+=*)[ \t]*(?:,|$)/y;
/** How far past the scheme token68 is looked for. */
const TOKEN68_WINDOW = 65536;

/**
 * Parses a challenge list (WWW-Authenticate / Proxy-Authenticate value) or a credentials value. A value may hold several
 * schemes: `Basic realm="x", Digest realm="y", nonce="z"`. Never throws. Problem offsets count from the start of
 * `value` (parseAuthHeaders moves them to message offsets).
 */
export function parseAuthSchemes(value: string, header: AuthHeaderName, problems: Problem[]): AuthScheme[] {
  const out: AuthScheme[] = [];
  const c = new Cursor(value);
  let current: AuthScheme | undefined;
  let guard = 0;
  while (guard++ < 100_000) {
    c.skipWsAndCommas();
    if (c.done) break;
    const start = c.pos;
    const tok = c.token();
    if (tok === '') {
      problems.push(httpProblem('http-auth-bad-char', `${header}: unexpected character ${escapeText(c.peek())}`, c.pos));
      while (!c.done && c.peek() !== ',') c.pos++;
      continue;
    }
    if (equalsFollows(c) && current) {
      const p = parseParamValue(c, tok, problems, header);
      if (authParam(current.params, tok) !== undefined)
        problems.push(httpProblem('http-auth-duplicate-param', `${header}: parameter ${escapeText(tok)} repeated`, start));
      current.params.push(p);
      continue;
    }
    if (equalsFollows(c) && !current) {
      problems.push(httpProblem('http-auth-no-scheme', `${header}: parameter ${escapeText(tok)} before any scheme`, start));
      parseParamValue(c, tok, problems, header);
      continue;
    }
    // a new scheme
    current = { header, scheme: tok, params: [] };
    out.push(current);
    c.skipWs();
    // token68 (e.g. Basic credentials): token68 characters, '=' padding only at the end, then a comma or the end
    // read in place (a sticky match at pos), not on a copy of the rest of the value, when that rest is the slice's whole
    let m: RegExpExecArray | null;
    if (value.length - c.pos <= TOKEN68_WINDOW) {
      TOKEN68_AT.lastIndex = c.pos;
      m = TOKEN68_AT.exec(value);
    } else m = TOKEN68.exec(value.slice(c.pos, c.pos + TOKEN68_WINDOW));
    if (m) {
      current.token68 = m[1];
      c.pos += m[1].length;
    }
  }
  return out;
}

/** Parses an Authentication-Info value (a bare auth-param list). */
export function parseAuthInfo(value: string, header: AuthHeaderName, problems: Problem[]): AuthInfo {
  const info: AuthInfo = { header, params: [] };
  const c = new Cursor(value);
  let guard = 0;
  while (guard++ < 100_000) {
    c.skipWsAndCommas();
    if (c.done) break;
    const start = c.pos;
    const tok = c.token();
    if (tok === '' || !equalsFollows(c)) {
      problems.push(httpProblem('http-auth-bad-param', `${header}: expected name=value at ${escapeText(value.slice(start, start + 40))}`, start));
      if (tok === '') c.pos++;
      while (!c.done && c.peek() !== ',') c.pos++;
      continue;
    }
    const p = parseParamValue(c, tok, problems, header);
    if (authParam(info.params, tok) !== undefined)
      problems.push(httpProblem('http-auth-duplicate-param', `${header}: parameter ${escapeText(tok)} repeated`, start));
    info.params.push(p);
  }
  return info;
}

/**
 * RFC 8187 (ex RFC 5987) ext-value: charset'[language]'pct-encoded. Returns the decoded text or undefined when malformed.
 * UTF-8 and ISO-8859-1 are the charsets the RFC requires; others are refused.
 */
export function decodeExtValue(v: string): string | undefined {
  const m = /^([!#$%&+\-^_`{}~0-9A-Za-z]+)'([^']*)'(.*)$/.exec(v);
  if (!m) return undefined;
  const charset = m[1].toLowerCase();
  const enc = m[3];
  const bytes: number[] = [];
  for (let i = 0; i < enc.length; i++) {
    const ch = enc[i];
    if (ch === '%') {
      const hex = enc.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      const code = ch.charCodeAt(0);
      if (code > 0x7e || code <= 0x20) return undefined;
      bytes.push(code);
    }
  }
  const buf = Buffer.from(bytes);
  if (charset === 'utf-8') {
    const s = buf.toString('utf8');
    return s.includes('\ufffd') && !buf.includes(Buffer.from([0xef, 0xbf, 0xbd])) ? undefined : s;
  }
  if (charset === 'iso-8859-1') return buf.toString('latin1');
  return undefined;
}

/** Digest view of a challenge's parameters. */
export interface DigestChallengeView {
  realm?: string;
  nonce?: string;
  opaque?: string;
  algorithm?: string;
  /** qop options, split on commas and trimmed. */
  qop?: string[];
  stale?: boolean;
  domain?: string;
  charset?: string;
  userhash?: boolean;
}

function boolParam(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  return v.trim().toLowerCase() === 'true';
}

export function digestChallengeView(ch: AuthScheme): DigestChallengeView {
  const p = ch.params;
  const qop = authParam(p, 'qop');
  return {
    realm: authParam(p, 'realm'),
    nonce: authParam(p, 'nonce'),
    opaque: authParam(p, 'opaque'),
    algorithm: authParam(p, 'algorithm'),
    qop: qop === undefined ? undefined : qop.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    stale: boolParam(authParam(p, 'stale')),
    domain: authParam(p, 'domain'),
    charset: authParam(p, 'charset'),
    userhash: boolParam(authParam(p, 'userhash')),
  };
}

/** Digest view of credentials. */
export interface DigestCredentialsView {
  /** The user name: `username`, or the decoded `username*` when that is present. */
  username?: string;
  /** True when the name came from `username*`. */
  usernameFromExt?: boolean;
  realm?: string;
  nonce?: string;
  uri?: string;
  response?: string;
  algorithm?: string;
  cnonce?: string;
  opaque?: string;
  qop?: string;
  nc?: string;
  /** nc as a number when it is 8 hex digits. */
  ncValue?: number;
  userhash?: boolean;
}

/**
 * Views already made, per credentials: a request's view is asked for by the Digest tracker, the dissector (B-TID to
 * the MIKEY tracker), the correlator and the printers — the same object each time, made once. Callers only read it;
 * params are complete when the header has been parsed. A call that collects problems makes the view again, so its
 * problems are reported as before.
 */
const credentialsViews = new WeakMap<AuthScheme, DigestCredentialsView>();

export function digestCredentialsView(cr: AuthScheme, problems?: Problem[]): DigestCredentialsView {
  if (problems === undefined) {
    const known = credentialsViews.get(cr);
    if (known !== undefined) return known;
  }
  const p = cr.params;
  let username = authParam(p, 'username');
  let usernameFromExt: boolean | undefined;
  const ext = authParam(p, 'username*');
  if (ext !== undefined) {
    const dec = decodeExtValue(ext);
    if (dec === undefined) problems?.push(httpProblem('http-auth-bad-ext-value', `username* is not a valid RFC 5987 ext-value: ${escapeText(ext, 80)}`));
    else {
      if (username !== undefined) problems?.push(httpProblem('http-auth-username-twice', 'both username and username* present'));
      username = dec;
      usernameFromExt = true;
    }
  }
  const nc = authParam(p, 'nc');
  let ncValue: number | undefined;
  if (nc !== undefined) {
    if (/^[0-9a-fA-F]{8}$/.test(nc)) ncValue = parseInt(nc, 16);
    else problems?.push(httpProblem('http-digest-bad-nc', `nc is not 8 hex digits: ${escapeText(nc, 40)}`));
  }
  const v: DigestCredentialsView = {
    username,
    realm: authParam(p, 'realm'),
    nonce: authParam(p, 'nonce'),
    uri: authParam(p, 'uri'),
    response: authParam(p, 'response'),
    algorithm: authParam(p, 'algorithm'),
    cnonce: authParam(p, 'cnonce'),
    opaque: authParam(p, 'opaque'),
    qop: authParam(p, 'qop'),
    nc,
    ncValue,
    userhash: boolParam(authParam(p, 'userhash')),
  };
  if (usernameFromExt) v.usernameFromExt = true;
  credentialsViews.set(cr, v);
  return v;
}

export interface AuthInfoView {
  rspauth?: string;
  cnonce?: string;
  nc?: string;
  qop?: string;
  nextnonce?: string;
}

export function authInfoView(info: AuthInfo): AuthInfoView {
  const p = info.params;
  return {
    rspauth: authParam(p, 'rspauth'),
    cnonce: authParam(p, 'cnonce'),
    nc: authParam(p, 'nc'),
    qop: authParam(p, 'qop'),
    nextnonce: authParam(p, 'nextnonce'),
  };
}

/** All authentication data of one HTTP message, every header of each kind, in order. */
export interface HttpAuthData {
  /** From WWW-Authenticate and Proxy-Authenticate (see `header`). */
  challenges: AuthScheme[];
  /** From Authorization and Proxy-Authorization. */
  credentials: AuthScheme[];
  /** From Authentication-Info and Proxy-Authentication-Info. */
  info: AuthInfo[];
}

const CHALLENGE_HEADERS = new Set(['www-authenticate', 'proxy-authenticate']);
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization']);
const INFO_HEADERS = new Set(['authentication-info', 'proxy-authentication-info']);

/**
 * Extracts the authentication headers of a message; undefined when it has none. The syntax problems of a value carry
 * offsets inside that value; with `valueOffset` (the value's offset in the message, as the HTTP parser records it)
 * they are moved to count from the start of the message, as every HTTP problem does. Without it they lose the offset.
 */
export function parseAuthHeaders(headers: readonly { name: string; value: string; valueOffset?: number }[], problems: Problem[]): HttpAuthData | undefined {
  let data: HttpAuthData | undefined;
  for (const h of headers) {
    // only names as long as an auth header's are lowered (most headers are not auth headers)
    const n = h.name.length;
    if (n !== 13 && n !== 16 && n !== 18 && n !== 19 && n !== 25) continue;
    const lower = lowerName(h.name);
    const from = problems.length;
    if (CHALLENGE_HEADERS.has(lower)) {
      data ??= { challenges: [], credentials: [], info: [] };
      data.challenges.push(...parseAuthSchemes(h.value, lower as AuthHeaderName, problems));
    } else if (CREDENTIAL_HEADERS.has(lower)) {
      data ??= { challenges: [], credentials: [], info: [] };
      const schemes = parseAuthSchemes(h.value, lower as AuthHeaderName, problems);
      if (schemes.length > 1)
        problems.push(httpProblem('http-auth-multiple-credentials', `${lower} carries ${schemes.length} schemes; one is allowed`));
      data.credentials.push(...schemes);
    } else if (INFO_HEADERS.has(lower)) {
      data ??= { challenges: [], credentials: [], info: [] };
      data.info.push(parseAuthInfo(h.value, lower as AuthHeaderName, problems));
    }
    for (let i = from; i < problems.length; i++) {
      const p = problems[i];
      if (p.offset === undefined) continue;
      // positions inside the value count characters; header values are ASCII in practice, so characters are bytes
      if (h.valueOffset !== undefined) p.offset += h.valueOffset;
      else delete p.offset;
    }
  }
  return data;
}

export function isDigest(s: AuthScheme): boolean {
  const scheme = s.scheme;
  return scheme.length === 6 && (scheme === 'Digest' || scheme.toLowerCase() === 'digest');
}
