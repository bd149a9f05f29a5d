/**
 * Text that came from a packet must never reach a terminal raw: an ESC in a Digest username could rewrite the
 * screen. Everything printable ASCII (and printable non-ASCII Unicode) passes; control characters, DEL and
 * C1 controls become \xNN, backslash stays a backslash-escape so the output is unambiguous.
 */
/** Characters escapeText changes: backslash, C0/DEL/C1 controls, line separators, U+FFFD, bidi controls. */
const NEEDS_TEXT_ESCAPE = /[\\\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffd]/;

/*
 * Both escapers return flat strings: most results are kept (a B-TID becomes a map key, a label stays in a record),
 * and a string built by `+=` one character at a time is kept as a tree of one small string object per character.
 * Clean text (the common case) is returned as it came; the rest is built in an array and joined.
 */
export function escapeText(s: string, maxLength = 4096): string {
  // fast path: nothing to escape and short enough (length in UTF-16 units bounds the code point count from above)
  if (s.length <= maxLength && !NEEDS_TEXT_ESCAPE.test(s)) return s;
  const out: string[] = [];
  let n = 0;
  for (const ch of s) {
    if (n >= maxLength) {
      out.push('…');
      break;
    }
    const c = ch.codePointAt(0) as number;
    if (c === 0x5c) out.push('\\\\');
    else if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) out.push('\\x' + c.toString(16).padStart(2, '0'));
    else if (c === 0x2028 || c === 0x2029 || c === 0xfffd || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
      // line separators and bidi overrides can reorder what a person reads
      out.push('\\u' + c.toString(16).padStart(4, '0'));
    else out.push(ch);
    n++;
  }
  return out.join('');
}

/** Bytes from a packet shown as text: printable ASCII kept, the rest escaped. */
export function escapeBytes(b: Uint8Array, maxLength = 4096): string {
  const n = Math.min(b.length, maxLength);
  let clean = true;
  for (let i = 0; i < n && clean; i++) clean = b[i] >= 0x20 && b[i] < 0x7f && b[i] !== 0x5c;
  if (clean) return Buffer.from(b.buffer, b.byteOffset, n).toString('latin1') + (b.length > n ? '…' : '');
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (c === 0x5c) out.push('\\\\');
    else if (c >= 0x20 && c < 0x7f) out.push(String.fromCharCode(c));
    else out.push('\\x' + c.toString(16).padStart(2, '0'));
  }
  if (b.length > n) out.push('…');
  return out.join('');
}
