/**
 * Real bytes: a Node HTTP POST recorded on loopback (captures/tcp-http-loopback.pcap, see captures/README.md),
 * reassembled and compared with tshark's `follow,tcp,raw` output; then the same packets reordered and thinned.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from '../support/proc';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TcpReassembler } from '../../src/reassembly/tcp';
import type { TcpReassemblerOptions } from '../../src/reassembly/tcp';
import type { DecodedPacket } from '../../src/decode/types';
import { Recorder, seededRandom, shuffle } from './tcp-helpers';

function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + __dirname);
    dir = up;
  }
  return dir;
}

const PCAP = path.join(repoRoot(), 'captures', 'tcp-http-loopback.pcap');

/** Classic pcap split into its file header and whole records (record header included). */
function pcapRecords(buf: Buffer): { header: Buffer; records: Buffer[] } {
  const records: Buffer[] = [];
  let pos = 24;
  while (pos + 16 <= buf.length) {
    const end = pos + 16 + buf.readUInt32LE(pos + 8);
    records.push(buf.subarray(pos, end));
    pos = end;
  }
  return { header: buf.subarray(0, 24), records };
}

/** Minimal classic-pcap walk + Ethernet/IPv4/TCP decode, only what this test needs (the project reader is separate). */
function readTcpPackets(file: string): DecodedPacket[] {
  const buf = readFileSync(file);
  const magic = buf.readUInt32LE(0);
  assert.ok(magic === 0xa1b2c3d4 || magic === 0xa1b23c4d, 'little-endian pcap expected');
  const nano = magic === 0xa1b23c4d;
  assert.equal(buf.readUInt32LE(20), 1, 'Ethernet link type expected');
  const out: DecodedPacket[] = [];
  let pos = 24;
  let frame = 0;
  while (pos + 16 <= buf.length) {
    const tsSec = buf.readUInt32LE(pos);
    const frac = buf.readUInt32LE(pos + 4);
    const caplen = buf.readUInt32LE(pos + 8);
    const origlen = buf.readUInt32LE(pos + 12);
    const data = buf.subarray(pos + 16, pos + 16 + caplen);
    pos += 16 + caplen;
    frame++;
    if (data.readUInt16BE(12) !== 0x0800) continue;
    const ip = data.subarray(14);
    const ihl = (ip[0] & 0x0f) * 4;
    const totalLength = ip.readUInt16BE(2);
    if (ip[9] !== 6) continue;
    const tcp = ip.subarray(ihl, totalLength);
    const thl = (tcp[12] >> 4) * 4;
    const addr = (o: number): string => `${ip[o]}.${ip[o + 1]}.${ip[o + 2]}.${ip[o + 3]}`;
    const p: DecodedPacket = {
      frame,
      tsSec,
      tsNsec: nano ? frac : frac * 1000,
      length: origlen,
      capturedLength: caplen,
      link: { linkType: 1, name: 'eth', etherType: 0x0800 },
      ip: { version: 4, src: addr(12), dst: addr(16), protocol: 6, ttl: ip[8], totalLength, headerLength: ihl },
      transport: {
        kind: 'tcp',
        srcPort: tcp.readUInt16BE(0),
        dstPort: tcp.readUInt16BE(2),
        seq: tcp.readUInt32BE(4),
        ack: tcp.readUInt32BE(8),
        flags: tcp[13] | ((tcp[12] & 1) << 8),
        window: tcp.readUInt16BE(14),
        headerLength: thl,
      },
      problems: [],
    };
    if (tcp.length > thl) p.payload = tcp.subarray(thl);
    out.push(p);
  }
  return out;
}

interface FollowedStream {
  /** Port of tshark's node 0 (the first sender: the client when the SYN is in the capture). */
  node0Port: number;
  toServer: Buffer;
  toClient: Buffer;
}

/** tshark's reassembled TCP streams (`-z follow,tcp,raw,N` for each N in one run). */
function tsharkFollow(file: string, streams: number[] = [0]): FollowedStream[] {
  const args = ['-r', file, '-q'];
  for (const n of streams) args.push('-z', `follow,tcp,raw,${n}`);
  const text = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const out: FollowedStream[] = [];
  let toServer: string[] = [];
  let toClient: string[] = [];
  let node0Port = -1;
  const close = (): void => {
    if (node0Port >= 0) out.push({ node0Port, toServer: Buffer.from(toServer.join(''), 'hex'), toClient: Buffer.from(toClient.join(''), 'hex') });
    toServer = [];
    toClient = [];
    node0Port = -1;
  };
  for (const line of text.split('\n')) {
    const node0 = /^Node 0: .*:(\d+)$/.exec(line);
    if (node0 !== null) {
      close();
      node0Port = Number(node0[1]);
    } else if (/^\t[0-9a-f]+$/.test(line)) toClient.push(line.slice(1));
    else if (/^[0-9a-f]+$/.test(line)) toServer.push(line);
  }
  close();
  return out;
}

