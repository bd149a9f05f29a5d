/**
 * The correlator on captures built from real bytes (HTTP Digest over TCP, MIKEY over UDP, made with the project's
 * encoders, written with the pcap writer) through the real pipeline: ACK rate and latencies against a hand count,
 * every diagnostic provoked on its own UE, clean UEs with no finding, B-TID joins across NAT and GTP-U.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Analyzer, analyzeCapture } from '../../src/pipeline/analyzer';
import { readCapture } from '../../src/capture/reader';
import { loadKeyFile } from '../../src/protocols/keys';
import type { AnalysisStats, Diagnostic, DiagnosticCode, KeyDeliveryTransaction } from '../../src/correlate/types';
import { DIAGNOSTIC_CODES } from '../../src/correlate/catalog';
import type { CorrelatorOptions } from '../../src/correlate/correlator';
import { Lab, MTK_GROUP, type LabUe } from './lab';

interface Result {
  transactions: KeyDeliveryTransaction[];
  diagnostics: Diagnostic[];
  stats: AnalysisStats;
}

async function analyze(pcap: string, keys: string | undefined, correlator: CorrelatorOptions = {}): Promise<Result> {
  const transactions: KeyDeliveryTransaction[] = [];
  const diagnostics: Diagnostic[] = [];
  const run = await analyzeCapture(pcap, { transaction: (t) => transactions.push(t), diagnostic: (d) => diagnostics.push(d) }, {
    dissector: { keys: keys ? loadKeyFile(keys) : null },
    correlator,
  });
  assert.equal(run.summary.fatal, undefined);
  return { transactions, diagnostics, stats: run.stats };
}

function codesByUe(ds: Diagnostic[]): Map<string, Set<DiagnosticCode>> {
  const m = new Map<string, Set<DiagnosticCode>>();
  for (const d of ds) {
    const k = d.ue ?? '(none)';
    if (!m.has(k)) m.set(k, new Set());
    m.get(k)?.add(d.code);
  }
  return m;
}

const close = (a: number | undefined, b: number) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-6, `${a} ≠ ${b}`);

/** Two UEs, hand-timed (seconds): see the comments for the expected numbers. */
function handCountLab() {
  const lab = new Lab();
  const a = lab.ue(1);
  const b = lab.ue(2);
  const m1 = lab.msk(0x0101, 1);
  const m2 = lab.msk(0x0101, 2);
  lab.register(a, 1.0); // 401 +1 ms, credentials +2 ms, 200 +2 ms
  lab.register(b, 1.1);
  // A: challenge 2.001, credentials 2.004 (3 ms), 200 2.006 (2 ms), MIKEY 2.016 (10 ms), ACK 2.020 (4 ms)
  const okA = lab.mskRequest(a, 2.0, [m1], { challenge: 0.001, credentials: 0.003, answer: 0.002 }).ok;
  const dA = lab.deliver(a, okA + 0.01, m1);
  lab.ack(okA + 0.014, dA);
  // B: challenge 3.002, credentials 3.007 (5 ms), 200 3.010 (3 ms), MIKEY 3.030 (20 ms), never ACKed
  const okB = lab.mskRequest(b, 3.0, [m1], { challenge: 0.002, credentials: 0.005, answer: 0.003 }).ok;
  lab.deliver(b, okB + 0.02, m1);
  // push to A, ACK after 8 ms; push to B without V
  const pA = lab.deliver(a, 5.0, m2);
  lab.ack(5.008, pA);
  lab.deliver(b, 5.1, m2, { v: false });
  return { lab, a, b };
}

