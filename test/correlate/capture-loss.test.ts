/**
 * Findings in a span of capture loss say "possibly capture loss" instead of accusing the UE or the BM-SC:
 * - a file with packets cut out (the simulator's clean capture less some of the BM-SC's 200 OKs: the TCP streams
 *   then miss bytes the UE acknowledged) gives findings, every one qualified (JSON field and message), none bare;
 * - the whole file gives none at all;
 * - a loss span handed to the correlator (as a live capture's counted drops are) qualifies the findings made in it,
 *   within the loss margin after it and within the look-back before it, and no other; lossLookbackSeconds 0 emits at
 *   once and qualifies nothing made before the span was known.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PcapWriter } from '../../src/capture/pcap-writer';
import { readCapture } from '../../src/capture/reader';
import type { CaptureFrame } from '../../src/capture/types';
import { CAPTURE_LOSS_CAVEAT } from '../../src/correlate/correlator';
import type { CorrelatorOptions } from '../../src/correlate/options';
import type { Diagnostic } from '../../src/correlate/types';
import { Analyzer } from '../../src/pipeline/analyzer';
import { loadKeyFile } from '../../src/protocols/keys';
import { diagnosticJson } from '../../src/report/analyze-json';
import { correlatorOptionsFor } from '../support/expected-findings';
import type { ExpectedFindings } from '../../src/sim/run';
import { capturePath } from '../support/repo';

async function frames(file: string): Promise<CaptureFrame[]> {
  const out: CaptureFrame[] = [];
  await readCapture(file, (f) => out.push({ ...f, data: Buffer.from(f.data) }));
  return out;
}

function analyze(input: CaptureFrame[], keys: string, correlator: CorrelatorOptions, loss?: (a: Analyzer) => void): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const a = new Analyzer({ diagnostic: (d) => diagnostics.push(d) }, { dissector: { keys: loadKeyFile(capturePath(keys)) }, correlator });
  loss?.(a);
  for (const f of input) a.frame(f);
  a.finish();
  return diagnostics;
}

const secs = (t: { tsSec: number; tsNsec: number }) => t.tsSec + t.tsNsec / 1e9;

test('packets cut out of a clean capture: every finding is qualified as possibly capture loss, none accuses bare', { timeout: 60_000 }, async () => {
  const all = await frames(capturePath('sim-clean.pcap'));
  assert.equal(analyze(all, 'sim-clean.keys', {}).length, 0, 'the whole capture has no findings');
  // every third 200 OK of the BM-SC is not captured
  let n = 0;
  const cut = all.filter((f) => !(f.data.includes('HTTP/1.1 200') && n++ % 3 === 0));
  assert.ok(all.length - cut.length >= 3);
  // the cut capture goes through a real file, as a user would have it
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-loss-'));
  try {
    const file = path.join(dir, 'cut.pcap');
    const w = new PcapWriter(file, { linkType: all[0].linkType, nanosecond: true });
    for (const f of cut) w.write(f);
    w.close();
    const diagnostics = analyze(await frames(file), 'sim-clean.keys', {});
    assert.ok(diagnostics.length > 0, 'the cut shows');
    for (const d of diagnostics) {
      assert.equal(d.possibleCaptureLoss, true, `${d.code} at ${secs(d.time)}: ${d.message}`);
      assert.ok(d.message.endsWith(`(${CAPTURE_LOSS_CAVEAT})`), d.message);
      assert.equal(diagnosticJson(d).possibleCaptureLoss, true);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('findings are held for the look-back in packet time, then emitted as time passes (expire), or at once with look-back 0', { timeout: 60_000 }, async () => {
  const e = JSON.parse(fs.readFileSync(capturePath('sim-faults.expected.json'), 'utf8')) as ExpectedFindings;
  const input = await frames(capturePath('sim-faults.pcap'));
  const base = correlatorOptionsFor(e);
  const got: Diagnostic[] = [];
  const a = new Analyzer({ diagnostic: (d) => got.push(d) }, { dissector: { keys: loadKeyFile(capturePath('sim-faults.keys')) }, correlator: { ...base, lossLookbackSeconds: 5 } });
  for (const f of input) a.frame(f);
  const last = input[input.length - 1];
  const before = got.length;
  const lastT = secs(last);
  assert.ok(got.every((d) => secs(d.time) <= lastT - 5 + 1e-9), 'nothing younger than the look-back went out');
  a.correlator.expire({ tsSec: last.tsSec + 6, tsNsec: last.tsNsec });
  assert.ok(got.length > before, 'time passing lets them out');
  a.finish();
  const all = analyze(input, 'sim-faults.keys', { ...base, lossLookbackSeconds: 0 });
  assert.deepEqual(got.map((d) => d.code).sort(), all.map((d) => d.code).sort(), 'the same findings either way');
});

test('a loss span handed to the correlator qualifies the findings in it, in the margin after and the look-back before, and no other', { timeout: 60_000 }, async () => {
  const e = JSON.parse(fs.readFileSync(capturePath('sim-faults.expected.json'), 'utf8')) as ExpectedFindings;
  const input = await frames(capturePath('sim-faults.pcap'));
  const base = correlatorOptionsFor(e);
  const plain = analyze(input, 'sim-faults.keys', base);
  assert.ok(plain.length >= 4);
  assert.ok(plain.every((d) => d.possibleCaptureLoss === undefined), 'no loss span, no caveat');
  // a span around the middle finding, with a margin that reaches past a few others
  const times = plain.map((d) => secs(d.time)).sort((a, b) => a - b);
  const mid = times[Math.floor(times.length / 2)];
  const margin = 0.5;
  const lookback = 0.2;
  const at = { tsSec: Math.floor(mid), tsNsec: Math.round((mid % 1) * 1e9) };
  const marked = analyze(input, 'sim-faults.keys', { ...base, lossMarginSeconds: margin, lossLookbackSeconds: lookback }, (a) => a.correlator.captureLoss({ from: at, to: at, cause: 'queue', packets: 1 }));
  assert.equal(marked.length, plain.length, 'the same findings');
  let inside = 0;
  for (const d of marked) {
    const t = secs(d.time);
    const near = t >= mid - lookback - 1e-6 && t <= mid + margin + 1e-6;
    const clear = t < mid - lookback - 1e-3 || t > mid + margin + 1e-3;
    if (near) {
      inside++;
      assert.equal(d.possibleCaptureLoss, true, `${d.code} at ${t} (span at ${mid})`);
    } else if (clear) assert.equal(d.possibleCaptureLoss, undefined, `${d.code} at ${t} (span at ${mid})`);
  }
  assert.ok(inside >= 1);
});
