/**
 * Character classes and comparisons by character code, shared by the protocol readers (HTTP parser and
 * authentication headers, MBMS XML, the HTTP tracker): one definition each, no strings made.
 */

/** RFC 9110 tchar ([!#$%&'*+\-.^_`|~0-9A-Za-z]), by character code. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

/** An RFC 9110 tchar. */
export function isTcharCode(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

/**
 * What `\s` matches and String.prototype.trim removes (ECMAScript WhiteSpace and LineTerminator), so a reader that
 * trims by hand trims as the library path does.
 */
export function isJsSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * `s.slice(at, at + lower.length)` equals `lower` (lower-case ASCII) ignoring ASCII case, without a copy: what
 * `toLowerCase() === lower` gives on Latin-1 text, where no letter outside ASCII lower-cases into ASCII. The caller
 * checks the lengths.
 */
export function sameLowerAt(s: string, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = s.charCodeAt(at + i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}
