/**
 * The dashboard on a live capture (what `keyscope live -i lo --dash` shows): the simulator plays a small scenario on
 * loopback (its own 127.91/16 network) while the dashboard watches `lo` through libpcap (root, the optional `cap`
 * module). Transactions, the ACK rate and the injected faults must appear, and the header must show the same numbers
 * as the analyzer run afterwards over the very frames that were captured. A quiet capture lets its clock run: a
 * missing ACK shows after the ACK timeout without a later frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openLiveCapture } from '../../src/capture/live';
import type { CaptureFrame } from '../../src/capture/types';
import { Analyzer } from '../../src/pipeline/analyzer';
import { normaliseScenario } from '../../src/sim/scenario';
import { runScenario } from '../../src/sim/run';
import { Dashboard } from '../../src/tui/dashboard';
import { HeadlessTerminal, waitForScreen } from './headless';

const NETWORK = '127.91.0.0/16';
// generous timeouts: a loaded test machine must not turn a clean UE's late ACK into a finding
const CORRELATOR = { ackTimeout: 2, deliveryTimeout: 2, pullTimeout: 2, bucketSeconds: 1 };

test('live capture on lo while the simulator runs: transactions, ACK rate and faults appear, numbers match the analyzer', async () => {
  const sc = normaliseScenario({
    name: 'dash-live-test',
    seed: 3,
    network: NETWORK,
    httpPort: 18291,
    ues: [{ count: 2 }, { count: 1, faults: ['dropped-ack'] }, { count: 1, faults: ['wrong-password'] }],
    timing: { startMs: 100, staggerMs: 60, settleMs: 250, pushStaggerMs: 20, mtkIntervalMs: 250, mtkRepeat: 1, delayMs: 300 },
    durationSeconds: 15,
  });
  const capture = openLiveCapture({ device: 'lo', filter: `net ${NETWORK}` });
  const frames: CaptureFrame[] = [];
  capture.onFrame((f) => frames.push({ ...f, data: Buffer.from(f.data) }));
  const term = new HeadlessTerminal(170, 50);
  const dash = new Dashboard(
    { kind: 'live', capture },
    { analyzer: { correlator: CORRELATOR }, terminal: { input: term.input, output: term.output, terminal: 'xterm-256color' }, handleSignals: false, refreshMs: 50 },
  ).start();
  try {
    await waitForScreen(term, (s) => s.includes('live on lo') && s.includes('[live]') && s.includes('capturing'), 'the live header');
    const run = await runScenario(sc);
    assert.equal(run.timedOut, false);
    // a deadline the capture has not reached decides nothing, so the capture runs on until the missing ACK's
    // deadline has passed on the wall clock (the live pacer expires it while the capture is quiet)
    await waitForScreen(term, (s) => s.includes('ack-missing'), 'the missing ACK after the ACK timeout');
    // the last datagrams reach libpcap through the kernel: wait until the capture has been quiet for a moment
    let seen = -1;
    for (let i = 0; i < 40 && seen !== frames.length; i++) {
      seen = frames.length;
      await new Promise((r) => setTimeout(r, 100));
    }
    capture.stop();
    const text = await waitForScreen(term, (s) => s.split('\n')[0].includes('capture stopped'), 'the stopped capture');

    const reference = new Analyzer({}, { correlator: CORRELATOR });
    for (const f of frames) reference.frame(f);
    reference.finish();
    const s = reference.stats();
    assert.ok(s.transactions > 0 && s.ack.requested > 0);
    const head = text.split('\n').slice(0, 3).join('\n');
    assert.match(head, new RegExp(`frames ${s.frames}\\b`));
    assert.match(head, new RegExp(`transactions ${s.transactions}\\b`));
    assert.match(head, new RegExp(`UEs ${s.ues}\\b`));
    assert.match(head, new RegExp(`ACK ${s.ack.acked}/${s.ack.requested}\\b`));
    assert.match(text, /ACK rate \(%\) per 1 s, UTC — \d+\.\d % overall/);

    const dropped = run.ues.find((u) => u.faults.includes('dropped-ack'));
    const wrong = run.ues.find((u) => u.faults.includes('wrong-password'));
    assert.ok(dropped && wrong);
    const diagLines = text.split('\n').filter((l) => /^│\d\d:\d\d:\d\d\.\d{3} (error|warning)/.test(l));
    assert.ok(diagLines.some((l) => l.includes('ack-missing') && l.includes(dropped.address)), diagLines.join('\n'));
    assert.ok(diagLines.some((l) => l.includes('credentials-rejected') && l.includes(wrong.address)), diagLines.join('\n'));
    // a row for a clean UE, found with the filter
    const clean = run.ues.find((u) => u.faults.length === 0);
    assert.ok(clean);
    term.keys(`/${clean.address}\r`);
    const filtered = await waitForScreen(term, (t) => t.includes(`filter '${clean.address}'`), 'the filtered table');
    const rows = filtered.split('\n').filter((l) => /│\d\d:\d\d:\d\d\.\d{3} T\d+/.test(l) && l.includes(clean.address));
    assert.ok(rows.length > 0, filtered);
  } finally {
    if (!capture.stopped) capture.stop();
    dash.quit();
    await dash.done;
    term.dispose();
  }
});

test('a quiet live capture still runs its clock: a missing ACK shows after the ACK timeout with no frame after it', async () => {
  // one UE whose ACK is dropped, nothing after its delivery: only the capture's own clock can reveal the fault
  const sc = normaliseScenario({
    name: 'dash-quiet-test',
    seed: 3,
    network: '127.92.0.0/16',
    httpPort: 18292,
    ues: [{ count: 1, faults: ['dropped-ack'], deregister: false }],
    timing: { startMs: 100, staggerMs: 60, settleMs: 100, pushStaggerMs: 20, mtkIntervalMs: 250, mtkRepeat: 1, delayMs: 300 },
    durationSeconds: 15,
  });
  const capture = openLiveCapture({ device: 'lo', filter: 'net 127.92.0.0/16' });
  const term = new HeadlessTerminal(170, 50);
  const dash = new Dashboard(
    { kind: 'live', capture },
    { analyzer: { correlator: { ackTimeout: 1 } }, terminal: { input: term.input, output: term.output, terminal: 'xterm-256color' }, handleSignals: false, refreshMs: 50 },
  ).start();
  try {
    const run = await runScenario(sc);
    assert.equal(run.timedOut, false);
    const ue = run.ues[0].address;
    const text = await waitForScreen(term, (s) => s.includes('ack-missing') && s.includes(ue), 'ack-missing during the quiet capture');
    assert.equal(capture.stopped, false, 'found while capturing, not at the end of the capture');
    assert.match(text.split('\n')[0], /capturing/);
    const frames = capture.stats.packets;
    const line = text.split('\n').find((l) => l.includes('ack-missing')) as string;
    assert.match(line, /no ACK came back within 1 s/);
    // the frames seen are the frames captured: no frame was needed to reveal it
    assert.equal(dash.analyzer.stats().frames, frames);
  } finally {
    if (!capture.stopped) capture.stop();
    dash.quit();
    await dash.done;
    term.dispose();
  }
});
