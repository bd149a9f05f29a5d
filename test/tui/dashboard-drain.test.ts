/**
 * The dashboard's Ctrl-C on a live source (issue #12), without a network: a stand-in live source whose frames come
 * from a capture file. The first interrupt stops the capture with `drain` and keeps the screen up, its header saying
 * how many frames are still queued; the frames the source still delivers are analysed; when the source ends the
 * pipeline is finished and the dashboard leaves by itself (`drained`). A second interrupt leaves at once, the rest
 * discarded by a plain stop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LiveCaptureStats } from '../../src/capture/live';
import { readCapture } from '../../src/capture/reader';
import type { CaptureFrame, FrameHandler } from '../../src/capture/types';
import type { PacketTime } from '../../src/common/time';
import { Dashboard, type LiveFrameSource } from '../../src/tui/dashboard';
import { loadKeyFile } from '../../src/protocols/keys';
import { capturePath } from '../support/repo';
import { HeadlessTerminal, waitForScreen } from './headless';

/** A live source fed by the test: `deliver()` hands frames to the dashboard, `end()` is the capture ending. */
class StandInSource implements LiveFrameSource {
  readonly device = 'stand-in0';
  readonly filter = '';
  stopped = false;
  readonly stops: Array<{ drain?: boolean } | undefined> = [];
  queued: number | undefined;
  backlog: { frames: number; spoolBytes: number; seconds: number } | undefined;
  private readonly handlers: FrameHandler[] = [];
  private readonly stopHandlers: Array<() => void> = [];
  private last: PacketTime = { tsSec: 0, tsNsec: 0 };
  private delivered = 0;

  get stats(): LiveCaptureStats {
    return { packets: this.delivered, bytes: 0, capturedBytes: 0, truncatedFrames: 0, startTime: { tsSec: 0, tsNsec: 0 }, elapsedSeconds: 0, packetsPerSecond: 0, bytesPerSecond: 0 };
  }

  now(): PacketTime {
    return this.last;
  }

  onFrame(handler: FrameHandler): () => void {
    this.handlers.push(handler);
    return () => this.handlers.splice(this.handlers.indexOf(handler), 1);
  }

  onStop(handler: () => void): void {
    this.stopHandlers.push(handler);
  }

  stop(options?: { drain?: boolean }): void {
    this.stops.push(options);
    this.stopped = true;
  }

  deliver(f: CaptureFrame): void {
    this.last = { tsSec: f.tsSec, tsNsec: f.tsNsec };
    this.delivered++;
    if (this.queued !== undefined) this.queued--;
    for (const h of this.handlers.slice()) h(f);
  }

  end(): void {
    for (const h of this.stopHandlers.splice(0)) h();
  }
}

async function frames(): Promise<CaptureFrame[]> {
  const out: CaptureFrame[] = [];
  await readCapture(capturePath('mikey-mbms-kinds.pcap'), (f) => out.push({ ...f, data: Buffer.from(f.data) }));
  return out;
}

function open(source: StandInSource, term: HeadlessTerminal): Dashboard {
  return new Dashboard(
    { kind: 'live', capture: source },
    {
      analyzer: { dissector: { keys: loadKeyFile(capturePath('mikey-mbms-kinds.keys')) } },
      terminal: { input: term.input, output: term.output, terminal: 'xterm-256color' },
      handleSignals: false,
      refreshMs: 20,
      busyRedrawMs: 20,
    },
  ).start();
}

interface OpenDashboard {
  source: StandInSource;
  term: HeadlessTerminal;
  dash: Dashboard;
}

/** A dashboard on a fresh stand-in source, its live header on screen; closed (and its terminal) after `body`. */
async function withDashboard(body: (o: OpenDashboard) => Promise<void>): Promise<void> {
  const source = new StandInSource();
  const term = new HeadlessTerminal(170, 50);
  const dash = open(source, term);
  try {
    await waitForScreen(term, (s) => s.split('\n')[0].includes('capturing'), 'the live header');
    await body({ source, term, dash });
  } finally {
    dash.quit();
    term.dispose();
  }
}

