/**
 * `analyze --shard K/N` through the real CLI on real bytes: for every bundled capture and a generated mix (bench/mix.ts),
 * `merge` of the N shard results (N = 2 and 3) equals `analyze` of the whole: frame count, first and last packet time,
 * transactions, diagnostics, statistics, the text report. What docs/sharding.md names as crossing shards is taken out of
 * the comparison, explicitly and only that: a UE whose addresses fall in different shards (fault push-to-other-address:
 * the UE moved), an ACK answering an MTK message sent by a UE outside the first shard, the capture-loss caveat (a
 * BM-SC-wide span). Transaction ids count per shard (K, K + N, …), as docs/merge.md says of any merge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from '../support/proc';
import { capturePath, cliPath, repoRoot } from '../support/repo';
import { loadMixTemplate, mixKeyFile, writeMix } from '../../bench/mix';

interface Rec {
  type: string;
  [k: string]: unknown;
}

function keyscope(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ndjson = (text: string): Rec[] =>
  text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Rec);

const statsOf = (recs: Rec[]): Rec => recs[recs.length - 1];

/** The options a capture is analyzed with: its key file, and for a simulator capture the timeouts it was written for. */
function optionsFor(file: string): string[] {
  const base = path.basename(file).replace(/\.gz$/, '').replace(/\.(pcap|pcapng)$/, '');
  const a = ['--fail-on', 'never'];
  const keys = capturePath(`${base}.keys`);
  if (fs.existsSync(keys)) a.push('--keys', keys);
  const expected = capturePath(`${base}.expected.json`);
  if (fs.existsSync(expected)) {
    const e = JSON.parse(fs.readFileSync(expected, 'utf8')) as {
      analyzerOptions: { ackTimeoutSeconds: number; mikeyAfter200TimeoutSeconds: number; solicitedPullTimeoutSeconds: number };
      pacing: { stormUes: number; stormWindowMs: number };
    };
    a.push('--ack-timeout', String(e.analyzerOptions.ackTimeoutSeconds), '--delivery-timeout', String(e.analyzerOptions.mikeyAfter200TimeoutSeconds));
    a.push('--pull-timeout', String(e.analyzerOptions.solicitedPullTimeoutSeconds));
    if (e.pacing.stormUes >= 2) a.push('--storm-ues', String(e.pacing.stormUes), '--storm-window', String(e.pacing.stormWindowMs / 1000));
  }
  return a;
}

