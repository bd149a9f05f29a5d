/**
 * `keyscope merge`: several `analyze --json` results (files, probes, one job per capture file) read back and added
 * up into the statistics one run over all the traffic would have given, for everything counted per UE (see
 * docs/merge.md for what is exact, what is estimated and what cannot add up).
 *
 * ResultMerger takes the records line by line and validates them (a result is a header record, its records, and a
 * final stats record; several results may follow one another in one stream). It feeds the transactions,
 * diagnostics and anomalies to the same AnalysisCollector `analyze` uses, so the text report is the same renderer.
 */
import type { Severity } from '../common/problem';
import type { PacketTime } from '../common/time';
import { DistinctSketch } from '../correlate/distinct';
import { LATENCY_BUCKETS } from '../correlate/latency-buckets';
import { ackRate, histogramPercentile } from '../correlate/stats';
import type { AckRate, AckRateBucket, AnalysisStats, Diagnostic, Distribution, KeyDeliveryTransaction, MtkRepetition, ProtocolAnomaly } from '../correlate/types';
import { AnalysisCollector } from './analyze-text';
import { RESULTS_FORMAT, RESULTS_VERSION } from './analyze-json';

/** Bad input: not our NDJSON, a truncated result, another version. One line, with the input's name and line. */
export class MergeInputError extends Error {}

type Rec = Record<string, unknown>;