test('hand count: ACK rate, latencies, transactions', async () => {
  const { lab, a, b } = handCountLab();
  const out = lab.write('handcount', [a, b]);
  try {
    const r = await analyze(out.pcap, out.keys, { ackTimeout: 1, deliveryTimeout: 1, pullTimeout: 1 });
    const s = r.stats;
    // V-flagged deliveries: pull A, pull B, push A; ACKed in time: pull A, push A
    assert.deepEqual(s.ack, { requested: 3, acked: 2, rate: 2 / 3 });
    assert.deepEqual(s.ackByUe[a.address], { requested: 2, acked: 2, rate: 1 });
    assert.deepEqual(s.ackByUe[b.address], { requested: 1, acked: 0, rate: 0 });
    assert.deepEqual(s.ackByBmsc['10.9.0.1'], { requested: 3, acked: 2, rate: 2 / 3 });
    assert.deepEqual(s.ackByKeyGroup['00f110:0101'], { requested: 3, acked: 2, rate: 2 / 3 });
    assert.equal(s.ackOverTime.buckets.reduce((n, x) => n + x.requested, 0), 3);
    // challenge → credentials: registrations 2 ms and 2 ms, pulls 3 ms and 5 ms
    const cc = s.latency.challengeToCredentials;
    assert.equal(cc.count, 4);
    close(cc.p50, 0.002);
    close(cc.p95, 0.005);
    close(cc.max, 0.005);
    // request → 200: registrations 2 ms, 2 ms; pulls 2 ms, 3 ms
    const r200 = s.latency.requestTo200;
    assert.equal(r200.count, 4);
    close(r200.p50, 0.002);
    close(r200.max, 0.003);
    // 200 → MIKEY: 10 ms, 20 ms (nearest rank: p50 is the first of two)
    close(s.latency.okToMikey.p50, 0.01);
    close(s.latency.okToMikey.max, 0.02);
    assert.equal(s.latency.okToMikey.count, 2);
    // MIKEY → ACK: 4 ms (pull A), 8 ms (push A)
    assert.equal(s.latency.mikeyToAck.count, 2);
    close(s.latency.mikeyToAck.p50, 0.004);
    close(s.latency.mikeyToAck.p99, 0.008);
    assert.deepEqual(s.byProcedure, { register: 2, pull: 2, push: 2 });
    // the only finding: B's missing ACK, on B's delivery frame
    assert.deepEqual(r.diagnostics.map((d) => [d.code, d.ue]), [['ack-missing', b.address]]);
    const pulls = r.transactions.filter((t) => t.procedure === 'pull');
    const pa = pulls.find((t) => t.ue === a.address) as KeyDeliveryTransaction;
    assert.equal(pa.variant, 'D');
    assert.equal(pa.digest, 'accepted');
    assert.equal(pa.btid, a.btid);
    assert.equal(pa.bmsc, '10.9.0.1');
    assert.deepEqual(pa.httpStatuses, [401, 200]);
    assert.deepEqual(pa.steps.map((x) => x.kind), ['request', 'challenge', 'credentials', 'response', 'delivery', 'ack']);
    assert.deepEqual(pa.requestedKeys.map((k) => k.label), ['00f110:0101:0000']);
    assert.deepEqual(pa.deliveredKeys.map((k) => k.label), ['00f110:0101:0001']);
    assert.equal(pa.delivered && pa.ackRequested && pa.acked, true);
    close(pa.latencies.challengeToCredentials, 0.003);
    close(pa.latencies.requestTo200, 0.002);
    close(pa.latencies.okToMikey, 0.01);
    close(pa.latencies.mikeyToAck, 0.004);
    assert.equal(pa.verdict, 'ok');
    const pb = pulls.find((t) => t.ue === b.address) as KeyDeliveryTransaction;
    assert.equal(pb.verdict, 'failed');
    assert.equal(pb.acked, false);
    assert.deepEqual(pb.diagnostics, ['ack-missing']);
    const diag = r.diagnostics[0];
    assert.equal(diag.transaction, pb.id);
    assert.deepEqual(diag.frames, [pb.steps.find((x) => x.kind === 'delivery')?.frame]);
    // transaction frames: every segment of its HTTP messages and the MIKEY frames, ascending
    assert.deepEqual([...pa.frames].sort((x, y) => x - y), pa.frames);
    for (const st of pa.steps) assert.ok(pa.frames.includes(st.frame));
  } finally {
    fs.rmSync(out.dir, { recursive: true, force: true });
  }
});

test('the same capture gives the same records twice (packet time only)', async () => {
  const { lab, a, b } = handCountLab();
  const out = lab.write('determinism', [a, b]);
  try {
    const x = await analyze(out.pcap, out.keys);
    const y = await analyze(out.pcap, out.keys);
    assert.deepEqual(y, x);
  } finally {
    fs.rmSync(out.dir, { recursive: true, force: true });
  }
});

