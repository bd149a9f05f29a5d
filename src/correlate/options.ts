/**
 * The correlator's options and limits, each named once with its default (the CLI's --ack-timeout, --max-ues, … set
 * the options; the limits bound state that no option reaches yet).
 */
import type { TransactionIdSequence } from './transactions';

export interface CorrelatorOptions {
  /** Transaction ids (default T1, T2, …; `analyze --shard K/N`: TK, TK+N, …). */
  transactionIds?: TransactionIdSequence;
  /** Seconds a V-flagged MSK message waits for its ACK (default 10). */
  ackTimeout?: number;
  /** Seconds after a 200 OK to an MSK request within which the MIKEY delivery must come (default 10). */
  deliveryTimeout?: number;
  /** Seconds an HTTP request waits for its response, and a solicited-pull trigger for the UE's request (default 30). */
  pullTimeout?: number;
  /** Request storm: this many distinct UEs starting MSK requests (default 50) within this many seconds (default 1). */
  stormUes?: number;
  stormWindow?: number;
  /** ACK rate over time: bucket width in seconds (default 60). */
  bucketSeconds?: number;
  /** UEs remembered at most (default 1 800, from DEFAULT_MAX_MEMORY_MB): the least recently seen is forgotten. */
  maxUes?: number;
  /** Open transactions at most (default 1 400, from DEFAULT_MAX_MEMORY_MB): the oldest is closed early (`evicted`). */
  maxOpenTransactions?: number;
  /** Steps kept per transaction (default 64); more are counted in stepsDropped. */
  maxSteps?: number;
  /** MIKEY messages remembered for matching ACKs (by CSB ID and counter, and by frame); the oldest goes first. */
  maxAckIndex?: number;
  /** Last MSK counters remembered per MUK (counter replay and jumps); the least recently used goes first. */
  maxMukCounters?: number;
  /** Rows of the per-UE and per-time-bucket ACK tables; more are folded into `(other)`. */
  maxAckTableRows?: number;
  /**
   * Estimated bytes of findings held for the loss look-back (lossHoldSeconds) at most: each counts HELD_FINDING_COST
   * plus HELD_FINDING_FRAME_COST per frame it cites plus its message's length; past it the oldest is emitted early.
   */
  maxHeldFindingBytes?: number;
  /** HTTP connections remembered (their client and server, and the loss signals' latest message time); the least recently used goes first. */
  maxConnections?: number;
  /** Samples kept per latency kind (a deterministic reservoir beyond it: count, sum, min, max and histogram stay exact). */
  maxLatencySamples?: number;
  /** MTK streams followed at once (one per MSK, with the MTK ID interval its MSK delivery set); the oldest goes first. */
  maxMtkStreams?: number;
  /** MSKs with MTK statistics (messages, distinct MTK IDs, repetition intervals); statistics of MSKs past it are not kept. */
  maxMtkStatistics?: number;
  /**
   * Seconds after a span of capture loss (packets the capture engine dropped, or bytes a TCP stream is missing) during
   * which findings carry the "possibly capture loss" caveat instead of accusing the UE or the BM-SC (default: the
   * longest of ackTimeout, deliveryTimeout and pullTimeout — a lost answer surfaces as a timeout that long after).
   */
  lossMarginSeconds?: number;
  /**
   * Seconds before a span of capture loss in which findings are qualified too: a TCP stream's missing bytes are known
   * only once later packets prove them (an ACK, a FIN), a little after a finding they caused. Findings are therefore
   * held this long in packet time before they are emitted (default DEFAULT_LOSS_LOOKBACK_SECONDS; 0 emits at once).
   * It is also how late a span the traffic itself shows (a TCP gap, an MSK counter jump, …) may become known and still
   * qualify a finding: a span known more than this after a finding's time leaves it bare, however long the finding is
   * held — so the caveat depends on packet times only, and `live` (which holds longer, lossHoldSeconds) and `analyze`
   * of the same frames agree on it.
   */
  lossLookbackSeconds?: number;
  /**
   * Seconds of packet time findings are held before they are emitted (default: lossLookbackSeconds; less is raised to
   * it). Longer only for a live capture whose engine reports its own loss spans late (tcpdump's drop counters come
   * once a stats interval): such a span qualifies any finding still held; spans the traffic shows follow
   * lossLookbackSeconds whatever the hold.
   */
  lossHoldSeconds?: number;
}

/**
 * Default of lossLookbackSeconds: a gap is proven within milliseconds of the finding it caused on a LAN (110 µs in the
 * cut simulator capture of capture-loss.test.ts); a live finding shows this much later.
 */
