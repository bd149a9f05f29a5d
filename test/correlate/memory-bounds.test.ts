/**
 * Issue #12 ("RSS flat over time"): state that grew with the capture is bounded by --max-memory. Real bytes through
 * the real pipeline (Analyzer, captures written to disk and read back):
 * - held findings (the loss look-back, long in `live`): their estimated bytes stay within maxHeldFindingBytes, which
 *   follows --max-memory, and holding them changes nothing but when they are emitted;
 * - the HTTP rules' and the loss signals' connection maps stay within maxConnections;
 * - the field context (tcp.stream numbering for frame output and -Y) within the pipeline budget's maxConversations.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCaptureInput } from '../../src/capture/capture-set';
import type { CorrelatorOptions } from '../../src/correlate/correlator';
import { budgetFromMemory, DEFAULT_MAX_MEMORY_MB, HELD_FINDING_COST, HELD_FINDING_FRAME_COST } from '../../src/correlate/options';
import type { Diagnostic } from '../../src/correlate/types';
import { FieldContext } from '../../src/fields/context';
import { Analyzer } from '../../src/pipeline/analyzer';
import { pipelineBudgetFromMemory } from '../../src/pipeline/memory-budget';
import { pipelinedConnections } from '../support/adversarial';
import { writeUnackedPushes } from './adversarial';
import { AnalysisCollector, analysisReport } from '../../src/report/analyze-text';
import { capturePath } from '../support/repo';

/** Pushes of the held-findings capture: each ends in an ack-missing finding (ACK timeout 1 s, 40 s of pushes; fewer UEs and open transactions than the 150 MB bounds allow). */
const PUSHES = 6_000;
const PUSH_UES = 250;
const PUSH_SECONDS = 40;

interface HeldRun {
  findings: string[];
  /** Findings emitted while frames were still read (early: the hold never ends in packet time here). */
  emittedEarly: number;
  maxHeldBytes: number;
  maxHeld: number;
}

async function runHeld(capture: string, correlator: CorrelatorOptions): Promise<HeldRun> {
  const findings: string[] = [];
  let reading = true;
  let emittedEarly = 0;
  const a = new Analyzer(
    {
      diagnostic(d: Diagnostic) {
        findings.push(`${d.code}|${d.transaction ?? ''}|${d.frames.join(',')}|${d.message}`);
        if (reading) emittedEarly++;
      },
    },
    { correlator },
  );
  let maxHeldBytes = 0;
  let maxHeld = 0;
  await readCaptureInput(capture, (f) => {
    a.frame(f);
    const s = a.correlator.openState();
    maxHeldBytes = Math.max(maxHeldBytes, s.heldFindingBytes);
    maxHeld = Math.max(maxHeld, s.heldFindings);
  });
  reading = false;
  a.finish();
  return { findings, emittedEarly, maxHeldBytes, maxHeld };
}