function run(args: string[]): string {
  const r = keyscope(args);
  assert.equal(r.status, 0, `keyscope ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const CAVEAT = ' (possibly capture loss: the capture missed packets around this time)';

/**
 * UEs whose evidence crosses shards: a whole-run UE whose addresses or B-TIDs are in the ue records of more than one
 * shard, and a UE whose ACK answers an MTK message (the MTK room lives in the first shard).
 */
function crossingAddresses(whole: Rec[], shards: Rec[][]): Set<string> {
  const shardOf = new Map<string, Set<number>>();
  shards.forEach((recs, i) => {
    for (const u of recs.filter((r) => r.type === 'ue'))
      for (const k of [...(u.addresses as string[]), ...(u.btids as string[])]) {
        const s = shardOf.get(k) ?? new Set<number>();
        s.add(i);
        shardOf.set(k, s);
      }
  });
  const out = new Set<string>();
  for (const u of whole.filter((r) => r.type === 'ue')) {
    const keys = [...(u.addresses as string[]), ...(u.btids as string[])];
    const seen = new Set(keys.flatMap((k) => [...(shardOf.get(k) ?? [])]));
    if (seen.size > 1) for (const a of u.addresses as string[]) out.add(a);
  }
  for (const d of whole) if (d.type === 'diagnostic' && d.code === 'mtk-ack' && typeof d.ue === 'string') out.add(d.ue);
  // an address one run joined to a crossing UE
  for (const u of whole.filter((r) => r.type === 'ue')) if ((u.addresses as string[]).some((a) => out.has(a))) for (const a of u.addresses as string[]) out.add(a);
  return out;
}

const txIdentity = (t: Rec): string => JSON.stringify([t.procedure, t.ue, t.start]);

/**
 * Transactions of one run that cross shards whatever their UE: an MTK message a UE ACKed (the ACK is in the UE's
 * shard), and those a request storm was found in (`request-storm` counts UEs BM-SC-wide: docs/merge.md).
 */
function crossingTransactions(whole: Rec[]): Set<string> {
  const out = new Set<string>();
  for (const t of whole.filter((r) => r.type === 'transaction')) {
    if (t.procedure === 'mtk' && (t.steps as Rec[]).some((s) => s.kind === 'ack')) out.add(txIdentity(t));
    if ((t.diagnostics as string[]).includes('request-storm')) out.add(txIdentity(t));
  }
  return out;
}

function involves(r: Rec, crossing: Set<string>, txs: Set<string>): boolean {
  if (r.type === 'diagnostic' && r.code === 'request-storm') return true;
  if (r.type === 'transaction' && txs.has(txIdentity(r))) return true;
  if (typeof r.ue === 'string' && crossing.has(r.ue)) return true;
  if (Array.isArray(r.ueAddresses) && (r.ueAddresses as string[]).some((a) => crossing.has(a))) return true;
  return typeof r.message === 'string' && [...crossing].some((a) => (r.message as string).includes(`${a} `) || (r.message as string).endsWith(a));
}

/** A transaction as one run's, without its id. */
const txKey = (t: Rec): string => JSON.stringify({ ...t, id: undefined, capture: undefined, probe: undefined });

/** A diagnostic as one run's: not its transaction's id, not the capture-loss caveat (a BM-SC-wide span). */
const diagKey = (d: Rec): string =>
  JSON.stringify([d.code, d.severity, d.ue, d.ts, d.frames, (d.message as string).replace(/\bT\d+\b/g, 'T').replace(CAVEAT, ''), d.transaction === undefined]);

function countBy(recs: Rec[], field: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of recs) out[String(r[field])] = (out[String(r[field])] ?? 0) + 1;
  return out;
}

function minus(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a)) if (v - (b[k] ?? 0) !== 0) out[k] = v - (b[k] ?? 0);
  return out;
}

/** The text report without what counts per input: the merge line, transaction ids, percentiles, the order of the procedure counts. */
function normalText(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('merged '))
    .map((l) => l.replace(/[^\s[\]]*:T\d+\b/g, 'T').replace(/\bT\d+\b/g, 'T').replace(/ p(50|95|99) ≈?\S+ \S+/g, ''))
    // merge reads packet times back at microsecond precision (docs/merge.md)
    .map((l) => l.replace(/capture \d+\.\d+ – \d+\.\d+/, 'capture'))
    .map((l) => (/^ {2}UEs \d+, transactions \d+: /.test(l) ? l.slice(0, l.indexOf(': ') + 2) + l.slice(l.indexOf(': ') + 2).split(', ').sort().join(', ') : l))
    .join('\n');
}

/**
 * Shard `file` N ways (each N of `counts`), merge, compare with one run; the text report for the first N. Returns how
 * many addresses crossed shards, per N.
 */
function assertShardsAddUp(file: string, counts: number[], options: string[]): number[] {
  const whole = ndjson(run(['analyze', '--json', ...options, file]));
  const wholeText = run(['analyze', ...options, file]);
  return counts.map((n, i) => assertShardsOf(file, n, options, whole, i === 0 ? wholeText : undefined));
}

function assertShardsOf(file: string, n: number, options: string[], whole: Rec[], wholeText: string | undefined): number {
  const shards = Array.from({ length: n }, (_, i) => ndjson(run(['analyze', '--json', ...options, '--shard', `${i + 1}/${n}`, file])));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-shard-'));
  try {
    const files = shards.map((recs, i) => {
      const f = path.join(dir, `s${i + 1}.ndjson`);
      fs.writeFileSync(f, recs.map((r) => JSON.stringify(r)).join('\n') + '\n');
      return f;
    });
    shards.forEach((recs, i) => assert.equal(recs[0].shard, `${i + 1}/${n}`, 'the header names the shard'));
    const merged = ndjson(run(['merge', '--json', '--fail-on', 'never', ...files]));
    const ws = statsOf(whole);
    const ms = statsOf(merged);
    const what = `${path.basename(file)} in ${n} shards`;

    // every frame counted once, by its owner; every shard saw the capture's first and last frame
    assert.equal(shards.reduce((s, r) => s + (statsOf(r).frames as number), 0), ws.frames, `${what}: frames`);
    for (const r of shards) assert.deepEqual([statsOf(r).first, statsOf(r).last], [ws.first, ws.last], `${what}: first and last packet time`);
    for (const k of ['frames', 'transactions', 'ues', 'byProcedure', 'byVariant', 'anomalies', 'ack', 'ackByBmsc', 'ackByKeyGroup', 'ackOverTime', 'mtk', 'evicted'])
      assert.deepEqual(ms[k], ws[k], `${what}: stats.${k}`);
    // merge reads packet times back at microsecond precision (docs/merge.md)
    for (const k of ['first', 'last']) assert.ok(Math.abs((ms[k] as number) - (ws[k] as number)) < 1e-6, `${what}: stats.${k}`);
    for (const k of ['challengeToCredentials', 'requestTo200', 'okToMikey', 'mikeyToAck']) {
      const w = (ws.latency as Record<string, Rec>)[k];
      const m = (ms.latency as Record<string, Rec>)[k];
      assert.equal(m.count, w.count, `${what}: latency.${k}`);
      if (w.count !== 0) assert.deepEqual([m.buckets, m.min, m.max], [w.buckets, w.min, w.max], `${what}: latency.${k}`);
    }
    // transaction ids never collide across shards
    const ids = merged.filter((r) => r.type === 'transaction').map((t) => t.id);
    assert.equal(new Set(ids).size, ids.length, `${what}: transaction ids`);

    // the records, all but those of UEs crossing shards
    const crossing = crossingAddresses(whole, shards);
    const txs = crossingTransactions(whole);
    const kept = (recs: Rec[], type: string) => recs.filter((r) => r.type === type && !involves(r, crossing, txs));
    const dropped = (recs: Rec[], type: string) => recs.filter((r) => r.type === type && involves(r, crossing, txs));
    assert.deepEqual(kept(merged, 'transaction').map(txKey).sort(), kept(whole, 'transaction').map(txKey).sort(), `${what}: transactions`);
    assert.deepEqual(kept(merged, 'diagnostic').map(diagKey).sort(), kept(whole, 'diagnostic').map(diagKey).sort(), `${what}: diagnostics`);
    // and the counts the statistics keep of them
    assert.deepEqual(minus(ms.byVerdict as Record<string, number>, countBy(dropped(merged, 'transaction'), 'verdict')), minus(ws.byVerdict as Record<string, number>, countBy(dropped(whole, 'transaction'), 'verdict')), `${what}: byVerdict`);
    assert.deepEqual(minus(ms.diagnostics as Record<string, number>, countBy(dropped(merged, 'diagnostic'), 'code')), minus(ws.diagnostics as Record<string, number>, countBy(dropped(whole, 'diagnostic'), 'code')), `${what}: diagnostics`);
    const notCrossing = (table: unknown) => Object.fromEntries(Object.entries(table as Record<string, unknown>).filter(([ue]) => !crossing.has(ue)));
    if (!('(other)' in (ws.ackByUe as Record<string, unknown>))) assert.deepEqual(notCrossing(ms.ackByUe), notCrossing(ws.ackByUe), `${what}: ackByUe`);

    // the text report, where no UE crossed
    if (crossing.size === 0 && txs.size === 0 && wholeText !== undefined) {
      const text = keyscope(['merge', '--fail-on', 'never', ...files]);
      assert.equal(text.status, 0, text.stderr);
      assert.equal(normalText(text.stdout), normalText(wholeText), `${what}: text report`);
    }
    return crossing.size;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const CAPTURES = fs
  .readdirSync(path.join(repoRoot(), 'captures'))
  .filter((f) => /\.(pcap|pcapng)(\.gz)?$/.test(f))
  .sort();

for (const name of CAPTURES) {
  test(`${name}: merge of its --shard results equals analyze of the whole`, { timeout: 120_000 }, () => {
    assertShardsAddUp(capturePath(name), [2, 3], optionsFor(name));
  });
}

test('sim-faults: only the UEs of its cross-shard faults cross (the UE that moved, the UE that ACKs an MTK message)', { timeout: 120_000 }, () => {
  const file = capturePath('sim-faults.pcap');
  const [crossing] = assertShardsAddUp(file, [2], optionsFor('sim-faults.pcap'));
  // 127.82.0.31 (and its second address) moved; 127.82.0.20 ACKs an MTK message
  assert.ok(crossing <= 3, `crossing addresses: ${crossing}`);
});

test('a generated mix (bench/mix.ts, 21 copies of sim-faults): merge of 2 and 3 shards equals analyze of the whole', { timeout: 300_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-shard-mix-'));
  try {
    const tpl = await loadMixTemplate();
    const pcap = path.join(dir, 'mix.pcap');
    const r = await writeMix(tpl, fs.createWriteStream(pcap), { frames: 25_000 });
    const keys = path.join(dir, 'mix.keys');
    fs.writeFileSync(keys, mixKeyFile(tpl, r.copies), { mode: 0o600 });
    assertShardsAddUp(pcap, [3, 2], ['--fail-on', 'never', '--keys', keys]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--shard 1/1 is analyze itself (its header names the shard)', { timeout: 60_000 }, () => {
  const file = capturePath('sim-faults.pcap');
  const o = optionsFor('sim-faults.pcap');
  const one = ndjson(run(['analyze', '--json', ...o, file]));
  const shard = ndjson(run(['analyze', '--json', ...o, '--shard', '1/1', file]));
  assert.equal(shard[0].shard, '1/1');
  delete shard[0].shard;
  assert.deepEqual(shard, one);
  assert.equal(run(['analyze', ...o, '--shard', '1/1', file]), run(['analyze', ...o, file]));
});

test('--shard: bad values and -Y are refused', { timeout: 60_000 }, () => {
  const file = capturePath('sim-clean.pcap');
  for (const bad of ['0/2', '3/2', '1/0', 'x', '1/2/3']) {
    const r = keyscope(['analyze', '--shard', bad, file]);
    assert.notEqual(r.status, 0, bad);
    assert.match(r.stderr, /--shard/, bad);
  }
  const y = keyscope(['analyze', '--shard', '1/2', '-Y', 'mikey', file]);
  assert.equal(y.status, 64);
  assert.match(y.stderr, /--shard cannot be combined with -Y/);
});
