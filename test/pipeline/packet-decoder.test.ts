/**
 * tshark as the oracle: a pcap of hand-made packets per link type, read by tshark and by PacketDecoder, compared frame
 * by frame on addresses, ports, GTP TEID and the fragments a reassembled datagram came from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from '../support/proc';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PacketDecoder } from '../../src/pipeline/packet-decoder';
import type { DecodedPacket } from '../../src/decode/types';
import { ethernet, frame, gtpu, ipv4, ipv6, ipv6Ext, ipv6Frag, tcp, udp } from '../decode/craft';


function pcapBytes(linkType: number, packets: Buffer[]): Buffer {
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16);
  gh.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [gh];
  packets.forEach((p, i) => {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(1700000000 + i, 0);
    rh.writeUInt32LE(0, 4);
    rh.writeUInt32LE(p.length, 8);
    rh.writeUInt32LE(p.length, 12);
    parts.push(rh, p);
  });
  return Buffer.concat(parts);
}

const FIELDS = ['frame.number', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'udp.srcport', 'udp.dstport', 'tcp.srcport', 'tcp.dstport', 'gtp.teid'];

function tsharkRows(file: string): string[][] {
  const args = ['-n', '-r', file, '-T', 'fields', '-E', 'occurrence=l', '-E', 'separator=\t'];
  for (const f of FIELDS) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'ignore'] });
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const row = l.split('\t');
      // gtp.teid comes out in hex
      if (row[9]) row[9] = String(Number(row[9]));
      return row;
    });
}

function tsharkFragments(file: string): string[] {
  const args = ['-n', '-r', file, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-e', 'ip.fragment', '-e', 'ipv6.fragment'];
  const out = execFileSync('tshark', args, { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'ignore'] });
  return out
    .split('\n')
    .slice(0, -1)
    .map((l) => l.split('\t').filter((x) => x.length > 0).join(','));
}

/** Our record as tshark's `occurrence=l` row: the last IPv4/IPv6/UDP/TCP values over the outer and inner layers. */
function ourRow(p: DecodedPacket): string[] {
  let ip4s = '', ip4d = '', ip6s = '', ip6d = '', us = '', ud = '', ts = '', td = '';
  if (p.tunnel) {
    if (p.tunnel.outerSrc.includes(':')) [ip6s, ip6d] = [p.tunnel.outerSrc, p.tunnel.outerDst];
    else [ip4s, ip4d] = [p.tunnel.outerSrc, p.tunnel.outerDst];
    [us, ud] = [String(p.tunnel.outerSrcPort), String(p.tunnel.outerDstPort)];
  }
  if (p.ip) {
    if (p.ip.version === 4) [ip4s, ip4d] = [p.ip.src, p.ip.dst];
    else [ip6s, ip6d] = [p.ip.src, p.ip.dst];
  }
  if (p.transport?.kind === 'udp') [us, ud] = [String(p.transport.srcPort), String(p.transport.dstPort)];
  if (p.transport?.kind === 'tcp') [ts, td] = [String(p.transport.srcPort), String(p.transport.dstPort)];
  return [String(p.frame), ip4s, ip4d, ip6s, ip6d, us, ud, ts, td, p.tunnel ? String(p.tunnel.teid) : ''];
}

function check(linkType: number, packets: Buffer[], name: string): DecodedPacket[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-decode-'));
  const file = path.join(dir, `${name}.pcap`);
  try {
    fs.writeFileSync(file, pcapBytes(linkType, packets));
    const expected = tsharkRows(file);
    const fragExpected = tsharkFragments(file);
    const detailExpected = tsharkDetails(file);
    const dec = new PacketDecoder();
    const got = packets.map((p, i) => dec.decode(frame(p, { linkType, number: i + 1, tsSec: 1700000000 + i })));
    assert.equal(got.length, expected.length);
    for (let i = 0; i < got.length; i++) {
      assert.deepEqual(ourRow(got[i]), expected[i], `${name} frame ${i + 1}`);
      const frags = got[i].ip?.reassembledFrom ?? got[i].tunnel?.outerReassembledFrom;
      // tshark lists the fragments only on the frame it reassembled in, and only when there were several
      assert.equal(frags && frags.length > 1 ? frags.join(',') : '', fragExpected[i], `${name} frame ${i + 1} fragments`);
      assert.deepEqual(ourDetails(got[i], detailExpected[i]), detailExpected[i], `${name} frame ${i + 1} details`);
    }
    return got;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const DETAIL_FIELDS = [
  'eth.src', 'eth.dst', 'sll.src.eth', 'sll.pkttype', 'sll.ifindex', 'ieee8021ad.id', 'vlan.id', 'ip.ttl', 'ipv6.hlim', 'ip.dsfield.dscp', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags', 'tcp.window_size_value',
  'tcp.options.mss_val', 'tcp.options.wscale.shift', 'udp.length', 'gtp.message', 'gtp.seq_number',
];

/** Detail fields, all occurrences; each cell is the last one except VLAN IDs (all, outermost first). Hex made decimal. */
function tsharkDetails(file: string): string[][] {
  const args = ['-n', '-r', file, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=;', '-E', 'separator=\t'];
  for (const f of DETAIL_FIELDS) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'ignore'] });
  return out
    .split('\n')
    .slice(0, -1)
    .map((l) =>
      l.split('\t').map((cell, i) => {
        if (cell === '') return '';
        const all = cell.split(';');
        if (DETAIL_FIELDS[i] === 'vlan.id' || DETAIL_FIELDS[i] === 'ieee8021ad.id') return all.join(',');
        const last = all[all.length - 1];
        return last.startsWith('0x') ? String(Number(last)) : last;
      }),
    );
}