/** One UE per fault, each alone in its own second; clean UEs before and after. */
function faultLab() {
  const lab = new Lab();
  const kg1 = lab.msk(0x0101, 1);
  const kg1b = lab.msk(0x0101, 2);
  const kg1c = lab.msk(0x0101, 3);
  const kg3 = lab.msk(0x0303, 1);
  const ues: LabUe[] = [];
  const expect = new Map<string, DiagnosticCode[]>();
  const clean: string[] = [];
  let n = 0;
  const ue = (codes: DiagnosticCode[] | 'clean', opts: Partial<LabUe> = {}) => {
    const u = lab.ue(++n, opts);
    ues.push(u);
    if (codes === 'clean') clean.push(u.address);
    else expect.set(u.address, codes);
    return u;
  };
  let t = 1;
  const slot = () => (t += 2);
  const cleanUe = () => {
    const u = ue('clean');
    const t0 = slot();
    lab.register(u, t0);
    const ok = lab.mskRequest(u, t0 + 0.1, [kg1]).ok;
    lab.ack(ok + 0.02, lab.deliver(u, ok + 0.01, kg1));
    lab.ack(t0 + 0.6, lab.deliver(u, t0 + 0.59, kg1b));
    lab.trigger(u, t0 + 0.8, 0x0101);
    const ok2 = lab.mskRequest(u, t0 + 0.81, [kg1b]).ok;
    lab.ack(ok2 + 0.02, lab.deliver(u, ok2 + 0.01, kg1b, { v: true }));
    lab.deregister(u, t0 + 1.5);
  };
  cleanUe();
  {
    const u = ue(['credentials-rejected'], { wrongPassword: true });
    lab.register(u, slot());
  }
  {
    const u = ue(['stale-nonce-loop']);
    lab.digestPost(u, slot(), 'register', 'application/mbms-register+xml', Buffer.from('<mbmsSecurityRegister/>'), { stale: 2 });
  }
  {
    // a 500 fails the pull: the UE is left without an MSK
    const u = ue(['http-error-status', 'no-valid-msk']);
    const t0 = slot();
    lab.register(u, t0);
    lab.mskRequest(u, t0 + 0.1, [kg1], { status: 500, reason: 'Internal Server Error' });
  }
  {
    const u = ue(['request-unanswered', 'no-valid-msk']);
    const t0 = slot();
    lab.register(u, t0);
    lab.mskRequest(u, t0 + 0.1, [kg1], { noAnswer: true });
  }
  {
    const u = ue(['no-mikey-after-200', 'no-valid-msk']);
    const t0 = slot();
    lab.register(u, t0);
    lab.mskRequest(u, t0 + 0.1, [kg1]);
  }
  {
    const u = ue(['mikey-before-200']);
    const t0 = slot();
    lab.register(u, t0);
    const r = lab.mskRequest(u, t0 + 0.1, [kg1], { answer: 0.05 });
    lab.ack(r.credentials + 0.02, lab.deliver(u, r.credentials + 0.01, kg1));
  }
  {
    const u = ue(['ack-missing']);
    const t0 = slot();
    lab.register(u, t0);
    const ok = lab.mskRequest(u, t0 + 0.1, [kg1]).ok;
    lab.deliver(u, ok + 0.01, kg1);
  }
  {
    const u = ue(['ack-unmatched']);
    const t0 = slot();
    lab.register(u, t0);
    lab.ack(t0 + 0.1, { csbId: 0xdead, counter: 9, counterValue: Buffer.from([0, 0, 0, 9]), rand: Buffer.alloc(16), idr: u.btid, ue: u });
  }
  {
    const u = ue(['ack-mac-invalid']);
    const t0 = slot();
    lab.register(u, t0);
    const ok = lab.mskRequest(u, t0 + 0.1, [kg1]).ok;
    lab.ack(ok + 0.02, lab.deliver(u, ok + 0.01, kg1), { badMac: true });
  }
  {
    const u = ue(['repeated-delivery']);
    const t0 = slot();
    lab.register(u, t0);
    const ok = lab.mskRequest(u, t0 + 0.1, [kg1]).ok;
    lab.ack(ok + 0.02, lab.deliver(u, ok + 0.01, kg1));
    lab.ack(ok + 0.07, lab.deliver(u, ok + 0.06, kg1));
  }
  {
    const u = ue(['solicited-pull-ignored']);
    const t0 = slot();
    lab.register(u, t0);
    lab.trigger(u, t0 + 0.1, 0x0101);
  }
  {
    // an MSK that allows MTK IDs (0, 5]; its MTK stream then goes backwards and past the interval (the interval is in
    // the encrypted key data: with keys only)
    const u = ue(['ack-idr-mismatch']);
    const t0 = slot();
    lab.register(u, t0);
    const kgI = lab.msk(0x0909, 1);
    const sent = lab.deliver(u, t0 + 0.1, kgI, { interval: { seqL: 0, seqU: 5 } });
    // the UE answers with another B-TID as IDr
    lab.ack(t0 + 0.11, { ...sent, idr: 'someone-else@bsf.mnc001.mcc001.pub.3gppnetwork.org' });
    lab.mtk(t0 + 0.2, kgI, 3, 70, { csbId: 0x6161 });
    lab.mtk(t0 + 0.3, kgI, 2, 71, { csbId: 0x6161 });
    lab.mtk(t0 + 0.4, kgI, 9, 72, { csbId: 0x6161 });
  }
  {
    const t0 = slot();
    // the V flag on an MTK message is the dissector's mikey-v-on-mtk, not a diagnostic
    expect.set(MTK_GROUP, ['mtk-id-not-increasing', 'mtk-id-outside-interval']);
    lab.mtk(t0, kg1, 1, 50);
    lab.mtk(t0 + 0.1, kg1, 1, 50); // the periodic repetition: same bytes, no finding
    lab.mtk(t0 + 0.2, kg1, 2, 51, { v: true });
  }
  {
    const u = ue(['mtk-ack']);
    const t0 = slot();
    const m = lab.mtk(t0, kg1, 3, 60, { csbId: 0x5151 });
    lab.ack(t0 + 0.01, { csbId: m.csbId, counter: m.counter, counterValue: m.counterValue, rand: kg1.rand, idr: u.btid, ue: u });
  }
  {
    const u = ue(['counter-replay']);
    const t0 = slot();
    lab.register(u, t0);
    const ok = lab.mskRequest(u, t0 + 0.1, [kg1]).ok;
    const d = lab.deliver(u, ok + 0.01, kg1);
    lab.ack(ok + 0.02, d);
    lab.deliver(u, t0 + 1, kg1b, { v: false, counter: d.counter });
  }
  {
    const u = ue(['third-msk']);
    const t0 = slot();
    lab.register(u, t0);
    const ok = lab.mskRequest(u, t0 + 0.1, [kg1]).ok;
    lab.ack(ok + 0.02, lab.deliver(u, ok + 0.01, kg1));
    lab.ack(t0 + 0.81, lab.deliver(u, t0 + 0.8, kg1b));
    lab.ack(t0 + 0.91, lab.deliver(u, t0 + 0.9, kg1c));
  }
  {
    const u = ue(['no-valid-msk']);
    const t0 = slot();
    lab.register(u, t0);
    lab.mskRequest(u, t0 + 0.1, [kg1], { respBody: lab.mskResponseBody([{ group: 0x0101, number: 0, code: '403 Forbidden' }]) });
  }
  {
    const u = ue(['key-group-not-requested']);
    const t0 = slot();
    lab.register(u, t0);
    const ok = lab.mskRequest(u, t0 + 0.1, [kg1]).ok;
    lab.ack(ok + 0.02, lab.deliver(u, ok + 0.01, kg1));
    lab.ack(ok + 0.06, lab.deliver(u, ok + 0.05, kg3));
  }
  {
    const u = ue(['msk-counter-jump']);
    const t0 = slot();
    lab.register(u, t0);
    const ok = lab.mskRequest(u, t0 + 0.1, [kg1]).ok;
    const d = lab.deliver(u, ok + 0.01, kg1);
    lab.ack(ok + 0.02, d);
    lab.ack(t0 + 1.01, lab.deliver(u, t0 + 1, kg1b, { counter: d.counter + 3 }));
  }
  {
    const u = ue(['ack-not-due']);
    const t0 = slot();
    lab.register(u, t0);
    lab.ack(t0 + 0.11, lab.trigger(u, t0 + 0.1, 0x0101));
    const ok = lab.mskRequest(u, t0 + 0.12, [kg1]).ok;
    lab.ack(ok + 0.02, lab.deliver(u, ok + 0.01, kg1));
  }
  {
    // no registration in the capture: it may precede the capture, so only a note
    const u = ue(['registration-not-seen']);
    const t0 = slot();
    const ok = lab.mskRequest(u, t0, [kg1]).ok;
    lab.ack(ok + 0.02, lab.deliver(u, ok + 0.01, kg1));
  }
  {
    // the capture shows the UE deregistered before it asks for an MSK: a warning
    const u = ue(['msk-request-unregistered']);
    const t0 = slot();
    lab.register(u, t0);
    lab.deregister(u, t0 + 0.1);
    const ok = lab.mskRequest(u, t0 + 0.2, [kg1]).ok;
    lab.ack(ok + 0.02, lab.deliver(u, ok + 0.01, kg1));
  }
  {
    const u = ue(['push-to-unregistered-address']);
    const t0 = slot();
    lab.register(u, t0);
    const ok = lab.mskRequest(u, t0 + 0.1, [kg1]).ok;
    lab.ack(ok + 0.02, lab.deliver(u, ok + 0.01, kg1));
    const other = `10.9.2.${n}`;
    lab.ack(t0 + 1.01, lab.deliver(u, t0 + 1, kg1b, { to: other }), { from: other });
  }
  {
    const u = ue(['http-error-status', 'retry-after-ignored']);
    const t0 = slot();
    lab.register(u, t0);
    lab.mskRequest(u, t0 + 0.1, [kg1], { status: 503, reason: 'Service Unavailable', headers: ['Retry-After: 5'] });
    const ok = lab.mskRequest(u, t0 + 0.3, [kg1]).ok;
    lab.ack(ok + 0.02, lab.deliver(u, ok + 0.01, kg1));
  }
  {
    // four UEs request within 30 ms (the test runs with --storm-ues 4 --storm-window 0.05)
    const t0 = slot();
    for (let k = 0; k < 4; k++) {
      const u = ue(['request-storm']);
      lab.register(u, t0 + k * 0.05);
      const ok = lab.mskRequest(u, t0 + 0.5 + k * 0.01, [kg1]).ok;
      lab.ack(ok + 0.2, lab.deliver(u, ok + 0.19, kg1));
    }
  }
  {
    // NAT: HTTP from a public address, MIKEY to the private one; joined by the B-TID (MIKEY IDr)
    const u = ue('clean');
    const t0 = slot();
    const pub = { ...u, address: `10.9.3.${n}` };
    lab.register(pub, t0);
    const ok = lab.mskRequest(pub, t0 + 0.1, [kg1]).ok;
    lab.ack(ok + 0.02, lab.deliver(u, ok + 0.01, kg1));
  }
  {
    // inside a GTP-U tunnel
    const u = ue('clean', { tunnel: { enb: '192.0.2.10', sgw: '192.0.2.20', teid: 0x1234 } });
    const t0 = slot();
    lab.register(u, t0);
    const ok = lab.mskRequest(u, t0 + 0.1, [kg1]).ok;
    lab.ack(ok + 0.02, lab.deliver(u, ok + 0.01, kg1));
  }
  cleanUe();
  return { lab, ues, expect, clean };
}

