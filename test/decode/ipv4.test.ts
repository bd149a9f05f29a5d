import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Problem } from '../../src/common/problem';
import { LayerCursor } from '../../src/decode/cursor';
import { decodeIpv4 } from '../../src/decode/ipv4';
import type { IpLayerInfo } from '../../src/decode/types';
import { ipv4, udp } from './craft';

function run(data: Buffer, snapCut = false, start = 0): { ip: IpLayerInfo | undefined; cur: LayerCursor; problems: Problem[] } {
  const cur = new LayerCursor();
  cur.reset(start, data.length);
  const problems: Problem[] = [];
  const ip = decodeIpv4(data, cur, problems, snapCut);
  return { ip, cur, problems };
}

test('plain header: fields, payload span', () => {
  const pkt = ipv4({ src: '192.0.2.1', dst: '198.51.100.2', protocol: 17, ttl: 7, tos: 0xb8 }, udp(1, 2, Buffer.from('abc')));
  const { ip, cur, problems } = run(pkt);
  assert.deepEqual(ip, { version: 4, src: '192.0.2.1', dst: '198.51.100.2', protocol: 17, ttl: 7, totalLength: 31, headerLength: 20, dscp: 46, id: 0x1234, flags: 0, fragOffset: 0 });
  assert.equal(cur.offset, 20);
  assert.equal(cur.end, 31);
  assert.equal(cur.truncated, false);
  assert.equal(cur.stopName, undefined);
  assert.deepEqual(problems, []);
});

test('options (IHL > 5) are skipped; padding after the total length is trimmed', () => {
  const body = ipv4({ options: Buffer.from([0x94, 0x04, 0, 0, 0x01, 0x01, 0x01, 0x00]) }, Buffer.from('xy'));
  const padded = Buffer.concat([Buffer.alloc(14), body, Buffer.alloc(16)]);
  const { ip, cur, problems } = run(padded, false, 14);
  assert.equal(ip?.headerLength, 28);
  assert.equal(cur.offset, 14 + 28);
  assert.equal(cur.end, 14 + 30);
  assert.deepEqual(problems, []);
});

test('IHL below 5 is an error; addresses still reported, nothing decoded past it', () => {
  for (const ihl of [0, 1, 4]) {
    const { ip, cur, problems } = run(ipv4({ ihl }, Buffer.alloc(8)));
    assert.equal(ip?.src, '192.0.2.1');
    assert.equal(cur.stopName, 'IPv4');
    assert.equal(problems[0].code, 'ipv4-bad-ihl');
    assert.equal(problems[0].offset, 0);
  }
});

test('options cut short: header longer than the captured bytes', () => {
  const pkt = ipv4({ options: Buffer.alloc(12) }, Buffer.alloc(0));
  const { cur, problems } = run(pkt.subarray(0, 24));
  assert.equal(cur.stopName, 'IPv4');
  assert.equal(problems[0].code, 'ipv4-truncated');
  assert.equal(problems[0].severity, 'error');
  assert.equal(run(pkt.subarray(0, 24), true).problems[0].severity, 'note');
});

test('cut at every byte of the fixed header: undefined and one problem', () => {
  const pkt = ipv4({}, Buffer.alloc(10));
  for (let cut = 0; cut < 20; cut++) {
    const { ip, problems } = run(pkt.subarray(0, cut));
    assert.equal(ip, undefined);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].code, 'ipv4-truncated');
  }
});

test('total length past the captured bytes: truncated payload; error unless the snaplen cut it', () => {
  const pkt = ipv4({}, Buffer.alloc(100)).subarray(0, 60);
  const malformed = run(pkt);
  assert.equal(malformed.cur.truncated, true);
  assert.equal(malformed.cur.end, 60);
  assert.equal(malformed.problems[0].code, 'ipv4-length-past-end');
  assert.equal(malformed.problems[0].severity, 'error');
  assert.equal(malformed.problems[0].offset, 2);
  const cut = run(pkt, true);
  assert.equal(cut.cur.truncated, true);
  assert.equal(cut.problems[0].code, 'ipv4-snaplen-cut');
  assert.equal(cut.problems[0].severity, 'note');
});

test('total length smaller than the header is an error', () => {
  const { cur, problems } = run(ipv4({ totalLength: 19 }, Buffer.alloc(10)));
  assert.equal(cur.stopName, 'IPv4');
  assert.equal(problems[0].code, 'ipv4-bad-total-length');
});

test('total length 0 (segmentation offload) uses the captured length with a note', () => {
  const { ip, cur, problems } = run(ipv4({ totalLength: 0 }, Buffer.alloc(1000)));
  assert.equal(ip?.totalLength, 1020);
  assert.equal(cur.end, 1020);
  assert.equal(problems[0].code, 'ipv4-zero-total-length');
});

test('wrong version', () => {
  const pkt = ipv4({}, Buffer.alloc(4));
  pkt[0] = 0x65;
  const { ip, problems } = run(pkt);
  assert.equal(ip, undefined);
  assert.equal(problems[0].code, 'ipv4-bad-version');
});

test('fragment fields: MF, offset, id; DF alone and offset 0 without MF are not fragments', () => {
  assert.deepEqual(run(ipv4({ id: 0xbeef, mf: true }, Buffer.alloc(8))).ip?.fragment, { id: 0xbeef, offset: 0, moreFragments: true });
  assert.deepEqual(run(ipv4({ id: 7, fragOffset: 1480 }, Buffer.alloc(8))).ip?.fragment, { id: 7, offset: 1480, moreFragments: false });
  assert.equal(run(ipv4({ df: true }, Buffer.alloc(8))).ip?.fragment, undefined);
  const evil = ipv4({}, Buffer.alloc(8));
  evil[6] |= 0x80;
  assert.equal(run(evil).problems[0].code, 'ipv4-reserved-flag');
});

test('highest fragment offset is representable', () => {
  const pkt = ipv4({ fragOffset: 8191 * 8 }, Buffer.alloc(8));
  assert.equal(run(pkt).ip?.fragment?.offset, 65528);
});
