/**
 * The fixed latency histogram buckets of keyscope: upper bounds in seconds, ascending, with Prometheus `le`
 * semantics (a value v counts in the first bucket whose bound is ≥ v; values above the last bound count in an
 * implicit +Inf bucket). A 1-1.5-2-3-5-7 series per decade from 1 ms to 10 s, then 15, 20 and 30 s: neighbouring
 * bounds differ by a factor of 1.67 at most, so a percentile read back from the histogram is within one bucket of
 * the exact one. Used by `analyze --json` (stats records carry per-bucket counts, which add across files and
 * probes; see docs/json-output.md) and by the Prometheus `_seconds` histograms. Changing the list changes the
 * NDJSON format version (merge refuses inputs with other bounds).
 */
export const LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0015, 0.002, 0.003, 0.005, 0.007,
  0.01, 0.015, 0.02, 0.03, 0.05, 0.07,
  0.1, 0.15, 0.2, 0.3, 0.5, 0.7,
  1, 1.5, 2, 3, 5, 7,
  10, 15, 20, 30,
]);