export const DEFAULT_LOSS_LOOKBACK_SECONDS = 0.25;

/** The default of lossMarginSeconds: the longest deadline a lost packet can surface through. */
export function defaultLossMargin(o: Pick<ResolvedOptions, 'ackTimeout' | 'deliveryTimeout' | 'pullTimeout'>): number {
  return Math.max(o.ackTimeout, o.deliveryTimeout, o.pullTimeout);
}

/**
 * Measured heap cost of one item of each budgeted kind, in bytes (Node 20, x64; measured with heap snapshots
 * on the adversarial push captures of test/correlate/adversarial.ts, see docs/memory-budgets.md). Each is the cost
 * of an item filled to its LIMITS (the worst case the capture can make), rounded up, so that state at its bounds
 * fits the budget whatever the capture.
 */
export const ITEM_COSTS = {
  /** An open transaction with its step, deadline, times and the ACK-index record of its delivery. */
  openTransaction: 2_000,
  /**
   * A UE with its table entries, a few addresses and B-TIDs, and LIMITS.deliveriesPerUe deliveries remembered
   * (≈ 270 B each: the delivery record, its time, the map entry; its IDr shared with the UE's other deliveries).
   * Measured: 300 k pushes over 20 k UEs (15 deliveries each) hold ≈ 4.2 KB per UE, so ≈ 4.5 KB at 16; but the worst
   * UE table (every UE past 16 deliveries, 20 pushes each) holds ≈ 6.5 KB more live heap per UE (1 000 → 3 700 UEs:
   * 14.1 → 31.7 MB), so 6.5 KB: at 5 KB the table overran its share and the worst case with full pipeline state
   * peaked at 224–233 MB of the 250.
   */
  ue: 6_500,
  /** A MIKEY message in the ACK index (both maps) once its transaction has closed. */
  ackIndexEntry: 300,
  /** A per-MUK counter (its key is the IDi and IDr). */
  mukCounter: 250,
  /** A row of the per-UE ACK table. */
  ackTableRow: 120,
  /**
   * One byte of held findings as the correlator estimates it (HELD_FINDING_COST + HELD_FINDING_FRAME_COST per frame +
   * the message's length): the estimate is of the heap they keep alive, so one.
   */
  heldFindingByte: 1,
  /**
   * An HTTP connection in both connection maps (the HTTP rules' client and server, the loss signals' latest message
   * time). Measured: 199 B on the 301 k-frame bench mix (20 580 connections, IPv4, maps at 63 % load); 300 B leaves
   * room for IPv6 addresses (two 39-character strings) and a map just past a doubling.
   */
  connection: 300,
  /** A latency sample: a double in a growing array (8 B, up to 1.5× that just after the array grew). */
  latencySample: 12,
  /**
   * An MSK's MTK statistics at their LIMITS: the distinct-ID set at LIMITS.mtkIdsPerMsk and the interval samples at
   * LIMITS.mtkSamplesPerMsk, scaled from what was measured at 1 024 IDs (20.5 KB) and 4 096 doubles (35.5 KB, 49 KB
   * just after the array grew): 10.3 KB + 6.1 KB, and the record with its map entry, rounded up. The per-MSK caps are
   * kept small so that the budget holds statistics for a few dozen MSKs (a lab run rotates MSKs), not a handful.
   */
  mtkStatistics: 20_000,
  /**
   * An MTK stream followed (its record with the last message's digest and the MTK ID interval of its MSK; its open
   * transaction counts among the open transactions). Estimate.
   */
  mtkStream: 1_000,
} as const;

/**
 * Held findings' estimated size (maxHeldFindingBytes): per finding, beside its message's length and its frames.
 * Measured on the 301 k-frame bench mix with every finding held (14 490 findings, 2.2 frames and 96 message characters
 * on average): 546 B each, so ≈ 430 B beside the message and the frames; rounded up.
 */
export const HELD_FINDING_COST = 450;
/** Per frame a held finding cites (an element of its frames array). */
export const HELD_FINDING_FRAME_COST = 8;

/**
 * The memory the defaults are sized for, in MB of peak resident set size (`--max-memory` when not given): every
 * adversarial capture of test/correlate/budget.test.ts and test/pipeline/budget.test.ts stays within it.
 */
export const DEFAULT_MAX_MEMORY_MB = 250;
/**
 * Resident memory that is not state, in MB, measured: Node and the loaded program (≈ 80 MB resident after a run over
 * a tiny capture), the young generation a busy run fills (two 16 MB semi-spaces), the capture reader's buffers and
 * the report sinks.
 */
