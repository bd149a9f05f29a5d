/**
 * The text report of `keyscope analyze` on a hand-timed lab capture: the summary counts, the hand-counted ACK rate
 * and latencies as printed, diagnostics grouped by severity with frame numbers, the worst transaction first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { analyzeCapture } from '../../src/pipeline/analyzer';
import { loadKeyFile } from '../../src/protocols/keys';
import { AnalysisCollector, analysisReport, worstSeverity } from '../../src/report/analyze-text';
import { Lab } from '../correlate/lab';

test('report: summary, hand-counted statistics, diagnostics by severity, worst transactions', async () => {
  const lab = new Lab();
  const a = lab.ue(1);
  const b = lab.ue(2);
  const m1 = lab.msk(0x0101, 1);
  lab.register(a, 1);
  lab.register(b, 1.1);
  const okA = lab.mskRequest(a, 2, [m1]).ok;
  lab.ack(okA + 0.014, lab.deliver(a, okA + 0.01, m1)); // 200 → MIKEY 10 ms, MIKEY → ACK 4 ms
  const okB = lab.mskRequest(b, 3, [m1]).ok;
  lab.deliver(b, okB + 0.02, m1); // 20 ms, never ACKed
  lab.mtk(4, m1, 2, 7);
  lab.mtk(4.5, m1, 2, 7); // a repetition 500 ms later
  lab.mtk(5, m1, 1, 8); // the MTK ID goes back: a warning
  const out = lab.write('report', [a, b]);
  try {
    const collector = new AnalysisCollector();
    const run = await analyzeCapture(out.pcap, collector, { dissector: { keys: loadKeyFile(out.keys as string) }, correlator: { ackTimeout: 1, deliveryTimeout: 1 } });
    const text = analysisReport(collector, run.stats).join('\n');
    assert.match(text, /UEs 2, transactions 6: register 2, pull 2, mtk 2/);
    assert.match(text, /ACK rate: 1\/2 \(50\.0 %\)/);
    assert.match(text, / {4}10\.9\.1\.2 +0\/1 \(0\.0 %\)\n {4}10\.9\.1\.1 +1\/1 \(100\.0 %\)/, 'lowest rate first');
    assert.match(text, /200 → MIKEY {14}n=2 {2}p50 10\.0 ms {2}p95 20\.0 ms {2}p99 20\.0 ms {2}max 20\.0 ms/);
    assert.match(text, /MIKEY → ACK {14}n=1 {2}p50 4\.0 ms/);
    assert.match(text, /00f110:01010001 {2}messages 3, MTK IDs 2, interval n=2 {2}p50 500\.0 ms/);
    const errIdx = text.indexOf('  error (1):');
    const warnIdx = text.indexOf('  warning (1):');
    assert.ok(errIdx > 0 && warnIdx > errIdx, 'errors before warnings');
    assert.match(text, /ack-missing +\[T\d+ ue 10\.9\.1\.2\] frames \d+: MSK 00f110:0101:0001 to UE 10\.9\.1\.2 had V set/);
    assert.match(text, /mtk-id-not-increasing +\[T\d+ ue 10\.9\.0\.2\] frames \d+/);
    // the failed pull is the worst transaction
    assert.match(text, /== Worst transactions ==\n {2}T\d+ pull \(variant D\) ue 10\.9\.1\.2 .*: failed/);
    assert.equal(worstSeverity(run.stats), 'error');
  } finally {
    fs.rmSync(out.dir, { recursive: true, force: true });
  }
});
