/**
 * The `cap` engine's capture process (src/capture/live-drain.ts) on lo (root, as every live test): a burst of UDP
 * datagrams sent faster than an artificially slow consumer takes them is either seen whole or the shortfall is
 * reported as counted drops with their time spans — never silent; a consumer that keeps up sees every datagram, in
 * order, with the capture process's microsecond stamps; errors come back as LiveCaptureErrors of the right kind; with
 * `-w` the capture process writes the file itself, so packets the queue drops are still in it (as dumpcap's file
 * holds what a slow tshark missed), through the drained API and through `keyscope live --capture-queue`.
 * Addresses: 127.182.0.0/16 (helper C's /16).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveCaptureError } from '../../src/capture/live';
import { openDrainedCapture, type DrainedCapture } from '../../src/capture/live-drain';
import type { CaptureLossWindow } from '../../src/capture/live-stats';
import type { CaptureFrame } from '../../src/capture/types';
import { compareTime } from '../../src/common/time';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCapture } from '../../src/capture/reader';
import { burstAndStop, udpBurst, settleCount } from './udp-burst';
import { startWatched, until as waitFor } from '../support/live-child';
import { cliPath } from '../support/repo';
import { tsharkFields } from '../support/tshark';

const GUARD_MS = 20_000;
const HOST = '127.182.0.2';
const FROM = '127.182.0.1';

/** The UDP payload of a frame on lo (Ethernet, IPv4 without options, UDP): the datagram's sequence number. */
function seqOf(f: CaptureFrame): number {
  return f.data.readUInt32BE(14 + 20 + 8);
}


/** Until every datagram is accounted for, or nothing has moved for 1.5 s. */
async function settle(capture: DrainedCapture, seen: () => number, expected: number): Promise<void> {
  await settleCount(seen, () => capture.queueDropped, expected, { guardMs: GUARD_MS, stillMs: 1500 });
}

test('a burst faster than a slow consumer, no spool: every datagram is seen, or the shortfall is counted as drops with their time spans', { timeout: 60_000 }, async (t) => {
  const port = 18201;
  const n = 3000;
  const capture = await openDrainedCapture({ device: 'lo', filter: `udp dst port ${port} and src host ${FROM}`, snaplen: 65535, bufferSize: 128 * 1024 * 1024, limits: { maxPackets: 200, batchPackets: 64 }, spool: { capacity: 0 } });
  const seen = new Set<number>();
  const windows: CaptureLossWindow[] = [];
  capture.onLoss((w) => windows.push(w));
  capture.onFrame((f) => {
    seen.add(seqOf(f));
    // the slow sink: 1 ms of work per frame (a busy dissector, a dashboard redraw)
    const until = performance.now() + 1;
    while (performance.now() < until);
  });
  await burstAndStop(capture, () => udpBurst(FROM, HOST, port, n, { perTurn: 20 }), () => settle(capture, () => seen.size, n));
  const dropped = capture.queueDropped;
  t.diagnostic(`seen ${seen.size}, dropped ${dropped} in ${windows.length} windows`);
  assert.ok(dropped > 0, `the slow consumer made the queue overflow (seen ${seen.size} of ${n})`);
  assert.equal(seen.size + dropped, n, `seen ${seen.size} + dropped ${dropped} = the ${n} sent: nothing lost silently`);
  assert.equal(windows.reduce((s, w) => s + (w.packets ?? 0), 0), dropped, 'every drop is in a reported loss window');
  for (const w of windows) {
    assert.equal(w.cause, 'queue');
    assert.ok(compareTime(w.from, w.to) <= 0, 'a window runs forwards');
  }
  assert.equal(capture.stats.packets, seen.size);
});

test('a consumer that keeps up sees every datagram, in order, stamped in whole microseconds', { timeout: 60_000 }, async () => {
  const port = 18202;
  const n = 500;
  const capture = await openDrainedCapture({ device: 'lo', filter: `udp dst port ${port} and src host ${FROM}`, snaplen: 65535 });
  const seqs: number[] = [];
  let prev: CaptureFrame | undefined;
  let backwards = 0;
  capture.onFrame((f) => {
    seqs.push(seqOf(f));
    if (prev && compareTime(prev, f) > 0) backwards++;
    assert.equal(f.tsNsec % 1000, 0);
    prev = f;
  });
  await burstAndStop(capture, () => udpBurst(FROM, HOST, port, n, { perTurn: 25 }), () => settle(capture, () => seqs.length, n));
  assert.equal(capture.queueDropped, 0);
  assert.deepEqual(seqs, Array.from({ length: n }, (_, i) => i));
  assert.equal(backwards, 0);
  assert.equal(capture.stats.packets, n);
  assert.equal(capture.clock.engine, 'cap');
});

test('errors of the capture process come back as LiveCaptureErrors of the right kind', { timeout: 60_000 }, async () => {
  await assert.rejects(openDrainedCapture({ device: 'keyscope-nope0', snaplen: 65535 }), (e: unknown) => e instanceof LiveCaptureError && e.kind === 'no-such-device');
  await assert.rejects(openDrainedCapture({ device: 'lo', filter: 'udp port', snaplen: 65535 }), (e: unknown) => e instanceof LiveCaptureError && e.kind === 'bad-filter');
  await assert.rejects(openDrainedCapture({ device: 'lo', snaplen: 65535, limits: { maxPackets: 0 } }), (e: unknown) => e instanceof LiveCaptureError && /maxPackets/.test(e.message));
});

