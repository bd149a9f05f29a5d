/**
 * Live and `analyze` decide the "possibly capture loss" caveat alike (issue #12). Live holds its findings longer than
 * analyze (the loss look-back, a margin for frames that reach the analysis late, and with `--engine tcpdump` the stats
 * interval its drop counters come in), and the pacer lets them out on the capture's clock between frames; analyze
 * lets them out only at later frames. A span of loss the traffic shows late (an MSK counter jump is known only at the
 * UE's next MSK message) used to qualify a live finding that analyze of the same frames left bare. Now the caveat
 * depends on packet times only: a span qualifies a finding when it became known within the look-back after the
 * finding's time, however long the finding was held.
 *
 * The faults capture is cut in many places (bursts in the live run's loss pattern, and single MIKEY datagrams — an
 * MSK message and its ACK gone, so the counter jump shows at the next MSK message), and each cut goes through
 * - analyze: the Analyzer as `keyscope analyze` runs it (default hold);
 * - the live path: the Analyzer with live's options for the tcpdump engine (src/cli/live.ts liveCorrelatorOptions),
 *   frames let go as they arrive (holdNewest off), and the LivePacer ticking every 0.1 s of the capture's clock while
 *   no frame comes, as live's timer does.
 * Every cut gives the same findings with the same caveats both ways (stopped at its last frame; stopped after a
 * quiet while, up to the last frame: after it live's findings follow when it was stopped); and the sweep does contain findings a span
 * revealed 0.25–1.25 s late covers (with the old rule — look-back as long as live's hold — they would differ).
 * No network, no child process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { readCapture } from '../../src/capture/reader';
import type { CaptureFrame } from '../../src/capture/types';
import { DEFAULT_TCPDUMP_STATS_INTERVAL_MS } from '../../src/capture/tcpdump-engine';
import { liveCorrelatorOptions } from '../../src/cli/live';
import { DEFAULT_LOSS_LOOKBACK_SECONDS, type CorrelatorOptions } from '../../src/correlate/options';
import type { Diagnostic } from '../../src/correlate/types';
import { Analyzer } from '../../src/pipeline/analyzer';
import { LIVE_TICK_MS, LivePacer } from '../../src/pipeline/live-pacer';
import { loadKeyFile, type KeyStore } from '../../src/protocols/keys';
import type { ExpectedFindings } from '../../src/sim/run';
import { correlatorOptionsFor } from '../support/expected-findings';
import { capturePath } from '../support/repo';

const NS = 1_000_000_000n;
/** The pacer's frame hold in the live path: longer than the capture, so held frames go as in analyze. */
const HOLD_AS_FILE_S = 60;
/** A burst cut every this many frames, and every this many-th pair of MIKEY datagrams cut (the test's run time). */
const BURST_EVERY = 83;
const PAIR_EVERY = 3;
/** Seconds the pacer ticks on after the last frame in the second run (the capture quiet until Ctrl-C), past every deadline. */
const QUIET_AFTER_S = 5;

async function frames(file: string): Promise<CaptureFrame[]> {
  const out: CaptureFrame[] = [];
  await readCapture(file, (f) => out.push({ ...f, data: Buffer.from(f.data) }));
  return out;
}

const nsOf = (t: { tsSec: number; tsNsec: number }) => BigInt(t.tsSec) * NS + BigInt(t.tsNsec);
const timeOf = (ns: bigint) => ({ tsSec: Number(ns / NS), tsNsec: Number(ns % NS) });

/** A diagnostic as a comparable line: code, UE, frames, time to the ns, caveat. */
function line(d: Diagnostic): string {
  return `${d.code} ${d.ue ?? '-'} [${d.frames.join(',')}] ${nsOf(d.time).toString()}${d.possibleCaptureLoss ? ' caveat' : ''}`;
}

/**
 * The lines of the findings made before the last frame's time, or of all with `all`: after it, live's findings follow
 * when it was stopped (deadlines expire while the capture is quiet; end-of-capture findings are stamped at the stop),
 * which a file does not know.
 */
function lines(got: readonly Diagnostic[], input: readonly CaptureFrame[], all: boolean): string[] {
  const end = nsOf(input[input.length - 1]);
  return got.filter((d) => all || nsOf(d.time) < end).map(line).sort();
}

function analyzeFile(input: readonly CaptureFrame[], keys: KeyStore, correlator: CorrelatorOptions, all = true): string[] {
  const got: Diagnostic[] = [];
  const a = new Analyzer({ diagnostic: (d) => got.push(d) }, { dissector: { keys }, correlator });
  for (const f of input) a.frame(f);
  a.finish();
  return lines(got, input, all);
}