/** Our record as the detail row; cells tshark fills from a layer we do not keep (outer UDP of a tunnel) are compared as '-'. */
function ourDetails(p: DecodedPacket, theirs: string[]): string[] {
  const t = p.transport;
  const tcpInfo = t?.kind === 'tcp' ? t : undefined;
  const isEth = p.link.name === 'eth';
  const col = (f: string): string => theirs[DETAIL_FIELDS.indexOf(f)];
  // tshark 4.0 puts 802.1ad (0x88a8) IDs in ieee8021ad.id and 802.1Q ones in vlan.id: compare the concatenation
  const tags = [col('ieee8021ad.id'), col('vlan.id')].filter((x) => x !== '').join(',');
  const row = [
    isEth ? (p.link.srcMac ?? '') : '',
    isEth ? (p.link.dstMac ?? '') : '',
    isEth ? '' : (p.link.srcMac ?? ''),
    p.link.sllPacketType !== undefined && p.link.name === 'sll' ? String(p.link.sllPacketType) : col('sll.pkttype'),
    p.link.sllInterfaceIndex !== undefined ? String(p.link.sllInterfaceIndex) : '',
    (p.link.vlans?.join(',') ?? '') === tags ? col('ieee8021ad.id') : 'vlans ' + (p.link.vlans?.join(',') ?? ''),
    col('vlan.id'),
    p.ip?.version === 4 ? String(p.ip.ttl) : col('ip.ttl'),
    p.ip?.version === 6 ? String(p.ip.ttl) : col('ipv6.hlim'),
    p.ip?.version === 4 ? String(p.ip.dscp) : col('ip.dsfield.dscp'),
    tcpInfo ? String(tcpInfo.seq) : '',
    tcpInfo ? String(tcpInfo.ack) : '',
    tcpInfo ? String(tcpInfo.flags) : '',
    tcpInfo ? String(tcpInfo.window) : '',
    tcpInfo?.mss !== undefined ? String(tcpInfo.mss) : '',
    tcpInfo?.windowScale !== undefined ? String(tcpInfo.windowScale) : '',
    t?.kind === 'udp' ? String(t.length) : p.tunnel ? col('udp.length') : '',
    p.tunnel ? String(p.tunnel.messageType) : '',
    p.tunnel?.sequence !== undefined ? String(p.tunnel.sequence) : '',
  ];
  return row;
}

const payload = (n: number, seed = 1): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

