/**
 * What the dashboard shows, kept apart from the screen so it can be checked without a terminal: a CorrelatorSink
 * that keeps the newest and the worst transactions, the newest diagnostics and per-BM-SC / per-key-group tallies,
 * each bounded, plus the figures derived from the correlator's own statistics (ACK-rate points, latency rows).
 * Counters on the dashboard always come from the correlator's AnalysisStats, so they match `keyscope analyze`.
 */
import { isIP } from 'node:net';
import type { Severity } from '../common/problem';
import { compareTime, diffSeconds, toEpochSeconds } from '../common/time';
import type { CorrelatorSink } from '../correlate/correlator';
import type { AckRateBucket, AnalysisStats, Diagnostic, Distribution, KeyDeliveryTransaction, ProtocolAnomaly } from '../correlate/types';

export type TransactionOrder = 'newest' | 'worst';

export interface DashboardModelOptions {
  /** Newest transactions kept (default 1000). */
  maxTransactions?: number;
  /** Worst transactions kept (default 200). */
  maxWorst?: number;
  /** Newest diagnostics kept (default 1000). */
  maxDiagnostics?: number;
  /** BM-SC and key-group rows kept each (default 500); more are folded into `(other)`. */
  maxGroupRows?: number;
}

/** A fixed-size ring: the newest `capacity` items, oldest first. */
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private size = 0;
  /** Items ever pushed. */
  total = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(Math.max(1, capacity));
  }

  push(item: T): void {
    const cap = this.items.length;
    this.items[(this.head + this.size) % cap] = item;
    if (this.size < cap) this.size++;
    else this.head = (this.head + 1) % cap;
    this.total++;
  }

  get length(): number {
    return this.size;
  }

  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.items[(this.head + i) % this.items.length] as T);
    return out;
  }
}

const VERDICT_RANK = { ok: 0, incomplete: 1, degraded: 2, failed: 3 } as const;

/** Worse first: verdict, then number of diagnostics, then duration (the order `analyze` lists its worst with). */
export function compareWorst(a: KeyDeliveryTransaction, b: KeyDeliveryTransaction): number {
  return (
    VERDICT_RANK[b.verdict] - VERDICT_RANK[a.verdict] ||
    b.diagnostics.length - a.diagnostics.length ||
    diffSeconds(b.start, b.end) - diffSeconds(a.start, a.end)
  );
}

export interface GroupTally {
  transactions: number;
  failed: number;
  degraded: number;
}

/** Key group of a key label `kd:kg:kn[:mtk=…]` → `kd:kg`, the correlator's key for ACK rates by key group. */
export function keyGroupOf(label: string): string {
  // the label up to its second colon (no array per label: this runs for every key of every transaction)
  const first = label.indexOf(':');
  const second = first < 0 ? -1 : label.indexOf(':', first + 1);
  return second < 0 ? label : label.slice(0, second);
}

/**
 * A filter that is a whole IP address matches addresses exactly: `127.82.0.2` must not select 127.82.0.20–29.
 * Anything else (part of an address, a B-TID, a key group) matches as a substring.
 */
function isAddress(q: string): boolean {
  return isIP(q) !== 0;
}

/** `text` names the address `addr` as a whole (not as the start of a longer address or number). */
export function mentionsAddress(text: string, addr: string): boolean {
  const t = text.toLowerCase();
  let from = 0;
  for (;;) {
    const i = t.indexOf(addr, from);
    if (i < 0) return false;
    const before = i > 0 ? t[i - 1] : '';
    const after = t.slice(i + addr.length, i + addr.length + 2);
    if (!/[0-9a-f:.]/.test(before) && !/^([0-9a-f:]|\.[0-9])/.test(after)) return true;
    from = i + 1;
  }
}

/** Case-insensitive match of a filter on a transaction's UE addresses, B-TID, key groups, BM-SC or id. */
export function transactionMatches(t: KeyDeliveryTransaction, filter: string): boolean {
  const q = filter.trim().toLowerCase();
  if (q.length === 0) return true;
  if (isAddress(q)) {
    const same = (s: string | undefined) => s !== undefined && s.toLowerCase() === q;
    return same(t.ue) || same(t.bmsc) || t.ueAddresses.some(same);
  }
  const has = (s: string | undefined) => s !== undefined && s.toLowerCase().includes(q);
  if (has(t.ue) || has(t.btid) || has(t.bmsc) || t.id.toLowerCase() === q) return true;
  if (t.ueAddresses.some(has)) return true;
  return t.requestedKeys.some((k) => has(k.label)) || t.deliveredKeys.some((k) => has(k.label));
}

export interface AckPoint {
  /** Point start, epoch seconds. */
  start: number;
  /** Seconds the point covers. */
  seconds: number;
  requested: number;
  acked: number;
  /** Percent, 0…100; null when no ACK was requested in the span (no deliveries: not 0 %, not 100 %, no rate). */
  rate: number | null;
}

