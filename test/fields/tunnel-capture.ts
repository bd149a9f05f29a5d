/**
 * A small capture with the paths the bundled recordings lack: UDP MIKEY and HTTP over TCP inside GTP-U (IPv4 and IPv6
 * inside), over IPv6 (with a hop-by-hop header), behind 802.1Q and 802.1ad tags, and in a fragmented IPv4 datagram.
 * Loopback addresses only (127.180.0.0/16, ::1). Written with keyscope's own PcapWriter (Ethernet, link type 1); the
 * bytes come from the decode tests' crafting helpers and the MIKEY encoder, so tshark can be the oracle on them.
 */
import { PcapWriter } from '../../src/capture/pcap-writer';
import { buildMskAck, buildMskDelivery } from '../../src/protocols/mikey/encode';
import { ethernet, gtpu, ipv4, ipv6, ipv6Ext, tcp, udp } from '../decode/craft';

const OUTER_A = '127.180.0.1';
const OUTER_B = '127.180.0.2';
const BMSC = '127.180.1.1';
const UE = '127.180.1.2';
const MIKEY_PORT = 2269;
const GTPU_PORT = 2152;
const SYN = 0x02;
const ACK = 0x10;
const PSH_ACK = 0x18;
const FIN_ACK = 0x11;

const NAF = Buffer.alloc(32, 0x4e);
const RAND = Buffer.alloc(16, 0x52);
const KD = Buffer.from('00f110', 'hex');
const BMSC_FQDN = 'bmsc.mnc001.mcc001.pub.3gppnetwork.org';
const BTID = 'VHVubmVs@bsf.mnc001.mcc001.pub.3gppnetwork.org';

