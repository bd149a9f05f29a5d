import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Problem } from '../../src/common/problem';
import type { IpLayerInfo } from '../../src/decode/types';
import { IpFragmentReassembler, type IpFragment, type IpFragmentOptions } from '../../src/reassembly/ip-fragments';

const DATA = Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 31 + 7) & 0xff));

function header(protocol = 17): IpLayerInfo {
  return { version: 4, src: '10.0.0.1', dst: '10.0.0.2', protocol, ttl: 63, totalLength: 0, headerLength: 20, dscp: 10 };
}

function frag(offset: number, len: number, more: boolean, frameNo: number, o: Partial<IpFragment> = {}): IpFragment {
  return {
    version: 4,
    src: '10.0.0.1',
    dst: '10.0.0.2',
    protocol: 17,
    id: 0x77,
    offset,
    moreFragments: more,
    data: DATA.subarray(offset, offset + len),
    frame: frameNo,
    time: { tsSec: 1000 + frameNo, tsNsec: 0 },
    header: header(),
    dataOffset: 34,
    ...o,
  };
}

function setup(options?: IpFragmentOptions): { r: IpFragmentReassembler; problems: Problem[] } {
  return { r: new IpFragmentReassembler(options), problems: [] };
}

test('in order: completes on the last fragment with the first header and all frames', () => {
  const { r, problems } = setup();
  assert.equal(r.add(frag(0, 1480, true, 1), problems), undefined);
  assert.equal(r.add(frag(1480, 1480, true, 2), problems), undefined);
  const done = r.add(frag(2960, 40, false, 3), problems);
  assert.ok(done);
  assert.deepEqual(done.payload, DATA.subarray(0, 3000));
  assert.deepEqual(done.frames, [1, 2, 3]);
  assert.deepEqual(done.ip, { version: 4, src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, ttl: 63, totalLength: 3020, headerLength: 20, reassembledFrom: [1, 2, 3], dscp: 10 });
  assert.deepEqual(problems, []);
  assert.equal(r.pendingDatagrams, 0);
  assert.equal(r.bufferedBytes, 0);
});

test('out of order: completes on the fragment that fills the last hole; frames in offset order', () => {
  const { r, problems } = setup();
  assert.equal(r.add(frag(2960, 40, false, 1), problems), undefined);
  assert.equal(r.add(frag(0, 1480, true, 2), problems), undefined);
  const done = r.add(frag(1480, 1480, true, 3), problems);
  assert.ok(done);
  assert.deepEqual(done.payload, DATA.subarray(0, 3000));
  assert.deepEqual(done.frames, [2, 3, 1]);
  assert.deepEqual(problems, []);
});

test('the first fragment arriving last still supplies the header', () => {
  const { r, problems } = setup();
  r.add(frag(8, 16, false, 1, { header: { ...header(), ttl: 1 } }), problems);
  const done = r.add(frag(0, 8, true, 2, { header: { ...header(), ttl: 99 } }), problems);
  assert.equal(done?.ip.ttl, 99);
});

test('exact duplicate: a note, no double counting', () => {
  const { r, problems } = setup();
  r.add(frag(0, 800, true, 1), problems);
  r.add(frag(0, 800, true, 2), problems);
  assert.deepEqual(problems.map((p) => p.code), ['ip-fragment-duplicate']);
  assert.equal(r.bufferedBytes, 800);
  const done = r.add(frag(800, 200, false, 3), problems);
  assert.deepEqual(done?.frames, [1, 3]);
});

test('overlap with the same bytes fills only the hole', () => {
  const { r, problems } = setup();
  r.add(frag(0, 800, true, 1), problems);
  r.add(frag(1600, 400, false, 2), problems);
  const done = r.add(frag(400, 1600, true, 3), problems);
  assert.ok(done);
  assert.deepEqual(done.payload, DATA.subarray(0, 2000));
  assert.deepEqual(done.frames, [1, 3, 2]);
  assert.deepEqual(problems.map((p) => p.code), ['ip-fragment-overlap']);
});

