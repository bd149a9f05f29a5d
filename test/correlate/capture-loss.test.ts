/**
 * Findings in a span of capture loss say "possibly capture loss" instead of accusing the UE or the BM-SC:
 * - a file with packets cut out (the simulator's clean capture less some of the BM-SC's 200 OKs: the TCP streams
 *   then miss bytes the UE acknowledged) gives findings, every one qualified (JSON field and message), none bare;
 * - the whole file gives none at all;
 * - MSK deliveries (UDP, no TCP involved) cut out: the per-UE MSK counter jumps and the ACKs of the missing messages
 *   open `mikey-counter` spans, and every finding is qualified; an HTTP request cut out of a connection that carried an
 *   earlier exchange: its response without request opens an `http-unpaired` span;
 * - the faults capture's own MSK counter jump (its `counter-jump` fault: a push whose counter was spent but that never
 *   reached the wire) is such a span too: the capture cannot tell it from capture loss;
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
import { DEFAULT_LOSS_LOOKBACK_SECONDS, defaultLossMargin, resolveOptions, type CorrelatorOptions } from '../../src/correlate/options';
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

function analyze(input: CaptureFrame[], keys: string, correlator: CorrelatorOptions, loss?: (a: Analyzer) => void, after?: (a: Analyzer) => void): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const a = new Analyzer({ diagnostic: (d) => diagnostics.push(d) }, { dissector: { keys: loadKeyFile(capturePath(keys)) }, correlator });
  loss?.(a);
  for (const f of input) a.frame(f);
  a.finish();
  after?.(a);
  return diagnostics;
}

/** What each frame of a capture carries: MIKEY kinds (with carrier), HTTP message kinds with their connection. */
function frameKinds(input: CaptureFrame[], keys: string): Map<number, { mikey: string[]; http: Array<{ kind: string; connId: number; digest: boolean }> }> {
  const out = new Map<number, { mikey: string[]; http: Array<{ kind: string; connId: number; digest: boolean }> }>();
  const a = new Analyzer({
    dissectedFrame: (f) => out.set(f.packet.frame, {
      mikey: (f.mikey ?? []).map((m) => `${m.carrier}:${m.analysis.mbms?.kind ?? '?'}`),
      http: (f.http ?? []).map((h) => ({ kind: h.message.kind, connId: h.message.connId, digest: h.message.headers.some((x) => x.name.toLowerCase() === 'authorization') })),
    }),
  }, { dissector: { keys: loadKeyFile(capturePath(keys)) } });
  for (const f of input) a.frame(f);
  a.finish();
  return out;
}