/**
 * The correlator's ACK buckets merged into at most `maxPoints` points of whole multiples of the bucket width
 * (sums of requested and ACKed, so every point's rate is exact for its span). The points are per time: a span
 * without any ACK requested between the first and the last one is a point of its own with rate null, so a quiet
 * minute keeps its place on the x axis instead of vanishing.
 */
export function ackPoints(over: AnalysisStats['ackOverTime'], maxPoints: number): AckPoint[] {
  const buckets = over.buckets.filter((b: AckRateBucket) => Number.isFinite(b.start) && b.requested > 0);
  if (buckets.length === 0 || maxPoints < 1) return [];
  const width = over.bucketSeconds;
  const first = buckets[0].start;
  const last = buckets[buckets.length - 1].start;
  const span = last - first + width;
  const factor = Math.max(1, Math.ceil(span / width / maxPoints));
  const step = width * factor;
  const points: AckPoint[] = [];
  for (const b of buckets) {
    const start = first + Math.floor((b.start - first) / step) * step;
    let p = points[points.length - 1];
    if (!p || p.start !== start) {
      p = { start, seconds: step, requested: 0, acked: 0, rate: null };
      points.push(p);
    }
    p.requested += b.requested;
    p.acked += b.acked;
  }
  // every step between the first and the last, empty ones included (bounded: span / step ≤ maxPoints)
  const out: AckPoint[] = [];
  let k = 0;
  for (let start = first; start <= last && out.length < maxPoints; start += step) {
    const p = points[k]?.start === start ? points[k++] : { start, seconds: step, requested: 0, acked: 0, rate: null };
    p.rate = p.requested > 0 ? (100 * p.acked) / p.requested : null;
    out.push(p);
  }
  return out;
}

export interface LatencyRow {
  /** Short step name. */
  step: string;
  distribution: Distribution;
}

export function latencyRows(stats: AnalysisStats): LatencyRow[] {
  return [
    { step: '401 → credentials', distribution: stats.latency.challengeToCredentials },
    { step: 'request → 200', distribution: stats.latency.requestTo200 },
    { step: '200 → MIKEY', distribution: stats.latency.okToMikey },
    { step: 'MIKEY → ACK', distribution: stats.latency.mikeyToAck },
  ];
}

export class DashboardModel implements CorrelatorSink {
  readonly newest: Ring<KeyDeliveryTransaction>;
  readonly diagnostics: Ring<Diagnostic>;
  /** Worst first. */
  readonly worst: KeyDeliveryTransaction[] = [];
  readonly byBmsc = new Map<string, GroupTally>();
  readonly byKeyGroup = new Map<string, GroupTally>();
  readonly anomaliesBySeverity: Partial<Record<Severity, number>> = {};
  /** Bumped on every change, so a view redraws only when something happened. */
  version = 0;
  private readonly maxWorst: number;
  private readonly maxGroupRows: number;

  constructor(options: DashboardModelOptions = {}) {
    this.newest = new Ring(options.maxTransactions ?? 1000);
    this.diagnostics = new Ring(options.maxDiagnostics ?? 1000);
    this.maxWorst = options.maxWorst ?? 200;
    this.maxGroupRows = options.maxGroupRows ?? 500;
  }

  transaction(t: KeyDeliveryTransaction): void {
    this.version++;
    this.newest.push(t);
    this.insertWorst(t);
    if (t.bmsc !== undefined) this.tally(this.byBmsc, t.bmsc, t);
    const groups = new Set<string>();
    for (const k of t.requestedKeys) groups.add(keyGroupOf(k.label));
    for (const k of t.deliveredKeys) groups.add(keyGroupOf(k.label));
    for (const g of groups) this.tally(this.byKeyGroup, g, t);
  }

  diagnostic(d: Diagnostic): void {
    this.version++;
    this.diagnostics.push(d);
  }

  anomaly(a: ProtocolAnomaly): void {
    const s = a.problem.severity;
    this.anomaliesBySeverity[s] = (this.anomaliesBySeverity[s] ?? 0) + 1;
  }

  /** What is kept now, as a fixed set of records the view can show (and hold on to while paused). */
  kept(): KeptRecords {
    return new KeptRecords(
      this.newest.toArray(),
      this.worst.slice(),
      this.diagnostics.toArray(),
      this.diagnostics.total,
      new Map(this.byBmsc),
      new Map(this.byKeyGroup),
      this.newest.total,
    );
  }

  /** Transactions in display order, filtered. */
  transactions(order: TransactionOrder, filter = ''): KeyDeliveryTransaction[] {
    return this.kept().transactions(order, filter);
  }

  diagnosticList(filter = ''): Diagnostic[] {
    return this.kept().diagnosticList(filter);
  }

  findTransaction(id: string): KeyDeliveryTransaction | undefined {
    return this.kept().findTransaction(id);
  }

  private insertWorst(t: KeyDeliveryTransaction): void {
    if (t.verdict === 'ok' || this.maxWorst <= 0) return;
    const w = this.worst;
    // the common case on a bad capture: no worse than the last kept one, so nothing to do
    if (w.length >= this.maxWorst && compareWorst(t, w[w.length - 1]) >= 0) return;
    let i = w.length;
    while (i > 0 && compareWorst(t, w[i - 1]) < 0) i--;
    if (i >= this.maxWorst) return;
    w.splice(i, 0, t);
    if (w.length > this.maxWorst) w.pop();
  }