function ethernetPackets(): Buffer[] {
  const pk: Buffer[] = [];
  // 1 plain UDP
  pk.push(ethernet(0x0800, ipv4({ src: '10.1.2.3', dst: '10.4.5.6' }, udp(40001, 5000, payload(20)))));
  // 2 TCP with options
  const opts = Buffer.from([2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0]);
  pk.push(ethernet(0x0800, ipv4({ src: '172.16.0.1', dst: '172.16.0.2', protocol: 6 }, tcp({ sport: 44444, dport: 80, flags: 0x02, options: opts }, Buffer.alloc(0)))));
  // 3 IPv4 with options + Ethernet padding
  const small = ipv4({ src: '192.168.1.1', dst: '192.168.1.255', options: Buffer.from([0x94, 4, 0, 0]) }, udp(137, 137, payload(2)));
  pk.push(Buffer.concat([ethernet(0x0800, small), Buffer.alloc(60 - 14 - small.length)]));
  // 4 802.1Q
  pk.push(ethernet(0x0800, ipv4({ src: '10.9.9.9', dst: '10.8.8.8' }, udp(1, 2, payload(5))), { tags: [[0x8100, 42]] }));
  // 5 QinQ 802.1ad + 802.1Q with IPv6 TCP
  pk.push(ethernet(0x86dd, ipv6({ src: '2001:db8:1::10', dst: '2001:db8:2::20', nextHeader: 6 }, tcp({ sport: 50000, dport: 443 }, payload(10))), { tags: [[0x88a8, 10], [0x8100, 20]] }));
  // 6 ARP: no IP
  pk.push(ethernet(0x0806, Buffer.from('0001080006040001665544332211c0000201000000000000c0000202', 'hex')));
  // 7 GTP-U over IPv4 with inner UDP
  pk.push(ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }, udp(2152, 2152, gtpu({ teid: 0xdeadbeef }, ipv4({ src: '100.64.0.5', dst: '198.18.0.9' }, udp(3000, 2269, payload(30))))))));
  // 8 GTP-U with sequence and extension headers (PDU session container, then another) carrying inner TCP
  pk.push(
    ethernet(
      0x0800,
      ipv4(
        { src: '10.0.0.3', dst: '10.0.0.4' },
        udp(2152, 2152, gtpu({ teid: 77, seq: 9, exts: [[0x85, Buffer.from([0x00, 0x09])], [0x40, Buffer.from([0x12, 0x34])]] }, ipv4({ src: '100.64.0.6', dst: '198.18.0.10', protocol: 6 }, tcp({ sport: 33333, dport: 8080 }, payload(12))))),
      ),
    ),
  );
  // 9 GTP-U echo request
  pk.push(ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }, udp(2152, 2152, gtpu({ teid: 0, type: 1, seq: 1 }, Buffer.alloc(0))))));
  // 10 GTP-U over IPv6 carrying IPv4 UDP
  pk.push(ethernet(0x86dd, ipv6({ src: 'fd00::1', dst: 'fd00::2' }, udp(2152, 2152, gtpu({ teid: 5 }, ipv4({ src: '100.64.1.1', dst: '100.64.1.2' }, udp(5555, 6666, payload(8))))))));
  // 11-13 fragmented UDP, out of order: last, first, middle (completes on 13)
  const big = udp(7000, 7001, payload(2000, 3));
  const f = (o: number, n: number, mf: boolean): Buffer => ethernet(0x0800, ipv4({ src: '10.20.0.1', dst: '10.20.0.2', id: 0x4242, fragOffset: o, mf }, big.subarray(o, o + n)));
  pk.push(f(1480, big.length - 1480, false));
  pk.push(f(0, 736, true));
  pk.push(f(736, 744, true));
  // 14-15 IPv6 fragmented UDP behind hop-by-hop options
  const big6 = udp(8000, 8001, payload(1500, 5));
  const f6 = (o: number, n: number, more: boolean): Buffer =>
    ethernet(0x86dd, ipv6({ src: '2001:db8::aa', dst: '2001:db8::bb', nextHeader: 0 }, Buffer.concat([ipv6Ext(44), ipv6Frag(17, o, more, 0xabcdef01), big6.subarray(o, o + n)])));
  pk.push(f6(0, 1232, true));
  pk.push(f6(1232, big6.length - 1232, false));
  // 16 IPv6 with hop-by-hop, destination options and routing before UDP
  pk.push(ethernet(0x86dd, ipv6({ src: '2001:db8:0:1:1:1:1:1', dst: 'ff02::1:ff00:1', nextHeader: 0 }, Buffer.concat([ipv6Ext(60), ipv6Ext(43, 1), ipv6Ext(17), udp(546, 547, payload(4))]))));
  // 17-20 IPv6 address text forms
  for (const [s, d] of [
    ['::1', '::'],
    ['2001:db8:0:0:1:0:0:1', '2001:0:0:1:0:0:0:1'],
    ['::ffff:192.0.2.5', 'fe80::1:0:0:0'],
    ['1:0:0:2:0:0:0:3', '0:0:1::'],
    ['::192.0.2.5', '::ffff:0:1.2.3.4'],
    ['::1:0:0:0:0', '0:0:0:0:0:1:0:0'],
    ['::102:304', '64:ff9b::c000:205'],
  ])
    pk.push(ethernet(0x86dd, ipv6({ src: s, dst: d }, udp(1000, 2000, payload(1)))));
  // 21-22 GTP-U G-PDUs carrying the two fragments of an inner UDP datagram
  const innerBig = udp(9000, 9001, payload(1600, 9));
  const gf = (o: number, n: number, mf: boolean): Buffer =>
    ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', id: 0x0101 + o }, udp(2152, 2152, gtpu({ teid: 0x1000 }, ipv4({ src: '100.64.9.1', dst: '100.64.9.2', id: 0x7777, fragOffset: o, mf }, innerBig.subarray(o, o + n))))));
  pk.push(gf(0, 1200, true));
  pk.push(gf(1200, innerBig.length - 1200, false));
  // 23-24 a GTP-U packet fragmented in the outer IP
  const gtpDatagram = udp(2152, 2152, gtpu({ teid: 0x2000 }, ipv4({ src: '100.64.7.1', dst: '100.64.7.2' }, udp(1234, 4321, payload(1400, 11)))));
  const of = (o: number, n: number, mf: boolean): Buffer => ethernet(0x0800, ipv4({ src: '10.0.7.1', dst: '10.0.7.2', id: 0x5151, fragOffset: o, mf }, gtpDatagram.subarray(o, o + n)));
  pk.push(of(0, 1000, true));
  pk.push(of(1000, gtpDatagram.length - 1000, false));
  return pk;
}

