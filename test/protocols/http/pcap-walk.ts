/**
 * Test-only: a minimal classic-pcap + Ethernet/IPv4 + TCP walker with in-order stream concatenation, so the HTTP tests
 * do not depend on the capture/decode/reassembly stages being written at the same time. Loopback captures only.
 */
import { readFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import type { StreamChunk, StreamDirection } from '../../../src/reassembly/types';

export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + __dirname);
    dir = up;
  }
}

export interface WalkedConnection {
  id: number;
  clientPort: number;
  serverPort: number;
  /** Chunks in capture order, each with its direction. */
  events: { dir: StreamDirection; chunk: StreamChunk }[];
}

export function walkPcapTcp(file: string): WalkedConnection[] {
  const buf = readFileSync(file);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d) throw new Error('not a classic pcap');
  const nano = (le ? magic : buf.readUInt32BE(0)) === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20);
  if (linkType !== 1) throw new Error('walker handles Ethernet only');
  const conns = new Map<string, WalkedConnection & { next: [number, number]; srcOf0: string }>();
  let off = 24;
  let frame = 0;
  while (off + 16 <= buf.length) {
    const tsSec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    const pkt = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    frame++;
    if (pkt.readUInt16BE(12) !== 0x0800) continue;
    const ip = pkt.subarray(14);
    const ihl = (ip[0] & 0x0f) * 4;
    const total = ip.readUInt16BE(2);
    if (ip[9] !== 6) continue;
    const src = ip.subarray(12, 16).join('.');
    const dst = ip.subarray(16, 20).join('.');
    const tcp = ip.subarray(ihl, total);
    const sport = tcp.readUInt16BE(0);
    const dport = tcp.readUInt16BE(2);
    const seq = tcp.readUInt32BE(4);
    const flags = tcp[13];
    const doff = (tcp[12] >> 4) * 4;
    const payload = tcp.subarray(doff);
    const a = `${src}:${sport}`;
    const b = `${dst}:${dport}`;
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    let c = conns.get(key);
    if (!c) {
      c = { id: conns.size, clientPort: sport, serverPort: dport, events: [], next: [-1, -1], srcOf0: a };
      conns.set(key, c);
    }
    const dir: StreamDirection = a === c.srcOf0 ? 0 : 1;
    if (flags & 0x02) {
      c.next[dir] = (seq + 1) >>> 0;
      continue;
    }
    if (payload.length === 0) continue;
    if (c.next[dir] < 0) c.next[dir] = seq;
    const isn0 = c.next[dir];
    const rel = (seq - isn0) >>> 0;
    if (rel !== 0) continue; // in-order only: loopback captures have no loss; retransmissions skipped
    const streamOffset = c.events.filter((e) => e.dir === dir).reduce((n, e) => n + e.chunk.data.length, 0);
    c.next[dir] = (seq + payload.length) >>> 0;
    c.events.push({
      dir,
      chunk: { streamOffset, data: Buffer.from(payload), frame, frames: [frame], tsSec, tsNsec: nano ? frac : frac * 1000 },
    });
  }
  return [...conns.values()].map(({ id, clientPort, serverPort, events }) => ({ id, clientPort, serverPort, events }));
}
