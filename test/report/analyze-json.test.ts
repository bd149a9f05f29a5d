/** NDJSON records of `analyze --json`: field names, epoch times, steps and latencies of a hand-timed pull. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { analyzeCapture } from '../../src/pipeline/analyzer';
import type { Diagnostic, KeyDeliveryTransaction, ProtocolAnomaly } from '../../src/correlate/types';
import { anomalyJson, diagnosticJson, originFields, statsJson, transactionJson, type ResultOrigin } from '../../src/report/analyze-json';
import { jsonLine } from '../../src/report/json-line';
import { loadKeyFile } from '../../src/protocols/keys';
import * as path from 'node:path';
import { Lab } from '../correlate/lab';

test('transaction, diagnostic, anomaly and stats records', async () => {
  const lab = new Lab();
  const a = lab.ue(1);
  const m1 = lab.msk(0x0101, 1);
  lab.register(a, 1);
  const ok = lab.mskRequest(a, 2, [m1], { challenge: 0.001, credentials: 0.003, answer: 0.002 }).ok;
  lab.deliver(a, ok + 0.01, m1);
  // a later frame past the ACK deadline: the capture shows the ACK never came (without it the pull is incomplete)
  lab.register(lab.ue(2), ok + 1);
  const out = lab.write('json');
  try {
    const tx: KeyDeliveryTransaction[] = [];
    const ds: Diagnostic[] = [];
    const an: ProtocolAnomaly[] = [];
    const run = await analyzeCapture(out.pcap, { transaction: (t) => tx.push(t), diagnostic: (d) => ds.push(d), anomaly: (x) => an.push(x) }, { correlator: { ackTimeout: 0.5 } });
    const pull = tx.find((t) => t.procedure === 'pull') as KeyDeliveryTransaction;
    const j = JSON.parse(JSON.stringify(transactionJson(pull))) as Record<string, unknown>;
    assert.equal(j.type, 'transaction');
    assert.equal(j.id, pull.id);
    assert.equal(j.ue, a.address);
    assert.equal(j.btid, a.btid);
    assert.equal(j.variant, 'D');
    assert.deepEqual(j.requested, ['00f110:0101:0000']);
    assert.deepEqual(j.delivered, ['00f110:0101:0001']);
    assert.deepEqual(j.httpStatuses, [401, 200]);
    assert.equal(j.keysDelivered, true);
    assert.equal(j.ackRequested, true);
    assert.equal(j.acked, false);
    assert.equal(j.verdict, 'failed');
    assert.deepEqual(j.diagnostics, ['ack-missing']);
    const steps = j.steps as { kind: string; frame: number; ts: number; status?: number }[];
    assert.deepEqual(steps.map((s) => s.kind), ['request', 'challenge', 'credentials', 'response', 'delivery']);
    assert.equal(steps[1].status, 401);
    // 2.001 s after the lab's epoch, to the microsecond
    assert.ok(Math.abs(steps[1].ts - (1_800_000_000 + 2.001)) < 1e-6, String(steps[1].ts));
    const lat = j.latencies as Record<string, number>;
    assert.ok(Math.abs(lat.challengeToCredentials - 0.003) < 1e-9 && Math.abs(lat.requestTo200 - 0.002) < 1e-9 && Math.abs(lat.okToMikey - 0.01) < 1e-9);
    assert.equal(lat.mikeyToAck, undefined);
    const d = diagnosticJson(ds[0]);
    assert.deepEqual(Object.keys(d), ['type', 'code', 'severity', 'transaction', 'ue', 'frames', 'message', 'ts']);
    assert.deepEqual([d.type, d.code, d.severity, d.transaction, d.ue], ['diagnostic', 'ack-missing', 'error', pull.id, a.address]);
    const s = statsJson(run.stats);
    assert.equal(s.type, 'stats');
    assert.deepEqual(s.ack, { requested: 1, acked: 0, rate: 0 });
    assert.equal(typeof s.first, 'number');
    // no key file: the dissector notes nothing it cannot check, and no anomaly is invented
    for (const x of an) assert.equal(anomalyJson(x).type, 'anomaly');
  } finally {
    fs.rmSync(out.dir, { recursive: true, force: true });
  }
});

test('records with the origin put in place: the same text as the record spread with originFields', async () => {
  const captures = path.join(__dirname, '..', '..', '..', 'captures');
  for (const name of ['sim-faults', 'sim-variants', 'mikey-mbms-kinds']) {
    const tx: KeyDeliveryTransaction[] = [];
    const ds: Diagnostic[] = [];
    const an: ProtocolAnomaly[] = [];
    await analyzeCapture(path.join(captures, `${name}.pcap`), { transaction: (t) => tx.push(t), diagnostic: (d) => ds.push(d), anomaly: (x) => an.push(x) }, { dissector: { keys: loadKeyFile(path.join(captures, `${name}.keys`)) } });
    assert.ok(tx.length > 0, name);
    if (name === 'sim-faults') assert.ok(ds.length > 0, name);
    // a probe and characters the line escapes, so both optional origin fields and the escaping are compared
    for (const origin of [{ capture: `${name}.pcap` }, { capture: 'ring\u2028/', probe: 'probe "1"' }] as ResultOrigin[]) {
      const tag = originFields(origin);
      for (const t of tx) assert.equal(jsonLine(transactionJson(t, origin)), jsonLine({ ...transactionJson(t), ...tag }));
      for (const d of ds) assert.equal(jsonLine(diagnosticJson(d, origin)), jsonLine({ ...diagnosticJson(d), ...tag }));
      for (const a of an) assert.equal(jsonLine(anomalyJson(a, origin)), jsonLine({ ...anomalyJson(a), ...tag }));
    }
  }
});
