/**
 * The correlator's options and limits, each named once with its default (the CLI's --ack-timeout, --max-ues, … set
 * the options; the limits bound state that no option reaches yet).
 */

export interface CorrelatorOptions {
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
  /** UEs remembered at most (default 100 000): the least recently seen is forgotten. */
  maxUes?: number;
  /** Open transactions at most (default 50 000): the oldest is closed early (`evicted`). */
  maxOpenTransactions?: number;
  /** Steps kept per transaction (default 64); more are counted in stepsDropped. */
  maxSteps?: number;
}

export const CORRELATOR_DEFAULTS = {
  ackTimeout: 10,
  deliveryTimeout: 10,
  pullTimeout: 30,
  stormUes: 50,
  stormWindow: 1,
  bucketSeconds: 60,
  maxUes: 100_000,
  maxOpenTransactions: 50_000,
  maxSteps: 64,
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

/** Limits on state no option sets: each bounds one map or list, the oldest entry going first. */
export const LIMITS = {
  /** MIKEY messages remembered for matching ACKs (by CSB ID and counter, and by frame). */
  deliveryIndex: 65_536,
  /** Last MSK counters remembered per MUK (counter replay and jumps). */
  mukCounters: 100_000,
  /** Addresses and B-TIDs remembered per UE. */
  addressesPerUe: 8,
  /** Frames cited by one diagnostic. */
  framesPerDiagnostic: 64,
  /** Frames listed per transaction. */
  framesPerTransaction: 1024,
  /** HTTP connections remembered (client and server of each). */
  connections: 65_536,
  /** HTTP requests waiting for their response. */
  pendingRequests: 65_536,
  /** Keys, key groups, HTTP statuses and service IDs listed per transaction. */
  listPerTransaction: 64,
  /** MSK deliveries remembered per UE (repeated-delivery). */
  deliveriesPerUe: 256,
  /** Key groups remembered per UE (held MSKs, requested groups). */
  groupsPerUe: 256,
  /** MTK streams (one per MSK) followed at once, and MSKs with MTK statistics. */
  mtkStreams: 10_000,
  /** Distinct MTK IDs counted per MSK. */
  mtkIdsPerMsk: 65_536,
  /** Interval samples kept per MSK for MTK repetition statistics. */
  mtkSamplesPerMsk: 50_000,
  /** Rows of the per-UE and per-time-bucket ACK tables. */
  ackTableRows: 100_000,
  /** Distinct key labels, key groups and addresses kept as one shared copy each (model.ts intern). */
  internedStrings: 4096,
  /** Storm window entries kept, as a multiple of --storm-ues. */
  stormWindowFactor: 10,
} as const;