export const MEMORY_RESERVE_MB = 130;
/** The smallest --max-memory: below it the reserve leaves nothing to work with. */
export const MIN_MAX_MEMORY_MB = 120;
/**
 * Live state as a share of what the reserve leaves: the rest is the old generation's garbage between two full
 * collections (bin/keyscope.js lets it grow by HEAP_GROWING_PERCENT over the live heap) and its fragmentation —
 * measured, each MB of live state costs ≈ 1.8–2 MB of resident memory on an idle machine, and more on a busy one
 * (the marker gets less CPU, so more garbage piles up before a collection ends). At 0.36 the budget tests' worst
 * case (100 k never-closed flows and the worst UE table in one run) peaked at 223–259 MB with a load average of 7–9 on
 * 2 cores; at 0.30, 235–250 MB, and 225 MB with the marking on the main thread (bin/keyscope.js): docs/memory-budgets.md.
 */
export const LIVE_SHARE = 0.3;
/**
 * How the live state is split between the correlator (its bounds: budgetFromMemory below) and the dissection pipeline
 * (open TCP connections with their HTTP parsers, held frames, out-of-order TCP data, IP fragments:
 * src/pipeline/memory-budget.ts). Both can be full at once — a capture can hold connections open while it pushes to
 * many UEs — so the two shares add up to one.
 */
export const STATE_SHARES = { correlator: 0.6, pipeline: 0.4 } as const;

/** Bytes of live state `megabytes` of --max-memory leave to `part` (the correlator or the dissection pipeline). */
export function liveStateBytes(megabytes: number, part: keyof typeof STATE_SHARES): number {
  return Math.max(0, megabytes - MEMORY_RESERVE_MB) * 1024 * 1024 * LIVE_SHARE * STATE_SHARES[part];
}

/**
 * Shares of the correlator's live-state budget: open transactions, UEs, ACK index, MUK counters, ACK table rows, held
 * findings, HTTP connections, latency samples, MTK statistics and streams. They add up to one (worst case of every kind
 * at once fits the correlator's share).
 */
export const BUDGET_SHARES = {
  openTransaction: 0.125,
  ue: 0.52,
  ackIndexEntry: 0.06,
  mukCounter: 0.0625,
  ackTableRow: 0.03,
  heldFindingByte: 0.07,
  connection: 0.05,
  latencySample: 0.0475,
  mtkStatistics: 0.03,
  mtkStream: 0.005,
} as const;

/** Latency kinds with samples (challenge → credentials, request → 200, 200 → MIKEY, MIKEY → ACK): the samples' share is split between them. */
export const LATENCY_KINDS = 4;

/**
 * Floors of the derived bounds, so that the smallest budget still works: 100 of each counted kind, except the MTK
 * statistics (each costs ITEM_COSTS.mtkStatistics, 20 KB), 64 KiB of held findings and 1 000 samples per latency kind.
 */
const MIN_BOUND = 100;
const MIN_MTK_STATISTICS = 2;
const MIN_HELD_FINDING_BYTES = 64 * 1024;
const MIN_LATENCY_SAMPLES = 1_000;

export type MemoryBudget = Required<
  Pick<CorrelatorOptions, 'maxUes' | 'maxOpenTransactions' | 'maxAckIndex' | 'maxMukCounters' | 'maxAckTableRows' | 'maxHeldFindingBytes' | 'maxConnections' | 'maxLatencySamples' | 'maxMtkStreams' | 'maxMtkStatistics'>
>;

/** Two significant digits, rounded down: a bound a person can read and remember. */
export function roundDown(n: number): number {
  if (n < 100) return Math.floor(n);
  const unit = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.floor(n / unit) * unit;
}

/**
 * The correlator's state bounds that fit `megabytes` of memory: (MB − reserve) × live share × the correlator's share,
 * split by BUDGET_SHARES and divided by ITEM_COSTS, rounded down to two significant digits. Options given explicitly (--max-ues, --max-transactions)
 * win over the derived ones. The correlator's defaults are budgetFromMemory(DEFAULT_MAX_MEMORY_MB).
 */
