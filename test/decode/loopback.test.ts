import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Problem } from '../../src/common/problem';
import { LayerCursor, NextLayer } from '../../src/decode/cursor';
import { decodeLoopback } from '../../src/decode/loopback';
import type { LinkLayerInfo } from '../../src/decode/types';

function run(af: number, le: boolean, bigEndianOnly = false): { link: LinkLayerInfo; cur: LayerCursor; problems: Problem[] } {
  const data = Buffer.alloc(24);
  if (le) data.writeUInt32LE(af, 0);
  else data.writeUInt32BE(af, 0);
  const cur = new LayerCursor();
  cur.reset(0, data.length);
  const link: LinkLayerInfo = { linkType: 0, name: 'null' };
  const problems: Problem[] = [];
  decodeLoopback(data, cur, link, problems, bigEndianOnly);
  return { link, cur, problems };
}

test('NULL: AF_INET in either byte order', () => {
  for (const le of [true, false]) {
    const { link, cur, problems } = run(2, le);
    assert.equal(cur.next, NextLayer.IPV4);
    assert.equal(cur.offset, 4);
    assert.equal(link.etherType, 0x0800);
    assert.deepEqual(problems, []);
  }
});

test('NULL: every OS value of AF_INET6 (Linux 10, BSD 24, FreeBSD 28, Darwin 30) in either byte order', () => {
  for (const af of [10, 24, 28, 30]) {
    for (const le of [true, false]) {
      const { link, cur } = run(af, le);
      assert.equal(cur.next, NextLayer.IPV6, `AF ${af} ${le ? 'LE' : 'BE'}`);
      assert.equal(link.etherType, 0x86dd);
    }
  }
});

test('NULL: unknown family is a note and names the family', () => {
  const { cur, problems } = run(23, true);
  assert.equal(cur.next, NextLayer.NONE);
  assert.equal(cur.stopName, 'Loopback family 23');
  assert.equal(problems[0].code, 'null-unknown-family');
});

test('LOOP (108) is big-endian only: a little-endian 2 is not AF_INET', () => {
  assert.equal(run(2, false, true).cur.next, NextLayer.IPV4);
  const le = run(2, true, true);
  assert.equal(le.cur.next, NextLayer.NONE);
  assert.equal(le.problems[0].code, 'null-unknown-family');
});

test('NULL header cut short', () => {
  for (let n = 0; n < 4; n++) {
    const cur = new LayerCursor();
    cur.reset(0, n);
    const problems: Problem[] = [];
    decodeLoopback(Buffer.alloc(n), cur, { linkType: 0, name: 'null' }, problems, false);
    assert.equal(cur.next, NextLayer.NONE);
    assert.equal(problems[0].code, 'null-truncated');
  }
});
