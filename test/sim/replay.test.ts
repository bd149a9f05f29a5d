/**
 * The loopback-only check in front of every replay onto lo (src/sim/replay.ts): the live benchmark's generated
 * capture passes; a capture with any other address — outer, inside GTP-U, IPv6 other than ::1 — or a frame the check
 * cannot see through is refused, and then tcpreplay is never started. tshark reads the generated capture as the
 * oracle for what its addresses are. Nothing here sends a packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateBenchCapture, LAB_PLAN, LOOPBACK_PLAN } from '../../bench/generate';
import { PcapWriter } from '../../src/capture/pcap-writer';
import {
  checkCaptureLoopbackOnly, checkFrameLoopbackOnly, parseTcpreplayOutput, replayOnLoopback, ReplayRefused,
} from '../../src/sim/replay';
import { tsharkFields } from '../support/tshark';

function ip4(a: string): number[] {
  return a.split('.').map(Number);
}

function ipv4Udp(src: string, dst: string, sport: number, dport: number, payload: Buffer, fragment = 0): Buffer {
  const b = Buffer.alloc(28 + payload.length);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b.writeUInt16BE(fragment, 6);
  b[8] = 64;
  b[9] = 17;
  Buffer.from(ip4(src)).copy(b, 12);
  Buffer.from(ip4(dst)).copy(b, 16);
  b.writeUInt16BE(sport, 20);
  b.writeUInt16BE(dport, 22);
  b.writeUInt16BE(8 + payload.length, 24);
  payload.copy(b, 28);
  return b;
}

function ipv6Udp(src: Buffer, dst: Buffer, payload: Buffer): Buffer {
  const b = Buffer.alloc(48 + payload.length);
  b[0] = 0x60;
  b.writeUInt16BE(8 + payload.length, 4);
  b[6] = 17;
  b[7] = 64;
  src.copy(b, 8);
  dst.copy(b, 24);
  b.writeUInt16BE(2269, 40);
  b.writeUInt16BE(2269, 42);
  b.writeUInt16BE(8 + payload.length, 44);
  payload.copy(b, 48);
  return b;
}

function gtpu(inner: Buffer): Buffer {
  const g = Buffer.alloc(8 + inner.length);
  g[0] = 0x30;
  g[1] = 0xff;
  g.writeUInt16BE(inner.length, 2);
  g.writeUInt32BE(0x1234, 4);
  inner.copy(g, 8);
  return g;
}

function eth(payload: Buffer, etherType = 0x0800): Buffer {
  const b = Buffer.alloc(14 + payload.length);
  b.fill(0x02, 0, 6);
  b.fill(0x04, 6, 12);
  b.writeUInt16BE(etherType, 12);
  payload.copy(b, 14);
  return b;
}

const frame = (data: Buffer) => ({ linkType: 1, data, capturedLength: data.length });
const V6_LOOPBACK = Buffer.from('00000000000000000000000000000001', 'hex');
const V6_OTHER = Buffer.from('fd000000000000000000000000000001', 'hex');
const MIKEY = Buffer.from('0100', 'hex');

test('frame check: loopback passes; any other address, outer or inside GTP-U, is refused and named', () => {
  assert.equal(checkFrameLoopbackOnly(frame(eth(ipv4Udp('127.172.0.1', '127.172.1.0', 2269, 2269, MIKEY)))), undefined);
  assert.match(checkFrameLoopbackOnly(frame(eth(ipv4Udp('10.0.0.1', '127.172.1.0', 2269, 2269, MIKEY)))) ?? '', /IPv4 address 10\.0\.0\.1 is not in 127\.0\.0\.0\/8/);
  assert.match(checkFrameLoopbackOnly(frame(eth(ipv4Udp('127.172.0.1', '192.168.1.9', 2269, 2269, MIKEY)))) ?? '', /192\.168\.1\.9/);
  // GTP-U: the tunnel is loopback, the UE inside it is not
  const tunnelled = (inner: string) => eth(ipv4Udp('127.172.0.5', '127.172.0.6', 2152, 2152, gtpu(ipv4Udp('127.172.0.1', inner, 2269, 2269, MIKEY))));
  assert.equal(checkFrameLoopbackOnly(frame(tunnelled('127.172.1.0'))), undefined);
  assert.match(checkFrameLoopbackOnly(frame(tunnelled('10.0.0.1'))) ?? '', /GTP-U inner IPv4 address 10\.0\.0\.1/);
  // a G-PDU on a port other than 2152 does not smuggle an address through either
  const offPort = eth(ipv4Udp('127.172.0.5', '127.172.0.6', 17272, 17273, gtpu(ipv4Udp('127.172.0.1', '8.8.8.8', 2269, 2269, MIKEY))));
  assert.match(checkFrameLoopbackOnly(frame(offPort)) ?? '', /GTP-U inner IPv4 address 8\.8\.8\.8/);
  // IPv6: ::1 only
  assert.equal(checkFrameLoopbackOnly(frame(eth(ipv6Udp(V6_LOOPBACK, V6_LOOPBACK, MIKEY), 0x86dd))), undefined);
  assert.match(checkFrameLoopbackOnly(frame(eth(ipv6Udp(V6_LOOPBACK, V6_OTHER, MIKEY), 0x86dd))) ?? '', /IPv6 address fd00:0:0:0:0:0:0:1 is not ::1/);
});

test('frame check: what it cannot see through is refused (ARP, fragments, other link types, cut headers)', () => {
  assert.match(checkFrameLoopbackOnly(frame(eth(Buffer.alloc(28), 0x0806))) ?? '', /EtherType 0x0806/);
  assert.match(checkFrameLoopbackOnly(frame(eth(ipv4Udp('127.172.0.1', '127.172.1.0', 2269, 2269, MIKEY, 0x2000)))) ?? '', /fragment/);
  assert.match(checkFrameLoopbackOnly({ linkType: 113, data: Buffer.alloc(60), capturedLength: 60 }) ?? '', /link type 113/);
  const cut = eth(ipv4Udp('127.172.0.1', '127.172.1.0', 2269, 2269, MIKEY));
  assert.match(checkFrameLoopbackOnly({ linkType: 1, data: cut, capturedLength: 20 }) ?? '', /cut short/);
  const icmp = eth(ipv4Udp('127.172.0.1', '127.172.1.0', 0, 0, MIKEY));
  icmp[14 + 9] = 1;
  assert.match(checkFrameLoopbackOnly(frame(icmp)) ?? '', /IP protocol 1/);
});

test('capture check: the live benchmark capture passes (tshark agrees every address is 127/8); the lab one and 10.0.0.1 are refused; replay never starts', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keyscope-replay-'));
  try {
    const good = path.join(dir, 'loopback.pcap');
    const gen = await generateBenchCapture(good, 3000, LOOPBACK_PLAN, 20);
    assert.deepEqual(await checkCaptureLoopbackOnly(good), { ok: true, frames: gen.packets });
    {
      // the oracle: every IPv4 address tshark decodes, GTP-U inner ones included (ip.addr lists all IP layers)
      const rows = tsharkFields(good, ['ip.addr']);
      const addrs = new Set(rows.flatMap(([a]) => a.split(',')));
      assert.ok(addrs.size > 10);
      for (const a of addrs) assert.match(a, /^127\.172\./, a);
    }
    const lab = path.join(dir, 'lab.pcap');
    await generateBenchCapture(lab, 100, LAB_PLAN);
    const refused = await checkCaptureLoopbackOnly(lab);
    assert.equal(refused.ok, false);
    assert.ok(!refused.ok && 'violation' in refused && refused.violation.frame === 1 && /10\.100\.0\.1/.test(refused.violation.reason));

    // one frame with 10.0.0.1 after good ones: the whole capture is refused, and nothing is replayed
    const mixed = path.join(dir, 'mixed.pcap');
    const w = await PcapWriter.create(mixed, { linkType: 1 });
    for (let i = 0; i < 5; i++) {
      const data = eth(ipv4Udp('127.172.0.1', '127.172.1.0', 2269, 2269, MIKEY));
      w.write({ tsSec: 1_700_000_000, tsNsec: i * 1000, data, originalLength: data.length });
    }
    const bad = eth(ipv4Udp('127.172.0.1', '10.0.0.1', 2269, 2269, MIKEY));
    w.write({ tsSec: 1_700_000_000, tsNsec: 9000, data: bad, originalLength: bad.length });
    await w.commit();
    const started = performance.now();
    await assert.rejects(replayOnLoopback({ file: mixed, pps: 1000, durationSeconds: 1 }), (err: unknown) => {
      assert.ok(err instanceof ReplayRefused);
      assert.match(err.message, /refusing to replay .*frame 6: IPv4 address 10\.0\.0\.1 is not in 127\.0\.0\.0\/8/);
      return true;
    });
    // refused before any child: no replay time spent
    assert.ok(performance.now() - started < 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tcpreplay's closing statistics are parsed", () => {
  const text = [
    'Actual: 20000 packets (3088792 bytes) sent in 2.00 seconds',
    'Rated: 1541368.7 Bps, 12.33 Mbps, 9980.39 pps',
    'Statistics for network device: lo',
    '\tSuccessful packets:        19990',
    '\tFailed packets:            10',
  ].join('\n');
  assert.deepEqual(parseTcpreplayOutput(text), { packetsSent: 20000, packetsFailed: 10, ratedPps: 9980.39 });
  assert.deepEqual(parseTcpreplayOutput('tcpreplay: command not found'), {});
});
