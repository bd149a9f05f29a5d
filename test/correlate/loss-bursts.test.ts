/**
 * Capture loss in the pattern a loaded live capture really loses packets (issue #12, `bench --live` at 10 000
 * packets/s with the cap engine: bursts of 18 packets lost, 4 kept, 18 lost, and no drop counter): cut that way out
 * of the simulator's clean capture, a burst swallows whole HTTP exchanges with their connection's end — the 401, the
 * request with credentials, the 200 OK and the FINs — so no TCP gap shows, and the MSK message that follows looked
 * like the BM-SC's transport variant A (`mikey-before-200`) accusing bare. The pull room's `digest-missing` signal
 * (an MSK message answering a pull whose authenticated request is not in the capture) now opens a span over it:
 * - that cut: every warning and error is qualified, a digest-missing span is counted;
 * - the analysis of a cut file is the same run to run (file path deterministic);
 * - the real variant A of the faults capture (credentials seen, MIKEY before the 200 OK) opens no such span and
 *   keeps its finding bare.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCapture } from '../../src/capture/reader';
import type { CaptureFrame } from '../../src/capture/types';
import type { CorrelatorOptions } from '../../src/correlate/options';
import type { Diagnostic } from '../../src/correlate/types';
import { Analyzer } from '../../src/pipeline/analyzer';
import { loadKeyFile } from '../../src/protocols/keys';
import { diagnosticJson } from '../../src/report/analyze-json';
import type { ExpectedFindings } from '../../src/sim/run';
import { correlatorOptionsFor } from '../support/expected-findings';
import { capturePath } from '../support/repo';
import * as fs from 'node:fs';

async function frames(file: string): Promise<CaptureFrame[]> {
  const out: CaptureFrame[] = [];
  await readCapture(file, (f) => out.push({ ...f, data: Buffer.from(f.data) }));
  return out;
}

function analyze(input: CaptureFrame[], keys: string, correlator: CorrelatorOptions = {}): { diagnostics: Diagnostic[]; counts: ReturnType<Analyzer['correlator']['lossSignalCounts']> } {
  const diagnostics: Diagnostic[] = [];
  const a = new Analyzer({ diagnostic: (d) => diagnostics.push(d) }, { dissector: { keys: loadKeyFile(capturePath(keys)) }, correlator });
  for (const f of input) a.frame(f);
  a.finish();
  return { diagnostics, counts: a.correlator.lossSignalCounts() };
}

/** Frames (1-based) a burst of the live run's pattern takes out, starting after frame `start`: lose 18, keep 4, lose 18. */
function burst(start: number): Set<number> {
  const lost = new Set<number>();
  for (let i = 0; i < 18; i++) lost.add(start + 1 + i);
  for (let i = 0; i < 18; i++) lost.add(start + 23 + i);
  return lost;
}

test('a burst in the live run\'s pattern swallows whole HTTP exchanges: the MSK message after it opens a digest-missing span, nothing accuses bare', { timeout: 60_000 }, async () => {
  const all = await frames(capturePath('sim-clean.pcap'));
  assert.equal(analyze(all, 'sim-clean.keys').diagnostics.length, 0, 'the whole capture has no findings');
  const lost = burst(15);
  const cut = all.filter((f) => !lost.has(f.number));
  const { diagnostics, counts } = analyze(cut, 'sim-clean.keys');
  assert.ok((counts['digest-missing']?.spans ?? 0) >= 1, JSON.stringify(counts));
  const accusing = diagnostics.filter((d) => d.severity !== 'note');
  assert.ok(accusing.some((d) => d.code === 'mikey-before-200'), diagnostics.map((d) => d.code).join(', '));
  for (const d of accusing) assert.equal(d.possibleCaptureLoss, true, `${d.code} [${d.ue}] frames ${d.frames.join(',')}: ${d.message}`);
  // the same cut analysed again gives the same records
  const again = analyze(cut, 'sim-clean.keys').diagnostics;
  assert.deepEqual(again.map((d) => JSON.stringify(diagnosticJson(d))), diagnostics.map((d) => JSON.stringify(diagnosticJson(d))));
});

test('the faults capture\'s real transport variant A (credentials seen, MIKEY before the 200 OK) opens no digest-missing span and stays bare', { timeout: 60_000 }, async () => {
  const e = JSON.parse(fs.readFileSync(capturePath('sim-faults.expected.json'), 'utf8')) as ExpectedFindings;
  const { diagnostics, counts } = analyze(await frames(capturePath('sim-faults.pcap')), 'sim-faults.keys', correlatorOptionsFor(e));
  assert.equal(counts['digest-missing'], undefined, JSON.stringify(counts));
  const a = diagnostics.filter((d) => d.code === 'mikey-before-200');
  assert.equal(a.length, 1);
  assert.equal(a[0].possibleCaptureLoss, undefined, a[0].message);
});
