/**
 * Findings hold on real capture windows. A field engineer's capture starts and ends wherever tcpdump was started and
 * stopped: the bundled simulator captures are cut at many start and end points (every N frames, as `editcap -r`
 * would cut them: the same bytes, frames renumbered from 1) and analyzed window by window.
 * - Clean UEs (every UE of sim-clean and sim-variants, the clean UEs of sim-faults) get no warning and no error in
 *   any window: what lies outside the window is not evidence.
 * - Every finding of the whole sim-faults capture whose evidence lies inside a window — the frames it cites, and
 *   the deadline it waited for — is found in that window too, on the same UE and frames.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { readCapture } from '../../src/capture/reader';
import type { CaptureFrame } from '../../src/capture/types';
import { SEVERITY_RANK } from '../../src/common/problem';
import type { CorrelatorOptions } from '../../src/correlate/correlator';
import type { Diagnostic } from '../../src/correlate/types';
import { Analyzer } from '../../src/pipeline/analyzer';
import { loadKeyFile, type KeyStore } from '../../src/protocols/keys';
import type { ExpectedFindings } from '../../src/sim/run';
import { correlatorOptionsFor } from '../support/expected-findings';
import { capturePath } from '../support/repo';

interface Bundle {
  name: string;
  frames: CaptureFrame[];
  keys: KeyStore;
  options: CorrelatorOptions;
  expected: ExpectedFindings;
}

async function load(name: string): Promise<Bundle> {
  const frames: CaptureFrame[] = [];
  const summary = await readCapture(capturePath(`${name}.pcap`), (f) => frames.push({ ...f, data: Buffer.from(f.data) }));
  assert.equal(summary.fatal, undefined);
  const expected = JSON.parse(fs.readFileSync(capturePath(`${name}.expected.json`), 'utf8')) as ExpectedFindings;
  return { name, frames, keys: loadKeyFile(capturePath(`${name}.keys`)), options: correlatorOptionsFor(expected), expected };
}

/** Frames [from, to) of the capture, renumbered from 1 like `editcap -r`, through a fresh analyzer. */
function analyzeWindow(b: Bundle, from: number, to: number): Diagnostic[] {
  const out: Diagnostic[] = [];
  const a = new Analyzer({ diagnostic: (d) => out.push(d) }, { dissector: { keys: b.keys }, correlator: b.options });
  for (let i = from; i < to; i++) a.frame({ ...b.frames[i], number: i - from + 1 });
  a.finish();
  return out;
}

/** Window bounds every `step` frames: every start with every later end, plus the capture's own ends. */
function windows(n: number, step: number): [number, number][] {
  const cuts: number[] = [];
  for (let c = 0; c < n; c += step) cuts.push(c);
  cuts.push(n);
  const w: [number, number][] = [];
  for (let i = 0; i < cuts.length; i++) for (let j = i + 1; j < cuts.length; j++) w.push([cuts[i], cuts[j]]);
  return w;
}

const secs = (t: { tsSec: number; tsNsec: number }) => t.tsSec + t.tsNsec / 1e9;
const atLeastWarning = (d: Diagnostic) => SEVERITY_RANK[d.severity] >= SEVERITY_RANK.warning;
const show = (d: Diagnostic) => `${d.code} ue ${d.ue ?? '-'} frames ${d.frames.join(',')}: ${d.message}`;

function assertCleanUesQuiet(b: Bundle, step: number): void {
  const clean = new Set(b.expected.ues.length === 0 ? [] : b.expected.clean);
  const everyone = b.expected.ues.length === 0;
  const complaints: string[] = [];
  for (const [from, to] of windows(b.frames.length, step)) {
    for (const d of analyzeWindow(b, from, to)) {
      if (!atLeastWarning(d)) continue;
      if (everyone || (d.ue !== undefined && clean.has(d.ue))) complaints.push(`frames ${from + 1}–${to}: ${show(d)}`);
    }
  }
  assert.deepEqual(complaints.slice(0, 20), [], `${complaints.length} warnings or errors on clean UEs`);
}

const CLEAN_STEP = 9;
const FAULTS_STEP = 41;

test(`sim-clean cut every ${CLEAN_STEP} frames, start and end: no warning or error in any window`, async () => {
  assertCleanUesQuiet(await load('sim-clean'), CLEAN_STEP);
});

test(`sim-variants cut every ${CLEAN_STEP} frames, start and end: no warning or error in any window`, async () => {
  assertCleanUesQuiet(await load('sim-variants'), CLEAN_STEP);
});

test(`sim-faults cut every ${FAULTS_STEP} frames: its clean UEs get no warning or error in any window`, async () => {
  assertCleanUesQuiet(await load('sim-faults'), FAULTS_STEP);
});

test(`sim-faults cut every ${FAULTS_STEP} frames: every finding whose evidence is inside a window is found there`, async () => {
  const b = await load('sim-faults');
  const whole = analyzeWindow(b, 0, b.frames.length);
  assert.ok(whole.length > 20, `${whole.length} findings in the whole capture`);
  const lost: string[] = [];
  let checked = 0;
  for (const [from, to] of windows(b.frames.length, FAULTS_STEP)) {
    const lastTime = secs(b.frames[to - 1]);
    const firstTime = secs(b.frames[from]);
    const inWindow = whole.filter((d) => {
      if (d.frames.length === 0 || d.frames[0] <= from || d.frames[d.frames.length - 1] > to) return false;
      // a deadline is evidence only once a frame of the window has passed it
      if (secs(d.time) > lastTime) return false;
      // an ACK matching nothing is evidence only when the delivery it answers could not precede the window
      if (d.code === 'ack-unmatched' && secs(b.frames[d.frames[0] - 1]) - (b.options.ackTimeout ?? 10) < firstTime) return false;
      return true;
    });
    if (inWindow.length === 0) continue;
    const got = analyzeWindow(b, from, to).map((d) => `${d.code} ${d.ue ?? '-'} ${d.frames.map((f) => f + from).join(',')}`);
    for (const d of inWindow) {
      checked++;
      const key = `${d.code} ${d.ue ?? '-'} ${d.frames.join(',')}`;
      if (!got.includes(key)) lost.push(`frames ${from + 1}–${to}: lost ${show(d)}`);
    }
  }
  assert.ok(checked > 100, `${checked} findings checked in windows`);
  assert.deepEqual(lost.slice(0, 20), [], `${lost.length} findings lost`);
});