describe('state bounded by --max-memory (issue #12)', { timeout: 300_000 }, () => {
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-bounds-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('held findings stay within maxHeldFindingBytes, which follows --max-memory; only their emission moves', async () => {
    const cap = path.join(dir, 'pushes.pcap');
    await writeUnackedPushes(cap, PUSHES, PUSH_UES, PUSH_SECONDS);
    // a hold longer than the capture (as live's, with a slow engine): only the byte bound lets findings out early
    const hold = { ackTimeout: 1, lossHoldSeconds: 1e6 };
    const small = budgetFromMemory(150);
    const def = budgetFromMemory(DEFAULT_MAX_MEMORY_MB);
    assert.ok(small.maxHeldFindingBytes < def.maxHeldFindingBytes);
    const runs = [];
    for (const budget of [small, def]) {
      const r = await runHeld(cap, { ...budget, ...hold });
      assert.ok(r.maxHeldBytes <= budget.maxHeldFindingBytes, `${r.maxHeldBytes} held bytes over ${budget.maxHeldFindingBytes}`);
      // the bound was reached (the findings outweigh it): the held set filled it, less at most one finding
      assert.ok(r.maxHeldBytes >= budget.maxHeldFindingBytes - (HELD_FINDING_COST + HELD_FINDING_FRAME_COST * 64 + 1000), `${r.maxHeldBytes} of ${budget.maxHeldFindingBytes}`);
      assert.ok(r.emittedEarly > 0, 'some findings went out early');
      runs.push(r);
    }
    assert.ok(runs[0].maxHeld < runs[1].maxHeld, `held ${runs[0].maxHeld} at 150 MB, ${runs[1].maxHeld} at the default`);
    // the estimate is close to what a finding of this capture holds (≈ 550 B measured): the count follows the bytes
    assert.ok(runs[1].maxHeld >= def.maxHeldFindingBytes / 1000, `${runs[1].maxHeld} findings held`);
    // the same findings, in the same order, as with room for them all: the bound moves when they go out, not what they say
    const unbounded = await runHeld(cap, { ...def, ...hold, maxHeldFindingBytes: 1e12 });
    assert.equal(unbounded.emittedEarly, 0);
    assert.ok(unbounded.findings.length >= PUSHES * 0.9, `${unbounded.findings.length} findings`);
    assert.deepEqual(runs[0].findings, unbounded.findings);
    assert.deepEqual(runs[1].findings, unbounded.findings);
    fs.rmSync(cap, { force: true });
  });

  it('the connection maps of the HTTP rules and the loss signals stay within maxConnections', async () => {
    const cap = path.join(dir, 'conns.pcap');
    const budget = budgetFromMemory(150);
    const connections = budget.maxConnections * 3;
    pipelinedConnections(cap, connections, 2);
    const a = new Analyzer({}, { correlator: budget, dissector: { maxMemory: 150 } });
    const c = a.correlator as unknown as { http: { conns: Map<number, unknown> }; lossSignals: { connections: Map<number, number> } };
    let maxConns = 0;
    let maxLoss = 0;
    let frames = 0;
    await readCaptureInput(cap, (f) => {
      a.frame(f);
      frames++;
      maxConns = Math.max(maxConns, c.http.conns.size);
      maxLoss = Math.max(maxLoss, c.lossSignals.connections.size);
    });
    a.finish();
    assert.ok(frames >= connections * 5, `${frames} frames`);
    assert.equal(maxConns, budget.maxConnections, 'the HTTP rules fill their bound and keep to it');
    assert.equal(maxLoss, budget.maxConnections, 'the loss signals fill their bound and keep to it');
    assert.ok(budget.maxConnections < budgetFromMemory(DEFAULT_MAX_MEMORY_MB).maxConnections);
    fs.rmSync(cap, { force: true });
  });

  it('MTK statistics past maxMtkStatistics are counted in the stats and the text report, not silently dropped', async () => {
    // a real capture with MTK messages of two MSKs, and room for one
    const run = async (correlator: CorrelatorOptions) => {
      const a = new Analyzer({}, { correlator });
      await readCaptureInput(capturePath('mikey-mbms-kinds.pcap'), (f) => a.frame(f));
      a.finish();
      return a.stats();
    };
    const all = await run({});
    assert.equal(all.mtk.length, 2);
    assert.equal(all.mtkMsksNotKept, undefined);
    const one = await run({ maxMtkStatistics: 1 });
    assert.equal(one.mtk.length, 1);
    assert.equal(one.mtkMsksNotKept, 1);
    assert.deepEqual(one.mtk[0], all.mtk.find((m) => m.mskId === one.mtk[0].mskId));
    // the text report says so under the MSK it lists
    const text = analysisReport(new AnalysisCollector(), one).join('\n');
    assert.match(text, /MTK repetition \(per MSK\):\n .*messages.*\n    MTK statistics of 1 more MSK\(s\) not kept \(the memory budget holds 1; --max-memory raises it\)/);
    assert.doesNotMatch(analysisReport(new AnalysisCollector(), all).join('\n'), /not kept/);
  });

  it('the field context numbers at most maxConversations conversations, forgetting the least recently seen', () => {
    const max = pipelineBudgetFromMemory(150).maxConversations;
    assert.ok(max < pipelineBudgetFromMemory(DEFAULT_MAX_MEMORY_MB).maxConversations);
    const ctx = new FieldContext(max);
    const tcpFrame = (client: number, flags: number) =>
      ({ packet: { tsSec: 1_800_000_000, tsNsec: 0, ip: { src: `10.7.${client >> 8}.${client & 255}`, dst: '10.8.0.1' }, transport: { kind: 'tcp', srcPort: 40000, dstPort: 80, flags, seq: 1, ack: 1 } } }) as unknown as Parameters<FieldContext['observe']>[0];
    const first = ctx.observe(tcpFrame(0, 0x02)).tcpStream;
    for (let i = 1; i < max * 3; i++) {
      ctx.observe(tcpFrame(i, 0x02));
      // conversation 0 stays busy: it is never the least recently seen, so it keeps its number
      if (i % 100 === 0) assert.equal(ctx.observe(tcpFrame(0, 0x10)).tcpStream, first);
    }
    const tcp = (ctx as unknown as { tcp: Map<string, unknown> }).tcp;
    assert.equal(tcp.size, max);
    // conversation 1 was forgotten long ago: seen again, it is a new one
    assert.equal(ctx.observe(tcpFrame(1, 0x10)).tcpStream, max * 3);
  });
});