const FAULT_OPTIONS: CorrelatorOptions = { ackTimeout: 0.5, deliveryTimeout: 0.5, pullTimeout: 0.5, stormUes: 4, stormWindow: 0.05 };

test('every diagnostic provoked on its own UE, with nothing else; clean UEs have none', async () => {
  const { lab, ues, expect, clean } = faultLab();
  const out = lab.write('faults', ues);
  try {
    const r = await analyze(out.pcap, out.keys, FAULT_OPTIONS);
    const got = codesByUe(r.diagnostics);
    for (const [ue, codes] of expect) assert.deepEqual([...(got.get(ue) ?? [])].sort(), [...codes].sort(), `UE ${ue}`);
    for (const ue of clean) assert.equal(got.get(ue), undefined, `clean UE ${ue}: ${[...(got.get(ue) ?? [])]}`);
    const seen = new Set(r.diagnostics.map((d) => d.code));
    assert.deepEqual(DIAGNOSTIC_CODES.filter((c) => !seen.has(c)), []);
    for (const d of r.diagnostics) {
      assert.ok(d.frames.length > 0, `${d.code} names frames`);
      assert.ok(d.message.length > 0);
    }
    // the NAT UE is one UE with both addresses; the tunnelled one is seen by its inner address
    const nat = r.transactions.find((t) => t.procedure === 'pull' && t.ueAddresses.length === 2);
    assert.ok(nat, 'a pull joined across two addresses by the B-TID');
    assert.equal(nat.acked, true);
    const tunnelled = ues.find((u) => u.tunnel) as LabUe;
    const tp = r.transactions.find((t) => t.procedure === 'pull' && t.ue === tunnelled.address);
    assert.ok(tp && tp.acked && tp.verdict === 'ok');
    // variant A recognised
    assert.equal(r.stats.byVariant.A, 1);
  } finally {
    fs.rmSync(out.dir, { recursive: true, force: true });
  }
});

