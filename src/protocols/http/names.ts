/**
 * Header names and tokens in lower case without a new string per message: the HTTP parser, the authentication header
 * reader and the correlator share these tables and the one header lookup.
 */
import { sameLowerAt } from '../../common/ascii';
import type { HttpMessage } from './types';

/**
 * Names as commonly spelled, mapped to their lower case (toLowerCase makes a new string even when nothing changes);
 * names are found by identity of the shared strings the parser gives, and of the literals callers pass, whose hash V8
 * keeps.
 */
export class LowerCaseNames {
  private readonly map = new Map<string, string>();

  constructor(names: Iterable<string>) {
    for (const n of names) this.map.set(n, n.toLowerCase());
  }

  /** Adds names that are already lower case (mapped to themselves). */
  withLower(names: Iterable<string>): this {
    for (const n of names) this.map.set(n, n);
    return this;
  }

  lower(name: string): string {
    return this.map.get(name) ?? name.toLowerCase();
  }
}

/**
 * Header names as MBMS clients and servers spell them: the parser shares these strings (a name sent exactly so is
 * this string, not a new one per header line).
 */
export const HEADER_SPELLINGS: readonly string[] = [
  'Host', 'User-Agent', 'Accept', 'Accept-Encoding', 'Connection', 'Content-Type', 'Content-Length', 'Date', 'Server',
  'Authorization', 'WWW-Authenticate', 'Authentication-Info', 'Expect', 'Transfer-Encoding', 'Cache-Control',
  'host', 'user-agent', 'accept', 'accept-encoding', 'connection', 'content-type', 'content-length', 'date', 'server',
  'authorization', 'www-authenticate', 'authentication-info', 'expect', 'transfer-encoding', 'cache-control', 'X-3GPP-Intended-Identity',
];

/** The header names above, and the other authentication header spellings. */
const HEADER_LOWER = new LowerCaseNames([
  ...HEADER_SPELLINGS,
  'Www-Authenticate', 'Proxy-Authenticate', 'Proxy-Authorization', 'Proxy-Authentication-Info',
  'proxy-authenticate', 'proxy-authorization', 'proxy-authentication-info',
]);

/** A header name in lower case; a known name's without making a string. */
export function lowerName(name: string): string {
  return HEADER_LOWER.lower(name);
}

/** First value of a header; `name` in lower case. Names of another length are skipped without a lower-case copy. */
export function header(msg: HttpMessage, name: string): string | undefined {
  for (const h of msg.headers) if (h.name.length === name.length && (h.name === name || sameLowerAt(h.name, 0, name))) return h.value;
  return undefined;
}