test('Ethernet capture: addresses, ports, TEID and reassembled fragments agree with tshark', () => {
  const got = check(1, ethernetPackets(), 'eth');
  // sanity on our side for the interesting frames
  assert.equal(got[5].protocolName, 'ARP');
  assert.equal(got[10].protocolName, 'IPv4 fragment');
  assert.deepEqual(got[12].ip?.reassembledFrom, [12, 13, 11]);
  assert.equal(got[8].protocolName, 'GTP-U Echo Request');
});

function ipPackets(): Buffer[] {
  return [
    ipv4({ src: '203.0.113.1', dst: '203.0.113.2' }, udp(1, 2, payload(3))),
    ipv6({ src: '2001:db8::5', dst: '2001:db8::6', nextHeader: 6 }, tcp({ sport: 5, dport: 6 }, payload(3))),
    ipv4({ src: '203.0.113.1', dst: '203.0.113.2', protocol: 6 }, tcp({ sport: 7, dport: 8 }, Buffer.alloc(0))),
  ];
}

function sll(proto: number, p: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(4, 0);
  h.writeUInt16BE(1, 2);
  h.writeUInt16BE(6, 4);
  Buffer.from([0x02, 0x42, 0xac, 0x11, 0x00, 0x02]).copy(h, 6);
  h.writeUInt16BE(proto, 14);
  return Buffer.concat([h, p]);
}

function sll2(proto: number, p: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(proto, 0);
  h.writeUInt32BE(3, 4);
  h.writeUInt16BE(1, 8);
  h[10] = 0;
  h[11] = 6;
  Buffer.from([0x02, 0x42, 0xac, 0x11, 0x00, 0x03]).copy(h, 12);
  return Buffer.concat([h, p]);
}

function nullHeader(af: number, littleEndian: boolean): Buffer {
  const h = Buffer.alloc(4);
  if (littleEndian) h.writeUInt32LE(af, 0);
  else h.writeUInt32BE(af, 0);
  return h;
}

test('SLL, SLL2, NULL (both byte orders), raw IP link types agree with tshark', () => {
  const [a, b, c] = ipPackets();
  check(113, [sll(0x0800, a), sll(0x86dd, b), sll(0x0800, c)], 'sll');
  check(276, [sll2(0x0800, a), sll2(0x86dd, b), sll2(0x0800, c)], 'sll2');
  check(0, [Buffer.concat([nullHeader(2, true), a]), Buffer.concat([nullHeader(30, true), b]), Buffer.concat([nullHeader(2, false), c])], 'null-mixed');
  // (Wireshark's NULL dissector does not know Linux's AF_INET6 = 10; that case is in the unit tests only)
  check(0, [Buffer.concat([nullHeader(24, false), b]), Buffer.concat([nullHeader(28, true), b])], 'null-v6');
  check(101, [a, b, c], 'raw');
  check(228, [a, c], 'ipv4');
  check(229, [b], 'ipv6');
});

// ---- PacketDecoder behaviour on crafted frames ----

test('a whole record for VLAN-tagged IPv4/UDP', () => {
  const dec = new PacketDecoder();
  const data = ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', id: 1 }, udp(1111, 2222, Buffer.from('abc'))), { tags: [[0x8100, 7]] });
  const p = dec.decode(frame(data, { number: 9, tsSec: 5, tsNsec: 6 }));
  assert.deepEqual(
    { ...p, payload: p.payload?.toString() },
    {
      tsSec: 5,
      tsNsec: 6,
      frame: 9,
      length: data.length,
      capturedLength: data.length,
      link: { linkType: 1, name: 'eth', dstMac: '00:11:22:33:44:55', srcMac: '66:77:88:99:aa:bb', vlans: [7], vlanTags: [{ tpid: 0x8100, tci: 7, etype: 0x0800 }], etherType: 0x0800 },
      problems: [],
      ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, ttl: 64, totalLength: 31, headerLength: 20, dscp: 0, id: 1, flags: 0, fragOffset: 0 },
      transport: { kind: 'udp', srcPort: 1111, dstPort: 2222, length: 11, checksum: 0 },
      payload: 'abc',
    },
  );
  // the payload is a view into the frame, not a copy
  assert.equal(p.payload?.buffer, data.buffer);
});

test('problem offsets count from the start of the frame', () => {
  const dec = new PacketDecoder();
  const p = dec.decode(frame(ethernet(0x0800, ipv4({}, udp(1, 2, Buffer.alloc(4), 300)), { tags: [[0x8100, 1]] })));
  assert.equal(p.problems[0].code, 'udp-length-past-ip-payload');
  assert.equal(p.problems[0].offset, 14 + 4 + 20 + 4);
});

