/**
 * A minimal classic-pcap → Ethernet/IPv4/UDP walker for the MIKEY tests, so they do not depend on the capture and
 * decode stages being written at the same time. Handles exactly what tcpdump on `lo` writes.
 */
import * as fs from 'node:fs';

export interface UdpDatagram {
  frame: number;
  tsSec: number;
  tsNsec: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

export function udpDatagrams(file: string): UdpDatagram[] {
  const b = fs.readFileSync(file);
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && b.readUInt32BE(0) !== 0xa1b2c3d4 && b.readUInt32BE(0) !== 0xa1b23c4d) throw new Error('not a classic pcap');
  const nano = (le ? magic : b.readUInt32BE(0)) === 0xa1b23c4d;
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const linkType = u32(20);
  if (linkType !== 1) throw new Error(`link type ${linkType}, expected Ethernet`);
  const out: UdpDatagram[] = [];
  let off = 24;
  let frame = 0;
  while (off + 16 <= b.length) {
    const caplen = u32(off + 8);
    const rec = b.subarray(off + 16, off + 16 + caplen);
    frame++;
    const tsSec = u32(off);
    const tsNsec = nano ? u32(off + 4) : u32(off + 4) * 1000;
    off += 16 + caplen;
    if (rec.length < 14 + 20 || rec.readUInt16BE(12) !== 0x0800) continue;
    const ip = rec.subarray(14);
    const ihl = (ip[0] & 0x0f) * 4;
    if (ip[9] !== 17) continue;
    const udp = ip.subarray(ihl, ip.readUInt16BE(2));
    const ulen = udp.readUInt16BE(4);
    out.push({
      frame, tsSec, tsNsec, src: Array.from(ip.subarray(12, 16)).join('.'), dst: Array.from(ip.subarray(16, 20)).join('.'),
      srcPort: udp.readUInt16BE(0), dstPort: udp.readUInt16BE(2), payload: Buffer.from(udp.subarray(8, ulen)),
    });
  }
  return out;
}