test('overlap with different bytes: first wins, a warning with the fragment offset', () => {
  const { r, problems } = setup();
  r.add(frag(0, 800, true, 1), problems);
  const other = Buffer.from(DATA.subarray(400, 1200));
  other[10] ^= 0xff;
  r.add(frag(400, 800, true, 2, { data: other }), problems);
  const done = r.add(frag(1200, 16, false, 3), problems);
  assert.ok(done);
  assert.deepEqual(done.payload, DATA.subarray(0, 1216));
  assert.equal(problems[0].code, 'ip-fragment-overlap-conflict');
  assert.equal(problems[0].offset, 34);
  assert.equal(problems[0].layer, 'ipv4');
});

test('a fragment spanning several earlier ones with a hole between them', () => {
  const { r, problems } = setup();
  r.add(frag(0, 8, true, 1), problems);
  r.add(frag(16, 8, true, 2), problems);
  r.add(frag(32, 8, false, 3), problems);
  const done = r.add(frag(0, 40, false, 4), problems);
  assert.ok(done);
  assert.deepEqual(done.payload, DATA.subarray(0, 40));
  assert.deepEqual(done.frames, [1, 4, 2, 3]);
});

test('conflicting datagram ends are ignored with a warning', () => {
  const { r, problems } = setup();
  r.add(frag(800, 200, false, 2), problems);
  r.add(frag(800, 400, false, 3), problems);
  r.add(frag(1000, 8, true, 4), problems);
  assert.deepEqual(problems.map((p) => p.code), ['ip-fragment-length-conflict', 'ip-fragment-length-conflict']);
  const done = r.add(frag(0, 800, true, 1), problems);
  assert.equal(done?.payload.length, 1000);
  const early = setup();
  early.r.add(frag(800, 800, true, 1), early.problems);
  early.r.add(frag(0, 400, false, 2), early.problems);
  assert.equal(early.problems[0].code, 'ip-fragment-length-conflict');
});

test('datagrams are keyed by addresses, protocol and id', () => {
  const { r, problems } = setup();
  r.add(frag(0, 8, true, 1), problems);
  r.add(frag(8, 8, false, 2, { id: 0x78 }), problems);
  r.add(frag(8, 8, false, 3, { protocol: 6 }), problems);
  r.add(frag(8, 8, false, 4, { src: '10.0.0.9' }), problems);
  assert.equal(r.pendingDatagrams, 4);
  assert.ok(r.add(frag(8, 8, false, 5), problems));
});

test('a fragment ending past 65535 bytes is dropped', () => {
  const { r, problems } = setup();
  assert.equal(r.add(frag(65528, 16, false, 1, { data: Buffer.alloc(16) }), problems), undefined);
  assert.equal(problems[0].code, 'ip-fragment-too-large');
  assert.equal(r.pendingDatagrams, 0);
});

test('empty non-last fragment is ignored; unaligned non-last fragment is noted', () => {
  const { r, problems } = setup();
  r.add(frag(0, 0, true, 1), problems);
  r.add(frag(0, 13, true, 2), problems);
  assert.deepEqual(problems.map((p) => p.code), ['ip-fragment-empty', 'ip-fragment-unaligned']);
});

test('timeout runs on packet time from the first fragment', () => {
  const { r, problems } = setup({ timeoutSeconds: 30 });
  r.add(frag(0, 8, true, 1, { time: { tsSec: 100, tsNsec: 0 } }), problems);
  assert.deepEqual(r.expire({ tsSec: 130, tsNsec: 0 }, problems), []);
  const gone = r.expire({ tsSec: 130, tsNsec: 1 }, problems);
  assert.equal(gone.length, 1);
  assert.equal(gone[0].reason, 'timeout');
  assert.deepEqual(gone[0].frames, [1]);
  assert.equal(gone[0].receivedBytes, 8);
  assert.equal(problems[0].code, 'ip-fragment-timeout');
  assert.match(problems[0].message, /10\.0\.0\.1 -> 10\.0\.0\.2 id 0x77/);
  assert.equal(r.pendingDatagrams, 0);
  assert.equal(r.bufferedBytes, 0);
});

