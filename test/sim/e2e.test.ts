/**
 * End to end (root, as in CI): the faults scenario (every fault kind on its own UE, clean UEs around them) runs live
 * on loopback, tcpdump records it, and the analyzer must report exactly the injected faults — every expected
 * diagnostic on its UE, nothing a fault cannot cause, nothing on the clean UEs. About 11 s of wall time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { analyzeCapture } from '../../src/pipeline/analyzer';
import type { Diagnostic } from '../../src/correlate/types';
import { loadKeyFile } from '../../src/protocols/keys';
import { simulate } from '../../src/sim/record';
import { loadScenarioFile, normaliseScenario } from '../../src/sim/scenario';
import { repoRoot } from '../support/repo';
import { assertFindingsMatch, correlatorOptionsFor } from '../support/expected-findings';

test('live faults scenario: keyscope analyze names every injected fault on its UE and nothing on the clean UEs', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keyscope-sim-e2e-'));
  try {
    const file = loadScenarioFile(path.join(repoRoot(), 'scenarios', 'faults.yaml'));
    // its own /16 and port, so it never meets `npm run captures` or another test on the same addresses
    const sc = normaliseScenario({ ...file, network: '127.97.0.0/16', httpPort: 18297 });
    const pcap = path.join(dir, 'faults.pcap');
    const keys = path.join(dir, 'faults.keys');
    const r = await simulate(sc, { capture: pcap, keysOut: keys });
    assert.equal(r.timedOut, false);
    const e = r.expected;
    const options = correlatorOptionsFor(e);
    const diagnostics: Diagnostic[] = [];
    const run = await analyzeCapture(pcap, { diagnostic: (d) => diagnostics.push(d) }, { dissector: { keys: loadKeyFile(keys) }, correlator: options });
    assert.equal(run.summary.fatal, undefined);
    assertFindingsMatch(e, diagnostics);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