function reassemble(packets: DecodedPacket[], options?: TcpReassemblerOptions): { rec: Recorder; r: TcpReassembler } {
  const rec = new Recorder();
  const r = new TcpReassembler(rec, options);
  for (const p of packets) r.packet(p);
  r.flush();
  return { rec, r };
}

describe('TcpReassembler on a real loopback HTTP exchange', () => {
  const packets = readTcpPackets(PCAP);
  const [followed] = tsharkFollow(PCAP);
  const clientBytes = followed.toServer;
  const serverBytes = followed.toClient;
  const dataPackets = packets.filter((p) => (p.payload?.length ?? 0) > 0);

  it('gives the same client and server streams as tshark follow,tcp,raw', () => {
    assert.ok(clientBytes.length > 10_000 && serverBytes.length > 18_000, 'the capture holds a multi-segment exchange');
    const { rec, r } = reassemble(packets);
    assert.equal(rec.of('open').length, 1);
    const info = rec.conns.get(1);
    assert.ok(info);
    assert.equal(info.handshakeSeen, true);
    assert.equal(info.serverPort, 18090);
    assert.equal(info.clientPort, followed.node0Port);
    assert.ok(rec.stream(1, 0).equals(clientBytes));
    assert.ok(rec.stream(1, 1).equals(serverBytes));
    assert.deepEqual(
      rec.of('data').map((e) => e.frame),
      dataPackets.map((p) => p.frame),
    );
    assert.deepEqual(
      rec.of('end').map((e) => [e.dir, e.reason]),
      [
        [1, 'fin'],
        [0, 'fin'],
      ],
    );
    const st = r.stats;
    assert.equal(st.gapBytes, 0);
    assert.equal(st.retransmissions, 0);
    assert.equal(st.outOfOrderSegments, 0);
    assert.equal(st.bytesDelivered, clientBytes.length + serverBytes.length);
    assert.deepEqual(rec.problemCodes(), []);
  });

  it('gives identical streams when everything after the handshake is shuffled (seeded)', () => {
    for (const seed of [1, 2, 3, 20261123]) {
      const order = [...packets.slice(0, 3), ...shuffle(packets.slice(3), seededRandom(seed))];
      assert.notDeepEqual(
        order.map((p) => p.frame),
        packets.map((p) => p.frame),
      );
      // a full shuffle puts ACKs ahead of the data they acknowledge, by up to the whole capture (0.2 s): within the
      // default reordering window
      const { rec, r } = reassemble(order);
      assert.ok(rec.stream(1, 0).equals(clientBytes), `client stream, seed ${seed}`);
      assert.ok(rec.stream(1, 1).equals(serverBytes), `server stream, seed ${seed}`);
      assert.equal(r.gapBytes, 0);
      assert.equal(r.ackedUnseenBytes, 0);
      assert.ok(r.stats.lateAckedBytes > 0);
      assert.ok(r.outOfOrderSegments > 0);
      assert.equal(r.bufferedBytes, 0);
      assert.equal(r.stats.deferredBytes, 0);
      assert.deepEqual(rec.problemCodes(), ['tcp-late-segment']);
      const frames = rec.of('data').flatMap((e) => e.frames);
      assert.deepEqual(frames.filter((f) => dataPackets.some((p) => p.frame === f)).length, dataPackets.length);
    }
  });

  it('reorders data segments within each direction and duplicates some, with default options', () => {
    // reordering of one direction's segments (as the network does) keeps every ACK after the data it covers
    const random = seededRandom(7);
    const byDir = new Map<number, DecodedPacket[]>();
    for (const p of dataPackets) {
      const port = p.transport?.srcPort ?? 0;
      byDir.set(port, [...(byDir.get(port) ?? []), p]);
    }
    const moved = new Map<DecodedPacket, DecodedPacket>();
    for (const list of byDir.values()) {
      const mixed = shuffle(list, random);
      list.forEach((p, i) => moved.set(p, mixed[i]));
    }
    const order: DecodedPacket[] = [];
    for (const p of packets) {
      const q = moved.get(p);
      order.push(q ?? p);
      if (q !== undefined && random() < 0.3) order.push(q);
    }
    // the loopback peer ACKs every segment, so a segment moved to a later slot can follow the ACK that covers it:
    // the reordering window waits for it
    const { rec, r } = reassemble(order);
    assert.ok(rec.stream(1, 0).equals(clientBytes));
    assert.ok(rec.stream(1, 1).equals(serverBytes));
    assert.equal(r.gapBytes, 0);
    assert.equal(r.ackedUnseenBytes, 0);
    assert.ok(r.retransmissions > 0);
    assert.deepEqual(rec.problemCodes().filter((c) => c !== 'tcp-late-segment'), []);
  });

  it('reports a segment missing from the capture as an ACKed-unseen gap and keeps the rest of the stream', () => {
    const lost = dataPackets[2];
    const lostLen = lost.payload?.length ?? 0;
    const lostDir = lost.transport?.srcPort === 18090 ? 1 : 0;
    const thinned = packets.filter((p) => p !== lost);
    const next = packets[packets.indexOf(lost) + 1];
    // the whole capture lasts 0.2 s, less than the default reordering window: the hole waits until the end of the
    // capture; with a window of 0, a capture trusted to keep the two directions in order, it is declared at once
    for (const window of [undefined, 0]) {
      const { rec, r } = reassemble(thinned, window === undefined ? {} : { reorderWindowSeconds: window });
      const gaps = rec.of('gap');
      assert.equal(gaps.length, 1);
      assert.equal(gaps[0].dir, lostDir);
      assert.equal(gaps[0].length, lostLen);
      assert.equal(r.gapBytes, lostLen);
      assert.equal(r.ackedUnseenBytes, lostLen);
      assert.equal(r.stats.lateAckedBytes, 0);
      // window 0: declared at the very next packet, the peer's ACK that covers the lost bytes
      assert.equal(gaps[0].frame, window === 0 ? next.frame : thinned[thinned.length - 1].frame);
      const full = lostDir === 0 ? clientBytes : serverBytes;
      const expected = Buffer.concat([full.subarray(0, gaps[0].offset), full.subarray(gaps[0].offset + lostLen)]);
      assert.ok(rec.stream(1, lostDir).equals(expected));
      assert.ok(rec.stream(1, (1 - lostDir) as 0 | 1).equals(lostDir === 0 ? serverBytes : clientBytes));
      // either way the request reaches the consumer before the response the server sent after receiving it
      const firstResponse = rec.events.findIndex((e) => e.kind === 'data' && e.dir === 1);
      const lastRequest = rec.events.reduce((at, e, i) => ((e.kind === 'data' || e.kind === 'gap') && e.dir === 0 ? i : at), -1);
      assert.ok(lastRequest < firstResponse, `window ${window}`);
    }
  });

  it('matches tshark on every connection of the HTTP Digest loopback capture (keep-alive, 7 connections)', () => {
    const file = path.join(repoRoot(), 'captures', 'http-digest-loopback.pcap');
    const { rec, r } = reassemble(readTcpPackets(file));
    const ids = [...rec.conns.keys()];
    assert.equal(ids.length, 7);
    const expected = tsharkFollow(file, [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(expected.length, 7);
    // tshark prints the requested streams in its own order: match them by the client port
    for (const id of ids) {
      const info = rec.conns.get(id);
      assert.ok(info);
      assert.equal(info.handshakeSeen, true);
      const want = expected.filter((e) => e.node0Port === info.clientPort);
      assert.equal(want.length, 1, `client port ${info.clientPort}`);
      assert.ok(want[0].toServer.length > 0);
      assert.ok(rec.stream(id, 0).equals(want[0].toServer), `connection ${id} client → server`);
      assert.ok(rec.stream(id, 1).equals(want[0].toClient), `connection ${id} server → client`);
    }
    assert.equal(r.gapBytes, 0);
    assert.equal(r.stats.activeConnections, 0);
  });

  it('sees a request whose segments were reordered, which tshark misses unless out-of-order reassembly is on', () => {
    // the request's second segment (frame 6) overtakes its first (frame 4); every ACK still follows the data it covers
    const { header, records } = pcapRecords(readFileSync(PCAP));
    const order = [0, 1, 2, 5, 3, 4, ...records.keys()].filter((v, i, all) => all.indexOf(v) === i);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'keyscope-tcp-'));
    try {
      const file = path.join(dir, 'reordered.pcap');
      writeFileSync(file, Buffer.concat([header, ...order.map((i) => records[i])]));
      const requests = (extra: string[]): string =>
        execFileSync('tshark', ['-r', file, ...extra, '-Y', 'http.request', '-T', 'fields', '-e', 'http.request.method'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim();
      assert.equal(requests([]), '');
      assert.equal(requests(['-o', 'tcp.reassemble_out_of_order:TRUE']), 'POST');

      const { rec, r } = reassemble(readTcpPackets(file));
      assert.ok(rec.stream(1, 0).equals(clientBytes));
      assert.ok(rec.stream(1, 1).equals(serverBytes));
      assert.equal(r.outOfOrderSegments, 1);
      assert.equal(r.gapBytes, 0);
      assert.equal(rec.text(1, 0).slice(0, 13), 'POST /upload ');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
