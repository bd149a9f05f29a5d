import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Problem } from '../../src/common/problem';
import { LayerCursor, NextLayer } from '../../src/decode/cursor';
import { decodeEthernet } from '../../src/decode/ethernet';
import type { LinkLayerInfo } from '../../src/decode/types';
import { ethernet } from './craft';

function run(data: Buffer): { link: LinkLayerInfo; cur: LayerCursor; problems: Problem[] } {
  const cur = new LayerCursor();
  cur.reset(0, data.length);
  const link: LinkLayerInfo = { linkType: 1, name: 'eth' };
  const problems: Problem[] = [];
  decodeEthernet(data, cur, link, problems);
  return { link, cur, problems };
}

test('Ethernet II with IPv4: MACs, EtherType, cursor on the IP header', () => {
  const { link, cur, problems } = run(ethernet(0x0800, Buffer.from([0x45, 0, 0, 20]), { dst: 'ff:ff:ff:ff:ff:ff', src: '00:1b:21:0a:bc:de' }));
  assert.deepEqual(link, { linkType: 1, name: 'eth', dstMac: 'ff:ff:ff:ff:ff:ff', srcMac: '00:1b:21:0a:bc:de', etherType: 0x0800 });
  assert.equal(cur.next, NextLayer.IPV4);
  assert.equal(cur.offset, 14);
  assert.equal(cur.end, 18);
  assert.deepEqual(problems, []);
});

test('IPv6 EtherType', () => {
  const { cur } = run(ethernet(0x86dd, Buffer.alloc(40)));
  assert.equal(cur.next, NextLayer.IPV6);
});

test('stacked 802.1ad / 802.1Q / 0x9100 tags: IDs outermost first, 12 flag bits ignored', () => {
  const { link, cur, problems } = run(ethernet(0x86dd, Buffer.alloc(40), { tags: [[0x88a8, 0xf00a], [0x9100, 0x2014], [0x8100, 30]] }));
  assert.deepEqual(link.vlans, [10, 20, 30]);
  assert.equal(link.etherType, 0x86dd);
  assert.equal(cur.offset, 26);
  assert.equal(cur.next, NextLayer.IPV6);
  assert.deepEqual(problems, []);
});

test('more than 8 VLAN tags is a problem, not a loop', () => {
  const tags: Array<[number, number]> = Array.from({ length: 9 }, (_, i) => [0x8100, i + 1]);
  const { link, cur, problems } = run(ethernet(0x0800, Buffer.alloc(20), { tags }));
  assert.equal(cur.next, NextLayer.NONE);
  assert.equal(link.vlans?.length, 8);
  assert.equal(problems[0].code, 'vlan-too-many-tags');
  assert.equal(cur.stopName, '802.1Q');
});

test('VLAN tag cut short', () => {
  const full = ethernet(0x0800, Buffer.alloc(0), { tags: [[0x8100, 5]] });
  for (let cut = 15; cut < 18; cut++) {
    const { cur, problems } = run(full.subarray(0, cut));
    assert.equal(cur.next, NextLayer.NONE);
    assert.equal(problems[0].code, 'vlan-truncated');
    assert.equal(problems[0].offset, 14);
  }
});

test('Ethernet header cut short at every length below 14', () => {
  const full = ethernet(0x0800, Buffer.alloc(20));
  for (let cut = 0; cut < 14; cut++) {
    const { link, cur, problems } = run(full.subarray(0, cut));
    assert.equal(cur.next, NextLayer.NONE);
    assert.equal(link.srcMac, undefined);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].code, 'eth-truncated');
    assert.equal(problems[0].severity, 'error');
  }
});

test('non-IP EtherTypes are named; unknown ones by number', () => {
  assert.equal(run(ethernet(0x0806, Buffer.alloc(28))).cur.stopName, 'ARP');
  assert.equal(run(ethernet(0x88cc, Buffer.alloc(28))).cur.stopName, 'LLDP');
  const u = run(ethernet(0x1234 + 0x0600, Buffer.alloc(4)));
  assert.equal(u.cur.stopName, 'EtherType 0x1834');
  assert.equal(u.cur.next, NextLayer.NONE);
  assert.deepEqual(u.problems, []);
});

test('802.3 length field: plain LLC stops, SNAP with an EtherType goes on', () => {
  const llc = run(ethernet(46, Buffer.concat([Buffer.from([0x42, 0x42, 0x03]), Buffer.alloc(43)])));
  assert.equal(llc.cur.stopName, '802.3 LLC');
  assert.equal(llc.cur.next, NextLayer.NONE);
  const snap = run(ethernet(48, Buffer.concat([Buffer.from([0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]), Buffer.alloc(40)])));
  assert.equal(snap.cur.next, NextLayer.IPV4);
  assert.equal(snap.cur.offset, 22);
  assert.equal(snap.link.etherType, 0x0800);
});

test('type/length values between 1501 and 1535 are a warning', () => {
  const { cur, problems } = run(ethernet(1510, Buffer.alloc(10)));
  assert.equal(cur.next, NextLayer.NONE);
  assert.equal(problems[0].code, 'eth-bad-type');
  assert.equal(problems[0].offset, 12);
});
