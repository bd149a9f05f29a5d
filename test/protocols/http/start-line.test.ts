import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REQUEST_LINE, STATUS_LINE, requestLine, isStatusLine } from '../../../src/protocols/http/parser';

// The hand-read start lines agree with the regular expressions that define them, on real lines, edge cases and
// random lines made of the characters that matter (spaces, digits, HTTP/, Latin-1 and Unicode white space).
test('requestLine and isStatusLine match REQUEST_LINE and STATUS_LINE', { timeout: 60_000 }, () => {
  const lines = [
    'GET / HTTP/1.1', 'POST /bmsc/msk HTTP/1.0', 'M-SEARCH * HTTP/1.1', 'GET  / HTTP/1.1', 'GET / HTTP/1.1 ', 'GET /\u00a0x HTTP/1.1',
    'GET /a\tb HTTP/1.1', 'GET / HTTP/1.12', 'GET / HTTP/2.0', 'GET / HTTP/1.x', 'GET / http/1.1', 'G\u00e9T / HTTP/1.1', ' GET / HTTP/1.1',
    'GET HTTP/1.1', 'GET /x\u2028 HTTP/1.1', 'PRI * HTTP/2.0', '',
    'HTTP/1.1 200 OK', 'HTTP/1.1 200', 'HTTP/1.1 200 ', 'HTTP/1.1 2000', 'HTTP/1.1 20', 'HTTP/1.0 401 Unauthorized', 'HTTP/1.1 200 O\rK',
    'HTTP/1.1 200 O\u2028K', 'HTTP/1.1 200 O\u0085K', 'HTTP/1.1  200 OK', 'HTTP/1.1 2x0 OK', 'HTTP/9.9 999 \u00ff', 'HTTP/1.1 200\tOK',
  ];
  const alphabet = ['GET', 'GET /', ' HTTP/1.1', ' HTTP/', 'G', 'E', 'T', '/', ' ', ' ', 'HTTP/', '1', '.', '0', '2', '\t', '\u00a0', '\r', '\u2028', '\u0085', 'x', '*', 'HTTP/1.1', '200', 'HTTP/1.1 200 '];
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let k = 0; k < 50_000; k++) {
    let s = '';
    const parts = 1 + rnd(6);
    for (let j = 0; j < parts; j++) s += alphabet[rnd(alphabet.length)];
    lines.push(s);
  }
  // request-shaped lines: method, separator, target, separator, version, tail
  for (const m of ['GET', 'POST', 'M-SEARCH', '', 'G\u00e9T', 'GE T'])
    for (const s1 of [' ', '  ', '\t'])
      for (const u of ['/', '/bmsc?x=1', '*', '', '/a\u00a0b', '/a\u0085b', '/\u2029'])
        for (const s2 of [' ', '  ', '\u00a0'])
          for (const v of ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.', 'HTTP/x.1', 'HTTP/1.12'])
            for (const tail of ['', ' ', '\r']) lines.push(`${m}${s1}${u}${s2}${v}${tail}`);
  let requests = 0;
  let statuses = 0;
  for (const l of lines) {
    const rq = REQUEST_LINE.exec(l);
    const at = requestLine(l);
    assert.equal(at >= 0, rq !== null, JSON.stringify(l));
    if (rq) {
      requests++;
      assert.equal(l.slice(0, l.indexOf(' ')), rq[1]);
      assert.equal(l.slice(l.indexOf(' ') + 1, at), rq[2]);
      assert.equal(l.slice(at + 1), rq[3]);
    }
    const st = STATUS_LINE.test(l);
    assert.equal(isStatusLine(l), st, JSON.stringify(l));
    if (st) statuses++;
  }
  assert.ok(requests >= 60 && statuses > 100, `${requests} request lines, ${statuses} status lines`);
});