test('capture-stage problems come first in the record', () => {
  const dec = new PacketDecoder();
  const f = frame(ethernet(0x0800, ipv4({}, udp(1, 2, Buffer.alloc(0)))));
  f.problems.push({ code: 'pcap-x', severity: 'note', message: 'from the reader', layer: 'pcap' });
  const p = dec.decode(f);
  assert.deepEqual(p.problems.map((x) => x.code), ['pcap-x']);
  assert.notEqual(p.problems, f.problems);
});

test('fragments: the incomplete ones have ip.fragment and no transport; the completing one decodes the datagram', () => {
  const dec = new PacketDecoder();
  const body = udp(5000, 6000, Buffer.from('x'.repeat(100)));
  const mk = (o: number, n: number, mf: boolean, num: number): DecodedPacket =>
    dec.decode(frame(ethernet(0x0800, ipv4({ id: 99, fragOffset: o, mf }, body.subarray(o, o + n))), { number: num }));
  const a = mk(48, body.length - 48, false, 1);
  assert.equal(a.protocolName, 'IPv4 fragment');
  assert.deepEqual(a.ip?.fragment, { id: 99, offset: 48, moreFragments: false });
  assert.equal(a.transport, undefined);
  assert.equal(a.payload, undefined);
  assert.equal(dec.pendingDatagrams, 1);
  const b = mk(0, 48, true, 2);
  assert.equal(b.ip?.fragment, undefined);
  assert.deepEqual(b.ip?.reassembledFrom, [2, 1]);
  assert.equal(b.ip?.totalLength, 20 + body.length);
  assert.deepEqual(b.transport, { kind: 'udp', srcPort: 5000, dstPort: 6000, length: 108, checksum: 0 });
  assert.equal(b.payload?.toString(), 'x'.repeat(100));
  assert.equal(b.protocolName, undefined);
  assert.equal(dec.pendingDatagrams, 0);
});

test('problems inside a reassembled datagram say their offset is within it', () => {
  const dec = new PacketDecoder();
  const body = udp(5000, 6000, Buffer.alloc(16), 500);
  dec.decode(frame(ethernet(0x0800, ipv4({ id: 5, mf: true }, body.subarray(0, 8))), { number: 1 }));
  const p = dec.decode(frame(ethernet(0x0800, ipv4({ id: 5, fragOffset: 8 }, body.subarray(8))), { number: 2 }));
  const bad = p.problems.find((x) => x.code === 'udp-length-past-ip-payload');
  assert.ok(bad);
  assert.equal(bad.offset, 4);
  assert.match(bad.message, /reassembled datagram/);
});

test('IPv6 fragmentable part starting with a destination options header', () => {
  const dec = new PacketDecoder();
  const fragmentable = Buffer.concat([ipv6Ext(17), udp(53, 5353, Buffer.alloc(40, 1))]);
  const mk = (o: number, n: number, more: boolean, num: number): DecodedPacket =>
    dec.decode(frame(ethernet(0x86dd, ipv6({ nextHeader: 44 }, Buffer.concat([ipv6Frag(60, o, more, 1234), fragmentable.subarray(o, o + n)]))), { number: num }));
  const first = mk(0, 24, true, 1);
  assert.equal(first.protocolName, 'IPv6 fragment');
  assert.equal(first.ip?.protocol, 60);
  const last = mk(24, fragmentable.length - 24, false, 2);
  assert.equal(last.ip?.protocol, 17);
  assert.equal(last.ip?.headerLength, 48 + 8);
  assert.equal(last.transport?.srcPort, 53);
  assert.equal(last.payload?.length, 40);
});

test('fragment timeouts run on packet time and land on the frame that noticed; flush gives the rest', () => {
  const dec = new PacketDecoder({ fragments: { timeoutSeconds: 30 } });
  dec.decode(frame(ethernet(0x0800, ipv4({ id: 1, mf: true }, Buffer.alloc(8))), { number: 1, tsSec: 100 }));
  dec.decode(frame(ethernet(0x0800, ipv4({ id: 2, mf: true }, Buffer.alloc(8))), { number: 2, tsSec: 120 }));
  const quiet = dec.decode(frame(ethernet(0x0800, ipv4({}, udp(1, 2, Buffer.alloc(0)))), { number: 3, tsSec: 130 }));
  assert.deepEqual(quiet.problems, []);
  const later = dec.decode(frame(ethernet(0x0800, ipv4({}, udp(1, 2, Buffer.alloc(0)))), { number: 4, tsSec: 131 }));
  assert.deepEqual(later.problems.map((x) => x.code), ['ip-fragment-timeout']);
  assert.match(later.problems[0].message, /frames 1\)/);
  const left = dec.flush();
  assert.equal(left.length, 1);
  assert.deepEqual(left[0].frames, [2]);
  assert.equal(left[0].problem.code, 'ip-fragment-incomplete');
});

