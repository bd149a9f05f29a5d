/**
 * The capture process's disk spool (src/capture/spool.ts, live-drain-child.ts; issue #12): behind a memory queue too
 * small for a burst, a slow analysis still gets every datagram, in capture order, through the spool; a spool too
 * small for the burst drops what does not fit — counted, with its time spans; the spool file is unlinked while it is
 * in use, so a keyscope killed with SIGKILL leaves neither a file nor a capture process; tcpdump's stream goes through
 * the same queue and spool (its nanosecond stamps kept). A DiskSpool on its own: order across the ring's wrap, the
 * file truncated when empty, the capacity bound.
 *
 * Network: 127.210.0.0/16 (helper L's /16), UDP on lo only. Every child is tied or killed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDrainedCapture } from '../../src/capture/live-drain';
import type { CaptureLossWindow } from '../../src/capture/live-stats';
import { DiskSpool } from '../../src/capture/spool';
import { openTcpdumpCapture } from '../../src/capture/tcpdump-engine';
import type { CaptureFrame } from '../../src/capture/types';
import { compareTime } from '../../src/common/time';
import { burstAndStop, udpBurst, settleCount } from './udp-burst';
import { spawnSync } from '../support/proc';
import { startWatched, until as waitFor } from '../support/live-child';
import { cliPath } from '../support/repo';

const GUARD_MS = 30_000;
const HOST = '127.210.0.2';
const FROM = '127.210.0.1';

function seqOf(f: CaptureFrame): number {
  return f.data.readUInt32BE(14 + 20 + 8);
}


/** Busy for `ms` (a slow dissector). */
function work(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

async function settle(seen: () => number, dropped: () => number, expected: number): Promise<void> {
  await settleCount(seen, dropped, expected, { guardMs: GUARD_MS, stillMs: 3000 });
}

test('DiskSpool: batches come back in order across the ring\'s wrap; full refuses; the file is unlinked; the margin is kept', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-spool-unit-'));
  try {
    const spool = new DiskSpool({ dir, capacity: 1000, freeMargin: 0, entryBytes: 500 });
    const batch = (i: number, n: number) => Buffer.alloc(n, i);
    assert.ok(spool.append(batch(1, 100), 1));
    assert.deepEqual(fs.readdirSync(dir), [], 'the spool file is unlinked as soon as it is opened');
    assert.ok(spool.append(batch(2, 300), 3), 'merged into the first entry (400 ≤ 500 bytes)');
    assert.ok(spool.append(batch(3, 500), 5));
    assert.equal(spool.append(batch(4, 200), 2), false, 'beyond the capacity: refused');
    assert.equal(spool.packets, 9);
    const a = spool.take();
    assert.ok(a && a.data.length === 400 && a.packets === 4 && a.data[0] === 1 && a.data[399] === 2);
    // the ring wraps: 300 bytes from offset 900, 100 of them at the end and 200 at the start
    assert.ok(spool.append(batch(5, 300), 3));
    const b = spool.take();
    assert.ok(b && b.data.length === 500 && b.packets === 5 && b.data.every((x) => x === 3));
    const c = spool.take();
    assert.ok(c && c.data.length === 300 && c.packets === 3 && c.data.every((x) => x === 5), 'read back across the wrap');
    assert.ok(spool.empty);
    assert.equal(spool.take(), undefined);
    assert.equal(spool.peakBytes, 900);
    assert.equal(spool.totalPackets, 12);
    // emptied: back to offset 0
    assert.ok(spool.append(batch(6, 1000), 10));
    assert.equal(spool.take()?.data.length, 1000);
    spool.close();
    // a spool that cannot leave the margin free refuses at once
    const tight = new DiskSpool({ dir, capacity: 1 << 20, freeMargin: Number.MAX_SAFE_INTEGER });
    assert.equal(tight.append(batch(1, 100), 1), false);
    tight.close();
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('cap engine, a memory queue of 50 packets and a slow analysis: every datagram arrives, in order, through the spool', { timeout: 90_000 }, async (t) => {
  const port = 18301;
  const n = 3000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-spool-'));
  try {
    const capture = await openDrainedCapture({
      device: 'lo',
      filter: `udp dst port ${port} and src host ${FROM}`,
      snaplen: 65535,
      bufferSize: 128 * 1024 * 1024,
      limits: { maxPackets: 50, batchPackets: 16 },
      spool: { dir },
    });
    const seqs: number[] = [];
    const windows: CaptureLossWindow[] = [];
    capture.onLoss((w) => windows.push(w));
    // how far behind, as the reports came (a diagnostic: a handler this busy may read the reports only at the end)
    let maxBehind = 0;
    capture.onFrame((f) => {
      seqs.push(seqOf(f));
      maxBehind = Math.max(maxBehind, capture.backlog?.frames ?? 0);
      work(1);
    });
    await burstAndStop(capture, () => udpBurst(FROM, HOST, port, n, { perTurn: 20 }), () => settle(() => seqs.length, () => capture.queueDropped, n));
    const b = capture.backlog;
    t.diagnostic(`seen ${seqs.length}, spooled ${b?.spooledFrames}, peak spool ${b?.peakSpoolBytes} B, most behind ${maxBehind}`);
    assert.equal(capture.queueDropped, 0, 'nothing dropped while the spool has room');
    assert.deepEqual(windows, []);
    assert.deepEqual(seqs, Array.from({ length: n }, (_, i) => i), 'every datagram, in capture order');
    assert.ok((b?.spooledFrames ?? 0) > 0 && (b?.peakSpoolBytes ?? 0) > 0, 'frames went through the spool');
    assert.deepEqual(fs.readdirSync(dir), [], 'no spool file left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a spool too small for the burst: what does not fit is dropped, counted, in loss windows; the rest arrives in order', { timeout: 90_000 }, async (t) => {
  const port = 18302;
  const n = 3000;
  const capture = await openDrainedCapture({
    device: 'lo',
    filter: `udp dst port ${port} and src host ${FROM}`,
    snaplen: 65535,
    bufferSize: 128 * 1024 * 1024,
    limits: { maxPackets: 50, batchPackets: 16 },
    // 64 KiB: ~700 of these 74-byte frames
    spool: { capacity: 64 * 1024 },
  });
  const seqs: number[] = [];
  const windows: CaptureLossWindow[] = [];
  capture.onLoss((w) => windows.push(w));
  capture.onFrame((f) => {
    seqs.push(seqOf(f));
    work(2);
  });
  await burstAndStop(capture, () => udpBurst(FROM, HOST, port, n, { perTurn: 20 }), () => settle(() => seqs.length, () => capture.queueDropped, n));
  const dropped = capture.queueDropped;
  t.diagnostic(`seen ${seqs.length}, dropped ${dropped} in ${windows.length} windows, peak spool ${capture.backlog?.peakSpoolBytes}`);
  assert.ok(dropped > 0, 'the spool filled');
  assert.equal(seqs.length + dropped, n, 'seen + dropped = sent: nothing lost silently');
  assert.equal(windows.reduce((s, w) => s + (w.packets ?? 0), 0), dropped);
  for (const w of windows) {
    assert.equal(w.cause, 'queue');
    assert.ok(compareTime(w.from, w.to) <= 0);
  }
  assert.ok(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number)), 'what arrives is in capture order');
  assert.ok((capture.backlog?.peakSpoolBytes ?? 0) <= 64 * 1024);
});

test('keyscope live killed with SIGKILL while spooling: no spool file and no capture process left', { timeout: 90_000 }, async () => {
  const port = 18303;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-spool-kill-'));
  const marker = `udp dst port ${port} and src host ${FROM}`;
  const live = startWatched(process.execPath, [cliPath(), 'live', '-i', 'lo', '-B', String(128 * 1024), '--capture-queue', '20', '--spool-dir', dir, '-f', marker]);
  const relays = () =>
    spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((l) => l.includes('live-drain-child.js') && l.includes(marker))
      .map((l) => Number(l.trim().split(/\s+/)[0]));
  try {
    await waitFor('the capture to start', () => /capturing on/.test(live.err()), live, GUARD_MS);
    const [pid] = relays();
    assert.ok(pid, 'a capture process runs');
    // the spool exists while frames wait: an open descriptor of the capture process on a deleted file in `dir`
    const spoolFd = () =>
      fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
          return target.startsWith(path.join(dir, '.keyscope-spool-')) && target.endsWith('(deleted)');
        } catch {
          return false;
        }
      });
    // the analysis stalls (stopped): what the capture process takes goes to the spool
    live.child.kill('SIGSTOP');
    const sending = udpBurst(FROM, HOST, port, 20_000, { perTurn: 50, size: 1000 });
    await waitFor('the spool to be in use', () => spoolFd(), live, GUARD_MS);
    assert.deepEqual(fs.readdirSync(dir), [], 'the spool file is unlinked while in use');
    live.child.kill('SIGKILL');
    await live.exit;
    await sending;
    const end = Date.now() + GUARD_MS;
    while (relays().length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(relays(), [], 'the capture process died with keyscope');
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing left in the spool directory');
  } finally {
    live.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const haveTcpdump = spawnSync('sh', ['-c', 'command -v tcpdump'], { stdio: 'ignore' }).status === 0;

test('tcpdump engine through the capture process: a slow analysis gets every datagram in order, through the spool, with nanosecond stamps', { timeout: 90_000, skip: haveTcpdump ? false : 'tcpdump is not installed (scripts/install-system-deps.sh)' }, async (t) => {
  const port = 18304;
  const n = 3000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-spool-td-'));
  const file = path.join(dir, 'all.pcap');
  try {
    const capture = await openTcpdumpCapture({
      device: 'lo',
      filter: `udp dst port ${port} and src host ${FROM}`,
      bufferKiB: 128 * 1024,
      limits: { maxPackets: 50, batchPackets: 16 },
      spool: { dir },
      file: { path: file, format: 'pcap' },
    });
    const seqs: number[] = [];
    let nsec = 0;
    capture.onFrame((f) => {
      seqs.push(seqOf(f));
      if (f.tsNsec % 1000 !== 0) nsec++;
      work(1);
    });
    await burstAndStop(capture, () => udpBurst(FROM, HOST, port, n, { perTurn: 20 }), () => settle(() => seqs.length, () => capture.queueDropped + (capture.dropped ?? 0), n), { drain: true });
    const b = capture.backlog;
    t.diagnostic(`seen ${seqs.length}, spooled ${b?.spooledFrames}, kernel dropped ${capture.dropped}, with ns digits ${nsec}`);
    assert.equal(capture.queueDropped, 0);
    assert.equal(capture.dropped, 0, "tcpdump's kernel counter: nothing lost (tcpdump never waited for the analysis)");
    assert.deepEqual(seqs, Array.from({ length: n }, (_, i) => i));
    assert.ok((b?.spooledFrames ?? 0) > 0, 'frames went through the spool');
    assert.ok(nsec > 0, 'kernel stamps in nanoseconds, not rounded to µs');
    assert.equal(capture.file?.frames, n, 'the capture process wrote -w');
    assert.deepEqual(fs.readdirSync(dir), ['all.pcap'], 'no spool file left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
