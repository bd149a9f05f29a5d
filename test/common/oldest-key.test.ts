/**
 * OldestKeys (src/common/oldest-key.ts): the correlator's bounded FIFO/LRU maps evict through one iterator kept while
 * they are over their bound, instead of `map.keys().next()`; it must name the very same key under every mix of
 * operations the rooms use (new keys, re-set keys that keep their place, delete-and-set moves to the end, deletes
 * anywhere, evictions), and let its iterator go once the map is within its bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OldestKeys } from '../../src/common/oldest-key';

test('the oldest key is the one map.keys().next() gives, through a long random run', () => {
  // a small deterministic generator: the run is the same every time
  let seed = 0x2545f491;
  const rnd = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  for (const bound of [1, 7, 300]) {
    const map = new Map<number, number>();
    const oldest = new OldestKeys(map);
    let evictions = 0;
    for (let i = 0; i < 200_000; i++) {
      const key = rnd(bound * 3);
      const op = rnd(10);
      if (op < 4) map.set(key, i); // new at the end, or an existing key keeps its place
      else if (op < 8) {
        map.delete(key); // moved to the end
        map.set(key, i);
      } else map.delete(key);
      for (let got = oldest.over(bound); got !== undefined; got = oldest.over(bound)) {
        assert.equal(got, map.keys().next().value, `bound ${bound}, step ${i}`);
        map.delete(got);
        evictions++;
      }
      assert.ok(map.size <= bound);
    }
    assert.ok(evictions > 10_000, `bound ${bound}: ${evictions} evictions`);
  }
});

test('a map that runs empty, regrows past its table and is evicted again: the same keys', () => {
  const map = new Map<string, number>();
  const oldest = new OldestKeys(map);
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 1000; i++) map.set(`k${round}:${i}`, i);
    for (let i = 0; i < 1000; i += 3) map.delete(`k${round}:${i}`);
    // a bound of 0 drains it; within the bound nothing is named
    for (let got = oldest.over(0); got !== undefined; got = oldest.over(0)) {
      assert.equal(got, map.keys().next().value);
      map.delete(got);
    }
    assert.equal(map.size, 0);
    map.set('x', 1);
    assert.equal(oldest.over(1), undefined);
    map.delete('x');
  }
});

test('a Set works as well: the oldest value is the one set.values().next() gives, clear() included', () => {
  let seed = 0x1b873593;
  const rnd = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  for (const bound of [1, 5, 200]) {
    const set = new Set<number>();
    const oldest = new OldestKeys(set);
    let evictions = 0;
    for (let i = 0; i < 100_000; i++) {
      const op = rnd(1000);
      if (op === 0) set.clear();
      else if (op < 700) set.add(rnd(bound * 3));
      else set.delete(rnd(bound * 3));
      for (let got = oldest.over(bound); got !== undefined; got = oldest.over(bound)) {
        assert.equal(got, set.values().next().value, `bound ${bound}, step ${i}`);
        set.delete(got);
        evictions++;
      }
      assert.ok(set.size <= bound);
    }
    assert.ok(evictions > 1_000, `bound ${bound}: ${evictions} evictions`);
  }
});
