/**
 * Results that merge, and several files read as one capture, through the real CLI on real bytes:
 * - a bundled capture split by UE with tcpdump (complementary host filters) into two files: `merge` of their
 *   `analyze --json` results equals `analyze --json` of the whole (transactions, diagnostics, ACK rates, latency
 *   histograms, distinct UEs); percentiles re-read from the merged histograms fall in the exact one's bucket;
 * - `merge` of one result prints analyze's own report, byte for byte;
 * - a ring-buffer set cut with `editcap -c` (dumpcap -b names, tcpdump -C names whose name order is not their time
 *   order, a directory, files given out of order) analyzes exactly like the file it was cut from; so does the
 *   overlapping pair of the UE split, merged by timestamp;
 * - bad input: not our NDJSON, a truncated line, a missing stats record, another version — one line, exit 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from '../support/proc';
import { capturePath, cliPath } from '../support/repo';
import { bucketIndex } from '../../src/correlate/stats';

interface Rec {
  type: string;
  [k: string]: unknown;
}

function keyscope(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', maxBuffer: 64 << 20, input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ndjson(text: string): Rec[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Rec);
}

/** The analyzer options the simulator's expected findings were written for (README: sim-faults). */
function simOptions(name: string): string[] {
  const e = JSON.parse(fs.readFileSync(capturePath(`${name}.expected.json`), 'utf8')) as {
    analyzerOptions: { ackTimeoutSeconds: number; mikeyAfter200TimeoutSeconds: number; solicitedPullTimeoutSeconds: number };
    pacing: { stormUes: number; stormWindowMs: number };
  };
  const a = [
    '--keys', capturePath(`${name}.keys`),
    '--ack-timeout', String(e.analyzerOptions.ackTimeoutSeconds),
    '--delivery-timeout', String(e.analyzerOptions.mikeyAfter200TimeoutSeconds),
    '--pull-timeout', String(e.analyzerOptions.solicitedPullTimeoutSeconds),
    '--fail-on', 'never',
  ];
  if (e.pacing.stormUes >= 2) a.push('--storm-ues', String(e.pacing.stormUes), '--storm-window', String(e.pacing.stormWindowMs / 1000));
  return a;
}

function analyzeJson(name: string, inputs: string[], extra: string[] = []): Rec[] {
  const r = keyscope(['analyze', '--json', ...simOptions(name), ...extra, ...inputs]);
  assert.equal(r.status, 0, r.stderr);
  return ndjson(r.stdout);
}

/** Records without what names the input (capture, the header's file list): what must not differ. */
function withoutOrigin(recs: Rec[]): Rec[] {
  return recs.map((r) => {
    const { capture: _c, ...rest } = r;
    if (r.type === 'header') delete rest.files;
    return rest as Rec;
  });
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-merge-'));
}

const stats = (recs: Rec[]): Rec => recs[recs.length - 1];

/**
 * The transactions as one run's: everything but their ids and frame numbers (those count per file) and closedBy (a
 * transaction of the last moments is `end-of-capture` in the half whose last frame comes earlier than the whole's).
 */
function txKey(t: Rec): string {
  const steps = (t.steps as Rec[]).map((s) => ({ ...s, frame: 0, detail: undefined }));
  return JSON.stringify([t.procedure, t.variant, t.ue, t.ueAddresses, t.bmsc, t.btid, t.requested, t.delivered, t.httpStatuses, t.digest, t.keysDelivered, t.ackRequested, t.acked, t.latencies, t.verdict, t.diagnostics, t.start, t.end, steps]);
}

/**
 * A diagnostic as one run's: not its frame numbers nor its transaction's id; a finding made at the end of its capture
 * (what was still missing then) is dated by that end, which is each half's own last frame: `end` instead.
 */
function diagKey(d: Rec, ends: Map<string, number>): string {
  const ts = ends.get(String(d.capture)) === d.ts ? 'end' : d.ts;
  return JSON.stringify([d.code, d.severity, d.ue, ts, d.transaction === null]);
}

const ends = (...results: Rec[][]) => new Map(results.map((r) => [String(stats(r).capture), stats(r).last as number]));

