/**
 * Text that came from a packet must never reach a terminal raw: an ESC in a Digest username could rewrite the
 * screen. Everything printable ASCII (and printable non-ASCII Unicode) passes; control characters, DEL and
 * C1 controls become \xNN, backslash stays a backslash-escape so the output is unambiguous.
 */
export function escapeText(s: string, maxLength = 4096): string {
  let out = '';
  let n = 0;
  for (const ch of s) {
    if (n >= maxLength) {
      out += '…';
      break;
    }
    const c = ch.codePointAt(0) as number;
    if (c === 0x5c) out += '\\\\';
    else if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c === 0x2028 || c === 0x2029 || c === 0xfffd || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
      // line separators and bidi overrides can reorder what a person reads
      out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
    n++;
  }
  return out;
}

/** Bytes from a packet shown as text: printable ASCII kept, the rest escaped. */
export function escapeBytes(b: Uint8Array, maxLength = 4096): string {
  let out = '';
  const n = Math.min(b.length, maxLength);
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += '\\x' + c.toString(16).padStart(2, '0');
  }
  if (b.length > n) out += '…';
  return out;
}
