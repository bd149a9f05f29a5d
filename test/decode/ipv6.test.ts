import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Problem } from '../../src/common/problem';
import { LayerCursor } from '../../src/decode/cursor';
import { decodeIpv6, MAX_IPV6_EXTENSION_HEADERS } from '../../src/decode/ipv6';
import type { IpLayerInfo } from '../../src/decode/types';
import { ipv6, ipv6Ext, ipv6Frag, udp } from './craft';

function run(data: Buffer, snapCut = false): { ip: IpLayerInfo | undefined; cur: LayerCursor; problems: Problem[] } {
  const cur = new LayerCursor();
  cur.reset(0, data.length);
  const problems: Problem[] = [];
  const ip = decodeIpv6(data, cur, problems, snapCut);
  return { ip, cur, problems };
}

function ah(next: number): Buffer {
  // AH length is in 4-byte units minus 2: 1 => 12 bytes (SPI, sequence, 4 bytes of ICV)
  const b = Buffer.alloc(12);
  b[0] = next;
  b[1] = 1;
  return b;
}

test('fixed header: fields and payload span, padding trimmed', () => {
  const pkt = Buffer.concat([ipv6({ src: '2001:db8::1', dst: 'ff02::fb', nextHeader: 17, hopLimit: 255, trafficClass: 0xb8 }, udp(5353, 5353, Buffer.alloc(4))), Buffer.alloc(6)]);
  const { ip, cur, problems } = run(pkt);
  assert.deepEqual(ip, { version: 6, src: '2001:db8::1', dst: 'ff02::fb', protocol: 17, ttl: 255, totalLength: 52, headerLength: 40, dscp: 46, nextHeader: 17, trafficClass: 0xb8, flowLabel: 0 });
  assert.equal(cur.offset, 40);
  assert.equal(cur.end, 52);
  assert.deepEqual(problems, []);
});

test('extension chain: hop-by-hop, routing, destination options, AH, then UDP', () => {
  const chain = Buffer.concat([ipv6Ext(43), ipv6Ext(60, 1), ipv6Ext(51), ah(17), udp(1, 2, Buffer.alloc(3))]);
  const { ip, cur, problems } = run(ipv6({ nextHeader: 0 }, chain));
  assert.equal(ip?.protocol, 17);
  assert.equal(ip?.headerLength, 40 + 8 + 16 + 8 + 12);
  assert.equal(cur.offset, 84);
  assert.equal(ip?.fragment, undefined);
  assert.deepEqual(problems, []);
});

test('ESP and No Next Header stop the chain', () => {
  const esp = run(ipv6({ nextHeader: 60 }, Buffer.concat([ipv6Ext(50), Buffer.alloc(16)])));
  assert.equal(esp.ip?.protocol, 50);
  assert.equal(esp.cur.stopName, 'ESP');
  assert.equal(esp.cur.offset, 48);
  const none = run(ipv6({ nextHeader: 59 }, Buffer.alloc(0)));
  assert.equal(none.ip?.protocol, 59);
  assert.equal(none.cur.stopName, 'IPv6 no next header');
});

test('fragment header: fragment info, protocol from it, cursor on the fragment data', () => {
  const { ip, cur } = run(ipv6({ nextHeader: 0 }, Buffer.concat([ipv6Ext(44), ipv6Frag(17, 1448, true, 0xfeedface), Buffer.alloc(16)])));
  assert.deepEqual(ip?.fragment, { id: 0xfeedface, offset: 1448, moreFragments: true });
  assert.equal(ip?.protocol, 17);
  assert.equal(ip?.headerLength, 56);
  assert.equal(cur.offset, 56);
  assert.equal(cur.end, 72);
});

test('atomic fragment (offset 0, M 0) is decoded as a whole packet', () => {
  const { ip, cur } = run(ipv6({ nextHeader: 44 }, Buffer.concat([ipv6Frag(17, 0, false, 1), udp(7, 8, Buffer.alloc(2))])));
  assert.equal(ip?.fragment, undefined);
  assert.equal(ip?.protocol, 17);
  assert.equal(cur.offset, 48);
});

test('chain longer than the bound is an error, not a long walk', () => {
  const exts: Buffer[] = [];
  for (let i = 0; i < MAX_IPV6_EXTENSION_HEADERS + 4; i++) exts.push(ipv6Ext(60));
  const { cur, problems } = run(ipv6({ nextHeader: 60 }, Buffer.concat(exts)));
  assert.equal(cur.stopName, 'IPv6');
  assert.equal(problems[0].code, 'ipv6-too-many-extension-headers');
});

test('extension header running past the payload', () => {
  const ext = ipv6Ext(17);
  ext[1] = 200;
  const { cur, problems } = run(ipv6({ nextHeader: 60 }, Buffer.concat([ext, Buffer.alloc(8)])));
  assert.equal(cur.stopName, 'IPv6');
  assert.equal(problems[0].code, 'ipv6-extension-truncated');
  assert.equal(problems[0].severity, 'error');
  assert.equal(problems[0].offset, 40);
});

test('hop-by-hop anywhere but first is flagged', () => {
  const { problems } = run(ipv6({ nextHeader: 60 }, Buffer.concat([ipv6Ext(0), ipv6Ext(17), udp(1, 2, Buffer.alloc(0))])));
  assert.equal(problems[0].code, 'ipv6-hop-by-hop-not-first');
});

test('cut at every byte of the fixed header, and of an extension header', () => {
  const pkt = ipv6({ nextHeader: 0 }, Buffer.concat([ipv6Ext(44), ipv6Frag(17, 8, false, 3), Buffer.alloc(8)]));
  for (let cut = 0; cut < 40; cut++) {
    const r = run(pkt.subarray(0, cut));
    assert.equal(r.ip, undefined);
    assert.equal(r.problems[0].code, 'ipv6-truncated');
  }
  for (let cut = 40; cut < 56; cut++) {
    const r = run(pkt.subarray(0, cut), true);
    assert.ok(r.ip);
    assert.equal(r.cur.stopName, 'IPv6', `cut ${cut}`);
    assert.deepEqual(
      r.problems.map((p) => p.code),
      ['ipv6-snaplen-cut', 'ipv6-extension-snaplen-cut'],
    );
    assert.ok(r.problems.every((p) => p.severity === 'note'));
  }
});

test('payload length past the frame: error, or a note when the snaplen cut it', () => {
  const pkt = ipv6({}, Buffer.alloc(100)).subarray(0, 80);
  const r = run(pkt);
  assert.equal(r.cur.truncated, true);
  assert.equal(r.problems[0].code, 'ipv6-length-past-end');
  assert.equal(run(pkt, true).problems[0].severity, 'note');
});

test('jumbogram marker (payload length 0 with hop-by-hop) uses the captured length', () => {
  const { ip, cur, problems } = run(ipv6({ nextHeader: 0, payloadLength: 0 }, Buffer.concat([ipv6Ext(17), udp(1, 2, Buffer.alloc(4))])));
  assert.equal(ip?.protocol, 17);
  assert.equal(cur.end, 60);
  assert.equal(problems[0].code, 'ipv6-jumbogram');
});

test('wrong version', () => {
  const pkt = ipv6({}, Buffer.alloc(0));
  pkt[0] = 0x45;
  assert.equal(run(pkt).problems[0].code, 'ipv6-bad-version');
});