function mskDelivery(counter: number, keyNumber: number): Buffer {
  return buildMskDelivery({
    muk: NAF, rand: RAND, counter, csbId: 0x7e570001, idi: BMSC_FQDN, idr: BTID, keyDomainId: KD, keyGroup: 1, keyNumber,
    msk: Buffer.alloc(16, keyNumber), interval: { seqL: 0, seqU: 100 }, v: true,
  });
}
function mskAck(counter: number): Buffer {
  const c = Buffer.alloc(4);
  c.writeUInt32BE(counter);
  return buildMskAck({ delivery: { csbId: 0x7e570001, rand: RAND, counterValue: c, idi: Buffer.from(BMSC_FQDN), idr: Buffer.from(BTID) }, muk: NAF });
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

/** IPv4 Ethernet frame carrying a GTP-U message between the two tunnel ends. */
function overGtp(up: boolean, teid: number, inner: Buffer, o: { seq?: number; type?: number } = {}): Buffer {
  const g = gtpu({ teid, seq: o.seq, type: o.type }, inner);
  return ethernet(ETH_IPV4, ipv4({ src: up ? OUTER_A : OUTER_B, dst: up ? OUTER_B : OUTER_A, id: 0x0100 + teid, ttl: 61 }, udp(GTPU_PORT, GTPU_PORT, g)));
}

/** One HTTP GET and its 200 over a TCP connection, with handshake and FIN, as the IP packets of each segment. */
function httpExchange(ip: (toServer: boolean, seg: Buffer) => Buffer, clientPort: number): Buffer[] {
  const req = Buffer.from('GET /keys/msk?kg=1 HTTP/1.1\r\nHost: bmsc.example\r\nUser-Agent: keyscope-test\r\n\r\n');
  const res = Buffer.from('HTTP/1.1 200 OK\r\nServer: test\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello');
  const c = 0x10000000;
  const s = 0xfffffff0; // wraps past 2^32: relative numbers must still be right
  const up = (seq: number, ack: number, flags: number, body = Buffer.alloc(0)) => ip(true, tcp({ sport: clientPort, dport: 80, seq, ack, flags }, body));
  const down = (seq: number, ack: number, flags: number, body = Buffer.alloc(0)) => ip(false, tcp({ sport: 80, dport: clientPort, seq, ack, flags }, body));
  return [
    up(c, 0, SYN),
    down(s, c + 1, SYN | ACK),
    up(c + 1, s + 1, ACK),
    up(c + 1, s + 1, PSH_ACK, req),
    down(s + 1, c + 1 + req.length, PSH_ACK, res),
    up(c + 1 + req.length, s + 1 + res.length, FIN_ACK),
    down(s + 1 + res.length, c + 2 + req.length, FIN_ACK),
    up(c + 2 + req.length, s + 2 + res.length, ACK),
  ];
}

/** The frames, in capture order (Ethernet). */
export function tunnelCaptureFrames(): Buffer[] {
  const frames: Buffer[] = [];
  // GTP-U: MIKEY both ways (uplink TEID 0x11, downlink 0x22 with a sequence number), HTTP over TCP, an Echo Request
  frames.push(overGtp(false, 0x22, ipv4({ src: BMSC, dst: UE, id: 0x2001 }, udp(MIKEY_PORT, MIKEY_PORT, mskDelivery(1, 2))), { seq: 7 }));
  frames.push(overGtp(true, 0x11, ipv4({ src: UE, dst: BMSC, id: 0x2002 }, udp(MIKEY_PORT, MIKEY_PORT, mskAck(1)))));
  frames.push(...httpExchange((toServer, seg) => overGtp(toServer, toServer ? 0x11 : 0x22, ipv4({ src: toServer ? UE : BMSC, dst: toServer ? BMSC : UE, protocol: 6, df: true }, seg)), 40001));
  frames.push(overGtp(true, 0, Buffer.alloc(0), { seq: 1, type: 1 }));
  // GTP-U with IPv6 inside
  frames.push(overGtp(false, 0x22, ipv6({ src: '::1', dst: '::1', nextHeader: 17 }, udp(MIKEY_PORT, MIKEY_PORT, mskDelivery(2, 3)))));
  // IPv6: MIKEY, HTTP over TCP, MIKEY after a hop-by-hop options header, a flow label and traffic class
  frames.push(ethernet(ETH_IPV6, ipv6({ src: '::1', dst: '::1', nextHeader: 17, hopLimit: 64, trafficClass: 0xb8 }, udp(MIKEY_PORT, MIKEY_PORT, mskDelivery(3, 4)))));
  frames.push(...httpExchange((_up, seg) => ethernet(ETH_IPV6, ipv6({ src: '::1', dst: '::1', nextHeader: 6 }, seg)), 40002));
  frames.push(ethernet(ETH_IPV6, ipv6({ src: '::1', dst: '::1', nextHeader: 0 }, Buffer.concat([ipv6Ext(17), udp(MIKEY_PORT, MIKEY_PORT, mskAck(3))]))));
  // 802.1Q (PCP 5, VID 100) and 802.1ad QinQ (VID 10 outside, 20 inside, DEI set inside)
  frames.push(ethernet(ETH_IPV4, ipv4({ src: BMSC, dst: UE, id: 0x3001 }, udp(MIKEY_PORT, MIKEY_PORT, mskDelivery(4, 5))), { tags: [[0x8100, (5 << 13) | 100]] }));
  frames.push(ethernet(ETH_IPV4, ipv4({ src: UE, dst: BMSC, id: 0x3002 }, udp(MIKEY_PORT, MIKEY_PORT, mskAck(4))), { tags: [[0x88a8, 10], [0x8100, (1 << 12) | 20]] }));
  // a MIKEY datagram in three IPv4 fragments (48, 48 and the rest of the UDP datagram)
  const dgram = udp(MIKEY_PORT, MIKEY_PORT, mskDelivery(5, 6));
  for (let off = 0; off < dgram.length; off += 48) {
    const piece = dgram.subarray(off, Math.min(dgram.length, off + 48));
    frames.push(ethernet(ETH_IPV4, ipv4({ src: BMSC, dst: UE, id: 0x4242, fragOffset: off, mf: off + 48 < dgram.length }, piece)));
  }
  return frames;
}

export function writeTunnelCapture(file: string): number {
  const w = new PcapWriter(file, { linkType: 1 });
  const frames = tunnelCaptureFrames();
  frames.forEach((data, i) => w.write({ tsSec: 1_800_000_000 + i, tsNsec: i * 1000, data }));
  w.commit();
  return frames.length;
}