test('without keys: the same findings except the one that needs the MUK', async () => {
  const { lab, ues, expect } = faultLab();
  const out = lab.write('faults-nokeys', ues);
  try {
    const r = await analyze(out.pcap, undefined, FAULT_OPTIONS);
    const got = codesByUe(r.diagnostics);
    for (const [ue, codes] of expect) {
      // the MUK checks the ACK's MAC and decrypts the MSK's MTK ID interval
      const want = codes.filter((c) => c !== 'ack-mac-invalid' && c !== 'mtk-id-outside-interval');
      assert.deepEqual([...(got.get(ue) ?? [])].sort(), want.sort(), `UE ${ue}`);
    }
  } finally {
    fs.rmSync(out.dir, { recursive: true, force: true });
  }
});

test('bounded state: UEs and open transactions beyond the limits are forgotten and counted', async () => {
  const lab = new Lab();
  const m = lab.msk(0x0101, 1);
  const ues = Array.from({ length: 30 }, (_, i) => lab.ue(i + 1));
  ues.forEach((u, i) => lab.deliver(u, 1 + i * 0.001, m));
  const out = lab.write('bounded', ues);
  try {
    const r = await analyze(out.pcap, undefined, { maxUes: 10, maxOpenTransactions: 5, ackTimeout: 100 });
    assert.equal(r.stats.evicted.ues, 20);
    assert.equal(r.stats.evicted.transactions, 25);
    assert.equal(r.transactions.length, 30);
    assert.equal(r.transactions.filter((t) => t.closedBy === 'evicted').length, 25);
  } finally {
    fs.rmSync(out.dir, { recursive: true, force: true });
  }
});

