import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Problem } from '../../src/common/problem';
import { LayerCursor } from '../../src/decode/cursor';
import { decodeTcp, TcpFlag } from '../../src/decode/tcp';
import type { TcpInfo } from '../../src/decode/types';
import { tcp } from './craft';

function run(data: Buffer, truncated = false): { t: TcpInfo | undefined; cur: LayerCursor; problems: Problem[] } {
  const cur = new LayerCursor();
  cur.reset(0, data.length);
  cur.truncated = truncated;
  const problems: Problem[] = [];
  const t = decodeTcp(data, cur, problems);
  return { t, cur, problems };
}

const SYN_OPTIONS = Buffer.from([2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 1, 3, 3, 7]);

test('header fields, flags including NS, payload span', () => {
  const seg = tcp({ sport: 443, dport: 51000, seq: 0xfffffff0, ack: 0x80000001, flags: TcpFlag.ACK | TcpFlag.PSH, window: 501 }, Buffer.from('data'));
  seg[12] |= 1;
  const { t, cur, problems } = run(seg);
  assert.deepEqual(t, { kind: 'tcp', srcPort: 443, dstPort: 51000, seq: 0xfffffff0, ack: 0x80000001, flags: 0x118, window: 501, headerLength: 20 });
  assert.equal(cur.offset, 20);
  assert.equal(cur.end, 24);
  assert.deepEqual(problems, []);
});

test('SYN options: MSS, SACK permitted, timestamps, window scale', () => {
  const { t, cur, problems } = run(tcp({ flags: TcpFlag.SYN, options: SYN_OPTIONS }, Buffer.alloc(0)));
  assert.equal(t?.mss, 1460);
  assert.equal(t?.sackPermitted, true);
  assert.equal(t?.tsVal, 0x1234);
  assert.equal(t?.tsEcr, 0);
  assert.equal(t?.windowScale, 7);
  assert.equal(t?.headerLength, 40);
  assert.equal(cur.offset, 40);
  assert.deepEqual(problems, []);
});

test('SACK blocks and EOL are accepted', () => {
  const opts = Buffer.from([1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0]);
  assert.deepEqual(run(tcp({ options: opts }, Buffer.alloc(0))).problems, []);
});

test('option with length 0, 1 or past the header stops option parsing with a warning', () => {
  for (const bad of [
    [2, 0, 0, 0],
    [8, 1, 0, 0],
    [3, 9, 0, 0],
    [1, 1, 1, 2],
  ]) {
    const { t, problems } = run(tcp({ options: Buffer.from(bad) }, Buffer.alloc(0)));
    assert.equal(problems.length, 1, `options ${bad}`);
    assert.equal(problems[0].code, 'tcp-bad-option');
    assert.equal(t?.headerLength, 24);
  }
});

test('wrong lengths for known options and an oversized window scale', () => {
  assert.equal(run(tcp({ options: Buffer.from([2, 3, 0, 1]) }, Buffer.alloc(0))).problems[0].code, 'tcp-bad-option');
  const ws = run(tcp({ options: Buffer.from([3, 3, 20, 0]) }, Buffer.alloc(0)));
  assert.equal(ws.problems[0].code, 'tcp-window-scale-too-large');
  assert.equal(ws.t?.windowScale, 14);
});

test('data offset below 5 is an error and leaves no payload', () => {
  for (const off of [0, 4]) {
    const { t, cur, problems } = run(tcp({ dataOffset: off }, Buffer.alloc(10)));
    assert.ok(t);
    assert.equal(cur.stopName, 'TCP');
    assert.equal(problems[0].code, 'tcp-bad-data-offset');
    assert.equal(problems[0].offset, 12);
  }
});

test('data offset past the segment is an error (a note when the capture was cut)', () => {
  const seg = tcp({ dataOffset: 15 }, Buffer.alloc(10));
  const r = run(seg);
  assert.equal(r.cur.stopName, 'TCP');
  assert.equal(r.problems[0].code, 'tcp-bad-data-offset');
  assert.equal(run(seg, true).problems[0].severity, 'note');
});

test('cut at every byte of the fixed header', () => {
  const seg = tcp({}, Buffer.alloc(4));
  for (let cut = 0; cut < 20; cut++) {
    const r = run(seg.subarray(0, cut));
    assert.equal(r.t, undefined);
    assert.equal(r.problems[0].code, 'tcp-truncated');
  }
});
