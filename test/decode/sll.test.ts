import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Problem } from '../../src/common/problem';
import { LayerCursor, NextLayer } from '../../src/decode/cursor';
import { decodeSll, decodeSll2, sllPacketTypeName } from '../../src/decode/sll';
import type { LinkLayerInfo } from '../../src/decode/types';

function sllHeader(packetType: number, hatype: number, addr: number[], proto: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(packetType, 0);
  h.writeUInt16BE(hatype, 2);
  h.writeUInt16BE(addr.length, 4);
  Buffer.from(addr.slice(0, 8)).copy(h, 6);
  h.writeUInt16BE(proto, 14);
  return h;
}

function sll2Header(proto: number, ifindex: number, hatype: number, packetType: number, addr: number[]): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(proto, 0);
  h.writeUInt32BE(ifindex, 4);
  h.writeUInt16BE(hatype, 8);
  h[10] = packetType;
  h[11] = addr.length;
  Buffer.from(addr.slice(0, 8)).copy(h, 12);
  return h;
}

function run(fn: typeof decodeSll, data: Buffer, name: string, linkType: number): { link: LinkLayerInfo; cur: LayerCursor; problems: Problem[] } {
  const cur = new LayerCursor();
  cur.reset(0, data.length);
  const link: LinkLayerInfo = { linkType, name };
  const problems: Problem[] = [];
  fn(data, cur, link, problems);
  return { link, cur, problems };
}

const MAC = [0x02, 0x42, 0xac, 0x11, 0x00, 0x02];

test('SLL: packet type, sender MAC, EtherType; cursor after 16 bytes', () => {
  const { link, cur, problems } = run(decodeSll, Buffer.concat([sllHeader(4, 1, MAC, 0x0800), Buffer.alloc(20)]), 'sll', 113);
  assert.deepEqual(link, { linkType: 113, name: 'sll', sllPacketType: 4, srcMac: '02:42:ac:11:00:02', etherType: 0x0800 });
  assert.equal(cur.offset, 16);
  assert.equal(cur.next, NextLayer.IPV4);
  assert.deepEqual(problems, []);
  assert.equal(sllPacketTypeName(4), 'sent by us');
  assert.equal(sllPacketTypeName(9), 'unknown (9)');
});

test('SLL: address lengths other than 6, and an address length past 8 is clamped', () => {
  assert.equal(run(decodeSll, Buffer.concat([sllHeader(0, 772, [], 0x86dd), Buffer.alloc(40)]), 'sll', 113).link.srcMac, undefined);
  const h = sllHeader(0, 0xfffe, [1, 2, 3, 4], 0x0800);
  assert.equal(run(decodeSll, Buffer.concat([h, Buffer.alloc(20)]), 'sll', 113).link.srcMac, '01:02:03:04');
  h.writeUInt16BE(0xffff, 4);
  assert.equal(run(decodeSll, Buffer.concat([h, Buffer.alloc(20)]), 'sll', 113).link.srcMac, '01:02:03:04:00:00:00:00');
});

test('SLL: netlink and Linux pseudo-protocols stop with a name', () => {
  assert.equal(run(decodeSll, sllHeader(4, 824, [], 0x0000), 'sll', 113).cur.stopName, 'Netlink');
  assert.equal(run(decodeSll, sllHeader(0, 1, MAC, 0x0004), 'sll', 113).cur.stopName, '802.2 LLC');
  assert.equal(run(decodeSll, sllHeader(0, 280, [], 0x000c), 'sll', 113).cur.stopName, 'CAN');
  const arp = run(decodeSll, sllHeader(0, 1, MAC, 0x0806), 'sll', 113);
  assert.equal(arp.cur.stopName, 'ARP');
  assert.equal(arp.cur.next, NextLayer.NONE);
});

test('SLL: a VLAN tag left in the payload is followed', () => {
  const tag = Buffer.from([0x00, 0x64, 0x08, 0x00]);
  const { link, cur } = run(decodeSll, Buffer.concat([sllHeader(0, 1, MAC, 0x8100), tag, Buffer.alloc(20)]), 'sll', 113);
  assert.deepEqual(link.vlans, [100]);
  assert.equal(cur.offset, 20);
  assert.equal(cur.next, NextLayer.IPV4);
});

test('SLL and SLL2 cut short at every length', () => {
  const sll = Buffer.concat([sllHeader(0, 1, MAC, 0x0800), Buffer.alloc(20)]);
  for (let cut = 0; cut < 16; cut++) {
    const r = run(decodeSll, sll.subarray(0, cut), 'sll', 113);
    assert.equal(r.cur.next, NextLayer.NONE);
    assert.equal(r.problems[0].code, 'sll-truncated');
  }
  const sll2 = Buffer.concat([sll2Header(0x0800, 2, 1, 0, MAC), Buffer.alloc(20)]);
  for (let cut = 0; cut < 20; cut++) {
    const r = run(decodeSll2, sll2.subarray(0, cut), 'sll2', 276);
    assert.equal(r.cur.next, NextLayer.NONE);
    assert.equal(r.problems[0].code, 'sll2-truncated');
  }
});

test('SLL2: protocol, interface index, packet type, address', () => {
  const { link, cur, problems } = run(decodeSll2, Buffer.concat([sll2Header(0x86dd, 7, 1, 1, MAC), Buffer.alloc(40)]), 'sll2', 276);
  assert.deepEqual(link, { linkType: 276, name: 'sll2', sllInterfaceIndex: 7, sllPacketType: 1, srcMac: '02:42:ac:11:00:02', etherType: 0x86dd });
  assert.equal(cur.offset, 20);
  assert.equal(cur.next, NextLayer.IPV6);
  assert.deepEqual(problems, []);
});