test('expire(): deadlines pass on packet time without a frame (a quiet live source)', async () => {
  const lab = new Lab();
  const u = lab.ue(1);
  const m = lab.msk(0x0101, 1);
  lab.deliver(u, 1, m);
  lab.mtk(1.5, m, 1, 5); // one more frame, so the delivery leaves the dissector's hold
  lab.mtk(1.6, m, 1, 5);
  const out = lab.write('expire');
  try {
    const diagnostics: Diagnostic[] = [];
    // findings go out as their deadline passes (no loss look-back hold: that is capture-loss.test.ts's)
    const analyzer = new Analyzer({ diagnostic: (d) => diagnostics.push(d) }, { correlator: { ackTimeout: 2, lossLookbackSeconds: 0 } });
    await readCapture(out.pcap, (f) => analyzer.frame(f));
    analyzer.correlator.expire({ tsSec: 1_800_000_002, tsNsec: 999_000_000 });
    assert.equal(diagnostics.length, 0, 'not yet: the deadline is 3.0 s');
    analyzer.correlator.expire({ tsSec: 1_800_000_003, tsNsec: 1_000 });
    assert.deepEqual(diagnostics.map((d) => d.code), ['ack-missing']);
    assert.match(diagnostics[0].message, /within 2 s/);
    analyzer.finish();
    assert.equal(diagnostics.length, 1);
  } finally {
    fs.rmSync(out.dir, { recursive: true, force: true });
  }
});

test('with keys: an ACK to a push under an older MUK is not due (the UE should pull instead)', async () => {
  const lab = new Lab();
  const u = lab.ue(1);
  const m1 = lab.msk(0x0101, 1);
  const m2 = lab.msk(0x0101, 2);
  lab.ack(1.01, lab.deliver(u, 1, m1));
  // the UE has bootstrapped again (a new B-TID and NAF key in the key file), but the BM-SC still uses the old MUK
  const renewed = lab.ue(1, { btid: 'bmV3@bsf.mnc001.mcc001.pub.3gppnetwork.org', naf: Buffer.alloc(32, 7) });
  lab.ack(2.01, lab.deliver(u, 2, m2, { idr: renewed.btid }));
  const out = lab.write('old-muk', [u, renewed]);
  try {
    const r = await analyze(out.pcap, out.keys, { ackTimeout: 1 });
    assert.deepEqual(r.diagnostics.map((d) => [d.code, d.ue]), [['ack-not-due', u.address]]);
    assert.deepEqual(r.stats.ack, { requested: 1, acked: 1, rate: 1 });
  } finally {
    fs.rmSync(out.dir, { recursive: true, force: true });
  }
});