/** The live path: live's options (tcpdump engine), frames let go at once, the pacer ticking on the capture's clock between frames. */
function analyzeLive(input: readonly CaptureFrame[], keys: KeyStore, correlator: CorrelatorOptions, quietAfterS: number): string[] {
  const got: Diagnostic[] = [];
  const options = liveCorrelatorOptions({}, { lossLatencySeconds: DEFAULT_TCPDUMP_STATS_INTERVAL_MS / 1000, clock: { engine: 'tcpdump', short: '', description: '', nanosecond: true } });
  const a = new Analyzer({ diagnostic: (d) => got.push(d) }, { dissector: { keys, holdNewest: false }, correlator: { ...correlator, lossHoldSeconds: options.lossHoldSeconds } });
  let now = nsOf(input[0]);
  // frames the Dissector holds for an HTTP response are let go as analyze lets them go (HOLD_AS_FILE_S): releasing them
  // early on the clock is the Dissector's matter (it can change what a request without its response is taken for),
  // not the caveat's; deadlines and held findings still run on the clock whenever no frame is held
  const pacer = new LivePacer(a, () => timeOf(now), { holdSeconds: HOLD_AS_FILE_S });
  const step = BigInt(LIVE_TICK_MS) * 1_000_000n;
  for (const f of input) {
    // the capture is quiet until this frame: the clock runs on the wall clock, a tick every LIVE_TICK_MS, never past the frame
    const at = nsOf(f);
    while (now + step < at) {
      now += step;
      pacer.tick();
    }
    a.frame(f);
    if (at > now) now = at;
  }
  for (let i = 0; i < (quietAfterS * 1000) / LIVE_TICK_MS; i++) {
    now += step;
    pacer.tick();
  }
  a.finish();
  return lines(got, input, quietAfterS === 0);
}

test('live and analyze of the same frames: the same findings with the same caveats, spans revealed late included', { timeout: 120_000 }, async () => {
  const e = JSON.parse(fs.readFileSync(capturePath('sim-faults.expected.json'), 'utf8')) as ExpectedFindings;
  const base = correlatorOptionsFor(e);
  const keys = loadKeyFile(capturePath('sim-faults.keys'));
  const all = await frames(capturePath('sim-faults.pcap'));
  // cuts: bursts in the live run's pattern (lose 18, keep 4, lose 18) every BURST_EVERY frames, and every PAIR_EVERY-th UDP datagram to or
  // from the MIKEY port (2269) alone with the next such datagram (an MSK message and its ACK)
  const cuts: Array<Set<number>> = [];
  for (let start = 0; start + 40 < all.length; start += BURST_EVERY) {
    const lost = new Set<number>();
    for (let i = 0; i < 18; i++) lost.add(start + 1 + i);
    for (let i = 0; i < 18; i++) lost.add(start + 23 + i);
    cuts.push(lost);
  }
  const mikey = all.filter((f) => f.data.length > 42 && f.data[23] === 17 && (f.data.readUInt16BE(34) === 2269 || f.data.readUInt16BE(36) === 2269)).map((f) => f.number);
  for (let i = 0; i + 1 < mikey.length; i += 2 * PAIR_EVERY) cuts.push(new Set([mikey[i], mikey[i + 1]]));
  assert.ok(cuts.length > 20, `${cuts.length} cuts`);
  let lateSpans = 0;
  let caveats = 0;
  for (const lost of cuts) {
    const input = all.filter((f) => !lost.has(f.number));
    const file = analyzeFile(input, keys, base);
    const what = `cut of frames ${[...lost].slice(0, 3).join(',')}…`;
    // stopped at its last frame: everything alike, end-of-capture findings included
    assert.deepEqual(analyzeLive(input, keys, base, 0), file, what);
    // quiet for a while before the stop: alike up to the last frame
    assert.deepEqual(analyzeLive(input, keys, base, QUIET_AFTER_S), analyzeFile(input, keys, base, false), what);
    caveats += file.filter((l) => l.endsWith('caveat')).length;
    // the old rule: the look-back as long as live's hold, so a span known up to 1.25 s later qualified
    const old = analyzeFile(input, keys, { ...base, lossLookbackSeconds: DEFAULT_LOSS_LOOKBACK_SECONDS + DEFAULT_TCPDUMP_STATS_INTERVAL_MS / 1000 });
    if (old.join('\n') !== file.join('\n')) lateSpans++;
  }
  assert.ok(caveats > 0, 'the cuts qualify findings');
  assert.ok(lateSpans > 0, 'some cut has a finding only a span known late (or a longer look-back) would qualify');
});
