/**
 * The records the correlation stage hands to the sinks: key-delivery transactions, procedure diagnostics (findings
 * about how a procedure went, like Zeek's notices) and statistics. Protocol anomalies (malformed packets, the
 * Dissector's problems) are a separate stream, like Zeek's weirds.
 */
import type { Problem, Severity } from '../common/problem';
import type { PacketTime } from '../common/time';

export type { DiagnosticCode } from './catalog';
import type { DiagnosticCode } from './catalog';

export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  /** Transaction id, when the finding belongs to one. */
  transaction?: string;
  /** The UE (its primary address), when the finding concerns one UE. */
  ue?: string;
  /** Frames the finding concerns, ascending. */
  frames: number[];
  /** One line; packet text in it is already escaped. */
  message: string;
  /** Packet time at which the finding was made (the frame or the timeout that revealed it). */
  time: PacketTime;
  /**
   * The finding was made in, or within the loss margin after, a span in which the capture lost packets (the engine
   * counted drops, or a TCP stream misses bytes): it may be the capture's fault rather than the UE's or the BM-SC's.
   */
  possibleCaptureLoss?: true;
}

export type Procedure = 'register' | 'deregister' | 'pull' | 'push' | 'solicited-pull' | 'mtk';

/**
 * The seeds' transport variants after an HTTP MSK request: A = MIKEY over UDP with no 200 OK before it, B = MIKEY in
 * the 200 OK body and the ACK in a later POST, C = MIKEY in the 200 OK body and the ACK over UDP, D = 200 OK then
 * MIKEY over UDP (the standard).
 */
export type TransportVariant = 'A' | 'B' | 'C' | 'D';

/**
 * `incomplete`: the capture ended while the transaction still waited for something whose deadline had not passed —
 * not a fault of the UE or the BM-SC, only of where the capture was cut.
 */
export type Verdict = 'ok' | 'degraded' | 'failed' | 'incomplete';

export type DigestOutcome = 'none' | 'challenged' | 'accepted' | 'rejected' | 'stale';

export type StepKind =
  | 'request'
  | 'challenge'
  | 'credentials'
  | 'response'
  | 'trigger'
  | 'delivery'
  | 'ack'
  | 'mtk';

export interface TransactionStep {
  kind: StepKind;
  frame: number;
  time: PacketTime;
  /** HTTP status of a response step. */
  status?: number;
  /** `udp` or `http` for MIKEY steps. */
  carrier?: 'udp' | 'http';
  /** Short detail: URI, MSK ID, counter. Escaped. */
  detail?: string;
}

export interface KeyRefSummary {
  /** Key Domain ID, 6 hex digits. */
  keyDomainId?: string;
  keyGroup?: number;
  keyNumber?: number;
  /** `kd:kg:kn` hex label, e.g. `00f110:0001:0002`. */
  label: string;
}

export interface TransactionLatencies {
  /** 401 challenge → the next request with credentials. */
  challengeToCredentials?: number;
  /** Request that got the 200 → the 200 (the credentials request when there was a challenge). */
  requestTo200?: number;
  /** 200 OK → first MIKEY MSK delivery. */
  okToMikey?: number;
  /** First ACK-requesting delivery → its ACK. */
  mikeyToAck?: number;
}

export interface KeyDeliveryTransaction {
  id: string;
  procedure: Procedure;
  variant?: TransportVariant;
  /** The UE's primary address (for MTK: the multicast destination). */
  ue: string;
  /** Every address the UE was seen with during the transaction. */
  ueAddresses: string[];
  bmsc?: string;
  btid?: string;
  /** HTTP request URI's requesttype. */
  requestType?: string;
  requestedKeys: KeyRefSummary[];
  deliveredKeys: KeyRefSummary[];
  serviceIds: string[];
  steps: TransactionStep[];
  /** Every frame carrying part of the transaction (all segments of its HTTP messages), ascending, bounded. */
  frames: number[];
  /** Steps beyond the per-transaction bound, counted and not kept. */
  stepsDropped: number;
  httpStatuses: number[];
  digest: DigestOutcome;
  /** At least one MSK (or MTK) delivery reached the capture. */
  delivered: boolean;
  ackRequested: boolean;
  acked: boolean;
  latencies: TransactionLatencies;
  verdict: Verdict;
  /** Diagnostic codes raised on this transaction (in order, unique). */
  diagnostics: DiagnosticCode[];
  start: PacketTime;
  end: PacketTime;
  /** MTK: repetitions of the same MTK message. */
  repetitions?: number;
  /** Why the record was closed: `complete`, `timeout`, `end-of-capture`, `evicted`. */
  closedBy: 'complete' | 'timeout' | 'end-of-capture' | 'evicted';
}

