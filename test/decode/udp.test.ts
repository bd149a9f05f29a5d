import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Problem } from '../../src/common/problem';
import { LayerCursor } from '../../src/decode/cursor';
import { decodeUdp } from '../../src/decode/udp';
import type { UdpInfo } from '../../src/decode/types';
import { udp } from './craft';

function run(data: Buffer, ipPayloadLength = data.length, truncated = false): { u: UdpInfo | undefined; cur: LayerCursor; problems: Problem[] } {
  const cur = new LayerCursor();
  cur.reset(0, data.length);
  cur.truncated = truncated;
  const problems: Problem[] = [];
  const u = decodeUdp(data, cur, ipPayloadLength, problems);
  return { u, cur, problems };
}

test('header fields and payload span', () => {
  const d = udp(5353, 53, Buffer.from('hello'));
  d.writeUInt16BE(0xabcd, 6);
  const { u, cur, problems } = run(d);
  assert.deepEqual(u, { kind: 'udp', srcPort: 5353, dstPort: 53, length: 13, checksum: 0xabcd });
  assert.equal(cur.offset, 8);
  assert.equal(cur.end, 13);
  assert.deepEqual(problems, []);
});

test('cut at every byte of the header', () => {
  const d = udp(1, 2, Buffer.alloc(4));
  for (let cut = 0; cut < 8; cut++) {
    const r = run(d.subarray(0, cut));
    assert.equal(r.u, undefined);
    assert.equal(r.problems[0].code, 'udp-truncated');
  }
});

test('length below 8 is an error; the payload is what the IP layer gives', () => {
  const { u, cur, problems } = run(udp(1, 2, Buffer.alloc(4), 3));
  assert.equal(u?.length, 3);
  assert.equal(cur.end, 12);
  assert.equal(problems[0].code, 'udp-bad-length');
});

test('length past the IP payload is an error; payload stays at what was there', () => {
  const { cur, problems } = run(udp(1, 2, Buffer.alloc(4), 500));
  assert.equal(cur.end, 12);
  assert.equal(problems[0].code, 'udp-length-past-ip-payload');
  assert.equal(problems[0].offset, 4);
});

test('length shorter than the IP payload: a note, payload trimmed to the UDP length', () => {
  const { cur, problems } = run(udp(1, 2, Buffer.alloc(10), 12));
  assert.equal(cur.end, 12);
  assert.equal(problems[0].code, 'udp-length-short');
  assert.equal(problems[0].severity, 'note');
});

test('snaplen cut: consistent lengths, fewer bytes captured, payload marked truncated', () => {
  const full = udp(1, 2, Buffer.alloc(100));
  const { cur, problems } = run(full.subarray(0, 40), full.length, true);
  assert.deepEqual(problems, []);
  assert.equal(cur.end, 40);
  assert.equal(cur.truncated, true);
});
