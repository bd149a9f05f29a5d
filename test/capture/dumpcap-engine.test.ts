/**
 * `--engine dumpcap` counts drops with dumpcap's end-of-capture counters:
 * - the line dumpcap prints is parsed (as dumpcap 4.0 prints it), and libpcap's drops are halved on loopback;
 * - a real loss on lo: dumpcap is stopped (SIGSTOP) while a burst arrives, its 1 MiB kernel ring overflows; after the
 *   capture, the frames captured plus the drops keyscope reports add up to the datagrams sent — so the halving of
 *   the kernel's count on lo holds for dumpcap too — and one loss window (cause `engine`) carries them.
 *
 * Network: 127.216.1.0/24, port 21601 (this file's). Every child is tied and killed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CaptureLossWindow } from '../../src/common/capture-loss';
import { dumpcapLoss, openDumpcapCapture, parseDumpcapCounters } from '../../src/capture/dumpcap-engine';
import { exited, killGroup, spawn, spawnSync } from '../support/proc';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("dumpcap's end-of-capture line is parsed; libpcap's drops are halved on loopback", () => {
  const text = "Capturing on 'Loopback: lo'\nFile: -\nPackets captured: 10\nPackets received/dropped on interface 'Loopback: lo': 10/6 (pcap:5/dumpcap:1/flushed:0/ps_ifdrop:0) (62.5%)\n";
  const c = parseDumpcapCounters(text);
  assert.deepEqual(c, { received: 10, dropped: 6, pcap: 5, dumpcap: 1, flushed: 0, interface: 0 });
  assert.equal(dumpcapLoss(c as NonNullable<typeof c>, true), 4);
  assert.equal(dumpcapLoss(c as NonNullable<typeof c>, false), 6);
  assert.equal(parseDumpcapCounters("Capturing on 'Loopback: lo'\ndumpcap: The capture session could not be initiated\n"), undefined);
});

test('a real loss on lo: frames plus reported drops equal the datagrams sent; one engine loss window', { timeout: 60_000 }, async (t) => {
  if (spawnSync('dumpcap', ['-v']).status !== 0) return t.skip('dumpcap is not installed (scripts/install-system-deps.sh)');
  const host = '127.216.1.1';
  const port = 21601;
  const marker = `udp and dst host ${host} and dst port ${port} and udp[0:2] != ${process.pid % 60000}`;
  const capture = await openDumpcapCapture({ device: 'lo', filter: marker, bufferKiB: 1024 });
  const N = 20_000;
  let sender: ReturnType<typeof spawn> | undefined;
  const dumpcapPid = () =>
    spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((l) => l.includes('dumpcap') && l.includes(marker) && !l.includes('live-drain-child.js'))
      .map((l) => Number(l.trim().split(/\s+/)[0]))[0];
  const pid = dumpcapPid();
  try {
    assert.ok(pid > 0, 'dumpcap runs');
    const windows: CaptureLossWindow[] = [];
    capture.onLoss((w) => windows.push(w));
    let frames = 0;
    capture.onFrame(() => {
      frames++;
    });
    // dumpcap stops taking packets from its ring: 20 000 datagrams of 400 bytes do not fit in 1 MiB
    process.kill(pid, 'SIGSTOP');
    sender = spawn(process.execPath, ['-e', `
      const s = require('node:dgram').createSocket('udp4');
      s.bind(0, '127.216.1.2', async () => {
        const b = Buffer.alloc(400, 7);
        for (let i = 0; i < ${N}; i++) await new Promise((r) => s.send(b, ${port}, '${host}', r));
        s.close();
      });
    `], { stdio: 'ignore' });
    await exited(sender);
    process.kill(pid, 'SIGCONT');
    // let dumpcap empty what its ring kept (it hands a block over at most 250 ms after it filled)
    await sleep(1500);
    capture.stop({ drain: true });
    await capture.done;
    const dropped = capture.dropped;
    if (process.env.KEYSCOPE_TEST_VERBOSE) console.error(JSON.stringify({ frames, dropped, counters: capture.counters, sent: N }));
    assert.ok(dropped !== undefined && dropped > 0, `dumpcap reported drops (${dropped})`);
    assert.ok(frames < N, `${frames} of ${N} captured`);
    // the kernel counts a lost packet twice on lo: halved, the drops and the frames add up to what was sent
    assert.ok(Math.abs(frames + dropped - N) <= N * 0.01, `${frames} captured + ${dropped} dropped, ${N} sent`);
    assert.equal(windows.length, 1);
    assert.equal(windows[0].cause, 'engine');
    assert.equal(windows[0].packets, dropped);
  } finally {
    if (sender) killGroup(sender, 'SIGKILL');
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    capture.stop();
    await capture.done.catch(() => undefined);
  }
});
