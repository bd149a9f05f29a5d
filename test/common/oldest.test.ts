/**
 * deleteOldest (src/common/oldest.ts) forgets exactly what `map.delete(map.keys().next().value)` forgets, whatever the
 * table went through between evictions (re-set keys, deletions elsewhere, clear, emptied), for Maps and Sets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deleteOldest } from '../../src/common/oldest';

/** A small deterministic generator, so a failure is reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('evicts what a fresh iterator would, through random sets, re-sets, deletions and clears', { timeout: 60_000 }, () => {
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
        while (a.size > max) {
          const ref = a.keys().next().value as number;
          a.delete(ref);
          assert.equal(deleteOldest(b), ref, `seed ${seed} step ${step}`);
        }
      } else if (x < 0.95) {
        a.delete(k);
        b.delete(k);
      } else if (x < 0.99) {
        const ref = a.keys().next().value;
        if (ref !== undefined) a.delete(ref);
        assert.equal(deleteOldest(b), ref, `seed ${seed} step ${step}`);
      } else {
        a.clear();
        b.clear();
      }
      assert.deepEqual([...b.keys()], [...a.keys()]);
    }
  }
});

test('a Set, an empty table, and a table emptied and filled again', { timeout: 10_000 }, () => {
  const s = new Set<string>(['a', 'b', 'c']);
  assert.equal(deleteOldest(s), 'a');
  s.add('a');
  assert.equal(deleteOldest(s), 'b');
  assert.equal(deleteOldest(s), 'c');
  assert.equal(deleteOldest(s), 'a');
  assert.equal(deleteOldest(s), undefined);
  s.add('d');
  s.add('e');
  assert.equal(deleteOldest(s), 'd');
  assert.deepEqual([...s], ['e']);
  assert.equal(deleteOldest(new Map()), undefined);
});

test('stays fast with every hole at the front (the bounded-table case)', { timeout: 30_000 }, () => {
  const m = new Map<string, number>();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 200_000; i++) {
    m.set(`nonce-${i}`, i);
    if (m.size > 10_000) deleteOldest(m);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.equal(m.size, 10_000);
  assert.equal(m.keys().next().value, 'nonce-190000');
  // a fresh iterator per eviction takes seconds here; generous for a loaded machine
  assert.ok(ms < 5_000, `${ms.toFixed(0)} ms`);
});
