/**
 * The no-BigInt fast path of ticksToTime must equal exact BigInt arithmetic (floor division, nanoseconds
 * truncated) for every resolution it serves, including values near 2^64 and remainders near a full second.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ticksToTime, tsResolution, type SecNsec } from '../../src/capture/timestamp';

function exact(t: bigint, perSecond: bigint, offset: number): [number, number] {
  return [Number(t / perSecond) + offset, Number(((t % perSecond) * 1000000000n) / perSecond)];
}

/** Deterministic xorshift so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

test('fast path equals BigInt arithmetic for 10^-0..10^-9 and 2^-0..2^-32', () => {
  const next = rng(12345);
  const out: SecNsec = { tsSec: 0, tsNsec: 0 };
  const bytes = [...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 33 }, (_, i) => 0x80 | i)];
  for (const b of bytes) {
    const res = tsResolution(b);
    assert.equal(res.fast, true, `tsresol ${b}`);
    const perSecond = res.unitsPerSecondBig;
    const maxSeconds = (1n << 53n) - 1n;
    const samples: bigint[] = [0n, 1n, perSecond - 1n, perSecond, 0xffffffffn, 1n << 32n, (1n << 53n) - 1n, 1700000000n * perSecond + perSecond - 1n];
    for (let i = 0; i < 3000; i++) samples.push((BigInt(next()) << 32n) | BigInt(next()));
    for (let i = 0; i < 500; i++) samples.push(BigInt(next() % 2000000000) * perSecond + (perSecond - 1n - BigInt(next() % 1000)));
    for (const t0 of samples) {
      const t = t0 & ((1n << 64n) - 1n);
      if (t / perSecond > maxSeconds) continue;
      ticksToTime(Number(t >> 32n), Number(t & 0xffffffffn), res, 7, out);
      assert.deepEqual([out.tsSec, out.tsNsec], exact(t, perSecond, 7), `tsresol 0x${b.toString(16)} ticks ${t}`);
    }
  }
});

test('BigInt path for finer resolutions', () => {
  const out: SecNsec = { tsSec: 0, tsNsec: 0 };
  for (const b of [10, 12, 15, 19, 0x80 | 33, 0x80 | 40, 0x80 | 63]) {
    const res = tsResolution(b);
    assert.equal(res.fast, false);
    for (const t of [0n, 1n, res.unitsPerSecondBig - 1n, (1n << 64n) - 1n, 0x123456789abcdefn]) {
      ticksToTime(Number(t >> 32n), Number(t & 0xffffffffn), res, -3, out);
      assert.deepEqual([out.tsSec, out.tsNsec], exact(t, res.unitsPerSecondBig, -3));
    }
  }
});