const sortedKeys = (recs: Rec[], type: string, key: (r: Rec) => string) => recs.filter((r) => r.type === type).map(key).sort();

interface Dist {
  count: number;
  min?: number;
  max?: number;
  p50?: number;
  p95?: number;
  p99?: number;
  sum?: number;
  mean?: number;
  buckets?: number[];
  percentiles?: string;
}

function assertDistributionMerged(merged: Dist, whole: Dist, what: string): void {
  assert.equal(merged.count, whole.count, what);
  if (whole.count === 0) return;
  assert.deepEqual(merged.buckets, whole.buckets, `${what}: histogram`);
  assert.equal(merged.min, whole.min, `${what}: min`);
  assert.equal(merged.max, whole.max, `${what}: max`);
  assert.ok(Math.abs((merged.sum as number) - (whole.sum as number)) < 1e-9, `${what}: sum`);
  assert.ok(Math.abs((merged.mean as number) - (whole.mean as number)) < 1e-12, `${what}: mean`);
  for (const p of ['p50', 'p95', 'p99'] as const) {
    // re-read from the histogram: in the bucket of the exact value, never outside min..max
    const m = merged[p] as number;
    const w = whole[p] as number;
    if (merged.percentiles === 'histogram') assert.equal(bucketIndex(m), bucketIndex(w), `${what}: ${p} ${m} in the bucket of ${w}`);
    else assert.equal(m, w, `${what}: ${p}`);
    assert.ok(m >= (whole.min as number) && m <= (whole.max as number), `${what}: ${p} within min..max`);
  }
}

/**
 * Split `name` by UE into two files with tcpdump: the UEs (every address each was seen with, from the whole
 * capture's ue records) in two halves; file B has the second half's traffic, file A everything else (the first
 * half's UEs, the BM-SC's own traffic). Every frame is in exactly one file.
 */
function splitByUe(name: string, whole: Rec[], dir: string): [string, string] {
  const ues = whole.filter((r) => r.type === 'ue').sort((a, b) => String(a.id).localeCompare(String(b.id)));
  assert.ok(ues.length >= 2, `${name}: UEs to split`);
  const second = ues.slice(Math.ceil(ues.length / 2)).flatMap((u) => u.addresses as string[]);
  const filter = second.map((a) => `host ${a}`).join(' or ');
  const a = path.join(dir, `${name}-a.pcap`);
  const b = path.join(dir, `${name}-b.pcap`);
  execFileSync('tcpdump', ['-r', capturePath(`${name}.pcap`), '-w', a, `not (${filter})`], { stdio: 'ignore' });
  execFileSync('tcpdump', ['-r', capturePath(`${name}.pcap`), '-w', b, filter], { stdio: 'ignore' });
  return [a, b];
}

