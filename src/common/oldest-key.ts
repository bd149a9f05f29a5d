/**
 * Eviction from bounded insertion-ordered maps (issue #14, round 3: docs/performance.md).
 */

/**
 * The oldest keys of a Map used as a bounded FIFO or LRU (a Map keeps insertion order; a re-set key keeps its place, a
 * deleted and set one goes to the end), in amortized constant time.
 *
 * `map.keys().next()` starts a new iterator at the front of V8's hash table and walks over every entry deleted since
 * the table was last rebuilt: at a full bound that is O(size) per eviction (measured 5.6 µs at 4 500 entries, 50+ µs
 * at 65 536). One iterator kept across evictions resumes after the key it last gave, where every entry is newer or
 * gone: 0.1–0.2 µs. But an iterator that sits idle pins every table the map outgrows or rebuilds after it (V8 chains
 * the old tables to the new for it): kept on a map that never reached its bound, it held 60 MB on 300 k frames. So
 * the iterator lives only while the map is over its bound, and `over` is called after every insertion.
 */
export class OldestKeys<K> {
  private it: Iterator<K> | undefined;

  constructor(private readonly map: Map<K, unknown>) {}

  /**
   * After an insertion: the oldest key while the map holds more than `max` entries (the caller deletes it before it
   * asks again), undefined once it is within the bound (and the iterator is let go).
   */
  over(max: number): K | undefined {
    if (this.map.size <= max) {
      this.it = undefined;
      return undefined;
    }
    this.it ??= this.map.keys();
    return this.it.next().value as K;
  }
}
