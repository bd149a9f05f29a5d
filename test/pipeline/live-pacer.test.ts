/**
 * LivePacer and Dissector.releaseHeld on real bytes (captures/cap-lo-http.pcap: GET / in frame 4, its 200 OK in
 * frame 8), with a clock the test sets: a request held for its response is let go once the live clock is
 * holdSeconds past it, frames keep capture order, and the correlator's clock moves only once nothing is held.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCapture } from '../../src/capture/reader';
import type { CaptureFrame } from '../../src/capture/types';
import type { PacketTime } from '../../src/common/time';
import { Analyzer } from '../../src/pipeline/analyzer';
import { LivePacer } from '../../src/pipeline/live-pacer';
import { capturePath } from '../support/repo';

async function frames(): Promise<CaptureFrame[]> {
  const out: CaptureFrame[] = [];
  await readCapture(capturePath('cap-lo-http.pcap'), (f) => out.push({ ...f, data: Buffer.from(f.data) }));
  return out;
}

const plus = (t: PacketTime, s: number): PacketTime => {
  const ns = BigInt(t.tsSec) * 1_000_000_000n + BigInt(t.tsNsec) + BigInt(Math.round(s * 1e9));
  return { tsSec: Number(ns / 1_000_000_000n), tsNsec: Number(ns % 1_000_000_000n) };
};

test('a request held for its response leaves once the live clock is holdSeconds past it; order is kept', async () => {
  const all = await frames();
  const emitted: number[] = [];
  const analyzer = new Analyzer({ dissectedFrame: (f) => emitted.push(f.packet.frame) }, { dissector: { holdNewest: false } });
  let now: PacketTime | undefined;
  const pacer = new LivePacer(analyzer, () => now, { holdSeconds: 0.4 });
  // up to frame 7: the request (4) waits for its response (8), frames 5–7 wait behind it
  for (const f of all.slice(0, 7)) analyzer.frame(f);
  assert.deepEqual(emitted, [1, 2, 3]);
  assert.equal(analyzer.dissector.heldFrames, 4);
  const request = all[3];
  now = plus(request, 0.3);
  assert.deepEqual(pacer.tick(), { released: 0, expired: false }, 'not yet: the deadlines wait for the held frames');
  now = plus(request, 0.41);
  assert.deepEqual(pacer.tick(), { released: 4, expired: true });
  assert.deepEqual(emitted, [1, 2, 3, 4, 5, 6, 7]);
  // the rest arrives: the response still reaches the pipeline, in order
  for (const f of all.slice(7)) analyzer.frame(f);
  analyzer.finish();
  assert.deepEqual(emitted, all.map((f) => f.number));
});

test('with nothing held, a tick lets the correlator\'s clock run to the live clock; before the first frame it does nothing', async () => {
  const all = await frames();
  const analyzer = new Analyzer({}, { dissector: { holdNewest: false } });
  let now: PacketTime | undefined = { tsSec: 1, tsNsec: 0 };
  const pacer = new LivePacer(analyzer, () => now);
  assert.deepEqual(pacer.tick(), { released: 0, expired: false });
  for (const f of all.slice(0, 3)) analyzer.frame(f);
  now = undefined;
  assert.deepEqual(pacer.tick(), { released: 0, expired: false });
  now = plus(all[2], 5);
  assert.deepEqual(pacer.tick(), { released: 0, expired: true });
});
