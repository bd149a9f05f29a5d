/**
 * Live capture on loopback through the real `cap` addon (root: CI runs as root): UDP datagrams and a short HTTP
 * exchange sent to 127.0.0.1 arrive as CaptureFrames that the Dissector decodes with the right addresses, ports
 * and payloads, in order, with non-decreasing timestamps; `-i any` gives Linux cooked frames; a small snaplen cuts
 * frames with the original length recovered from the IP header; errors are LiveCaptureErrors of the right kind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LiveCaptureError, linkTypeFromCap, openLiveCapture, openLiveCaptureCount, type LiveCapture } from '../../src/capture/live';
import { estimateCaptureLoss } from '../../src/capture/live-stats';
import { LinkType, type CaptureFrame } from '../../src/capture/types';
import { compareTime } from '../../src/common/time';
import { Dissector, type DissectedFrame } from '../../src/pipeline/dissector';

/** Fails (never hangs) when traffic does not show up: a guard, not a speed assertion. */
const GUARD_MS = 15_000;

function until(capture: LiveCapture, done: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (done()) return resolve();
    const guard = setTimeout(() => {
      off();
      reject(new Error(`gave up waiting for ${what}`));
    }, GUARD_MS);
    const off = capture.onFrame(() => {
      // checked after the test's own handler (added first) has seen the frame
      setImmediate(() => {
        if (done()) {
          clearTimeout(guard);
          off();
          resolve();
        }
      });
    });
  });
}

async function udpSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

function send(s: dgram.Socket, payload: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) => s.send(payload, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
}