  private tally(map: Map<string, GroupTally>, key: string, t: KeyDeliveryTransaction): void {
    let row = map.get(key);
    if (!row) {
      if (map.size >= this.maxGroupRows) key = '(other)';
      row = map.get(key);
      if (!row) {
        row = { transactions: 0, failed: 0, degraded: 0 };
        map.set(key, row);
      }
    }
    row.transactions++;
    if (t.verdict === 'failed') row.failed++;
    else if (t.verdict === 'degraded') row.degraded++;
  }
}

/** The kept records at one moment (references to the immutable records, so taking one is cheap). */
export class KeptRecords {
  constructor(
    /** Oldest first. */
    readonly newest: readonly KeyDeliveryTransaction[],
    /** Worst first. */
    readonly worst: readonly KeyDeliveryTransaction[],
    /** Oldest first. */
    readonly diagnostics: readonly Diagnostic[],
    /** Diagnostics ever received. */
    readonly diagnosticsSeen: number,
    readonly byBmsc: ReadonlyMap<string, GroupTally>,
    readonly byKeyGroup: ReadonlyMap<string, GroupTally>,
    /** Transactions ever received (closed ones: open transactions reach the dashboard when they close). */
    readonly transactionsSeen = newest.length,
  ) {}

  /** Transactions in display order (newest by start time, or worst first), filtered. */
  transactions(order: TransactionOrder, filter = ''): KeyDeliveryTransaction[] {
    const list = order === 'worst' ? this.worst.slice() : [...this.newest].sort((a, b) => compareTime(b.start, a.start) || b.id.localeCompare(a.id, 'en', { numeric: true }));
    return filter.trim() === '' ? list : list.filter((t) => transactionMatches(t, filter));
  }

  /**
   * Diagnostics newest first by packet time (a timeout's finding arrives after later frames' findings), ties newest
   * arrival first; filtered (a diagnostic matches through its UE, its transaction or its message).
   */
  diagnosticList(filter = ''): Diagnostic[] {
    const list = [...this.diagnostics].reverse().sort((a, b) => compareTime(b.time, a.time));
    const q = filter.trim().toLowerCase();
    if (q === '') return list;
    const address = isAddress(q);
    return list.filter((d) => {
      if (address ? d.ue?.toLowerCase() === q || mentionsAddress(d.message, q) : d.ue?.toLowerCase().includes(q) || d.message.toLowerCase().includes(q)) return true;
      const t = d.transaction !== undefined ? this.findTransaction(d.transaction) : undefined;
      return t !== undefined && transactionMatches(t, q);
    });
  }

  /** A kept transaction by id (the newest, then the worst). */
  findTransaction(id: string): KeyDeliveryTransaction | undefined {
    for (let i = this.newest.length - 1; i >= 0; i--) if (this.newest[i].id === id) return this.newest[i];
    return this.worst.find((t) => t.id === id);
  }

  /** Kept diagnostics of one transaction, oldest first. */
  diagnosticsOf(id: string): Diagnostic[] {
    return this.diagnostics.filter((d) => d.transaction === id);
  }
}

/** Packet-time rate: frames per second of capture time over the last `seconds` of capture time. */
export class PacketRate {
  private readonly slots: number[];
  private head = -Infinity;
  private firstSec = -Infinity;

  constructor(private readonly seconds = 5) {
    this.slots = new Array<number>(seconds + 1).fill(0);
  }

  add(epochSeconds: number): void {
    const sec = Math.floor(epochSeconds);
    if (!Number.isFinite(sec)) return;
    if (this.firstSec === -Infinity) this.firstSec = sec;
    if (sec > this.head) {
      const steps = this.head === -Infinity ? this.slots.length : Math.min(sec - this.head, this.slots.length);
      for (let k = 1; k <= steps; k++) this.slots[(((sec - steps + k) % this.slots.length) + this.slots.length) % this.slots.length] = 0;
      this.head = sec;
    }
    // frames that step back in time count in the newest second: the rate is a display figure, not a statistic
    this.slots[((this.head % this.slots.length) + this.slots.length) % this.slots.length]++;
  }

  /** Frames per second over the completed seconds of the window (all seconds seen, when fewer). */
  rate(): number {
    if (this.head === -Infinity) return 0;
    const complete = Math.min(this.seconds, this.head - this.firstSec);
    const len = this.slots.length;
    if (complete <= 0) return this.slots[((this.head % len) + len) % len];
    let n = 0;
    for (let k = 1; k <= complete; k++) n += this.slots[(((this.head - k) % len) + len) % len];
    return n / complete;
  }
}

/** Average frame rate over a capture's time span. */
export function averageRate(stats: AnalysisStats): number {
  if (!stats.first || !stats.last) return 0;
  const span = toEpochSeconds(stats.last) - toEpochSeconds(stats.first);
  return span > 0 ? stats.frames / span : stats.frames;
}
