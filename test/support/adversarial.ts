/**
 * Adversarial captures for the budget tests, written as a stream (a record at a time through a small buffer), so a
 * capture of hundreds of megabytes costs the test no memory. Classic pcap, Ethernet, microsecond timestamps. Not a
 * test file itself.
 */
import * as fs from 'node:fs';
import { ethernet, ipv4, tcp } from '../decode/craft';

/** Bytes gathered before a write: big enough that the syscalls do not dominate. */
const WRITE_CHUNK = 1 << 20;

export class PcapStream {
  private readonly fd: number;
  private buf = Buffer.alloc(WRITE_CHUNK);
  private used = 0;
  frames = 0;
  bytes = 0;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'w');
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(1, 20); // Ethernet
    this.put(h);
  }

  /** One frame at `t` seconds (microsecond resolution). */
  frame(t: number, data: Buffer): void {
    const h = Buffer.alloc(16);
    const us = Math.round(t * 1e6);
    h.writeUInt32LE(Math.floor(us / 1e6), 0);
    h.writeUInt32LE(us % 1e6, 4);
    h.writeUInt32LE(data.length, 8);
    h.writeUInt32LE(data.length, 12);
    this.put(h);
    this.put(data);
    this.frames++;
  }

  private put(b: Buffer): void {
    if (this.used + b.length > this.buf.length) this.flush();
    if (b.length > this.buf.length) {
      fs.writeSync(this.fd, b);
    } else {
      b.copy(this.buf, this.used);
      this.used += b.length;
    }
    this.bytes += b.length;
  }

  private flush(): void {
    if (this.used > 0) fs.writeSync(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}

const T0 = 1_800_000_000;

function ipAddr(n: number): string {
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

function tcpFrame(src: string, dst: string, sport: number, dport: number, seq: number, ack: number, flags: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  return ethernet(0x0800, ipv4({ src, dst, protocol: 6 }, tcp({ sport, dport, seq, ack, flags }, payload)));
}

/**
 * The three-way handshake of client `c`:`port` to server `s`:80 (client ISN 999, server ISN 4999), 10 µs apart from
 * `t`; returns the time of the last frame. Client data then starts at sequence 1000, the server's at 5000.
 */
function handshake(w: PcapStream, t: number, c: string, s: string, port: number): number {
  w.frame((t += 1e-5), tcpFrame(c, s, port, 80, 999, 0, 0x02));
  w.frame((t += 1e-5), tcpFrame(s, c, 80, port, 4999, 1000, 0x12));
  w.frame((t += 1e-5), tcpFrame(c, s, port, 80, 1000, 5000, 0x10));
  return t;
}

/**
 * `requests` pipelined GETs on one connection, never answered: handshake, then client segments of `perSegment`
 * requests each, every segment ACKed by the server (so nothing waits on a hole). One request is ~50 bytes.
 */
export function pipelinedRequests(path: string, requests: number, perSegment = 32): PcapStream {
  const w = new PcapStream(path);
  const c = '10.1.0.1';
  const s = '10.1.0.2';
  let cseq = 1000;
  const sseq = 9001;
  let t = T0;
  w.frame(t, tcpFrame(c, s, 40000, 80, cseq - 1, 0, 0x02));
  w.frame((t += 1e-4), tcpFrame(s, c, 80, 40000, sseq - 1, cseq, 0x12));
  w.frame((t += 1e-4), tcpFrame(c, s, 40000, 80, cseq, sseq, 0x10));
  for (let i = 0; i < requests; i += perSegment) {
    const parts: string[] = [];
    for (let j = i; j < Math.min(requests, i + perSegment); j++) parts.push(`GET /k/${j} HTTP/1.1\r\nHost: b\r\n\r\n`);
    const payload = Buffer.from(parts.join(''));
    w.frame((t += 1e-5), tcpFrame(c, s, 40000, 80, cseq, sseq, 0x18, payload));
    cseq += payload.length;
    w.frame((t += 1e-5), tcpFrame(s, c, 80, 40000, sseq, cseq, 0x10));
  }
  w.close();
  return w;
}

/**
 * `flows` TCP connections that never close, each from its own client: handshake and one request whose body never
 * comes (so the HTTP parser and the Dissector both keep state for it).
 */
export function neverClosedFlows(path: string, flows: number): PcapStream {
  const w = new PcapStream(path);
  const s = '10.200.0.1';
  let t = T0;
  const head = Buffer.from('POST /keymanagement?requesttype=msk-request HTTP/1.1\r\nHost: b\r\nContent-Length: 1000\r\n\r\n<x');
  for (let i = 0; i < flows; i++) {
    const c = ipAddr(0x10000 + i);
    const port = 10000 + (i % 50000);
    t = handshake(w, t, c, s, port);
    w.frame((t += 1e-5), tcpFrame(c, s, port, 80, 1000, 5000, 0x18, head));
  }
  w.close();
  return w;
}

/**
 * `holes` IPv4 datagrams of which only the first fragment is captured (each waits for fragments that never come), and
 * as many TCP segments that overlap one another out of order on `holes / 64` connections whose first bytes are missing
 * (held out-of-order data, compared byte for byte on each overlap).
 */
export function holesAndOverlaps(path: string, holes: number): PcapStream {
  const w = new PcapStream(path);
  let t = T0;
  const frag = Buffer.alloc(64, 0x61);
  for (let i = 0; i < holes; i++) {
    const src = ipAddr(0x20000 + (i % 60000));
    const ip = ipv4({ src, dst: '10.250.0.1', protocol: 17, id: i & 0xffff, mf: true, fragOffset: 0 }, frag);
    w.frame((t += 1e-5), ethernet(0x0800, ip));
  }
  const conns = Math.max(1, Math.floor(holes / 64));
  const data = Buffer.alloc(200, 0x62);
  for (let i = 0; i < conns; i++) w.frame((t += 1e-5), tcpFrame(ipAddr(0x30000 + i), '10.251.0.1', 30000, 80, 2000, 0, 0x02));
  for (let k = 0; k < 64; k++) {
    for (let i = 0; i < conns; i++) {
      const c = ipAddr(0x30000 + i);
      // segments start 1000 bytes in (the hole) and overlap their predecessor by half, in descending order
      const seq = 2000 + 1000 + (63 - k) * 100;
      w.frame((t += 1e-5), tcpFrame(c, '10.251.0.1', 30000, 80, seq, 7000, 0x18, data));
    }
  }
  w.close();
  return w;
}

/**
 * `connections` TCP connections, each from its own client, that never close and get no response: handshake, one
 * segment of `pipelined` GETs (all awaiting a response), then a message left unfinished with `partialBytes` of it
 * captured — on even connections a POST whose body (Content-Length 1 MB) stops after `partialBytes`, on odd ones a
 * header block that stops inside a `partialBytes` long header line. What the per-connection limits multiply by the
 * connection count: requests awaiting a response and the bytes of messages in progress.
 */
export function unfinishedHttpLoad(path: string, connections: number, pipelined = 32, partialBytes = 4096): PcapStream {
  const w = new PcapStream(path);
  const s = '10.201.0.1';
  let t = T0;
  const gets: string[] = [];
  for (let j = 0; j < pipelined; j++) gets.push(`GET /k/${j} HTTP/1.1\r\nHost: b\r\n\r\n`);
  const getBytes = Buffer.from(gets.join(''));
  const bodyHead = Buffer.from('POST /keymanagement?requesttype=register HTTP/1.1\r\nHost: b\r\nContent-Length: 1000000\r\n\r\n');
  const body = Buffer.concat([bodyHead, Buffer.alloc(partialBytes, 0x61)]);
  const headerHead = Buffer.from('POST /keymanagement?requesttype=register HTTP/1.1\r\nHost: b\r\nX-Long: ');
  const header = Buffer.concat([headerHead, Buffer.alloc(partialBytes, 0x62)]);
  for (let i = 0; i < connections; i++) {
    const c = ipAddr(0x40000 + i);
    const port = 10000 + (i % 50000);
    t = handshake(w, t, c, s, port);
    w.frame((t += 1e-5), tcpFrame(c, s, port, 80, 1000, 5000, 0x18, getBytes));
    const tail = i % 2 === 0 ? body : header;
    w.frame((t += 1e-5), tcpFrame(c, s, port, 80, 1000 + getBytes.length, 5000, 0x18, tail));
    w.frame((t += 1e-5), tcpFrame(s, c, 80, port, 5000, 1000 + getBytes.length + tail.length, 0x10));
  }
  w.close();
  return w;
}

/**
 * `connections` TCP connections, each from its own client, that never close: handshake and one segment of `pipelined`
 * GETs, ACKed by the server, never answered. What the per-connection pending list (HttpLimits.maxPendingRequests)
 * multiplies by the connection count; HttpSharedLimits bounds it over all connections.
 */
export function pipelinedConnections(path: string, connections: number, pipelined = 32): PcapStream {
  const w = new PcapStream(path);
  const s = '10.202.0.1';
  let t = T0;
  const gets: string[] = [];
  for (let j = 0; j < pipelined; j++) gets.push(`GET /k/${j} HTTP/1.1\r\nHost: b\r\n\r\n`);
  const getBytes = Buffer.from(gets.join(''));
  for (let i = 0; i < connections; i++) {
    const c = ipAddr(0x50000 + i);
    const port = 10000 + (i % 50000);
    t = handshake(w, t, c, s, port);
    w.frame((t += 1e-5), tcpFrame(c, s, port, 80, 1000, 5000, 0x18, getBytes));
    w.frame((t += 1e-5), tcpFrame(s, c, 80, port, 5000, 1000 + getBytes.length, 0x10));
  }
  w.close();
  return w;
}

/**
 * `connections` TCP connections, each from its own client, each with a large message in progress when the capture
 * ends: `bytes` of it captured in `segment`-byte segments, in order, ACKed by the server — on even connections the body
 * of a POST (Content-Length 16 MB), on odd ones one header line that never ends. The connections are written one after
 * the other, so up to the connection bound they are all in progress at once; what HttpSharedLimits.maxInProgressBytes
 * bounds over all connections (and HttpLimits.maxHeaderBytes / maxBodyBytes on each).
 */
export function largeMessagesInProgress(path: string, connections: number, bytes = 64 * 1024, segment = 1400): PcapStream {
  const w = new PcapStream(path);
  const s = '10.203.0.1';
  let t = T0;
  const bodyHead = Buffer.from('POST /keymanagement?requesttype=register HTTP/1.1\r\nHost: b\r\nContent-Length: 16000000\r\n\r\n');
  const headerHead = Buffer.from('POST /keymanagement?requesttype=register HTTP/1.1\r\nHost: b\r\nX-Long: ');
  const fill = [Buffer.alloc(segment, 0x61), Buffer.alloc(segment, 0x62)];
  for (let i = 0; i < connections; i++) {
    const c = ipAddr(0x60000 + i);
    const port = 10000 + (i % 50000);
    t = handshake(w, t, c, s, port);
    const head = i % 2 === 0 ? bodyHead : headerHead;
    let seq = 1000;
    w.frame((t += 1e-5), tcpFrame(c, s, port, 80, seq, 5000, 0x18, head));
    seq += head.length;
    for (let sent = 0; sent < bytes; sent += segment) {
      const part = sent + segment <= bytes ? fill[i % 2] : fill[i % 2].subarray(0, bytes - sent);
      w.frame((t += 1e-5), tcpFrame(c, s, port, 80, seq, 5000, 0x18, part));
      seq += part.length;
    }
    w.frame((t += 1e-5), tcpFrame(s, c, 80, port, 5000, seq, 0x10));
  }
  w.close();
  return w;
}