test('a fragment cut by the snaplen is not reassembled', () => {
  const dec = new PacketDecoder();
  const data = ethernet(0x0800, ipv4({ id: 1, mf: true }, Buffer.alloc(800)));
  const p = dec.decode(frame(data.subarray(0, 200), { originalLength: data.length }));
  assert.equal(p.protocolName, 'IPv4 fragment');
  assert.deepEqual(p.problems.map((x) => x.code), ['ipv4-snaplen-cut', 'ip-fragment-truncated']);
  assert.equal(dec.pendingDatagrams, 0);
});

test('GTP-U: tunnel record, inner TCP with sequence; the depth is recorded for GTP in GTP', () => {
  const dec = new PacketDecoder();
  const innerTcp = ipv4({ src: '100.64.0.1', dst: '8.8.8.8', protocol: 6 }, tcp({ sport: 40000, dport: 80, seq: 5 }, Buffer.from('GET')));
  const one = dec.decode(frame(ethernet(0x0800, ipv4({ src: '10.1.1.1', dst: '10.2.2.2' }, udp(2152, 2152, gtpu({ teid: 42, seq: 3 }, innerTcp))))));
  const { outerIp, outerUdp, ...tunnel } = one.tunnel ?? {};
  assert.deepEqual(tunnel, { kind: 'gtp-u', outerSrc: '10.1.1.1', outerDst: '10.2.2.2', outerSrcPort: 2152, outerDstPort: 2152, teid: 42, messageType: 255, flags: 0x32, length: 4 + 43, sequence: 3 });
  assert.equal(outerIp?.src, '10.1.1.1');
  assert.equal(outerUdp?.dstPort, 2152);
  assert.equal(one.ip?.src, '100.64.0.1');
  assert.equal(one.transport?.kind, 'tcp');
  assert.equal(one.payload?.toString(), 'GET');

  const nested = ipv4({ src: '10.3.3.3', dst: '10.4.4.4' }, udp(2152, 2152, gtpu({ teid: 43 }, innerTcp)));
  const two = dec.decode(frame(ethernet(0x0800, ipv4({ src: '10.1.1.1', dst: '10.2.2.2' }, udp(2152, 2152, gtpu({ teid: 42 }, nested))))));
  assert.equal(two.tunnel?.teid, 43);
  assert.equal(two.tunnel?.outerSrc, '10.3.3.3');
  assert.equal(two.tunnel?.depth, 2);
  assert.equal(two.ip?.src, '100.64.0.1');
});

test('GTP-U nested past the depth limit stops unwrapping with a warning', () => {
  const dec = new PacketDecoder({ maxTunnelDepth: 4 });
  let pkt = ipv4({ src: '100.64.0.1', dst: '100.64.0.2' }, udp(1, 2, Buffer.from('end')));
  for (let i = 0; i < 6; i++) pkt = ipv4({ src: `10.0.0.${i}`, dst: '10.9.9.9' }, udp(2152, 2152, gtpu({ teid: i }, pkt)));
  const p = dec.decode(frame(ethernet(0x0800, pkt)));
  assert.deepEqual(p.problems.map((x) => x.code), ['gtpu-too-deep']);
  assert.equal(p.tunnel?.depth, 4);
  assert.equal(p.tunnel?.teid, 2);
  assert.equal(p.ip?.src, '10.0.0.1');
  assert.equal(p.transport?.kind, 'udp');
  assert.equal(p.transport?.dstPort, 2152);
});

test('GTP-U signalling and non-IP T-PDUs keep the outer datagram', () => {
  const dec = new PacketDecoder();
  const echo = dec.decode(frame(ethernet(0x0800, ipv4({ src: '10.1.1.1' }, udp(40000, 2152, gtpu({ teid: 0, type: 1, seq: 7 }, Buffer.alloc(0)))))));
  assert.equal(echo.protocolName, 'GTP-U Echo Request');
  assert.equal(echo.ip?.src, '10.1.1.1');
  assert.equal(echo.transport?.dstPort, 2152);
  assert.equal(echo.tunnel?.messageType, 1);
  assert.equal(echo.payload?.length, 12);
  const junk = dec.decode(frame(ethernet(0x0800, ipv4({ src: '10.1.1.1' }, udp(2152, 2152, gtpu({ teid: 9 }, Buffer.from([0x11, 0x22, 0x33])))))));
  assert.equal(junk.protocolName, 'GTP-U G-PDU');
  assert.equal(junk.ip?.src, '10.1.1.1');
  assert.deepEqual(junk.problems.map((x) => x.code), ['ip-bad-version']);
  assert.equal(junk.problems[0].offset, 14 + 20 + 8 + 8);
  const empty = dec.decode(frame(ethernet(0x0800, ipv4({}, udp(2152, 2152, gtpu({ teid: 9 }, Buffer.alloc(0)))))));
  assert.deepEqual(empty.problems.map((x) => x.code), ['gtpu-empty-gpdu']);
  // another GTP version on the port is plain UDP
  const v2 = dec.decode(frame(ethernet(0x0800, ipv4({}, udp(2152, 2152, gtpu({ flags: 0x48 }, Buffer.alloc(8)))))));
  assert.equal(v2.tunnel, undefined);
  assert.equal(v2.transport?.dstPort, 2152);
  assert.equal(v2.payload?.length, 16);
});

