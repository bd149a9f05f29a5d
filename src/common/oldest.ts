/**
 * Forgetting the oldest entry of a Map or Set used as a bounded, insertion-ordered table, in constant time.
 *
 * `map.delete(map.keys().next().value)` looks constant but is not in V8: a deleted entry stays a hole in the table
 * until the table is rebuilt, and a fresh iterator walks the holes from the start. A table kept at its bound by deleting
 * its oldest entry has all its holes at the front, so every eviction walked thousands of them (measured: 10 µs per
 * eviction at 10 000 entries, 0.5 µs with a kept iterator; the Digest tracker's nonce tables and the MIKEY tracker's
 * bounded maps were 4 % of the dissector's CPU profile on the bench mix, issue #14).
 *
 * So the iterator is kept (per table, in a WeakMap) and moves on from where it stopped: every entry before it has been
 * deleted by this function, entries added later (a re-set key included) come after it, and entries deleted elsewhere are
 * skipped, as a fresh iterator would — it returns what `keys().next()` would. Only for tables whose oldest entry is
 * deleted here and nowhere peeked at through the kept iterator. The order is the language's (insertion order), so
 * the result is the same as before, only faster.
 */
const cursors = new WeakMap<object, Iterator<unknown>>();

/** Deletes the oldest key of `table` (first in insertion order) and returns it; undefined when the table is empty. */
export function deleteOldest<K>(table: Map<K, unknown> | Set<K>): K | undefined {
  if (table.size === 0) return undefined;
  let it = cursors.get(table) as Iterator<K> | undefined;
  let r = it?.next();
  if (r === undefined || r.done === true) {
    // first eviction, or the kept iterator ran out (a finished iterator never yields again)
    it = table.keys();
    cursors.set(table, it);
    r = it.next();
    if (r.done === true) return undefined;
  }
  table.delete(r.value);
  return r.value;
}