test('first interrupt drains: the header counts the queue down, the queued frames are analysed, the dashboard leaves by itself', { timeout: 60_000 }, async () => {
  const input = await frames();
  await withDashboard(async ({ source, term, dash }) => {
    const half = Math.floor(input.length / 2);
    for (const f of input.slice(0, half)) source.deliver(f);
    // Ctrl-C: the capture process has stopped and said how many it captured; the rest is queued
    source.queued = input.length - half;
    dash.interrupt();
    assert.deepEqual(source.stops, [{ drain: true }], 'a stop that drains');
    await waitForScreen(term, (s) => s.split('\n')[0].includes(`draining: ${input.length - half} frames queued, ${half} analysed`), 'the queue in the header');
    for (const f of input.slice(half, half + 2)) source.deliver(f);
    await waitForScreen(term, (s) => s.split('\n')[0].includes(`draining: ${input.length - half - 2} frames queued, ${half + 2} analysed`), 'the queue going down');
    for (const f of input.slice(half + 2)) source.deliver(f);
    source.end();
    const result = await dash.done;
    assert.equal(result.drained, true);
    assert.equal(result.ended, true);
    assert.equal(result.stats.frames, input.length, 'every queued frame analysed');
    assert.equal(source.stops.length, 1, 'no stop that discards');
  });
});

test('a second interrupt leaves at once: a plain stop discards the rest', { timeout: 60_000 }, async () => {
  const input = await frames();
  await withDashboard(async ({ source, term, dash }) => {
    for (const f of input.slice(0, 3)) source.deliver(f);
    dash.interrupt();
    await waitForScreen(term, (s) => s.split('\n')[0].includes('draining: 3 frames analysed'), 'draining without a known queue');
    dash.interrupt();
    const result = await dash.done;
    assert.deepEqual(source.stops, [{ drain: true }, undefined]);
    assert.equal(result.drained, false);
    assert.equal(result.ended, false);
    assert.equal(result.stats.frames, 3);
  });
});

test('an interrupt once the capture has ended (-c reached) leaves at once', { timeout: 60_000 }, async () => {
  await withDashboard(async ({ source, term, dash }) => {
    source.stop();
    source.end();
    await waitForScreen(term, (s) => s.split('\n')[0].includes('capture stopped'), 'the stopped capture');
    dash.interrupt();
    const result = await dash.done;
    assert.equal(result.ended, true);
    assert.equal(result.drained, false);
  });
});

test('the header says how far behind the analysis is while capturing, and the spool while draining', { timeout: 60_000 }, async () => {
  const input = await frames();
  await withDashboard(async ({ source, term, dash }) => {
    // the capture process reports a backlog: 1500 frames, 3.5 MB of them on disk, 2.25 s of capture time
    source.backlog = { frames: 1500, spoolBytes: 3.5 * 1024 * 1024, seconds: 2.25 };
    source.deliver(input[0] as CaptureFrame);
    await waitForScreen(term, (s) => s.split('\n')[0].includes('capturing, behind: 1500 frames, 3.5 MB spooled, 2.3 s'), 'the backlog in the header');
    // caught up: the header says so no more
    source.backlog = { frames: 0, spoolBytes: 0, seconds: 0 };
    source.deliver(input[1] as CaptureFrame);
    await waitForScreen(term, (s) => /capturing/.test(s.split('\n')[0] ?? '') && !/behind/.test(s.split('\n')[0] ?? ''), 'no backlog');
    source.backlog = { frames: 700, spoolBytes: 1024 * 1024, seconds: 1 };
    source.queued = 700;
    dash.interrupt();
    await waitForScreen(term, (s) => s.split('\n')[0].includes('draining: 700 frames queued (1.0 MB spooled), 2 analysed'), 'the spool while draining');
  });
});
