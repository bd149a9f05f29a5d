/** Nearest-rank percentiles, the bounded reservoir and the timer heap on their own. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SampleSet, nearestRank, AckTable } from '../../src/correlate/stats';
import { PacketTimers } from '../../src/correlate/timers';

test('nearest rank: the smallest value with at least p of the values at or below it', () => {
  const v = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(nearestRank(v, 0.5), 50);
  assert.equal(nearestRank(v, 0.95), 95);
  assert.equal(nearestRank(v, 0.99), 99);
  assert.equal(nearestRank([7], 0.99), 7);
  assert.equal(nearestRank([1, 2, 3, 4], 0.5), 2);
  assert.equal(nearestRank([], 0.5), undefined);
});

test('SampleSet: exact below the bound, deterministic reservoir above it, min/max/mean always exact', () => {
  const s = new SampleSet(1000);
  for (let i = 1; i <= 200; i++) s.add(i / 1000);
  s.add(Number.NaN);
  const d = s.distribution();
  assert.deepEqual([d.count, d.p50, d.p95, d.max, d.min], [200, 0.1, 0.19, 0.2, 0.001]);
  const a = new SampleSet(100);
  const b = new SampleSet(100);
  for (let i = 0; i < 10_000; i++) {
    a.add(i);
    b.add(i);
  }
  assert.deepEqual(a.distribution(), b.distribution());
  const da = a.distribution();
  assert.equal(da.count, 10_000);
  assert.equal(da.max, 9999);
  assert.equal(da.mean, 4999.5);
  assert.ok((da.p50 as number) > 2500 && (da.p50 as number) < 7500, String(da.p50));
});

test('AckTable: bounded rows fold into (other); time buckets ignore it', () => {
  const t = new AckTable(2);
  t.requested('1');
  t.acked('1');
  t.requested('2');
  t.requested('3');
  const r = t.toRecord();
  assert.deepEqual(Object.keys(r).sort(), ['(other)', '1', '2']);
  assert.deepEqual(r['(other)'], { requested: 1, acked: 0, rate: 0 });
  assert.deepEqual(t.buckets(10).map((b) => b.start), [10, 20]);
});

test('PacketTimers: fire in deadline order, ties in the order set, only before now', () => {
  const timers = new PacketTimers();
  const fired: string[] = [];
  timers.set(3, () => fired.push('c'));
  timers.set(1, () => fired.push('a1'));
  timers.set(1, () => fired.push('a2'));
  timers.set(2, () => fired.push('b'));
  timers.expire(2);
  assert.deepEqual(fired, ['a1', 'a2']);
  const seen: number[] = [];
  timers.expire(Infinity, (at) => seen.push(at));
  assert.deepEqual(fired, ['a1', 'a2', 'b', 'c']);
  assert.deepEqual(seen, [2, 3]);
  assert.equal(timers.size, 0);
});

test('PacketTimers: a cancelled timer leaves the heap at once and never fires; the rest keep their order', () => {
  const timers = new PacketTimers();
  const fired: number[] = [];
  // a deterministic shuffle of deadlines, every third one cancelled
  const handles = Array.from({ length: 300 }, (_, i) => {
    const at = (i * 7919) % 301;
    return { at, t: timers.set(at, () => fired.push(at)) };
  });
  const kept = handles.filter((_, i) => i % 3 !== 0);
  for (const [i, h] of handles.entries()) if (i % 3 === 0) timers.cancel(h.t);
  assert.equal(timers.size, kept.length, 'cancelled timers are gone from the heap');
  timers.cancel(handles[0].t); // twice: nothing happens
  assert.equal(timers.size, kept.length);
  timers.expire(Infinity);
  assert.deepEqual(fired, kept.map((h) => h.at).sort((a, b) => a - b));
  assert.equal(timers.size, 0);
});
