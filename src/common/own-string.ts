/**
 * A string that shares no storage with a bigger one. V8 makes a substring of 13 characters or more a *view* of its
 * parent, so a B-TID or a nonce sliced out of an Authorization header keeps the whole header text alive for as long as
 * a table holds it (the issue #14 heap: 10 000 nonces kept ≈ 7 MB of header values). Long-lived keys are stored through
 * this; per-frame strings are not (a copy costs more than the view while it lives a frame).
 * JSON.stringify/parse copies every UTF-16 code unit (lone surrogates included) into a fresh flat string.
 */
const VIEW_MIN_LENGTH = 13;

export function ownString(s: string): string {
  return s.length < VIEW_MIN_LENGTH ? s : (JSON.parse(JSON.stringify(s)) as string);
}
