/**
 * The CI slice of `npm run fuzz` (scripts/fuzz.ts): a fixed seed for a bounded time over the bundled captures, through
 * the Analyzer and the dissect printers in a heap-capped worker. Nothing may throw, hang or breach the heap budget; a
 * finding fails the test and names the reproducer written under the output folder. Also checks that the campaign is
 * reproducible (input i of a seed is the same bytes every time) and that the harness does see a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fuzz, loadSeeds, makeInput, Runner } from '../../scripts/fuzz';
import { capturePath } from '../support/repo';

/** Fixed seed of the CI slice; the full campaign takes --seed from the command line. */
const CI_SEED = 1313;
const CI_SECONDS = 25;

test('fuzz slice: seeded mutations of the bundled captures — no crash, hang or heap-budget breach', { timeout: 120_000 }, async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-fuzz-'));
  try {
    const rep = await fuzz({ seed: CI_SEED, seconds: CI_SECONDS, out, inputMs: 10_000, heapMb: 128, captures: path.dirname(capturePath('x')) });
    t.diagnostic(`seed ${rep.seed}: ${rep.inputs} inputs, crashes ${rep.crashes}, hangs ${rep.hangs}, budget ${rep.budget}, peak heap ${rep.peakHeapMb.toFixed(1)} MB, peak RSS ${rep.peakRssMb.toFixed(1)} MB`);
    assert.ok(rep.inputs >= 100, `only ${rep.inputs} inputs in ${CI_SECONDS} s`);
    assert.deepEqual(rep.findings, [], `reproducers: ${rep.findings.map((f) => `${f.file} (${f.kind}: ${f.detail})`).join('\n')}`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('fuzz inputs are reproducible from (seed, input)', { timeout: 60_000 }, async () => {
  const seeds = await loadSeeds(path.dirname(capturePath('x')));
  for (const i of [0, 1, 17, 401]) {
    const a = makeInput(seeds, 42, i);
    const b = makeInput(seeds, 42, i);
    assert.deepEqual(a.mutations, b.mutations);
    assert.ok(a.bytes.equals(b.bytes), `input ${i}`);
  }
  assert.ok(!makeInput(seeds, 42, 0).bytes.equals(makeInput(seeds, 43, 0).bytes) || makeInput(seeds, 42, 0).mutations.join() !== makeInput(seeds, 43, 0).mutations.join());
});

test('the harness reports an input that does not finish in time as a hang, then goes on', { timeout: 60_000 }, async () => {
  const runner = new Runner(128);
  try {
    const big = fs.readFileSync(capturePath('sim-faults.pcap'));
    assert.equal(await runner.run(big, 1), 'hang');
    const r = await runner.run(big, 20_000);
    assert.ok(r !== 'hang' && !('crashed' in r) && r.ok && r.frames > 0);
  } finally {
    await runner.close();
  }
});