test('stop({ drain: true }) still delivers what was captured before it; a plain stop() from a handler (-c N) delivers nothing more', { timeout: 60_000 }, async () => {
  const port = 18203;
  const n = 400;
  for (const drain of [true, false]) {
    const capture = await openDrainedCapture({ device: 'lo', filter: `udp dst port ${port} and src host ${FROM}`, snaplen: 65535 });
    let seen = 0;
    capture.onFrame(() => {
      seen++;
      // a plain stop as -c 10 does; a drain stop as Ctrl-C does, arriving while frames are queued
      if (!drain && seen === 10) capture.stop();
      if (drain && seen === 5) capture.stop({ drain: true });
      // 5 ms per frame: the consumer is far behind the burst
      const until = performance.now() + 5;
      while (performance.now() < until);
    });
    await udpBurst(FROM, HOST, port, n, { perTurn: 20 });
    await capture.done;
    assert.equal(capture.queueDropped, 0);
    if (drain) assert.ok(seen > 5 && seen <= n, `frames queued at the stop still arrive: ${seen} of ${n}`);
    else {
      assert.equal(seen, 10, 'no frame after a plain stop');
      assert.ok(capture.notAnalysed > 0 && capture.notAnalysed <= n - 10, `the frames queued at the stop are counted as not analysed: ${capture.notAnalysed}`);
    }
  }
});

/** Sequence numbers of the datagrams in a capture file. */
async function fileSeqs(file: string): Promise<number[]> {
  const seqs: number[] = [];
  const summary = await readCapture(file, (f) => seqs.push(seqOf(f)));
  assert.equal(summary.fatal, undefined, `${file} reads to the end`);
  return seqs;
}

test('with a file, the capture process writes every packet it captured, the ones its queue dropped included', { timeout: 60_000 }, async (t) => {
  const port = 18204;
  const n = 3000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-drain-file-'));
  const file = path.join(dir, 'all.pcapng');
  try {
    const capture = await openDrainedCapture({
      device: 'lo',
      filter: `udp dst port ${port} and src host ${FROM}`,
      snaplen: 65535,
      bufferSize: 128 * 1024 * 1024,
      limits: { maxPackets: 200, batchPackets: 64 },
      // no spool: the memory queue alone, so it overflows
      spool: { capacity: 0 },
      file: { path: file, format: 'pcapng' },
    });
    let seen = 0;
    capture.onFrame(() => {
      seen++;
      // the slow analysis: 1 ms per frame
      const until = performance.now() + 1;
      while (performance.now() < until);
    });
    await burstAndStop(capture, () => udpBurst(FROM, HOST, port, n, { perTurn: 20 }), () => settle(capture, () => seen, n));
    t.diagnostic(`analysis saw ${seen}, queue dropped ${capture.queueDropped}, file ${capture.file?.frames}`);
    assert.ok(capture.queueDropped > 0, 'the queue overflowed');
    assert.equal(seen + capture.queueDropped, n);
    assert.equal(capture.file?.frames, n, 'the capture process wrote every packet');
    assert.deepEqual(capture.file?.files, [file]);
    assert.deepEqual(await fileSeqs(file), Array.from({ length: n }, (_, i) => i), 'the file holds every datagram sent, in order');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('keyscope live --capture-queue 1 --spool-size 0 -w: the analysis misses packets (counted), the file has every one sent (tshark)', { timeout: 60_000 }, async () => {
  const port = 18205;
  const n = 2000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-drain-cli-'));
  const file = path.join(dir, 'all.pcap');
  const live = startWatched(process.execPath, [cliPath(), 'live', '-i', 'lo', '-B', String(128 * 1024), '--capture-queue', '1', '--spool-size', '0', '-f', `udp dst port ${port} and src host ${FROM}`, '-w', file]);
  try {
    await waitFor('the capture to start', () => /capturing on/.test(live.err()), live, GUARD_MS);
    // the analysis stalls (stopped) during the burst: the pipe fills and the queue of one overflows, whatever the
    // scheduling (a capture process woken for every packet would otherwise hand each to the pipe before the next)
    live.child.kill('SIGSTOP');
    try {
      await udpBurst(FROM, HOST, port, n, { perTurn: 50 });
    } finally {
      live.child.kill('SIGCONT');
    }
    await new Promise((r) => setTimeout(r, 1000));
    live.child.kill('SIGINT');
    const code = await live.exit;
    assert.equal(code, 0, live.err());
    const m = /(\d+) packets captured, (\d+) dropped by keyscope's capture queue/.exec(live.err());
    assert.ok(m, live.err());
    const [analysed, dropped] = [Number(m[1]), Number(m[2])];
    assert.ok(dropped > 0, `a queue of one packet overflows under a burst: ${live.err()}`);
    assert.equal(analysed + dropped, n, 'analysed + dropped = sent');
    assert.match(live.err(), new RegExp(`wrote ${n} frames to `));
    const theirs = tsharkFields(file, ['udp.payload']);
    assert.deepEqual(
      theirs.map(([hex]) => Buffer.from(hex.replace(/:/g, ''), 'hex').readUInt32BE(0)),
      Array.from({ length: n }, (_, i) => i),
      'tshark reads every datagram sent from the file',
    );
  } finally {
    live.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