/** The steps whose latencies the statistics keep (the keys of TransactionLatencies). */
export type LatencyStep = keyof TransactionLatencies;

/**
 * One measurement as the statistics take it in, for a sink that keeps running counters of its own (the Prometheus
 * metrics, src/metrics): every MIKEY message the correlator handles, every MSK message due an ACK, every ACK in
 * time, every step latency sample. Emitted in packet order, at the moment the statistics count it, so a sink that
 * adds them up gets the stats record's figures (`ack`, `ackByBmsc`, `ackByKeyGroup`, `latency.*.count`).
 * `bmsc` is the BM-SC's address, `keyGroup` the `kd:kg` hex label of ackByKeyGroup (`*` where unknown).
 */
export type Measurement =
  | { type: 'mikey'; kind: 'msk' | 'mtk' | 'trigger' | 'ack'; bmsc: string; keyGroup: string }
  | { type: 'ack-due'; bmsc: string; keyGroup: string }
  | { type: 'acked'; bmsc: string; keyGroup: string; seconds: number }
  | { type: 'latency'; step: LatencyStep; seconds: number };

export interface ProtocolAnomaly {
  frame: number;
  time: PacketTime;
  problem: Problem;
}

export interface Distribution {
  count: number;
  p50?: number;
  p95?: number;
  p99?: number;
  max?: number;
  min?: number;
  mean?: number;
  /** Sum of the values (seconds): with count, what a mean over merged captures needs. */
  sum?: number;
  /**
   * Counts per bucket of LATENCY_BUCKETS (src/correlate/latency-buckets.ts), not cumulative, one more at the end for
   * values above the last bound: these add across captures and probes.
   */
  buckets?: number[];
  /**
   * `histogram` when p50/p95/p99 were read back from `buckets` (keyscope merge of several results) instead of
   * from the values: within one bucket of the exact value. Absent for exact percentiles.
   */
  percentiles?: 'histogram';
}

export interface AckRate {
  requested: number;
  acked: number;
  /** acked / requested; absent when nothing was requested. */
  rate?: number;
}

export interface AckRateBucket extends AckRate {
  /** Bucket start, epoch seconds. */
  start: number;
}

export interface MtkRepetition {
  keyDomainId: string;
  mskId: string;
  messages: number;
  distinctMtkIds: number;
  intervals: Distribution;
}

export interface AnalysisStats {
  frames: number;
  transactions: number;
  /** Distinct UEs: exact unless uesEstimated (UEs were forgotten at --max-ues; then a HyperLogLog estimate, ≈1.6 %). */
  ues: number;
  /** Present (true) when `ues` is an estimate. */
  uesEstimated?: boolean;
  /** Present when MSKs' MTK statistics were not kept (past maxMtkStatistics, from --max-memory): how many MSKs. */
  mtkMsksNotKept?: number;
  byProcedure: Partial<Record<Procedure, number>>;
  byVerdict: Partial<Record<Verdict, number>>;
  byVariant: Partial<Record<TransportVariant, number>>;
  diagnostics: Partial<Record<DiagnosticCode, number>>;
  diagnosticsBySeverity: Partial<Record<Severity, number>>;
  anomalies: Record<string, number>;
  ack: AckRate;
  ackByBmsc: Record<string, AckRate>;
  ackByUe: Record<string, AckRate>;
  ackByKeyGroup: Record<string, AckRate>;
  ackOverTime: { bucketSeconds: number; buckets: AckRateBucket[] };
  latency: {
    challengeToCredentials: Distribution;
    requestTo200: Distribution;
    okToMikey: Distribution;
    mikeyToAck: Distribution;
  };
  mtk: MtkRepetition[];
  /** State limits that were hit (UEs or transactions forgotten early). */
  evicted: { ues: number; transactions: number };
  first?: PacketTime;
  last?: PacketTime;
}
