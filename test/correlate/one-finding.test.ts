/**
 * One event, one finding: where the dissector (a packet's own content) and the correlator (what happened over time)
 * could both speak of the same event, only the correlator does. On the bundled captures with every fault injected,
 * no frame a procedure diagnostic cites carries the dissector's anomaly for the same event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeCapture } from '../../src/pipeline/analyzer';
import { loadKeyFile } from '../../src/protocols/keys';
import type { Diagnostic, ProtocolAnomaly } from '../../src/correlate/types';
import { DIAGNOSTICS } from '../../src/correlate/catalog';
import { capturePath } from '../support/repo';

/** Anomaly codes that would tell the same event as a diagnostic (the pairs the findings model once produced). */
const SAME_EVENT: Partial<Record<keyof typeof DIAGNOSTICS, RegExp>> = {
  'credentials-rejected': /^auth-failed$/,
  'counter-replay': /replay/,
  'ack-unmatched': /unmatched/,
  'mtk-ack': /unmatched|mtk-ack/,
  'ack-not-due': /unmatched|not-due/,
};

for (const name of ['sim-faults', 'sim-variants', 'http-digest-loopback', 'mikey-mbms-kinds']) {
  test(`${name}: no event yields both a diagnostic and an anomaly`, async () => {
    const ds: Diagnostic[] = [];
    const an: ProtocolAnomaly[] = [];
    const r = await analyzeCapture(capturePath(`${name}.pcap`), { diagnostic: (d) => ds.push(d), anomaly: (a) => an.push(a) }, {
      dissector: { keys: loadKeyFile(capturePath(`${name}.keys`)) },
    });
    assert.equal(r.summary.fatal, undefined);
    const byFrame = new Map<number, string[]>();
    for (const a of an) byFrame.set(a.frame, [...(byFrame.get(a.frame) ?? []), a.problem.code]);
    const twice: string[] = [];
    for (const d of ds) {
      const same = SAME_EVENT[d.code];
      if (!same) continue;
      for (const f of d.frames) for (const code of byFrame.get(f) ?? []) if (same.test(code)) twice.push(`${d.code} and anomaly ${code} on frame ${f}`);
    }
    assert.deepEqual(twice, []);
  });
}
