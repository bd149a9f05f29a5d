/**
 * A live engine's clock does not run ahead of a backlog (issue #12, found on a real loss run of `bench --live`):
 * when keyscope's analysis is behind its capture engine, frames stamped well before "now" are still streaming in
 * through the pipe. The live pacer moves packet time to capture.now(); had now() followed the wall clock, packet time
 * would pass frames still queued — deadlines expiring before the frames that meet them, findings stamped up to the
 * backlog's age late and so outside the loss windows of the packets they concern (the bench saw live's findings
 * up to 1 s after the oracle's, none of them qualified). So:
 * - while frames keep coming, now() stays at the newest frame delivered;
 * - once the stream has been quiet for PIPE_QUIET_SECONDS, now() follows the wall clock again (a quiet capture's
 *   deadlines still expire without traffic).
 * The engine is `--engine tcpdump` with a stand-in program: a pcap stream whose frames are stamped 2 s in the past
 * (a 2 s backlog), then quiet until SIGINT. No network. The stand-in is a tied child, stopped in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openTcpdumpCapture } from '../../src/capture/tcpdump-engine';
import { PIPE_QUIET_SECONDS } from '../../src/capture/piped-capture';

const secs = (t: { tsSec: number; tsNsec: number }) => t.tsSec + t.tsNsec / 1e9;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How far in the past the stand-in stamps its frames. */
const BACKLOG_S = 2;
/** How long it streams. */
const STREAM_MS = 1500;

const FAKE_TCPDUMP = `#!${process.execPath}
// a stand-in for tcpdump -w -: a nanosecond pcap stream of frames stamped ${BACKLOG_S} s ago, for ${STREAM_MS} ms
const h = Buffer.alloc(24);
h.writeUInt32LE(0xa1b23c4d, 0); h.writeUInt16LE(2, 4); h.writeUInt16LE(4, 6); h.writeUInt32LE(262144, 16); h.writeUInt32LE(1, 20);
process.stdout.write(h);
process.on('SIGINT', () => process.exit(0));
const start = Date.now();
const frame = Buffer.alloc(60, 0);
frame.writeUInt16BE(0x0800, 12);
const t = setInterval(() => {
  if (Date.now() - start > ${STREAM_MS}) { clearInterval(t); setInterval(() => {}, 1000); return; }
  const out = [];
  for (let i = 0; i < 5; i++) {
    const ns = BigInt(Date.now() - ${BACKLOG_S * 1000}) * 1000000n + BigInt(i);
    const r = Buffer.alloc(16);
    r.writeUInt32LE(Number(ns / 1000000000n), 0); r.writeUInt32LE(Number(ns % 1000000000n), 4);
    r.writeUInt32LE(frame.length, 8); r.writeUInt32LE(frame.length, 12);
    out.push(r, frame);
  }
  process.stdout.write(Buffer.concat(out));
}, 2);
`;

test('the live clock stays at the newest frame while a backlog streams in, and follows the wall clock once the pipe is quiet', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-backlog-'));
  const program = path.join(dir, 'fake-tcpdump');
  fs.writeFileSync(program, FAKE_TCPDUMP, { mode: 0o755 });
  const capture = await openTcpdumpCapture({ device: 'fake0', program, statsIntervalMs: 0 });
  try {
    let newest = 0;
    let frames = 0;
    capture.onFrame((f) => {
      frames++;
      newest = Math.max(newest, secs(f));
    });
    // sample the clock as the pacer does (a timer between reads of the pipe) while the stream runs
    const ahead: number[] = [];
    let lastCount = 0;
    const sampler = setInterval(() => {
      if (frames === lastCount || frames === 0) return;
      lastCount = frames;
      ahead.push(secs(capture.now()) - newest);
    }, 20);
    await sleep(STREAM_MS * 0.8);
    clearInterval(sampler);
    assert.ok(ahead.length >= 10, `${ahead.length} samples while streaming`);
    // never past the newest frame delivered (before the fix: about BACKLOG_S ahead)
    assert.ok(Math.max(...ahead) <= 1e-6, `clock ahead of the backlog by up to ${Math.max(...ahead).toFixed(3)} s`);
    // the stream stops; after the quiet time the clock runs on the wall clock again, past the old stamps
    await sleep(STREAM_MS * 0.2 + 300 + PIPE_QUIET_SECONDS * 1000);
    const quiet = secs(capture.now()) - newest;
    assert.ok(quiet > BACKLOG_S * 0.5, `quiet stream: clock ${quiet.toFixed(3)} s past the newest frame`);
    assert.ok(Math.abs(secs(capture.now()) - Date.now() / 1000) < 1, 'near the wall clock');
  } finally {
    capture.stop();
    await capture.done.catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
