/**
 * trimOldest (src/common/oldest-key.ts), the eviction of maps handed to a function (the Digest tracker's nonce tables,
 * the HA1 cache, the MIKEY tracker's bounded maps): it forgets exactly what `map.delete(map.keys().next().value)`
 * forgets, whatever the map went through between evictions (moved keys, deletions elsewhere, clear, emptied), and
 * stays fast with every hole at the front.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trimOldest } from '../../src/common/oldest-key';

/** A small deterministic generator, so a failure is reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('trims what a fresh iterator would, through random sets, moves, deletions and clears', { timeout: 60_000 }, () => {
  for (let seed = 1; seed <= 20; seed++) {
    const r = rng(seed);
    const a = new Map<number, number>();
    const b = new Map<number, number>();
    const max = 1 + Math.floor(r() * 50);
    for (let step = 0; step < 20_000; step++) {
      const x = r();
      const k = Math.floor(r() * 200);
      if (x < 0.7) {
        // the LRU touch: delete and set again moves the key to the end
        a.delete(k);
        a.set(k, step);
        b.delete(k);
        b.set(k, step);
        while (a.size > max) a.delete(a.keys().next().value as number);
        trimOldest(b, max);
      } else if (x < 0.99) {
        a.delete(k);
        b.delete(k);
      } else {
        a.clear();
        b.clear();
      }
      assert.deepEqual([...b.keys()], [...a.keys()], `seed ${seed} step ${step}`);
    }
  }
});

test('an empty map, a map within its bound, and a map emptied and filled again', { timeout: 10_000 }, () => {
  const m = new Map<string, number>();
  trimOldest(m, 2);
  assert.equal(m.size, 0);
  m.set('a', 1).set('b', 2);
  trimOldest(m, 2);
  assert.deepEqual([...m.keys()], ['a', 'b']);
  m.set('c', 3);
  trimOldest(m, 2);
  assert.deepEqual([...m.keys()], ['b', 'c']);
  m.clear();
  m.set('d', 4).set('e', 5).set('f', 6);
  trimOldest(m, 1);
  assert.deepEqual([...m.keys()], ['f']);
});

test('stays fast with every hole at the front (the bounded-table case)', { timeout: 30_000 }, () => {
  const m = new Map<string, number>();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 200_000; i++) {
    m.set(`nonce-${i}`, i);
    trimOldest(m, 10_000);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.equal(m.size, 10_000);
  assert.equal(m.keys().next().value, 'nonce-190000');
  // a fresh iterator per eviction takes seconds here; generous for a loaded machine
  assert.ok(ms < 5_000, `${ms.toFixed(0)} ms`);
});
