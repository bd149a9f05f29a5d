/**
 * State budgets through the real CLI: adversarial captures (V-flagged MSK pushes, never ACKed, all within one ACK
 * timeout) generated here, analyzed by a child `node [--max-old-space-size=<budget>] bin/keyscope.js analyze` that
 * must finish with its report; its peak RSS comes from test/support/rss-child.ts, which prints process.resourceUsage().maxRSS
 * at exit (no /usr/bin/time needed). Also: the UE count stays a count of distinct UEs when UEs are forgotten.
 *
 * The cases (#13) at CI size: 100 k pushes over 20 k and over 200 k UEs, and the worst case for the UE
 * table (as many UEs as the default --max-ues, each past LIMITS.deliveriesPerUe deliveries). The 1 M cases take a
 * few minutes each and 250 MB of disk: KEYSCOPE_BUDGET_FULL=1 runs them too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from '../support/proc';
import { cliPath } from '../support/repo';
import { writeUnackedPushes } from './adversarial';
import { CORRELATOR_DEFAULTS, DEFAULT_MAX_MEMORY_MB, LIMITS } from '../../src/correlate/options';

/** A child analysis may take this long on a busy 2-core machine before the test gives up on it. */
const CHILD_TIMEOUT_MS = 120_000;
/** The 1 M-push cases (KEYSCOPE_BUDGET_FULL=1). */
const FULL_CHILD_TIMEOUT_MS = 900_000;
const FULL = process.env.KEYSCOPE_BUDGET_FULL === '1';
/**
 * Old space the default budget leaves the heap (DEFAULT_MAX_MEMORY_MB less Node and the program, ≈ 75 MB, and the
 * young generation, 32 MB): a child capped here dies (exit 134, no report) if live state outgrows the budget.
 */
const HEAP_BUDGET_MB = 140;
/** Runs the CLI and reports its peak RSS (test/support/rss-child.ts, shared with the pipeline budget tests). */
const RSS_CHILD = path.join(__dirname, '..', 'support', 'rss-child.js');

interface Run {
  status: number | null;
  stats: Record<string, unknown> | undefined;
  maxRssMb: number;
  stderr: string;
}