test('non-IP and unknown link types give named records, no exception', () => {
  const dec = new PacketDecoder();
  const arp = dec.decode(frame(ethernet(0x0806, Buffer.alloc(28))));
  assert.equal(arp.protocolName, 'ARP');
  assert.equal(arp.ip, undefined);
  const unk = dec.decode(frame(Buffer.alloc(40), { linkType: 147 }));
  assert.equal(unk.protocolName, 'Link type 147');
  assert.equal(unk.problems[0].code, 'link-unsupported-type');
  const icmp = dec.decode(frame(ethernet(0x0800, ipv4({ protocol: 1 }, Buffer.alloc(8)))));
  assert.equal(icmp.protocolName, 'ICMP');
  const raw = dec.decode(frame(Buffer.from([0x50, 1, 2, 3]), { linkType: 101 }));
  assert.equal(raw.problems[0].code, 'ip-bad-version');
  const nullV6 = dec.decode(frame(Buffer.concat([Buffer.from([10, 0, 0, 0]), ipv6({}, udp(1, 2, Buffer.alloc(0)))]), { linkType: 0 }));
  assert.equal(nullV6.ip?.version, 6);
});

const TUNNELLED = ethernet(
  0x0800,
  ipv4({}, udp(2152, 2152, gtpu({ teid: 1, seq: 2, exts: [[0x85, Buffer.from([0, 1])]] }, ipv4({ src: '100.64.0.1', dst: '100.64.0.2', protocol: 6 }, tcp({ options: Buffer.from([2, 4, 5, 0xb4]) }, Buffer.from('payload')))))),
  { tags: [[0x8100, 3]] },
);

test('cut by the snaplen at every byte: never throws; only notes, never errors, from the link header up', () => {
  const dec = new PacketDecoder();
  for (let cut = 0; cut <= TUNNELLED.length; cut++) {
    const p = dec.decode(frame(TUNNELLED.subarray(0, cut), { originalLength: TUNNELLED.length }));
    if (cut === TUNNELLED.length) {
      assert.deepEqual(p.problems, []);
      assert.equal(p.payload?.toString(), 'payload');
      continue;
    }
    assert.ok(p.problems.length > 0 || p.payloadTruncated, `cut ${cut}`);
    assert.deepEqual(p.problems.filter((x) => x.severity === 'error'), [], `cut ${cut}`);
    // the 14-byte Ethernet header, then the 4-byte VLAN tag
    if (cut < 14) assert.deepEqual(p.problems.map((x) => x.code), ['eth-snaplen-cut'], `cut ${cut}`);
    else if (cut < 18) assert.deepEqual(p.problems.map((x) => x.code), ['vlan-snaplen-cut'], `cut ${cut}`);
    if (p.payload) assert.ok(p.payload.length <= cut);
  }
});

test('the same short link headers, captured whole (original length = captured length), are errors', () => {
  const dec = new PacketDecoder();
  for (const [cut, code] of [[10, 'eth-truncated'], [16, 'vlan-truncated']] as const) {
    const p = dec.decode(frame(TUNNELLED.subarray(0, cut)));
    assert.deepEqual(p.problems.map((x) => [x.code, x.severity]), [[code, 'error']]);
  }
});

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