test('a capture that ends before a deadline: the transaction is incomplete, no finding; a frame past the deadline decides it', async () => {
  // four UEs each left waiting when the capture ends: a request without answer, a 200 without MIKEY, a delivery
  // without ACK, a trigger without request; with `late`, one more frame comes after every deadline
  const build = (late: boolean) => {
    const lab = new Lab();
    const m1 = lab.msk(0x0101, 1);
    const [a, b, c, d] = [1, 2, 3, 4].map((n) => lab.ue(n));
    for (const u of [a, b, c, d]) lab.register(u, 1);
    lab.mskRequest(a, 2, [m1], { noAnswer: true });
    lab.mskRequest(b, 2.1, [m1]);
    lab.deliver(c, lab.mskRequest(c, 2.2, [m1]).ok + 0.01, m1);
    lab.trigger(d, 2.3, 0x0101);
    if (late) lab.register(lab.ue(5), 10);
    return lab.write(late ? 'late' : 'cut');
  };
  const options = { ackTimeout: 1, deliveryTimeout: 1, pullTimeout: 1 };
  for (const late of [false, true]) {
    const out = build(late);
    try {
      const r = await analyze(out.pcap, undefined, options);
      const codes = [...r.diagnostics].map((x) => `${x.ue} ${x.code}`).sort();
      const waiting = r.transactions.filter((t) => t.procedure !== 'register');
      if (!late) {
        assert.deepEqual(codes, [], 'nothing decided on deadlines the capture did not reach');
        assert.deepEqual(waiting.map((t) => `${t.procedure} ${t.verdict} ${t.closedBy}`).sort(), [
          'pull incomplete end-of-capture', 'pull incomplete end-of-capture', 'pull incomplete end-of-capture', 'solicited-pull incomplete end-of-capture',
        ]);
      } else {
        // a and b registered in the capture and their requests failed for good: they hold no MSK
        assert.deepEqual(codes, [
          '10.9.1.1 no-valid-msk', '10.9.1.1 request-unanswered', '10.9.1.2 no-mikey-after-200', '10.9.1.2 no-valid-msk', '10.9.1.3 ack-missing', '10.9.1.4 solicited-pull-ignored',
        ]);
        assert.ok(waiting.every((t) => t.verdict === 'failed'), waiting.map((t) => t.verdict).join());
      }
    } finally {
      fs.rmSync(out.dir, { recursive: true, force: true });
    }
  }
});

test('eviction: a transaction closed early is incomplete, no finding names it afterwards, and its deadlines are gone', async () => {
  // ten UEs each get a V-flagged push; only two transactions may stay open, so eight are evicted while waiting
  const lab = new Lab();
  const m1 = lab.msk(0x0101, 1);
  const ues = Array.from({ length: 10 }, (_, i) => lab.ue(i + 1));
  ues.forEach((u, i) => lab.deliver(u, 1 + i * 0.01, m1));
  lab.register(lab.ue(20), 5); // a frame past every ACK deadline
  const out = lab.write('evict');
  try {
    const r = await analyze(out.pcap, undefined, { ackTimeout: 1, maxOpenTransactions: 2 });
    const pushes = r.transactions.filter((t) => t.procedure === 'push');
    const evicted = pushes.filter((t) => t.closedBy === 'evicted');
    assert.equal(evicted.length, 8);
    assert.ok(evicted.every((t) => t.verdict === 'incomplete' && t.diagnostics.length === 0), evicted.map((t) => t.verdict).join());
    const named = new Set(r.diagnostics.map((d) => d.transaction));
    for (const t of evicted) assert.ok(!named.has(t.id), `${t.id} evicted, then named by a finding`);
    // the two still open when the deadline passed: ack-missing, failed
    const timedOut = pushes.filter((t) => t.closedBy === 'timeout');
    assert.equal(timedOut.length, 2);
    assert.ok(timedOut.every((t) => t.verdict === 'failed' && t.diagnostics.includes('ack-missing')));
    assert.equal(r.stats.evicted.transactions, 8);
  } finally {
    fs.rmSync(out.dir, { recursive: true, force: true });
  }
});
