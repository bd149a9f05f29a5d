/**
 * `--engine tcpdump` counts kernel drops during the capture, not only at its end: tcpdump is asked for its counters
 * (SIGUSR1) once a stats interval, and a rise of its drop counter opens a loss window (cause `engine`) over the
 * interval since the previous question.
 * - the one-line answer tcpdump prints is parsed (and other lines are not taken for it);
 * - a real loss on lo: keyscope stops reading tcpdump's pipe for a while (its event loop busy) while a burst of
 *   datagrams arrives, tcpdump's small kernel ring overflows, and a loss window over the burst reaches the onLoss
 *   handler before the capture is stopped; the end-of-capture figure is at least what the windows counted.
 *
 * Network: 127.192.1.0/24, port 19201 (helper C's 127.192/16). Every child is tied and killed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CaptureLossWindow } from '../../src/common/capture-loss';
import { openTcpdumpCapture, parseTcpdumpInfoLine, tcpdumpRunningLoss } from '../../src/capture/tcpdump-engine';
import { exited, killGroup, spawn } from '../support/proc';

const secs = (t: { tsSec: number; tsNsec: number }) => t.tsSec + t.tsNsec / 1e9;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('tcpdump\'s SIGUSR1 line is parsed; running loss halves the kernel drops on loopback', () => {
  assert.deepEqual(parseTcpdumpInfoLine('tcpdump: 1986 packets captured, 8000 packets received by filter, 4028 packets dropped by kernel'), {
    captured: 1986, receivedByFilter: 8000, droppedByKernel: 4028,
  });
  assert.deepEqual(parseTcpdumpInfoLine('1 packet captured, 2 packets received by filter, 0 packets dropped by kernel, 3 packets dropped by interface'), {
    captured: 1, receivedByFilter: 2, droppedByKernel: 0, droppedByInterface: 3,
  });
  assert.equal(parseTcpdumpInfoLine('tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes'), undefined);
  assert.equal(parseTcpdumpInfoLine('12 packets captured'), undefined);
  assert.equal(tcpdumpRunningLoss({ droppedByKernel: 4028 }, true), 2014);
  assert.equal(tcpdumpRunningLoss({ droppedByKernel: 4027, droppedByInterface: 1 }, true), 2015);
  assert.equal(tcpdumpRunningLoss({ droppedByKernel: 7 }, false), 7);
});

test('a kernel drop during the capture opens a loss window (cause engine) before the capture stops', { timeout: 60_000 }, async () => {
  const host = '127.192.1.1';
  const port = 19201;
  const capture = await openTcpdumpCapture({ device: 'lo', filter: `udp and dst host ${host} and dst port ${port}`, bufferKiB: 256, statsIntervalMs: 200 });
  const N = 4000;
  // the burst comes from a process of its own: it keeps sending while this one is busy
  const sender = spawn(process.execPath, ['-e', `
    const s = require('node:dgram').createSocket('udp4');
    s.bind(0, '127.192.1.2', async () => {
      const b = Buffer.alloc(200, 7);
      for (let i = 0; i < ${N}; i++) {
        await new Promise((r) => s.send(b, ${port}, '${host}', r));
      }
      s.close();
    });
  `], { stdio: 'ignore' });
  try {
    const windows: Array<{ w: CaptureLossWindow; stopped: boolean }> = [];
    capture.onLoss((w) => windows.push({ w, stopped: capture.stopped }));
    let frames = 0;
    let blockedFrom = 0;
    let blockedTo = 0;
    capture.onFrame(() => {
      if (frames++ > 0) return;
      // the first frame: keyscope falls behind (its event loop busy), tcpdump's pipe and the kernel's ring fill
      blockedFrom = Date.now() / 1000;
      const end = Date.now() + 1500;
      while (Date.now() < end) {
        // busy
      }
      blockedTo = Date.now() / 1000;
    });
    // wait for "listening on" before sending (SIGUSR1 is only sent once tcpdump listens, and so the burst is seen)
    await sleep(500);
    await exited(sender);
    // the sender is done: wait for the window (a few stats intervals after the event loop is free again)
    const end = Date.now() + 10_000;
    while (windows.length === 0 && Date.now() < end) await sleep(50);
    assert.ok(windows.length > 0, `a loss window during the capture (${frames} frames of ${N})`);
    const first = windows[0];
    assert.equal(first.stopped, false, 'reported while capturing');
    assert.equal(first.w.cause, 'engine');
    assert.ok((first.w.packets ?? 0) > 0);
    assert.ok(secs(first.w.from) <= blockedTo && secs(first.w.to) >= blockedFrom, `window ${secs(first.w.from)}–${secs(first.w.to)} overlaps the busy span ${blockedFrom}–${blockedTo}`);
    assert.ok(capture.dropped !== undefined && capture.dropped > 0, 'the running drop count before the stop');
    capture.stop({ drain: true });
    await capture.done;
    if (process.env.KEYSCOPE_TEST_VERBOSE) console.error(JSON.stringify({ frames, total: capture.dropped, windows: windows.map((x) => [secs(x.w.from), secs(x.w.to), x.w.packets, x.stopped]), blockedFrom, blockedTo }));
    const counted = windows.reduce((n, x) => n + (x.w.packets ?? 0), 0);
    const total = capture.dropped ?? 0;
    assert.equal(counted, Math.max(counted, total), `the windows count every packet of the end-of-capture figure (${counted} in windows, ${total} at the end)`);
    assert.ok(frames + total >= N * 0.99 && frames < N, `${frames} captured + ${total} dropped of ${N} sent`);
  } finally {
    killGroup(sender, 'SIGKILL');
    capture.stop();
    await capture.done.catch(() => undefined);
  }
});