function isObject(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Epoch seconds (a JSON number, microsecond precision at today's epochs) back to a packet time. */
function time(x: unknown): PacketTime {
  const v = typeof x === 'number' && Number.isFinite(x) ? x : 0;
  const tsSec = Math.floor(v);
  let us = Math.round((v - tsSec) * 1e6);
  if (us >= 1e6) us = 999_999;
  return { tsSec, tsNsec: us * 1000 };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const arr = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

/** A transaction record as the collector and the report need it. */
export function transactionFromJson(r: Rec, idPrefix: string): KeyDeliveryTransaction {
  return {
    id: idPrefix + String(r.id),
    procedure: r.procedure as KeyDeliveryTransaction['procedure'],
    variant: (str(r.variant) as KeyDeliveryTransaction['variant']) ?? undefined,
    ue: String(r.ue),
    ueAddresses: arr<string>(r.ueAddresses),
    bmsc: str(r.bmsc),
    btid: str(r.btid),
    requestType: str(r.requestType),
    requestedKeys: arr<string>(r.requested).map((label) => ({ label })),
    deliveredKeys: arr<string>(r.delivered).map((label) => ({ label })),
    serviceIds: arr<string>(r.serviceIds),
    steps: arr<Rec>(r.steps).map((s) => ({
      kind: s.kind as KeyDeliveryTransaction['steps'][number]['kind'],
      frame: num(s.frame),
      time: time(s.ts),
      status: typeof s.status === 'number' ? s.status : undefined,
      carrier: s.carrier === 'udp' || s.carrier === 'http' ? s.carrier : undefined,
      detail: str(s.detail),
    })),
    frames: arr<number>(r.frames),
    stepsDropped: num(r.stepsDropped),
    httpStatuses: arr<number>(r.httpStatuses),
    digest: r.digest as KeyDeliveryTransaction['digest'],
    delivered: r.keysDelivered === true,
    ackRequested: r.ackRequested === true,
    acked: r.acked === true,
    latencies: isObject(r.latencies) ? (r.latencies as KeyDeliveryTransaction['latencies']) : {},
    verdict: r.verdict as KeyDeliveryTransaction['verdict'],
    diagnostics: arr<KeyDeliveryTransaction['diagnostics'][number]>(r.diagnostics),
    start: time(r.start),
    end: time(r.end),
    repetitions: typeof r.repetitions === 'number' ? r.repetitions : undefined,
    closedBy: r.closedBy as KeyDeliveryTransaction['closedBy'],
  };
}

function diagnosticFromJson(r: Rec, idPrefix: string): Diagnostic {
  return {
    code: r.code as Diagnostic['code'],
    severity: r.severity as Severity,
    transaction: typeof r.transaction === 'string' ? idPrefix + r.transaction : undefined,
    ue: str(r.ue),
    frames: arr<number>(r.frames),
    message: String(r.message ?? ''),
    time: time(r.ts),
  };
}

function anomalyFromJson(r: Rec): ProtocolAnomaly {
  return {
    frame: num(r.frame),
    time: time(r.ts),
    problem: { code: String(r.code), severity: r.severity as Severity, layer: String(r.layer ?? ''), message: String(r.message ?? ''), offset: typeof r.offset === 'number' ? r.offset : undefined },
  };
}

function addCounts<K extends string>(into: Partial<Record<K, number>>, from: unknown): void {
  if (!isObject(from)) return;
  for (const [k, v] of Object.entries(from)) into[k as K] = (into[k as K] ?? 0) + num(v);
}

function addRates(into: Record<string, AckRate>, from: unknown): void {
  if (!isObject(from)) return;
  for (const [k, v] of Object.entries(from)) {
    const r = isObject(v) ? v : {};
    const cur = into[k] ?? { requested: 0, acked: 0 };
    into[k] = ackRate(cur.requested + num(r.requested), cur.acked + num(r.acked));
  }
}

function sorted<T>(rec: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(rec).sort()) out[k] = rec[k];
  return out;
}

/** Distributions of one kind across results: counts, sums, min, max and histograms add; percentiles are re-read. */
class DistributionSum {
  private count = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;
  private readonly buckets = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  /** The only non-empty input's distribution (its percentiles are exact), while there is one. */
  private only: Distribution | undefined;
  private nonEmpty = 0;

  add(d: unknown, where: string): void {
    if (!isObject(d) || num(d.count) === 0) return;
    const b = d.buckets;
    if (!Array.isArray(b) || b.length !== this.buckets.length) throw new MergeInputError(`${where}: a latency distribution without the histogram of ${this.buckets.length} buckets`);
    this.nonEmpty++;
    this.only = this.nonEmpty === 1 ? (d as unknown as Distribution) : undefined;
    this.count += num(d.count);
    this.sum += num(d.sum);
    this.min = Math.min(this.min, num(d.min));
    this.max = Math.max(this.max, num(d.max));
    for (let i = 0; i < b.length; i++) this.buckets[i] += num(b[i]);
  }

  result(): Distribution {
    if (this.count === 0) return { count: 0 };
    if (this.only !== undefined) return { ...this.only };
    const p = (q: number) => histogramPercentile(this.buckets, this.count, this.min, this.max, q);
    return {
      count: this.count,
      min: this.min,
      p50: p(0.5),
      p95: p(0.95),
      p99: p(0.99),
      max: this.max,
      mean: this.sum / this.count,
      sum: this.sum,
      buckets: [...this.buckets],
      percentiles: 'histogram',
    };
  }
}

const LATENCY_KINDS = ['challengeToCredentials', 'requestTo200', 'okToMikey', 'mikeyToAck'] as const;

/**
 * Union-find over the UE records of all results, joined on a shared address or B-TID across results (within one
 * result its UE table already decided which entries are one UE).
 */
class UeUnion {
  private readonly parent: number[] = [];
  private readonly keys: string[][] = [];
  private readonly byKey = new Map<string, Map<number, number>>();

  add(result: number, addresses: readonly string[], btids: readonly string[]): void {
    const n = this.parent.length;
    this.parent.push(n);
    const keys = [...addresses.map((a) => `a:${a}`), ...btids.map((b) => `b:${b}`)];
    this.keys.push(keys);
    for (const k of keys) {
      let m = this.byKey.get(k);
      if (!m) {
        m = new Map();
        this.byKey.set(k, m);
      }
      for (const [r, other] of m) if (r !== result) this.union(n, other);
      if (!m.has(result)) m.set(result, n);
    }
  }

  private find(x: number): number {
    while (this.parent[x] !== x) {
      this.parent[x] = this.parent[this.parent[x]];
      x = this.parent[x];
    }
    return x;
  }

  private union(a: number, b: number): void {
    const x = this.find(a);
    const y = this.find(b);
    if (x !== y) this.parent[x] = y;
  }

  get components(): number {
    let n = 0;
    for (let i = 0; i < this.parent.length; i++) if (this.find(i) === i) n++;
    return n;
  }

  /** One UE per component: the first entry's id, every address and B-TID of the component. */
  *merged(ids: readonly string[]): Generator<{ id: string; addresses: string[]; btids: string[] }> {
    const groups = new Map<number, number[]>();
    for (let i = 0; i < this.parent.length; i++) {
      const root = this.find(i);
      const g = groups.get(root);
      if (g) g.push(i);
      else groups.set(root, [i]);
    }
    for (const members of groups.values()) {
      const all = new Set(members.flatMap((i) => this.keys[i]));
      yield { id: ids[members[0]], addresses: [...all].filter((k) => k.startsWith('a:')).map((k) => k.slice(2)), btids: [...all].filter((k) => k.startsWith('b:')).map((k) => k.slice(2)) };
    }
  }
}

export interface MergeOptions {
  /** Worst transactions kept for the report (default 10). */
  worst?: number;
  /** Called with each transaction, diagnostic and anomaly record as read (for `merge --json`). */
  passThrough?: (record: Rec) => void;
}

/** The state of one input while its records are read. */
interface Current {
  name: string;
  capture: string;
  index: number;
  idPrefix: string;
}

export class ResultMerger {
  readonly collector: AnalysisCollector;
  /** Results merged (stats records read). */
  results = 0;
  readonly captures: string[] = [];
  private current: Current | undefined;
  private prefixIds = false;
  private readonly counts = {
    frames: 0,
    transactions: 0,
    ues: 0,
    byProcedure: {} as AnalysisStats['byProcedure'],
    byVerdict: {} as AnalysisStats['byVerdict'],
    byVariant: {} as AnalysisStats['byVariant'],
    diagnostics: {} as AnalysisStats['diagnostics'],
    bySeverity: {} as AnalysisStats['diagnosticsBySeverity'],
    anomalies: {} as Record<string, number>,
    evictedUes: 0,
    evictedTx: 0,
  };
  private readonly ack = { requested: 0, acked: 0 };
  private readonly ackByBmsc: Record<string, AckRate> = {};
  private readonly ackByUe: Record<string, AckRate> = {};
  private readonly ackByGroup: Record<string, AckRate> = {};
  private readonly ackByTime = new Map<number, { requested: number; acked: number }>();
  private bucketSeconds: number | undefined;
  private readonly latency = Object.fromEntries(LATENCY_KINDS.map((k) => [k, new DistributionSum()])) as Record<(typeof LATENCY_KINDS)[number], DistributionSum>;
  private readonly mtk = new Map<string, { keyDomainId: string; mskId: string; messages: number; distinctMtkIds: number; intervals: DistributionSum }>();
  /** MSKs whose MTK statistics an input did not keep (its `mtkMsksNotKept`): summed, as the inputs' `mtk` messages are. */
  private mtkMsksNotKept = 0;
  private first: number | undefined;
  private last: number | undefined;
  private readonly ueUnion = new UeUnion();
  private readonly ueIds: string[] = [];
  private readonly sketch = new DistinctSketch();
  private estimated = false;
  private maxUes = 0;
  private readonly anomalyMeta = new Map<string, { severity: Severity; layer: string; message: string }>();

  constructor(private readonly options: MergeOptions = {}) {
    this.collector = new AnalysisCollector({ worst: options.worst ?? 10 });
  }

  /**
   * Transaction ids and frame numbers belong to their own result: with more than one result the report names a
   * transaction `capture:T12`. Say so before reading when the number of inputs is known.
   */
  set multipleResults(v: boolean) {
    this.prefixIds = v;
  }

  /** One NDJSON line of input `name` (line number `lineNo`, 1-based). Throws MergeInputError on bad input. */
  line(name: string, lineNo: number, text: string): void {
    if (text.trim() === '') return;
    const where = `${name}:${lineNo}`;
    let r: unknown;
    try {
      r = JSON.parse(text);
    } catch {
      throw new MergeInputError(`${where}: not JSON${lineNo > 1 ? ' (a truncated or damaged line?)' : ''}: not keyscope analyze --json output`);
    }
    if (!isObject(r) || typeof r.type !== 'string') throw new MergeInputError(`${where}: not a keyscope analyze --json record`);
    if (r.type === 'header') return this.header(r, name, where);
    const cur = this.current;
    if (cur === undefined) throw new MergeInputError(`${where}: no header record before it: not keyscope analyze --json output (or not from its start)`);
    switch (r.type) {
      case 'transaction':
        this.collector.transaction(transactionFromJson(r, cur.idPrefix));
        this.options.passThrough?.(r);
        return;
      case 'diagnostic':
        this.collector.diagnostic(diagnosticFromJson(r, cur.idPrefix));
        this.options.passThrough?.(r);
        return;
      case 'anomaly': {
        const a = anomalyFromJson(r);
        this.collector.anomaly(a);
        if (!this.anomalyMeta.has(a.problem.code)) this.anomalyMeta.set(a.problem.code, { severity: a.problem.severity, layer: a.problem.layer, message: a.problem.message });
        this.options.passThrough?.(r);
        return;
      }
      case 'ue':
        this.ueUnion.add(cur.index, arr<string>(r.addresses), arr<string>(r.btids));
        this.ueIds.push(String(r.id));
        return;
      case 'stats':
        this.stats(r, cur, where);
        this.current = undefined;
        return;
      default:
        throw new MergeInputError(`${where}: unknown record type ${JSON.stringify(r.type).slice(0, 40)}`);
    }
  }

  /** End of input `name`: a result without its stats record was cut short. */
  end(name: string, lines: number): void {
    if (this.current !== undefined) throw new MergeInputError(`${name}:${lines}: truncated: the result has no stats record (did its analyze run finish?)`);
  }

  private header(r: Rec, name: string, where: string): void {
    if (this.current !== undefined) throw new MergeInputError(`${where}: a new result starts before the previous one's stats record (truncated input)`);
    if (r.format !== RESULTS_FORMAT) throw new MergeInputError(`${where}: not keyscope analyze --json output (format ${JSON.stringify(r.format ?? null).slice(0, 40)})`);
    if (r.version !== RESULTS_VERSION) throw new MergeInputError(`${where}: results format version ${JSON.stringify(r.version ?? null).slice(0, 20)}; this keyscope reads version ${RESULTS_VERSION}`);
    const b = arr<number>(r.latencyBuckets);
    if (b.length !== LATENCY_BUCKETS.length || b.some((x, i) => x !== LATENCY_BUCKETS[i])) throw new MergeInputError(`${where}: latency buckets differ from this keyscope's (another version wrote it)`);
    const capture = str(r.capture) ?? name;
    this.current = { name, capture, index: this.results, idPrefix: this.prefixIds ? `${capture}:` : '' };
  }

  private stats(r: Rec, cur: Current, where: string): void {
    this.results++;
    this.captures.push(cur.capture);
    const c = this.counts;
    c.frames += num(r.frames);
    c.transactions += num(r.transactions);
    c.ues += num(r.ues);
    this.maxUes = Math.max(this.maxUes, num(r.ues));
    if (r.uesEstimated === true) this.estimated = true;
    const sk = str(r.ueSketch);
    const sketch = sk !== undefined ? DistinctSketch.fromBase64(sk) : undefined;
    if (sketch === undefined) throw new MergeInputError(`${where}: stats record without a valid ueSketch`);
    this.sketch.merge(sketch);
    addCounts(c.byProcedure, r.byProcedure);
    addCounts(c.byVerdict, r.byVerdict);
    addCounts(c.byVariant, r.byVariant);
    addCounts(c.diagnostics, r.diagnostics);
    addCounts(c.bySeverity, r.diagnosticsBySeverity);
    addCounts(c.anomalies, r.anomalies);
    const ack = isObject(r.ack) ? r.ack : {};
    this.ack.requested += num(ack.requested);
    this.ack.acked += num(ack.acked);
    addRates(this.ackByBmsc, r.ackByBmsc);
    addRates(this.ackByUe, r.ackByUe);
    addRates(this.ackByGroup, r.ackByKeyGroup);
    const aot = isObject(r.ackOverTime) ? r.ackOverTime : {};
    const bs = num(aot.bucketSeconds);
    if (this.bucketSeconds !== undefined && bs !== this.bucketSeconds)
      throw new MergeInputError(`${where}: ACK-rate time buckets of ${bs} s, the results before had ${this.bucketSeconds} s (analyze them with the same option)`);
    this.bucketSeconds = bs;
    for (const b of arr<Rec>(aot.buckets)) {
      const start = num(b.start);
      const cur0 = this.ackByTime.get(start) ?? { requested: 0, acked: 0 };
      cur0.requested += num(b.requested);
      cur0.acked += num(b.acked);
      this.ackByTime.set(start, cur0);
    }
    const lat = isObject(r.latency) ? r.latency : {};
    for (const k of LATENCY_KINDS) this.latency[k].add(lat[k], `${where}: latency.${k}`);
    for (const m of arr<Rec>(r.mtk)) {
      const kd = String(m.keyDomainId);
      const msk = String(m.mskId);
      const key = `${kd}:${msk}`;
      const e = this.mtk.get(key) ?? { keyDomainId: kd, mskId: msk, messages: 0, distinctMtkIds: 0, intervals: new DistributionSum() };
      e.messages += num(m.messages);
      // the MTK IDs themselves are not in the result: the largest count is a lower bound of the union
      e.distinctMtkIds = Math.max(e.distinctMtkIds, num(m.distinctMtkIds));
      e.intervals.add(m.intervals, `${where}: mtk ${key}`);
      this.mtk.set(key, e);
    }
    this.mtkMsksNotKept += num(r.mtkMsksNotKept);
    const ev = isObject(r.evicted) ? r.evicted : {};
    c.evictedUes += num(ev.ues);
    c.evictedTx += num(ev.transactions);
    if (typeof r.first === 'number') this.first = this.first === undefined ? r.first : Math.min(this.first, r.first);
    if (typeof r.last === 'number') this.last = this.last === undefined ? r.last : Math.max(this.last, r.last);
  }

  /**
   * Distinct UEs of all results: exact (UE records joined on a shared address or B-TID across results) when every
   * result counted its UEs exactly; else the union of the results' HyperLogLog sketches (≈1.6 %).
   */
  private distinctUes(): { count: number; estimated: boolean } {
    if (this.results <= 1) return { count: this.counts.ues, estimated: this.estimated };
    if (!this.estimated) return { count: this.ueUnion.components, estimated: false };
    const e = Math.round(this.sketch.estimate());
    return { count: Math.min(this.counts.ues, Math.max(this.maxUes, e)), estimated: true };
  }

  /** The merged statistics, in analyze's AnalysisStats shape. */
  mergedStats(): AnalysisStats {
    const c = this.counts;
    const ues = this.distinctUes();
    const buckets: AckRateBucket[] = [...this.ackByTime.entries()].sort((a, b) => a[0] - b[0]).map(([start, r]) => ({ start, ...ackRate(r.requested, r.acked) }));
    const mtk: MtkRepetition[] = [...this.mtk.values()]
      .map((m) => ({ keyDomainId: m.keyDomainId, mskId: m.mskId, messages: m.messages, distinctMtkIds: m.distinctMtkIds, intervals: m.intervals.result() }))
      .sort((a, b) => (a.keyDomainId + a.mskId).localeCompare(b.keyDomainId + b.mskId));
    const s: AnalysisStats = {
      frames: c.frames,
      transactions: c.transactions,
      ues: ues.count,
      byProcedure: { ...c.byProcedure },
      byVerdict: { ...c.byVerdict },
      byVariant: { ...c.byVariant },
      diagnostics: { ...c.diagnostics },
      diagnosticsBySeverity: { ...c.bySeverity },
      anomalies: { ...c.anomalies },
      ack: ackRate(this.ack.requested, this.ack.acked),
      ackByBmsc: sorted(this.ackByBmsc),
      ackByUe: sorted(this.ackByUe),
      ackByKeyGroup: sorted(this.ackByGroup),
      ackOverTime: { bucketSeconds: this.bucketSeconds ?? 60, buckets },
      latency: {
        challengeToCredentials: this.latency.challengeToCredentials.result(),
        requestTo200: this.latency.requestTo200.result(),
        okToMikey: this.latency.okToMikey.result(),
        mikeyToAck: this.latency.mikeyToAck.result(),
      },
      mtk,
      evicted: { ues: c.evictedUes, transactions: c.evictedTx },
    };
    if (ues.estimated) s.uesEstimated = true;
    // as analyze writes it: only when an input left some out (the key order of analyze's stats record)
    if (this.mtkMsksNotKept > 0) s.mtkMsksNotKept = this.mtkMsksNotKept;
    if (this.first !== undefined) s.first = time(this.first);
    if (this.last !== undefined) s.last = time(this.last);
    return s;
  }

  /** The UEs of all results, one per UE as merge counts them (the ue records of a merged result). */
  mergedUes(): Iterable<{ id: string; addresses: string[]; btids: string[] }> {
    return this.ueUnion.merged(this.ueIds);
  }

  /** The union of the results' distinct-UE sketches (base64), for a merged stats record. */
  sketchBase64(): string {
    return this.sketch.toBase64();
  }

  /**
   * Anomaly codes counted in the stats but never listed (chat-level ones are not written as records): the report
   * still names them, without example frames.
   */
  completeAnomalyExamples(): void {
    for (const code of Object.keys(this.counts.anomalies)) {
      if (this.collector.anomalyExamples.has(code)) continue;
      const meta = this.anomalyMeta.get(code) ?? { severity: 'chat' as Severity, layer: '', message: '(no records in the results: chat-level anomalies are counted, not listed)' };
      this.collector.anomalyExamples.set(code, { ...meta, frames: [] });
    }
  }
}
