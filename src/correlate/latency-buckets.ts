/**
 * The one set of latency histogram bucket boundaries (upper bounds, seconds, ascending) for every step latency
 * keyscope counts: the Prometheus histograms (`keyscope_step_latency_seconds`, src/metrics) and the stats records
 * that merge across runs use the same ones, so a histogram from one can be compared with, or added to, the other.
 * A 1-2-5 series from 1 ms to 20 s, then 30 s (the default pull timeout: no step waits longer); an implicit +Inf
 * bucket above the last. Fixed and part of the public interface: changing them makes old results unmergeable.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30,
]);
