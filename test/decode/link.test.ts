import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Problem } from '../../src/common/problem';
import { LayerCursor, NextLayer } from '../../src/decode/cursor';
import { decodeLink, isSupportedLinkType } from '../../src/decode/link';

function run(linkType: number, data: Buffer): { cur: LayerCursor; problems: Problem[]; name: string; etherType?: number } {
  const cur = new LayerCursor();
  cur.reset(0, data.length);
  const problems: Problem[] = [];
  const link = decodeLink(linkType, data, cur, problems);
  return { cur, problems, name: link.name, etherType: link.etherType };
}

test('raw IP link types: 101 decides by version nibble, 228/229 are fixed', () => {
  const r = run(101, Buffer.from([0x45]));
  assert.equal(r.cur.next, NextLayer.IP_BY_VERSION);
  assert.equal(r.name, 'raw');
  assert.equal(run(228, Buffer.alloc(1)).cur.next, NextLayer.IPV4);
  assert.equal(run(229, Buffer.alloc(1)).cur.next, NextLayer.IPV6);
  assert.equal(run(229, Buffer.alloc(1)).etherType, 0x86dd);
});

test('each supported link type dispatches to its decoder', () => {
  assert.equal(run(1, Buffer.alloc(14)).name, 'eth');
  assert.equal(run(113, Buffer.alloc(16)).name, 'sll');
  assert.equal(run(276, Buffer.alloc(20)).name, 'sll2');
  assert.equal(run(0, Buffer.from([2, 0, 0, 0])).cur.next, NextLayer.IPV4);
  assert.equal(run(108, Buffer.from([0, 0, 0, 2])).cur.next, NextLayer.IPV4);
  for (const t of [0, 1, 101, 108, 113, 228, 229, 276]) assert.ok(isSupportedLinkType(t));
  assert.ok(!isSupportedLinkType(105));
});

test('unknown link type is a problem, not an exception', () => {
  const r = run(127, Buffer.alloc(30));
  assert.equal(r.cur.next, NextLayer.NONE);
  assert.equal(r.cur.stopName, 'Link type 127');
  assert.equal(r.problems[0].code, 'link-unsupported-type');
  assert.equal(r.name, 'unknown');
});
