/**
 * One AnalyzerSink that hands every event to several (the report or dashboard, and the metrics). An event only
 * exists on the tee when some sink takes it, so the stages skip the work of events nobody wants (the correlator makes
 * measurements only for a sink with `measurement`).
 */
import type { AnalyzerSink } from './analyzer';

export function teeSinks(...sinks: (AnalyzerSink | undefined)[]): AnalyzerSink {
  const all = sinks.filter((s): s is AnalyzerSink => s !== undefined);
  if (all.length === 1) return all[0];
  const tee: AnalyzerSink = {};
  const keys: (keyof AnalyzerSink)[] = ['captureFrame', 'dissectedFrame', 'transaction', 'diagnostic', 'anomaly', 'measurement'];
  for (const k of keys) {
    const takers = all.filter((s) => s[k] !== undefined);
    if (takers.length === 0) continue;
    // each sink's method is called on the sink itself (some are class instances)
    (tee as Record<string, unknown>)[k] = (x: never) => {
      for (const s of takers) (s[k] as (this: AnalyzerSink, v: never) => void).call(s, x);
    };
  }
  return tee;
}
