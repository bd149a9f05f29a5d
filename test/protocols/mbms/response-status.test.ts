/**
 * leadingStatus (src/protocols/mbms/xml.ts) reads a ResponseCode's status as the regular expression it stands in for
 * (/^\s*(\d{3})\b/) did: every string of up to five characters from the ones that matter gives the same answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leadingStatus } from '../../../src/protocols/mbms/xml';

const STATUS = /^\s*(\d{3})\b/;
const reference = (t: string): number | undefined => {
  const m = STATUS.exec(t);
  return m ? parseInt(m[1], 10) : undefined;
};

test('the same status as the regular expression, on every short string', { timeout: 60_000 }, () => {
  for (const c of ['200 OK', '200', ' 200 OK', '\u00a0404 Not Found', '2000', '20', '200a', '200_', '200-x', '200.5', 'OK 200', ''])
    assert.equal(leadingStatus(c), reference(c), JSON.stringify(c));
  const alphabet = ['0', '1', '2', '9', 'a', 'Z', '_', ' ', '\u00a0', '\n', '-', '.', '\u00e9'];
  let n = 0;
  const walk = (s: string, depth: number): void => {
    assert.equal(leadingStatus(s), reference(s), JSON.stringify(s));
    n++;
    if (depth < 5) for (const c of alphabet) walk(s + c, depth + 1);
  };
  walk('', 0);
  assert.ok(n > 400_000);
});