/** Write frames to a real pcap file and read them back (a cut capture as a user would have it). */
async function throughFile(input: CaptureFrame[]): Promise<CaptureFrame[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-loss-'));
  try {
    const file = path.join(dir, 'cut.pcap');
    const w = new PcapWriter(file, { linkType: input[0].linkType, nanosecond: true });
    for (const f of input) w.write(f);
    w.close();
    return await frames(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every warning and error (the findings that accuse a UE or the BM-SC) carries the caveat; notes may not. */
function assertAllQualified(diagnostics: Diagnostic[]): void {
  const accusing = diagnostics.filter((d) => d.severity !== 'note');
  assert.ok(accusing.length > 0, 'the cut shows');
  for (const d of accusing) {
    assert.equal(d.possibleCaptureLoss, true, `${d.code} at ${secs(d.time)}: ${d.message}`);
    assert.ok(d.message.endsWith(`(${CAPTURE_LOSS_CAVEAT})`), d.message);
  }
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

test('MSK deliveries cut out (UDP only): counter jumps and ACKs of unseen messages open mikey-counter spans; every finding is qualified', { timeout: 60_000 }, async () => {
  const all = await frames(capturePath('sim-clean.pcap'));
  const kinds = frameKinds(all, 'sim-clean.keys');
  // every second MSK delivery on UDP is not captured (its ACK is)
  let n = 0;
  const cut = all.filter((f) => !(kinds.get(f.number)?.mikey.includes('udp:msk-delivery') && n++ % 2 === 1));
  assert.ok(all.length - cut.length >= 3, `${all.length - cut.length} cut`);
  const input = await throughFile(cut);
  let counts: ReturnType<Analyzer['correlator']['lossSignalCounts']> = {};
  const diagnostics = analyze(input, 'sim-clean.keys', {}, undefined, (a) => (counts = a.correlator.lossSignalCounts()));
  assert.ok((counts['mikey-counter']?.spans ?? 0) >= 1, JSON.stringify(counts));
  assert.equal(counts['http-unpaired'], undefined, 'no HTTP request missing');
  assertAllQualified(diagnostics);
  assert.ok(diagnostics.some((d) => d.code === 'msk-counter-jump'), diagnostics.map((d) => d.code).join(', '));
});

test('an HTTP request cut out of a connection with an earlier exchange: its response opens an http-unpaired span; every finding is qualified', { timeout: 60_000 }, async () => {
  const all = await frames(capturePath('sim-clean.pcap'));
  const kinds = frameKinds(all, 'sim-clean.keys');
  // the Digest-authenticated requests (each follows the 401 challenge on the same connection) of every second connection
  let n = 0;
  const cut = all.filter((f) => !(kinds.get(f.number)?.http.some((h) => h.kind === 'request' && h.digest) && n++ % 2 === 0));
  assert.ok(all.length - cut.length >= 3, `${all.length - cut.length} cut`);
  let counts: ReturnType<Analyzer['correlator']['lossSignalCounts']> = {};
  const diagnostics = analyze(await throughFile(cut), 'sim-clean.keys', {}, undefined, (a) => (counts = a.correlator.lossSignalCounts()));
  assert.ok((counts['http-unpaired']?.spans ?? 0) >= 1, JSON.stringify(counts));
  assertAllQualified(diagnostics);
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
  let counts: ReturnType<Analyzer['correlator']['lossSignalCounts']> = {};
  const plain = analyze(input, 'sim-faults.keys', base, undefined, (a) => (counts = a.correlator.lossSignalCounts()));
  assert.ok(plain.length >= 4);
  // the capture's own MSK counter jump (the counter-jump fault) is the one span of suspected loss it has
  assert.deepEqual(counts, { 'mikey-counter': { spans: 1, packets: 1 } });
  const jump = plain.find((d) => d.code === 'msk-counter-jump');
  assert.ok(jump?.possibleCaptureLoss, 'the jump itself carries the caveat');
  const jumpT = secs(jump.time);
  const margin0 = defaultLossMargin(resolveOptions(base));
  for (const d of plain) {
    const t = secs(d.time);
    const near = t >= jumpT - DEFAULT_LOSS_LOOKBACK_SECONDS - 1e-6 && t <= jumpT + margin0 + 1e-6;
    assert.equal(d.possibleCaptureLoss, near ? true : undefined, `${d.code} at ${t} (jump at ${jumpT})`);
  }
  // a span around the middle finding, with a margin that reaches past a few others
  const times = plain.map((d) => secs(d.time)).sort((a, b) => a - b);
  const mid = times[Math.floor(times.length / 2)];
  const margin = 0.5;
  const lookback = 0.2;
  const at = { tsSec: Math.floor(mid), tsNsec: Math.round((mid % 1) * 1e9) };
  const narrow = { ...base, lossMarginSeconds: margin, lossLookbackSeconds: lookback };
  const marked = analyze(input, 'sim-faults.keys', narrow, (a) => a.correlator.captureLoss({ from: at, to: at, cause: 'queue', packets: 1 }));
  const unmarked = analyze(input, 'sim-faults.keys', narrow);
  assert.equal(marked.length, plain.length, 'the same findings');
  let inside = 0;
  for (const d of marked) {
    const t = secs(d.time);
    const near = t >= mid - lookback - 1e-6 && t <= mid + margin + 1e-6;
    const clear = t < mid - lookback - 1e-3 || t > mid + margin + 1e-3;
    if (near) {
      inside++;
      assert.equal(d.possibleCaptureLoss, true, `${d.code} at ${t} (span at ${mid})`);
    } else if (clear) {
      // elsewhere as without the span (the capture's own counter jump still qualifies what is near it)
      const twin = unmarked.find((p) => p.code === d.code && secs(p.time) === t && p.ue === d.ue);
      assert.equal(d.possibleCaptureLoss, twin?.possibleCaptureLoss, `${d.code} at ${t} (span at ${mid})`);
    }
  }
  assert.ok(inside >= 1);
});
