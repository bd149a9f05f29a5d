/**
 * The analyzer never throws on capture content: every bundled capture, and the simulator's faults capture with
 * seeded random damage (bytes flipped inside the MIKEY and HTTP payloads, frames dropped and duplicated) all run to the
 * end with consistent statistics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCapture } from '../../src/capture/reader';
import { PcapngWriter } from '../../src/capture/pcapng-writer';
import { analyzeCapture } from '../../src/pipeline/analyzer';
import type { AnalysisStats, KeyDeliveryTransaction } from '../../src/correlate/types';
import { capturePath, repoRoot } from '../support/repo';

function consistent(s: AnalysisStats, transactions: KeyDeliveryTransaction[]): void {
  assert.equal(transactions.length, s.transactions);
  assert.equal(Object.values(s.byVerdict).reduce((a, b) => a + (b ?? 0), 0), s.transactions);
  assert.equal(Object.values(s.byProcedure).reduce((a, b) => a + (b ?? 0), 0), s.transactions);
  assert.ok(s.ack.acked <= s.ack.requested);
  assert.equal(new Set(transactions.map((t) => t.id)).size, transactions.length);
}

test('every bundled capture analyzes to the end', async () => {
  const dir = path.join(repoRoot(), 'captures');
  const names = fs.readdirSync(dir).filter((n) => /\.(pcap|pcapng)(\.gz)?$/.test(n)).sort();
  assert.ok(names.length > 10);
  for (const n of names) {
    const tx: KeyDeliveryTransaction[] = [];
    const r = await analyzeCapture(path.join(dir, n), { transaction: (t) => tx.push(t) }, { correlator: { ackTimeout: 1, deliveryTimeout: 1, pullTimeout: 1 } });
    consistent(r.stats, tx);
  }
});

/** xorshift32: reproducible damage. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

test('seeded damage to the faults capture: no exception, bounded, consistent', async () => {
  const frames: { tsSec: number; tsNsec: number; data: Buffer; linkType: number }[] = [];
  await readCapture(capturePath('sim-faults.pcap'), (f) => frames.push({ tsSec: f.tsSec, tsNsec: f.tsNsec, data: Buffer.from(f.data), linkType: f.linkType }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-fuzz-'));
  try {
    for (let seed = 1; seed <= Number(process.env.KEYSCOPE_FUZZ_SEEDS ?? 6); seed++) {
      const r = rng(seed);
      const file = path.join(dir, `damaged-${seed}.pcapng`);
      const w = new PcapngWriter(file);
      for (const f of frames) {
        const p = r();
        if (p < 0.03) continue; // dropped
        const data = Buffer.from(f.data);
        // flip bytes past the link/IP/transport headers (offset 40+), where MIKEY and HTTP live
        const flips = r() < 0.3 ? 1 + Math.floor(r() * 4) : 0;
        for (let i = 0; i < flips && data.length > 44; i++) data[44 + Math.floor(r() * (data.length - 44))] ^= 1 << Math.floor(r() * 8);
        w.write({ ...f, data });
        if (p > 0.97) w.write({ ...f, data }); // duplicated
      }
      void w.commit();
      const tx: KeyDeliveryTransaction[] = [];
      const out = await analyzeCapture(file, { transaction: (t) => tx.push(t) }, { correlator: { ackTimeout: 0.72, deliveryTimeout: 0.72, pullTimeout: 0.72 } });
      assert.equal(out.summary.fatal, undefined);
      consistent(out.stats, tx);
      for (const t of tx) assert.ok(t.steps.length <= 64 && t.frames.length <= 1024);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
