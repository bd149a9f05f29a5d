/**
 * State budgets through the real CLI: adversarial captures (V-flagged MSK pushes, never ACKed, all within one ACK
 * timeout) generated here, analyzed by a child `node --max-old-space-size=<budget> bin/keyscope.js analyze` that
 * must finish with its report; its peak RSS comes from a preloaded hook that prints process.resourceUsage().maxRSS
 * at exit (no /usr/bin/time needed). Also: the UE count stays a count of distinct UEs when UEs are forgotten.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from '../support/proc';
import { cliPath } from '../support/repo';
import { writeUnackedPushes } from './adversarial';

/** A child analysis may take this long on a busy 2-core machine before the test gives up on it. */
const CHILD_TIMEOUT_MS = 60_000;

interface Run {
  status: number | null;
  stats: Record<string, unknown> | undefined;
  maxRssMb: number;
  stderr: string;
}

describe('correlator state budgets (CLI)', { timeout: 180_000 }, () => {
  let dir = '';
  let hook = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-budget-'));
    hook = path.join(dir, 'maxrss.js');
    fs.writeFileSync(hook, "process.on('exit', () => process.stderr.write('maxrss-kb ' + process.resourceUsage().maxRSS + '\\n'));\n");
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function analyze(capture: string, heapMb: number, args: string[]): Run {
    const r = spawnSync(process.execPath, [`--max-old-space-size=${heapMb}`, '--require', hook, cliPath(), 'analyze', '--json', '--fail-on', 'never', ...args, capture], {
      encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, maxBuffer: 1 << 30,
    });
    const lines = String(r.stdout).trimEnd().split('\n');
    const last = lines.length > 0 ? (JSON.parse(lines[lines.length - 1]) as Record<string, unknown>) : undefined;
    const m = /maxrss-kb (\d+)/.exec(String(r.stderr));
    return { status: r.status, stats: last?.type === 'stats' ? last : undefined, maxRssMb: m ? Number(m[1]) / 1024 : Infinity, stderr: String(r.stderr) };
  }

  it('counts distinct UEs: exact without forgetting, an estimate flagged as one with --max-ues', async () => {
    const cap = path.join(dir, 'ues.pcap');
    await writeUnackedPushes(cap, 10_000, 2_000);
    const exact = analyze(cap, 512, []);
    assert.equal(exact.status, 0, exact.stderr);
    assert.equal(exact.stats?.ues, 2_000);
    assert.equal(exact.stats?.uesEstimated, undefined);
    const bounded = analyze(cap, 512, ['--max-ues', '1000']);
    assert.equal(bounded.status, 0, bounded.stderr);
    const ues = bounded.stats?.ues as number;
    // HyperLogLog with 4096 registers: ≈1.6 % standard error; 5 % is three standard errors
    assert.ok(Math.abs(ues - 2_000) <= 100, `ues ${ues}`);
    assert.equal(bounded.stats?.uesEstimated, true);
    // round robin over 2,000 UEs with room for 1,000: every push finds its UE forgotten and makes it again
    assert.equal((bounded.stats?.evicted as { ues: number }).ues, 9_000);
  });

  it('finishes 50 k unACKed pushes to 10 k UEs with a report under a 250 MB heap at defaults, and under 150 MB with --max-memory 150', async () => {
    const cap = path.join(dir, 'pushes.pcap');
    await writeUnackedPushes(cap, 50_000, 10_000);
    const defaults = analyze(cap, 250, []);
    assert.equal(defaults.status, 0, defaults.stderr);
    assert.equal(defaults.stats?.frames, 50_000);
    assert.equal(defaults.stats?.ues, 10_000);
    const small = analyze(cap, 150, ['--max-memory', '150']);
    assert.equal(small.status, 0, small.stderr);
    assert.equal(small.stats?.frames, 50_000);
    // peak RSS includes Node itself and the young generation beside the 150 MB old space
    assert.ok(small.maxRssMb <= 300, `peak RSS ${small.maxRssMb.toFixed(0)} MB`);
    process.stderr.write(`# budget: peak RSS ${defaults.maxRssMb.toFixed(0)} MB at defaults (heap 250), ${small.maxRssMb.toFixed(0)} MB with --max-memory 150 (heap 150)\n`);
  });

  it('refuses a --max-memory too small to hold anything', () => {
    const r = spawnSync(process.execPath, [cliPath(), 'analyze', '--max-memory', '10', path.join(dir, 'none.pcap')], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(String(r.stderr), /at least/);
  });
});
