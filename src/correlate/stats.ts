/**
 * Statistics of the correlation stage: latency distributions (nearest-rank percentiles), ACK rates by BM-SC, UE, key
 * group and time bucket, MTK repetition intervals. All bounded: a distribution keeps at most `maxSamples` values
 * (exact below that, a deterministic reservoir above it), the per-UE and per-group tables at most `maxKeys` rows.
 */
import { LATENCY_BUCKETS } from './latency-buckets';
import type { AckRate, AckRateBucket, Distribution } from './types';

export const DEFAULT_MAX_SAMPLES = 200_000;

/** Values of one latency kind. Deterministic: the reservoir uses a fixed-seed generator, never Math.random. */
export class SampleSet {
  private readonly values: number[] = [];
  private seen = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;
  private rng = 0x9e3779b9;
  /** Counts per LATENCY_BUCKETS bucket, the last one +Inf: these add across captures, percentiles do not. */
  private readonly histogram = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  /** The last distribution, kept until a value is added (a dashboard asks for it many times a second). */
  private cached: Distribution | undefined;

  constructor(private readonly maxSamples = DEFAULT_MAX_SAMPLES) {}

  add(v: number): void {
    if (!Number.isFinite(v)) return;
    this.cached = undefined;
    this.seen++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    this.histogram[bucketIndex(v)]++;
    if (this.values.length < this.maxSamples) {
      this.values.push(v);
      return;
    }
    // xorshift32: reservoir sampling (Algorithm R) with a reproducible sequence
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    const j = this.rng % this.seen;
    if (j < this.maxSamples) this.values[j] = v;
  }

  get count(): number {
    return this.seen;
  }

  distribution(): Distribution {
    if (this.seen === 0) return { count: 0 };
    if (this.cached) return { ...this.cached };
    const sorted = Float64Array.from(this.values).sort();
    this.cached = {
      count: this.seen,
      min: this.min,
      p50: nearestRank(sorted, 0.5),
      p95: nearestRank(sorted, 0.95),
      p99: nearestRank(sorted, 0.99),
      max: this.max,
      mean: this.sum / this.seen,
      sum: this.sum,
      buckets: [...this.histogram],
    };
    return { ...this.cached, buckets: [...this.histogram] };
  }
}

/** The LATENCY_BUCKETS bucket of `v` (`le` semantics); LATENCY_BUCKETS.length is the +Inf bucket. */
export function bucketIndex(v: number): number {
  let lo = 0;
  let hi = LATENCY_BUCKETS.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= LATENCY_BUCKETS[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * A percentile read from histogram counts (merged captures, where the samples are gone): the bucket holding rank
 * ⌈p·n⌉, interpolated linearly inside it as Prometheus' histogram_quantile does, the bucket's edges narrowed to
 * the exact min and max. Off from the exact nearest-rank value by less than the width of that bucket.
 */
export function histogramPercentile(buckets: readonly number[], count: number, min: number, max: number, p: number): number | undefined {
  if (count <= 0) return undefined;
  const rank = Math.max(1, Math.ceil(p * count));
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i];
    if (n > 0 && below + n >= rank) {
      const lower = Math.max(min, i === 0 ? 0 : LATENCY_BUCKETS[i - 1]);
      const upper = Math.min(max, i < LATENCY_BUCKETS.length ? LATENCY_BUCKETS[i] : max);
      if (upper <= lower) return upper;
      return lower + ((upper - lower) * (rank - below)) / n;
    }
    below += n;
  }
  return max;
}

/** Nearest-rank percentile: the smallest value with at least p of the values at or below it. */
export function nearestRank(sorted: ArrayLike<number>, p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

export function ackRate(requested: number, acked: number): AckRate {
  const r: AckRate = { requested, acked };
  if (requested > 0) r.rate = acked / requested;
  return r;
}

interface Counter {
  requested: number;
  acked: number;
}

/** ACK-requested / ACKed counts under string keys, bounded (rows past the bound are folded into `(other)`). */
export class AckTable {
  private readonly rows = new Map<string, Counter>();

  constructor(private readonly maxKeys = 10_000) {}

  private row(key: string): Counter {
    let r = this.rows.get(key);
    if (!r) {
      if (this.rows.size >= this.maxKeys) key = '(other)';
      r = this.rows.get(key);
      if (!r) {
        r = { requested: 0, acked: 0 };
        this.rows.set(key, r);
      }
    }
    return r;
  }

  requested(key: string): void {
    this.row(key).requested++;
  }

  acked(key: string): void {
    this.row(key).acked++;
  }

  toRecord(): Record<string, AckRate> {
    const out: Record<string, AckRate> = {};
    for (const k of [...this.rows.keys()].sort()) {
      const r = this.rows.get(k) as Counter;
      out[k] = ackRate(r.requested, r.acked);
    }
    return out;
  }

  buckets(bucketSeconds: number): AckRateBucket[] {
    return [...this.rows.entries()]
      .filter(([k]) => Number.isFinite(Number(k)))
      .map(([k, r]) => ({ start: Number(k) * bucketSeconds, ...ackRate(r.requested, r.acked) }))
      .sort((a, b) => a.start - b.start);
  }
}