for (const name of ['sim-faults', 'sim-clean', 'sim-variants']) {
  test(`${name} split by UE in two files: merge of the two results equals analyze of the whole`, { timeout: 120_000 }, () => {
    const dir = tempDir();
    try {
      const whole = analyzeJson(name, [capturePath(`${name}.pcap`)]);
      const [a, b] = splitByUe(name, whole, dir);
      const ra = analyzeJson(name, [a], ['--probe', 'probe-a']);
      const rb = analyzeJson(name, [b], ['--probe', 'probe-b']);
      for (const r of ra) assert.deepEqual([r.capture, r.probe], [`${name}-a.pcap`, 'probe-a'], `every record names its capture and probe`);
      fs.writeFileSync(path.join(dir, 'a.ndjson'), ra.map((r) => JSON.stringify(r)).join('\n') + '\n');
      fs.writeFileSync(path.join(dir, 'b.ndjson'), rb.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const m = keyscope(['merge', '--json', path.join(dir, 'a.ndjson'), path.join(dir, 'b.ndjson')]);
      // exit 1 when error diagnostics were counted (--fail-on error), as analyze of the whole
      const failed = ((stats(whole).diagnosticsBySeverity as Record<string, number>).error ?? 0) > 0 ? 1 : 0;
      assert.equal(m.status, failed, m.stderr);
      const merged = ndjson(m.stdout);
      assert.equal(merged[0].type, 'header');

      // per-UE records: the same transactions and diagnostics (ids and frame numbers count per file)
      assert.deepEqual(sortedKeys(merged, 'transaction', txKey), sortedKeys(whole, 'transaction', txKey));
      assert.deepEqual(sortedKeys(merged, 'diagnostic', (d) => diagKey(d, ends(ra, rb))), sortedKeys(whole, 'diagnostic', (d) => diagKey(d, ends(whole))));

      const ws = stats(whole);
      const ms = stats(merged);
      for (const k of ['frames', 'transactions', 'ues', 'byProcedure', 'byVerdict', 'byVariant', 'diagnostics', 'diagnosticsBySeverity', 'anomalies', 'ack', 'ackByBmsc', 'ackByUe', 'ackByKeyGroup', 'ackOverTime', 'evicted', 'first', 'last', 'ueSketch'])
        assert.deepEqual(ms[k], ws[k], `stats.${k}`);
      for (const k of ['challengeToCredentials', 'requestTo200', 'okToMikey', 'mikeyToAck'])
        assertDistributionMerged((ms.latency as Record<string, Dist>)[k], (ws.latency as Record<string, Dist>)[k], `latency.${k}`);
      // MTK traffic is the BM-SC's, all in file A: its statistics come through whole
      assert.deepEqual(ms.mtk, ws.mtk);
      assert.equal(merged.filter((r) => r.type === 'ue').length, ws.ues);

      // the same through standard input, both results in one stream, as text: the merged report
      const t = keyscope(['merge', '-'], fs.readFileSync(path.join(dir, 'a.ndjson'), 'utf8') + fs.readFileSync(path.join(dir, 'b.ndjson'), 'utf8'));
      assert.equal(t.status, failed, t.stderr);
      assert.match(t.stdout, new RegExp(`^merged 2 results: ${name}-a\\.pcap, ${name}-b\\.pcap\\n== Summary ==`));
      const ack = ws.ack as { requested: number; acked: number };
      assert.ok(t.stdout.includes(`  ACK rate: ${ack.acked}/${ack.requested}`), t.stdout);
      if ((ws.latency as Record<string, Dist>).mikeyToAck.count > 0) assert.match(t.stdout, /MIKEY → ACK +n=\d+ +p50 ≈/);

      // the overlapping pair read as one capture (merged by timestamp, given in the "wrong" order) is the whole capture
      const pair = analyzeJson(name, [b, a]);
      assert.deepEqual(withoutOrigin(pair), withoutOrigin(whole));
      assert.equal(stats(pair).capture, `${name}-b.pcap+1`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('merge of one result prints the report analyze prints', { timeout: 60_000 }, () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'faults.ndjson');
    const j = keyscope(['analyze', '--json', ...simOptions('sim-faults'), capturePath('sim-faults.pcap')]);
    fs.writeFileSync(file, j.stdout);
    const text = keyscope(['analyze', ...simOptions('sim-faults'), capturePath('sim-faults.pcap')]);
    const m = keyscope(['merge', '--fail-on', 'never', file]);
    assert.equal(m.status, 0, m.stderr);
    assert.equal(m.stdout, text.stdout);
    // a merged result merges again to the same statistics
    const once = keyscope(['merge', '--json', file]);
    const again = keyscope(['merge', '--json', '-'], once.stdout);
    assert.deepEqual({ ...stats(ndjson(again.stdout)), captures: null }, { ...stats(ndjson(once.stdout)), captures: null });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a ring-buffer set (editcap -c) analyzes exactly like the file it was cut from', { timeout: 120_000 }, () => {
  const dir = tempDir();
  try {
    const whole = analyzeJson('sim-faults', [capturePath('sim-faults.pcap')]);
    // dumpcap -b style names: x_00000_20261123164301.pcap …
    const ring = path.join(dir, 'ring');
    fs.mkdirSync(ring);
    execFileSync('editcap', ['-c', '100', capturePath('sim-faults.pcap'), path.join(ring, 'x.pcap')]);
    const parts = fs.readdirSync(ring).sort();
    assert.ok(parts.length >= 11, `${parts.length} files`);
    const viaDir = analyzeJson('sim-faults', [ring]);
    assert.deepEqual(withoutOrigin(viaDir), withoutOrigin(whole));
    assert.equal(stats(viaDir).capture, 'ring/');
    assert.deepEqual(viaDir[0].files, parts);
    // tcpdump -C style names (x.pcap, x.pcap1 … x.pcap12): by name x.pcap10 comes before x.pcap2; given shuffled
    const tcpdumpNames = parts.map((p, i) => {
      const to = path.join(dir, i === 0 ? 'x.pcap' : `x.pcap${i}`);
      fs.copyFileSync(path.join(ring, p), to);
      return to;
    });
    const shuffled = [...tcpdumpNames].sort().reverse();
    assert.deepEqual(withoutOrigin(analyzeJson('sim-faults', shuffled)), withoutOrigin(whole));
    // and the text report, frame numbers continuing across the files, is the single file's
    const t1 = keyscope(['analyze', ...simOptions('sim-faults'), capturePath('sim-faults.pcap')]);
    const t2 = keyscope(['analyze', ...simOptions('sim-faults'), ...shuffled]);
    assert.equal(t2.stdout, t1.stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('analyze of several inputs: usage and unreadable files', { timeout: 60_000 }, () => {
  const dir = tempDir();
  try {
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    const r1 = keyscope(['analyze', empty]);
    assert.equal(r1.status, 64);
    assert.match(r1.stderr, /^keyscope analyze: .*directory holds no capture files\n$/);
    assert.equal(keyscope(['analyze', '-', capturePath('sim-clean.pcap')]).status, 64);
    const junk = path.join(dir, 'junk.pcap');
    fs.writeFileSync(junk, 'not a capture');
    const r2 = keyscope(['analyze', capturePath('sim-clean.pcap'), junk]);
    assert.equal(r2.status, 2);
    assert.match(r2.stderr, /^keyscope: .*junk\.pcap: not a pcap or pcapng file/);
    const r3 = keyscope(['analyze', capturePath('sim-clean.pcap'), path.join(dir, 'missing.pcap')]);
    assert.equal(r3.status, 2);
    assert.match(r3.stderr, /missing\.pcap: no such file or directory/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('merge: bad input is one line and exit 2', { timeout: 60_000 }, () => {
  const dir = tempDir();
  try {
    const good = keyscope(['analyze', '--json', capturePath('sim-clean.pcap')]).stdout;
    const lines = good.split('\n').filter((l) => l.length > 0);
    const cases: [string, string | Buffer, RegExp][] = [
      ['pcap.ndjson', fs.readFileSync(capturePath('sim-clean.pcap')), /pcap\.ndjson:1: not JSON.*not keyscope analyze --json output$/],
      ['other.ndjson', '{"hello":"world"}\n', /other\.ndjson:1: not a keyscope analyze --json record$/],
      ['cut.ndjson', lines.slice(0, -1).join('\n') + '\n' + lines[lines.length - 1].slice(0, 50), new RegExp(`cut\\.ndjson:${lines.length}: not JSON \\(a truncated or damaged line\\?\\)`)],
      ['nostats.ndjson', lines.slice(0, -1).join('\n') + '\n', /nostats\.ndjson:\d+: truncated: the result has no stats record/],
      ['v99.ndjson', good.replace('"version":1', '"version":99'), /v99\.ndjson:1: results format version 99; this keyscope reads version 1$/],
      ['noheader.ndjson', lines.slice(1).join('\n') + '\n', /noheader\.ndjson:1: no header record before it/],
    ];
    for (const [file, content, re] of cases) {
      fs.writeFileSync(path.join(dir, file), content);
      const r = keyscope(['merge', path.join(dir, file)]);
      assert.equal(r.status, 2, `${file}: ${r.stderr}`);
      assert.equal(r.stderr.split('\n').length, 2, `${file}: one line: ${r.stderr}`);
      assert.match(r.stderr.trimEnd(), re, file);
      assert.equal(r.stdout, '', `${file}: no report`);
    }
    const missing = keyscope(['merge', path.join(dir, 'nothing.ndjson')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read .*nothing\.ndjson: no such file or directory/);
    assert.equal(keyscope(['merge']).status, 64);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