test('UDP datagrams and an HTTP exchange on lo arrive decoded, in order, with non-decreasing timestamps', async () => {
  const receiver = await udpSocket();
  const udpPort = (receiver.address() as AddressInfo).port;
  const server = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'text/plain');
    res.end(`you asked for ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const httpPort = (server.address() as AddressInfo).port;
  const sender = await udpSocket();
  const senderPort = (sender.address() as AddressInfo).port;

  const capture = openLiveCapture({ device: 'lo', filter: `udp port ${udpPort} or tcp port ${httpPort}` });
  const raw: CaptureFrame[] = [];
  const dissected: DissectedFrame[] = [];
  const dissector = new Dissector((f) => dissected.push(f));
  capture.onFrame((f) => {
    raw.push(f);
    dissector.frame(f);
  });
  try {
    assert.equal(capture.linkType, LinkType.ETHERNET);
    const N = 25;
    const payloads = Array.from({ length: N }, (_, i) => Buffer.from(`keyscope live datagram ${i} ${'x'.repeat(i)}`));
    for (const p of payloads) await send(sender, p, udpPort);
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: httpPort, path: '/keymanagement?requesttype=live-test', agent: false }, (res) => {
          let s = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (s += d));
          res.on('end', () => resolve(s));
        })
        .on('error', reject);
    });
    assert.equal(body, 'you asked for /keymanagement?requesttype=live-test');
    const udpSeen = () => raw.filter((f) => f.data.length >= 42 && f.data.readUInt16BE(36) === udpPort).length;
    // the exchange is over once both FINs are acknowledged; wait for the UDP and at least the HTTP response
    await until(capture, () => udpSeen() === N && dissected.some((d) => d.http?.some((h) => h.message.kind === 'response')), 'the datagrams and the HTTP response');
    capture.stop();
    await capture.done;
    dissector.finish();

    assert.equal(capture.stopped, true);
    // numbering and time
    raw.forEach((f, i) => assert.equal(f.number, i + 1));
    for (let i = 1; i < raw.length; i++) assert.ok(compareTime(raw[i - 1], raw[i]) <= 0, `frame ${i + 1} goes back in time`);
    const now = Date.now() / 1000;
    assert.ok(Math.abs(raw[0].tsSec - now) < 60, 'timestamps are wall-clock times');
    for (const f of raw) {
      assert.equal(f.capturedLength, f.data.length);
      assert.equal(f.originalLength, f.capturedLength);
      assert.equal(f.interfaceId, 0);
      assert.deepEqual(f.problems, []);
    }

    const udp = dissected.filter((d) => d.packet.transport?.kind === 'udp');
    assert.equal(udp.length, N);
    udp.forEach((d, i) => {
      assert.equal(d.packet.ip?.src, '127.0.0.1');
      assert.equal(d.packet.ip?.dst, '127.0.0.1');
      assert.equal(d.packet.transport?.srcPort, senderPort);
      assert.equal(d.packet.transport?.dstPort, udpPort);
      assert.deepEqual(Buffer.from(d.packet.payload ?? []), payloads[i], `datagram ${i}`);
      assert.deepEqual(d.problems, []);
    });

    const messages = dissected.flatMap((d) => (d.http ?? []).map((h) => h.message));
    const request = messages.find((m) => m.kind === 'request');
    const response = messages.find((m) => m.kind === 'response');
    assert.equal(request?.method, 'GET');
    assert.equal(request?.uri, '/keymanagement?requesttype=live-test');
    assert.equal(response?.status, 200);
    assert.equal(response?.body.toString(), 'you asked for /keymanagement?requesttype=live-test');
    const tcp = dissected.filter((d) => d.packet.transport?.kind === 'tcp');
    assert.ok(tcp.length >= 4, `TCP frames: ${tcp.length}`);
    for (const d of tcp) {
      const t = d.packet.transport;
      assert.ok(t?.srcPort === httpPort || t?.dstPort === httpPort);
    }

    // nothing was lost on lo: the loss estimate says so
    const loss = estimateCaptureLoss(dissector.tcpStats);
    assert.equal(loss.lostBytes, 0);
    assert.equal(loss.ratio, 0);
    assert.ok(dissector.tcpStats.bytesDelivered > 0);

    const stats = capture.stats;
    assert.equal(stats.packets, raw.length);
    assert.equal(stats.bytes, raw.reduce((n, f) => n + f.originalLength, 0));
    assert.equal(stats.capturedBytes, stats.bytes);
    assert.equal(stats.truncatedFrames, 0);
    assert.deepEqual(stats.lastTime, { tsSec: raw[raw.length - 1].tsSec, tsNsec: raw[raw.length - 1].tsNsec });
    assert.ok(stats.elapsedSeconds > 0);
  } finally {
    capture.stop();
    receiver.close();
    sender.close();
    server.close();
  }
});

test('-i any: Linux cooked frames (LINKTYPE_LINUX_SLL) decode to the datagrams sent', async () => {
  const receiver = await udpSocket();
  const port = (receiver.address() as AddressInfo).port;
  const sender = await udpSocket();
  const capture = openLiveCapture({ device: 'any', filter: `udp dst port ${port}` });
  const dissected: DissectedFrame[] = [];
  const dissector = new Dissector((f) => dissected.push(f));
  capture.onFrame((f) => {
    assert.equal(f.linkType, LinkType.LINUX_SLL);
    dissector.frame(f);
  });
  try {
    assert.equal(capture.linkType, LinkType.LINUX_SLL);
    for (let i = 0; i < 5; i++) await send(sender, Buffer.from(`any ${i}`), port);
    await until(capture, () => capture.stats.packets >= 5, 'five datagrams on any');
    capture.stop();
    dissector.finish();
    assert.deepEqual(
      dissected.map((d) => Buffer.from(d.packet.payload ?? []).toString()),
      ['any 0', 'any 1', 'any 2', 'any 3', 'any 4'],
    );
    for (const d of dissected) {
      assert.equal(d.packet.link.name, 'sll');
      assert.equal(d.packet.link.linkType, LinkType.LINUX_SLL);
      assert.equal(d.packet.transport?.dstPort, port);
    }
  } finally {
    capture.stop();
    receiver.close();
    sender.close();
  }
});

test('a snaplen shorter than the frame cuts it; the original length comes from the IP header', async () => {
  const receiver = await udpSocket();
  const port = (receiver.address() as AddressInfo).port;
  const sender = await udpSocket();
  const capture = openLiveCapture({ device: 'lo', filter: `udp dst port ${port}`, snaplen: 100 });
  const frames: CaptureFrame[] = [];
  const dissected: DissectedFrame[] = [];
  const dissector = new Dissector((f) => dissected.push(f));
  capture.onFrame((f) => {
    frames.push(f);
    dissector.frame(f);
  });
  try {
    await send(sender, Buffer.alloc(1000, 0x61), port);
    await send(sender, Buffer.alloc(10, 0x62), port);
    await until(capture, () => frames.length >= 2, 'two datagrams');
    capture.stop();
    dissector.finish();
    const [big, small] = frames;
    assert.equal(big.capturedLength, 100);
    assert.equal(big.data.length, 100);
    assert.equal(big.originalLength, 14 + 20 + 8 + 1000);
    assert.deepEqual(big.problems.map((p) => p.code), ['live-snaplen-cut']);
    assert.equal(small.capturedLength, 14 + 20 + 8 + 10);
    assert.equal(small.originalLength, small.capturedLength);
    assert.deepEqual(small.problems, []);
    assert.equal(capture.stats.truncatedFrames, 1);
    assert.equal(capture.stats.bytes, big.originalLength + small.originalLength);
    // the decoder sees a snaplen cut, not a malformed datagram
    assert.equal(dissected[0].packet.payloadTruncated, true);
    assert.equal(dissected[0].packet.payload?.length, 100 - 42);
    assert.equal(dissected[0].packet.length, 1042);
  } finally {
    capture.stop();
    receiver.close();
    sender.close();
  }
});

test('a throwing frame handler stops the capture and rejects done instead of escaping into the addon', async () => {
  const receiver = await udpSocket();
  const port = (receiver.address() as AddressInfo).port;
  const sender = await udpSocket();
  const capture = openLiveCapture({ device: 'lo', filter: `udp dst port ${port}` });
  let calls = 0;
  capture.onFrame(() => {
    calls++;
    throw new Error('handler failed');
  });
  try {
    await send(sender, Buffer.from('one'), port);
    await send(sender, Buffer.from('two'), port);
    await assert.rejects(capture.done, /handler failed/);
    assert.equal(capture.stopped, true);
    assert.equal(calls, 1);
  } finally {
    capture.stop();
    receiver.close();
    sender.close();
  }
});

test('stop() from inside a handler: that frame still reaches every handler, none follows, stop handlers run after it', async () => {
  const receiver = await udpSocket();
  const port = (receiver.address() as AddressInfo).port;
  const sender = await udpSocket();
  const capture = openLiveCapture({ device: 'lo', filter: `udp dst port ${port}` });
  const events: string[] = [];
  capture.onFrame((f) => {
    events.push(`first ${f.number}`);
    if (f.number === 2) capture.stop();
  });
  // a handler that, like a dashboard, removes itself when the capture stops
  const off = capture.onFrame((f) => events.push(`second ${f.number}`));
  capture.onStop(() => {
    off();
    events.push('stopped');
  });
  for (let i = 0; i < 6; i++) await send(sender, Buffer.from(`d${i}`), port);
  await capture.done;
  assert.deepEqual(events, ['first 1', 'second 1', 'first 2', 'second 2', 'stopped']);
  capture.stop();
  capture.onStop(() => events.push('late'));
  assert.deepEqual(events.slice(-2), ['stopped', 'late'], 'onStop after the end runs at once, stop() again does nothing');
  await new Promise((r) => setImmediate(r));
  assert.equal(openLiveCaptureCount(), 0);
  receiver.close();
  sender.close();
});

test('an unknown interface and a bad filter are LiveCaptureErrors with one-line messages', () => {
  assert.throws(
    () => openLiveCapture({ device: 'keyscope-nope0' }),
    (err: unknown) => err instanceof LiveCaptureError && err.kind === 'no-such-device' && /no such interface: 'keyscope-nope0'/.test(err.message) && !err.message.includes('\n'),
  );
  assert.throws(
    () => openLiveCapture({ device: 'lo', filter: 'udp port' }),
    (err: unknown) => err instanceof LiveCaptureError && err.kind === 'bad-filter' && /syntax error/.test(err.message) && !err.message.includes('\n'),
  );
  assert.throws(() => openLiveCapture({ device: 'lo', snaplen: 70000 }), LiveCaptureError);
  // the failed opens above must not be collectable: collecting one would abort the process (see live.ts)
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
});

test('cap link type names map to LINKTYPE numbers', () => {
  assert.equal(linkTypeFromCap('ETHERNET'), 1);
  assert.equal(linkTypeFromCap('NULL'), 0);
  assert.equal(linkTypeFromCap('RAW'), 101);
  assert.equal(linkTypeFromCap('LINKTYPE_LINUX_SLL'), 113);
  assert.equal(linkTypeFromCap('LINUX_SLL'), 113);
  assert.equal(linkTypeFromCap('Unknown linktype 276'), 276);
  assert.equal(linkTypeFromCap('Unknown linktype 147'), undefined);
  assert.equal(linkTypeFromCap('IEEE802_11_RADIO'), 127);
});