export function budgetFromMemory(megabytes: number): MemoryBudget {
  const live = liveStateBytes(megabytes, 'correlator');
  const items = (k: keyof typeof ITEM_COSTS): number => (live * BUDGET_SHARES[k]) / ITEM_COSTS[k];
  const n = (k: keyof typeof ITEM_COSTS, min = MIN_BOUND): number => Math.max(min, roundDown(items(k)));
  return {
    maxOpenTransactions: n('openTransaction'),
    maxUes: n('ue'),
    maxAckIndex: n('ackIndexEntry'),
    maxMukCounters: n('mukCounter'),
    maxAckTableRows: n('ackTableRow'),
    maxHeldFindingBytes: Math.max(MIN_HELD_FINDING_BYTES, Math.floor(items('heldFindingByte'))),
    maxConnections: n('connection'),
    maxLatencySamples: Math.max(MIN_LATENCY_SAMPLES, roundDown(items('latencySample') / LATENCY_KINDS)),
    maxMtkStreams: n('mtkStream'),
    maxMtkStatistics: n('mtkStatistics', MIN_MTK_STATISTICS),
  };
}

const DEFAULT_BUDGET = budgetFromMemory(DEFAULT_MAX_MEMORY_MB);

/** The defaults; the state bounds are those of the default memory budget (budgetFromMemory(DEFAULT_MAX_MEMORY_MB)). */
export const CORRELATOR_DEFAULTS = {
  ackTimeout: 10,
  deliveryTimeout: 10,
  pullTimeout: 30,
  stormUes: 50,
  stormWindow: 1,
  bucketSeconds: 60,
  maxUes: DEFAULT_BUDGET.maxUes,
  maxOpenTransactions: DEFAULT_BUDGET.maxOpenTransactions,
  maxSteps: 64,
  maxAckIndex: DEFAULT_BUDGET.maxAckIndex,
  maxMukCounters: DEFAULT_BUDGET.maxMukCounters,
  maxAckTableRows: DEFAULT_BUDGET.maxAckTableRows,
  maxHeldFindingBytes: DEFAULT_BUDGET.maxHeldFindingBytes,
  maxConnections: DEFAULT_BUDGET.maxConnections,
  maxLatencySamples: DEFAULT_BUDGET.maxLatencySamples,
  maxMtkStreams: DEFAULT_BUDGET.maxMtkStreams,
  maxMtkStatistics: DEFAULT_BUDGET.maxMtkStatistics,
} as const;

export type ResolvedOptions = { -readonly [K in keyof typeof CORRELATOR_DEFAULTS]: number };

/** Options given, the defaults for the rest (a value that is not a positive finite number counts as not given). */
export function resolveOptions(options: CorrelatorOptions): ResolvedOptions {
  const o: ResolvedOptions = { ...CORRELATOR_DEFAULTS };
  for (const k of Object.keys(CORRELATOR_DEFAULTS) as (keyof ResolvedOptions)[]) {
    const v = options[k];
    if (v !== undefined && Number.isFinite(v) && v > 0) o[k] = v;
  }
  return o;
}

/**
 * Limits on state no option sets: each bounds one map or list, the oldest entry going first. Each is per item of a
 * kind that --max-memory bounds (per UE, per transaction, per MSK, …) or a small fixed table; what grows with the
 * capture is bounded by the options above, derived from --max-memory.
 */
export const LIMITS = {
  /** Addresses and B-TIDs remembered per UE. */
  addressesPerUe: 8,
  /** Frames cited by one diagnostic. */
  framesPerDiagnostic: 64,
  /** Spans of capture loss remembered (a span that only extends the previous one merges into it); the oldest goes first. */
  lossWindows: 1024,
  /** Frames listed per transaction. */
  framesPerTransaction: 1024,
  /** Keys, key groups, HTTP statuses and service IDs listed per transaction. */
  listPerTransaction: 64,
  /** MSK deliveries remembered per UE (repeated-delivery): a UE holds two MSKs per key group, of a few groups. */
  deliveriesPerUe: 16,
  /** Key groups remembered per UE (held MSKs). */
  groupsPerUe: 32,
  /** Distinct MTK IDs counted per MSK (a count at this bound means "at least"). */
  mtkIdsPerMsk: 512,
  /** Interval samples kept per MSK for MTK repetition statistics (a deterministic reservoir beyond it). */
  mtkSamplesPerMsk: 512,
  /** MSKs without MTK statistics (past maxMtkStatistics) told apart for the report's count; beyond it the count says "at least". */
  mtkMsksNotKeptCounted: 4096,
  /** Distinct key labels, key groups and addresses kept as one shared copy each (model.ts intern). */
  internedStrings: 4096,
  /** Storm window entries kept, as a multiple of --storm-ues. */
  stormWindowFactor: 10,
} as const;