test('flush reports what is still incomplete, with the expected length when known', () => {
  const { r, problems } = setup();
  r.add(frag(800, 200, false, 5), problems);
  const left = r.flush();
  assert.equal(left.length, 1);
  assert.equal(left[0].reason, 'end-of-capture');
  assert.equal(left[0].expectedLength, 1000);
  assert.equal(left[0].problem.code, 'ip-fragment-incomplete');
  assert.equal(r.pendingDatagrams, 0);
  assert.deepEqual(r.flush(), []);
});

test('too many pending datagrams: the oldest is given up', () => {
  const { r, problems } = setup({ maxPendingDatagrams: 3 });
  for (let id = 1; id <= 4; id++) r.add(frag(0, 8, true, id, { id }), problems);
  assert.equal(r.pendingDatagrams, 3);
  assert.equal(problems.length, 1);
  assert.equal(problems[0].code, 'ip-fragment-evicted');
  assert.match(problems[0].message, /id 0x1 /);
});

test('memory budget: other datagrams go first, then the one that alone is too big', () => {
  const { r, problems } = setup({ maxBufferedBytes: 2000 });
  r.add(frag(0, 800, true, 1, { id: 1 }), problems);
  r.add(frag(0, 800, true, 2, { id: 2 }), problems);
  r.add(frag(0, 800, true, 3, { id: 3 }), problems);
  assert.deepEqual(problems.map((p) => p.code), ['ip-fragment-evicted']);
  assert.equal(r.bufferedBytes, 1600);
  r.add(frag(800, 1600, true, 4, { id: 3 }), problems);
  assert.deepEqual(problems.map((p) => p.code), ['ip-fragment-evicted', 'ip-fragment-evicted', 'ip-fragment-budget-exceeded']);
  assert.equal(r.pendingDatagrams, 0);
  assert.equal(r.bufferedBytes, 0);
});

test('hostile tiny fragments are bounded per datagram', () => {
  const { r, problems } = setup({ maxFragmentsPerDatagram: 16 });
  for (let i = 0; i < 20; i++) r.add(frag(i * 16, 8, true, i + 1), problems);
  assert.equal(problems[0].code, 'ip-fragment-too-many');
  assert.ok(r.pendingDatagrams <= 1);
});

test('stored bytes are copies: reusing the source buffer does not corrupt the datagram', () => {
  const { r, problems } = setup();
  const scratch = Buffer.from(DATA.subarray(0, 8));
  r.add(frag(0, 8, true, 1, { data: scratch }), problems);
  scratch.fill(0);
  const done = r.add(frag(8, 8, false, 2), problems);
  assert.deepEqual(done?.payload, DATA.subarray(0, 16));
});

test('IPv6 fragments use the ipv6 layer in problems', () => {
  const { r, problems } = setup();
  const h6: IpLayerInfo = { version: 6, src: '2001:db8::1', dst: '2001:db8::2', protocol: 17, ttl: 64, totalLength: 0, headerLength: 48 };
  r.add(frag(0, 8, true, 1, { version: 6, header: h6, src: h6.src, dst: h6.dst }), problems);
  r.add(frag(0, 8, true, 2, { version: 6, header: h6, src: h6.src, dst: h6.dst }), problems);
  assert.equal(problems[0].layer, 'ipv6');
  const done = r.add(frag(8, 8, false, 3, { version: 6, header: h6, src: h6.src, dst: h6.dst }), problems);
  assert.equal(done?.ip.totalLength, 64);
  assert.equal(done?.ip.dscp, undefined);
});
