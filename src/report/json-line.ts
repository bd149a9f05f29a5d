/**
 * One NDJSON line. JSON.stringify already escapes C0 controls, but passes DEL, the C1 controls (CSI 0x9b makes a
 * terminal act on what follows, NEL 0x85 is a newline to some readers), U+2028/U+2029 (line breaks to JavaScript and
 * many line-splitting tools) and the bidi controls (they reorder what a person reads) as raw characters. Escaped as
 * \uXXXX they mean the same string to every JSON parser, and the line stays one inert line. Outside strings
 * JSON.stringify emits none of these characters, so replacing them anywhere in its output is safe.
 */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** JSON text of `value` with no raw control, line-separator or bidi character in it; used by every NDJSON writer. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_IN_JSON, escapeChar);
}
