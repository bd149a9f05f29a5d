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
import { frameMutators, fuzz, loadSeeds, makeInput, Runner, type Frame } from '../../scripts/fuzz';
import { ethernet, ipv4, tcp } from '../decode/craft';
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

test('tcp-split leaves alone a segment whose data offset an earlier mutation made shorter than the TCP header', { timeout: 30_000 }, () => {
  // found by seed 101, input 6035 (and 11806, 23682, 34532): "tcp offset 12" set the data offset to 0, then
  // tcp-split cut the "payload" (the header itself) near its end and wrote a sequence number past the short tail
  const data = ethernet(0x0800, ipv4({ src: '10.1.0.1', dst: '10.1.0.2', protocol: 6 }, tcp({ sport: 40000, dport: 80, seq: 1000, ack: 1, flags: 0x18 }, Buffer.from('GET / HTTP/1.1\r\n\r\n'))));
  for (const offsetNibble of [0, 1, 4]) {
    const d = Buffer.from(data);
    d[14 + 20 + 12] = offsetNibble << 4;
    // findIndex draws below 0.3, then the cut draws near 1 (the cut at the end of the "payload")
    for (const draws of [[0.1, 0.999], [0.1, 0.5], [0.1, 0]]) {
      let k = 0;
      const r = () => draws[Math.min(k++, draws.length - 1)];
      const frames: Frame[] = [{ linkType: 1, tsSec: 1, tsNsec: 0, data: Buffer.from(d), originalLength: d.length }];
      assert.equal(frameMutators['tcp-split'](r, frames), undefined, `data offset ${offsetNibble}`);
      assert.equal(frames.length, 1);
    }
  }
});

test('no mutator throws while making inputs: 4 seeds × 10 000 inputs', { timeout: 120_000 }, async () => {
  const seeds = await loadSeeds(path.dirname(capturePath('x')));
  for (const seed of [101, 102, 1313, 7]) {
    for (let i = 0; i < 10_000; i++) {
      try {
        makeInput(seeds, seed, i);
      } catch (e) {
        assert.fail(`seed ${seed}, input ${i}: ${e instanceof Error ? e.stack : String(e)}`);
      }
    }
  }
});
