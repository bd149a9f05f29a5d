/**
 * The simulator writes, for each run, the analyzer findings it must provoke (src/sim/run.ts ExpectedFindings).
 * These helpers hold the one comparison both the bundled-capture test and the live end-to-end test make.
 */
import assert from 'node:assert/strict';
import type { CorrelatorOptions } from '../../src/correlate/correlator';
import type { Diagnostic } from '../../src/correlate/types';
import type { ExpectedFindings } from '../../src/sim/run';

/** The analyzer options the expected findings were written for (timeouts and storm pacing of the scenario). */
export function correlatorOptionsFor(e: ExpectedFindings): CorrelatorOptions {
  const o: CorrelatorOptions = {
    ackTimeout: e.analyzerOptions.ackTimeoutSeconds,
    deliveryTimeout: e.analyzerOptions.mikeyAfter200TimeoutSeconds,
    pullTimeout: e.analyzerOptions.solicitedPullTimeoutSeconds,
  };
  if (e.pacing.stormUes >= 2) {
    o.stormUes = e.pacing.stormUes;
    o.stormWindow = e.pacing.stormWindowMs / 1000;
  }
  return o;
}

/** Diagnostic codes by UE address. */
export function codesByUe(ds: readonly Diagnostic[]): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const d of ds) {
    const k = d.ue ?? '(none)';
    let set = m.get(k);
    if (!set) m.set(k, (set = new Set()));
    set.add(d.code);
  }
  return m;
}

/**
 * Every faulty UE got each expected code and nothing outside its expect/may lists, clean UEs and the MTK group
 * got exactly what the file says, and no finding landed on an address the file does not name.
 */
export function assertFindingsMatch(e: ExpectedFindings, diagnostics: readonly Diagnostic[]): void {
  const got = codesByUe(diagnostics);
  for (const u of e.ues) {
    const codes = got.get(u.address) ?? new Set<string>();
    for (const c of u.expect) assert.ok(codes.has(c), `${u.address} (${u.faults.join(', ')}): ${c} expected, got ${[...codes].join(', ') || 'nothing'}`);
    const extra = [...codes].filter((c) => !u.expect.includes(c) && !u.may.includes(c));
    assert.deepEqual(extra, [], `${u.address} (${u.faults.join(', ')}): unexpected findings`);
    got.delete(u.address);
  }
  for (const a of e.clean) {
    assert.equal(got.get(a), undefined, `clean UE ${a}: ${[...(got.get(a) ?? [])].join(', ')}`);
    got.delete(a);
  }
  for (const g of e.group) {
    assert.deepEqual([...(got.get(g.address) ?? [])].sort(), [...g.expect].sort(), `MTK group ${g.address}`);
    got.delete(g.address);
  }
  assert.deepEqual([...got.keys()], [], 'findings on nobody the expected file names');
}
