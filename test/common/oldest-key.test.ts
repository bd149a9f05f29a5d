/**
 * oldestKeyOf (src/common/oldest-key.ts): the bounded FIFO/LRU maps of the correlator evict through one long-lived
 * iterator instead of `map.keys().next()`; it must name the very same key under every mix of operations the rooms
 * use (new keys, re-set keys that keep their place, delete-and-set moves to the end, deletes anywhere, evictions).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oldestKeyOf } from '../../src/common/oldest-key';

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
    const oldest = oldestKeyOf(map);
    let evictions = 0;
    for (let i = 0; i < 200_000; i++) {
      const key = rnd(bound * 3);
      const op = rnd(10);
      if (op < 4) map.set(key, i); // new at the end, or an existing key keeps its place
      else if (op < 8) {
        map.delete(key); // moved to the end
        map.set(key, i);
      } else map.delete(key);
      while (map.size > bound) {
        const expected = map.keys().next().value as number;
        const got = oldest();
        assert.equal(got, expected, `bound ${bound}, step ${i}`);
        map.delete(got);
        evictions++;
      }
    }
    assert.ok(evictions > 10_000, `bound ${bound}: ${evictions} evictions`);
  }
});

test('a map that runs empty between evictions, and rebuilds of its table, change nothing', () => {
  const map = new Map<string, number>();
  const oldest = oldestKeyOf(map);
  for (let round = 0; round < 50; round++) {
    // grow well past the table's capacity (V8 rebuilds it), then drain it completely
    for (let i = 0; i < 1000; i++) map.set(`k${round}:${i}`, i);
    for (let i = 0; i < 1000; i += 3) map.delete(`k${round}:${i}`);
    while (map.size > 0) {
      const expected = map.keys().next().value as string;
      const got = oldest();
      assert.equal(got, expected);
      map.delete(got);
    }
  }
});
