/**
 * xmlDeclEnd (src/protocols/mbms/xml.ts) reads the XML declaration as the regular expression it replaced did:
 * the same end on hand-picked and on random strings built from the characters that matter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xmlDeclEnd } from '../../../src/protocols/mbms/xml';

const XML_DECL = /^\s*<\?xml\s[^<>?]*\?>/;
const reference = (t: string): number => XML_DECL.exec(t)?.[0].length ?? 0;

test('the same end as the regular expression', { timeout: 60_000 }, () => {
  const cases = [
    '', '<?xml?>', '<?xml ?>', '<?xml version="1.0"?><a/>', '  \n<?xml version="1.0" encoding="UTF-8"?>\n<a/>',
    '\ufeff<?xml version="1.0"?>', '\u00a0\u3000<?xml\u2028v?>', '<?xml\tversion="1.0"?', '<?xml version="1.0" ? ?>',
    '<?xml version="<"?>', '<?xml version=">"?>', '<?XML version="1.0"?>', '<?xmlversion="1.0"?>', 'x<?xml v?>', '<?xml ', '<?xml',
  ];
  for (const c of cases) assert.equal(xmlDeclEnd(c), reference(c), JSON.stringify(c));
  const alphabet = [' ', '\t', '\n', '\u00a0', '\ufeff', '\u2028', '<', '>', '?', 'x', 'm', 'l', '"', '=', 'a', '<?xml', '?>', '<?xml '];
  let s = 7;
  const rnd = (n: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  for (let i = 0; i < 50_000; i++) {
    let t = '';
    const len = rnd(12);
    for (let j = 0; j < len; j++) t += alphabet[rnd(alphabet.length)];
    assert.equal(xmlDeclEnd(t), reference(t), JSON.stringify(t));
  }
});
