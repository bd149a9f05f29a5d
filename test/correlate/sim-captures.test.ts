/**
 * The analyzer against the lab simulator's recorded captures (real sockets on loopback, recorded with tcpdump):
 * captures/sim-{clean,variants,faults}.pcap with their key files and expected findings. Every expected diagnostic
 * on the right UE, nothing beyond what the fault may cause, nothing at all on the clean UEs, every code the capture
 * must provoke, and the transport variants recognised.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { analyzeCapture } from '../../src/pipeline/analyzer';
import { loadKeyFile } from '../../src/protocols/keys';
import type { AnalysisStats, Diagnostic, KeyDeliveryTransaction } from '../../src/correlate/types';
import { capturePath } from '../support/repo';
import { assertFindingsMatch, correlatorOptionsFor } from '../support/expected-findings';
import type { ExpectedFindings } from '../../src/sim/run';

async function run(name: string): Promise<{ e: ExpectedFindings; diagnostics: Diagnostic[]; transactions: KeyDeliveryTransaction[]; stats: AnalysisStats; anomalies: Set<string> }> {
  const e = JSON.parse(fs.readFileSync(capturePath(`${name}.expected.json`), 'utf8')) as ExpectedFindings;
  const diagnostics: Diagnostic[] = [];
  const transactions: KeyDeliveryTransaction[] = [];
  const anomalies = new Set<string>();
  const r = await analyzeCapture(capturePath(`${name}.pcap`), { diagnostic: (d) => diagnostics.push(d), transaction: (t) => transactions.push(t), anomaly: (a) => anomalies.add(a.problem.code) }, {
    dissector: { keys: loadKeyFile(capturePath(`${name}.keys`)) },
    correlator: correlatorOptionsFor(e),
  });
  assert.equal(r.summary.fatal, undefined);
  return { e, diagnostics, transactions, stats: r.stats, anomalies };
}


for (const name of ['sim-clean', 'sim-variants', 'sim-faults']) {
  test(`${name}: expected findings per UE, nothing on clean UEs`, async () => {
    const { e, diagnostics, transactions, stats, anomalies } = await run(name);
    assertFindingsMatch(e, diagnostics);
    // group faults that are facts of a packet show as the dissector's expert info
    for (const g of e.group) for (const a of g.anomalies ?? []) assert.ok(anomalies.has(a), `${g.faults.join(', ')}: anomaly ${a}`);
    const seen = new Set<string>(diagnostics.map((d) => d.code));
    for (const c of e.codes) assert.ok(seen.has(c), `${c} provoked`);
    if (e.ues.length === 0) {
      assert.equal(diagnostics.length, 0);
      assert.equal(stats.ack.acked, stats.ack.requested);
    }
    // every UE's pulls are recognised with the variant it was given (A is the delivery-before-200 fault)
    const variants = variantsFromKeyFile(name);
    for (const address of [...e.ues.map((u) => u.address), ...e.clean]) {
      const faults = e.ues.find((u) => u.address === address)?.faults ?? [];
      const pulls = transactions.filter((t) => t.ue === address && (t.procedure === 'pull' || t.procedure === 'solicited-pull') && t.delivered);
      if (faults.includes('delivery-before-200')) assert.ok(pulls.some((p) => p.variant === 'A'), `${address}: a variant A pull`);
      else for (const p of pulls) assert.equal(p.variant, variants.get(address) ?? 'D', `${address} ${p.id}`);
    }
  });
}

/** The simulator notes each UE's transport variant in the key file: `# UE <address> … variant B`. */
function variantsFromKeyFile(name: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of fs.readFileSync(capturePath(`${name}.keys`), 'utf8').split('\n')) {
    const x = /^# UE (\S+).*\bvariant ([BCD])\b/.exec(line);
    if (x) m.set(x[1], x[2]);
  }
  return m;
}

test('sim-variants: B and C recognised from the 200 OK body and the ACK carrier', async () => {
  const { transactions, stats } = await run('sim-variants');
  assert.ok((stats.byVariant.B ?? 0) > 0 && (stats.byVariant.C ?? 0) > 0 && (stats.byVariant.D ?? 0) > 0, JSON.stringify(stats.byVariant));
  assert.equal(variantsFromKeyFile('sim-variants').size, 4);
  // every pull that delivered was ACKed, whatever the carrier
  for (const t of transactions.filter((x) => x.procedure === 'pull')) assert.equal(t.acked, true, t.id);
  assert.equal(stats.ack.acked, stats.ack.requested);
});