test('mutated and random frames on every link type never throw and stay within the frame', () => {
  const rnd = prng(12345);
  const seeds: Array<[number, Buffer]> = [
    [1, TUNNELLED],
    [1, ethernetPackets()[13]],
    [1, ethernetPackets()[15]],
    [101, ipv6({ nextHeader: 0 }, Buffer.concat([ipv6Ext(44), ipv6Frag(17, 0, true, 1), Buffer.alloc(16)]))],
    [0, Buffer.concat([Buffer.from([2, 0, 0, 0]), ipv4({}, udp(2152, 2152, gtpu({}, ipv4({}, udp(1, 2, Buffer.alloc(4))))))])],
    [113, Buffer.concat([Buffer.alloc(14), Buffer.from([0x08, 0x00]), ipv4({ protocol: 6 }, tcp({}, Buffer.alloc(4)))])],
    [276, Buffer.concat([Buffer.from([0x86, 0xdd]), Buffer.alloc(18), ipv6({}, udp(1, 2, Buffer.alloc(4)))])],
  ];
  const dec = new PacketDecoder({ fragments: { maxPendingDatagrams: 64, maxBufferedBytes: 1 << 20 } });
  let n = 0;
  for (let round = 0; round < 3000; round++) {
    for (const [linkType, base] of seeds) {
      const data = Buffer.from(base);
      const flips = 1 + (rnd() % 6);
      for (let i = 0; i < flips; i++) data[rnd() % data.length] = rnd() & 0xff;
      const len = rnd() % 4 === 0 ? rnd() % (data.length + 1) : data.length;
      const p = dec.decode(frame(data.subarray(0, len), { linkType, number: ++n, tsSec: 1000 + (n >> 8) }));
      assert.ok(Array.isArray(p.problems));
      // a payload with bytes is a view of the frame's; an empty one (a TCP segment without data) is a shared empty view
      if (p.payload && p.payload.length > 0 && !p.ip?.reassembledFrom && !p.tunnel?.outerReassembledFrom) {
        assert.ok(p.payload.buffer === data.buffer && p.payload.byteOffset >= data.byteOffset && p.payload.byteOffset + p.payload.length <= data.byteOffset + len);
      }
    }
  }
  const garbage = Buffer.alloc(200);
  for (let i = 0; i < 2000; i++) {
    for (let j = 0; j < garbage.length; j++) garbage[j] = rnd() & 0xff;
    for (const lt of [0, 1, 101, 108, 113, 228, 229, 276]) dec.decode(frame(garbage.subarray(0, rnd() % 200), { linkType: lt, number: ++n }));
  }
  assert.ok(dec.pendingDatagrams <= 64);
  dec.flush();
});

test('a Fragment header inside a reassembled IPv6 payload is not reassembled again', () => {
  const dec = new PacketDecoder();
  const inner = Buffer.concat([ipv6Frag(17, 8, true, 77), udp(1, 2, Buffer.alloc(8))]);
  dec.decode(frame(ethernet(0x86dd, ipv6({ nextHeader: 44 }, Buffer.concat([ipv6Frag(44, 0, true, 5), inner.subarray(0, 8)]))), { number: 1 }));
  const p = dec.decode(frame(ethernet(0x86dd, ipv6({ nextHeader: 44 }, Buffer.concat([ipv6Frag(44, 8, false, 5), inner.subarray(8)]))), { number: 2 }));
  assert.deepEqual(p.ip?.reassembledFrom, [1, 2]);
  assert.equal(p.ip?.fragment, undefined);
  assert.equal(p.protocolName, 'IPv6 fragment');
  assert.equal(p.transport, undefined);
  assert.deepEqual(p.problems.map((x) => x.code), ['ipv6-nested-fragment']);
  assert.equal(dec.pendingDatagrams, 0);
});

// ---- the repository's real captures against tshark ----

/** The repository root: package.json beside tsconfig.json (a compiled dist/ may hold a copy of package.json alone). */
function repoRoot(): string | undefined {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'tsconfig.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Minimal classic-pcap walk (both byte orders, micro/nanosecond magic), so this test needs only the file. */
function readPcapFrames(file: string): ReturnType<typeof frame>[] | undefined {
  const b = fs.readFileSync(file);
  if (b.length < 24) return undefined;
  const magicLe = b.readUInt32LE(0);
  let le: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) le = true;
  else if (b.readUInt32BE(0) === 0xa1b2c3d4 || b.readUInt32BE(0) === 0xa1b23c4d) le = false;
  else return undefined;
  const r32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const linkType = r32(20) & 0x0fffffff;
  const out: ReturnType<typeof frame>[] = [];
  let o = 24;
  while (o + 16 <= b.length) {
    const incl = r32(o + 8);
    const orig = r32(o + 12);
    if (o + 16 + incl > b.length) break;
    out.push(frame(b.subarray(o + 16, o + 16 + incl), { linkType, number: out.length + 1, tsSec: r32(o), tsNsec: 0, originalLength: orig }));
    o += 16 + incl;
  }
  return out;
}

test('every classic pcap in captures/ decodes like tshark (addresses, ports, TEID)', () => {
  const root = repoRoot();
  const dir = root && path.join(root, 'captures');
  assert.ok(dir && fs.existsSync(dir), 'captures/ directory');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.pcap') && fs.statSync(path.join(dir, f)).size < 4 * 1024 * 1024);
  let compared = 0;
  for (const f of files) {
    const file = path.join(dir, f);
    const frames = readPcapFrames(file);
    if (!frames) continue;
    const expected = tsharkRows(file);
    const dec = new PacketDecoder();
    assert.equal(frames.length, expected.length, f);
    frames.forEach((fr, i) => assert.deepEqual(ourRow(dec.decode(fr)), expected[i], `${f} frame ${i + 1}`));
    compared++;
  }
  assert.ok(compared > 0, 'classic pcap files compared');
});