describe('correlator state budgets (CLI)', { timeout: FULL ? 3_600_000 : 600_000 }, () => {
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-budget-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** `heapMb` undefined: Node's own heap limit, as a user runs keyscope. */
  function analyze(capture: string, heapMb: number | undefined, args: string[], timeout = CHILD_TIMEOUT_MS): Run {
    const heap = heapMb === undefined ? [] : [`--max-old-space-size=${heapMb}`];
    const r = spawnSync(process.execPath, [...heap, RSS_CHILD, 'analyze', '--json', '--fail-on', 'never', ...args, capture], {
      encoding: 'utf8', timeout, maxBuffer: 1 << 30,
    });
    const lines = String(r.stdout).trimEnd().split('\n');
    const last = lines.length > 0 && lines[lines.length - 1] !== '' ? (JSON.parse(lines[lines.length - 1]) as Record<string, unknown>) : undefined;
    const m = /keyscope-max-rss-kib (\d+)/.exec(String(r.stderr));
    return { status: r.status, stats: last?.type === 'stats' ? last : undefined, maxRssMb: m ? Number(m[1]) / 1024 : Infinity, stderr: String(r.stderr) };
  }

  /** `pushes` unACKed pushes over `ues` UEs: a report with every frame, within DEFAULT_MAX_MEMORY_MB of peak RSS. */
  async function pushCase(name: string, pushes: number, ues: number, heapMb: number | undefined, timeout = CHILD_TIMEOUT_MS): Promise<void> {
    const cap = path.join(dir, `${name}.pcap`);
    await writeUnackedPushes(cap, pushes, ues);
    try {
      const t0 = Date.now();
      const r = analyze(cap, heapMb, [], timeout);
      const line = `${name}: ${pushes} pushes, ${ues} UEs, heap ${heapMb ?? 'Node default'} → peak RSS ${r.maxRssMb.toFixed(0)} MB, ${((Date.now() - t0) / 1000).toFixed(1)} s`;
      process.stderr.write(`# budget: ${line}\n`);
      assert.equal(r.status, 0, `${line}\n${r.stderr.slice(-2000)}`);
      assert.equal(r.stats?.frames, pushes, line);
      assert.ok(r.maxRssMb <= DEFAULT_MAX_MEMORY_MB, `${line}: over the ${DEFAULT_MAX_MEMORY_MB} MB budget`);
    } finally {
      fs.rmSync(cap, { force: true });
    }
  }

  it('counts distinct UEs: exact without forgetting, an estimate flagged as one with --max-ues', async () => {
    const cap = path.join(dir, 'ues.pcap');
    await writeUnackedPushes(cap, 10_000, 1_500);
    const exact = analyze(cap, 512, []);
    assert.equal(exact.status, 0, exact.stderr);
    assert.equal(exact.stats?.ues, 1_500);
    assert.equal(exact.stats?.uesEstimated, undefined);
    const bounded = analyze(cap, 512, ['--max-ues', '1000']);
    assert.equal(bounded.status, 0, bounded.stderr);
    const ues = bounded.stats?.ues as number;
    // HyperLogLog with 4096 registers: ≈1.6 % standard error; 5 % is three standard errors
    assert.ok(Math.abs(ues - 1_500) <= 75, `ues ${ues}`);
    assert.equal(bounded.stats?.uesEstimated, true);
    // round robin over 1,500 UEs with room for 1,000: every push finds its UE forgotten and makes it again
    assert.equal((bounded.stats?.evicted as { ues: number }).ues, 9_000);
  });

  it('--max-transactions 10 over 10 k unACKed pushes: no evicted transaction is ok or named by a later finding, ACKs 0 of 10 k', async () => {
    // the case 6: transactions evicted "verdict ok", then named by ack-missing; stats ok 2,000 with no ACK at all
    const cap = path.join(dir, 'evict.pcap');
    await writeUnackedPushes(cap, 10_000, 1_500);
    const r = spawnSync(process.execPath, [cliPath(), 'analyze', '--json', '--fail-on', 'never', '--max-transactions', '10', cap], {
      encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, maxBuffer: 1 << 30,
    });
    assert.equal(r.status, 0, String(r.stderr));
    const records = String(r.stdout).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // a finding may be printed after its transaction (findings wait out the loss look-back), but one that names an
    // evicted transaction must have been decided while it was open: listed in its record, at or before its end
    const evicted = new Map<string, { diagnostics: string[]; end: number }>();
    const named: Record<string, unknown>[] = [];
    let transactions = 0;
    for (const rec of records) {
      if (rec.type === 'transaction') {
        transactions++;
        if (rec.closedBy === 'evicted') {
          assert.notEqual(rec.verdict, 'ok', `${String(rec.id)}: evicted, unACKed, and "ok"`);
          assert.equal(rec.acked, false);
          evicted.set(rec.id as string, { diagnostics: rec.diagnostics as string[], end: rec.end as number });
        }
      } else if (rec.type === 'diagnostic') {
        named.push(rec);
        assert.notEqual(rec.code, 'ack-missing', 'no ACK deadline passed within the capture (5 s, ACK timeout 10 s)');
      }
    }
    for (const d of named) {
      const t = evicted.get(d.transaction as string);
      if (t === undefined) continue;
      assert.ok(t.diagnostics.includes(d.code as string), `${String(d.code)} names ${String(d.transaction)}, evicted without it`);
      assert.ok((d.ts as number) <= t.end, `${String(d.code)} on ${String(d.transaction)} decided after its end`);
    }
    const stats = records[records.length - 1];
    assert.equal(stats.type, 'stats');
    assert.equal(transactions, 10_000);
    assert.equal((stats.evicted as { transactions: number }).transactions, evicted.size);
    assert.ok(evicted.size >= 10_000 - 10, `evicted ${evicted.size}`);
    const byVerdict = stats.byVerdict as Record<string, number>;
    assert.equal(byVerdict.ok ?? 0, 0, JSON.stringify(byVerdict));
    assert.equal(Object.values(byVerdict).reduce((a, b) => a + b, 0), 10_000);
    assert.deepEqual(stats.ack, { requested: 10_000, acked: 0, rate: 0 });
    assert.equal(stats.ues, 1_500, 'distinct UEs, none forgotten');
    fs.rmSync(cap, { force: true });
  });

  it('finishes 50 k unACKed pushes to 1.5 k UEs with a report under the budget heap at defaults, and under 150 MB with --max-memory 150', async () => {
    const cap = path.join(dir, 'pushes.pcap');
    // fewer UEs than the default --max-ues: none is forgotten, so the count is exact
    assert.ok(CORRELATOR_DEFAULTS.maxUes >= 1_500);
    await writeUnackedPushes(cap, 50_000, 1_500);
    const defaults = analyze(cap, HEAP_BUDGET_MB, []);
    assert.equal(defaults.status, 0, defaults.stderr);
    assert.equal(defaults.stats?.frames, 50_000);
    assert.equal(defaults.stats?.ues, 1_500);
    const small = analyze(cap, 150, ['--max-memory', '150']);
    assert.equal(small.status, 0, small.stderr);
    assert.equal(small.stats?.frames, 50_000);
    // peak RSS includes Node itself and the young generation beside the 150 MB old space
    assert.ok(small.maxRssMb <= 300, `peak RSS ${small.maxRssMb.toFixed(0)} MB`);
    process.stderr.write(`# budget: peak RSS ${defaults.maxRssMb.toFixed(0)} MB at defaults (heap ${HEAP_BUDGET_MB}), ${small.maxRssMb.toFixed(0)} MB with --max-memory 150 (heap 150)\n`);
    fs.rmSync(cap, { force: true });
  });

  // the worst case for the UE table: every UE remembered, each with its LIMITS.deliveriesPerUe deliveries
  const worstUes = CORRELATOR_DEFAULTS.maxUes;
  const worstPushes = worstUes * (LIMITS.deliveriesPerUe + 4);
  it(`stays within ${DEFAULT_MAX_MEMORY_MB} MB at defaults with ${worstUes} UEs (the default --max-ues) each past ${LIMITS.deliveriesPerUe} deliveries`, () =>
    pushCase('worst-ues', worstPushes, worstUes, undefined));

  it('100 k pushes over 20 k UEs (UEs forgotten and made again) stay within budget, under the budget heap', () =>
    pushCase('push-100k-20k', 100_000, 20_000, HEAP_BUDGET_MB));

  it('100 k pushes over 200 k UEs stay within budget at defaults', () => pushCase('push-100k-200k', 100_000, 200_000, undefined));

  it('1 M pushes over 20 k UEs stay within budget at defaults (KEYSCOPE_BUDGET_FULL=1)', { skip: !FULL }, () =>
    pushCase('push-1m-20k', 1_000_000, 20_000, undefined, FULL_CHILD_TIMEOUT_MS));

  it('1 M pushes over 200 k UEs stay within budget at defaults (KEYSCOPE_BUDGET_FULL=1)', { skip: !FULL }, () =>
    pushCase('push-1m-200k', 1_000_000, 200_000, undefined, FULL_CHILD_TIMEOUT_MS));

  it('refuses a --max-memory too small to hold anything', () => {
    const r = spawnSync(process.execPath, [cliPath(), 'analyze', '--max-memory', '10', path.join(dir, 'none.pcap')], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(String(r.stderr), /at least/);
  });
});
