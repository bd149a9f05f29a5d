/**
 * The correlator's counters and distributions, fed by the rooms as things happen and read as one AnalysisStats
 * record: ACK rates (overall, per BM-SC, UE, key group, time bucket), step latencies, MTK repetition, counts of
 * procedures, verdicts, variants, diagnostics and anomalies. Bounded like everything else (LIMITS).
 */
import type { Severity } from '../common/problem';
import type { PacketTime } from '../common/time';
import type { DiagnosticCode } from './catalog';
import { secs } from './model';
import { CORRELATOR_DEFAULTS, LIMITS } from './options';
import { AckTable, SampleSet, ackRate } from './stats';
import type { AnalysisStats, KeyDeliveryTransaction, LatencyStep, Measurement, Procedure } from './types';

/** A latency kind whose samples are also handed to the statistics' observer. */
class StepSamples extends SampleSet {
  constructor(private readonly step: LatencyStep, private readonly observe: ((m: Measurement) => void) | undefined, maxSamples: number) {
    super(maxSamples);
  }

  override add(v: number): void {
    super.add(v);
    if (Number.isFinite(v)) this.observe?.({ type: 'latency', step: this.step, seconds: v });
  }
}

export class CorrelationStatistics {
  readonly latency: Record<LatencyStep, SampleSet>;
  private readonly ack = { requested: 0, acked: 0 };
  private readonly ackByBmsc = new AckTable();
  private readonly ackByUe: AckTable;
  private readonly ackByGroup = new AckTable();
  private readonly ackByTime: AckTable;
  /** MSKs whose MTK statistics were not kept (past maxMtkStatistics), counted up to LIMITS.mtkMsksNotKeptCounted. */
  private readonly mtkNotKept = new Set<string>();
  private readonly mtkIntervals = new Map<string, { kd: string; msk: string; messages: number; ids: Set<number>; samples: SampleSet }>();
  private readonly counts = {
    frames: 0,
    byProcedure: {} as Partial<Record<Procedure, number>>,
    byVerdict: {} as AnalysisStats['byVerdict'],
    byVariant: {} as AnalysisStats['byVariant'],
    diagnostics: {} as AnalysisStats['diagnostics'],
    bySeverity: {} as AnalysisStats['diagnosticsBySeverity'],
    anomalies: {} as Record<string, number>,
    evictedTx: 0,
  };

  /**
   * @param observe sees every measurement as it is counted (CorrelatorSink.measurement).
   * @param maxLatencySamples samples kept per latency kind (the correlator's maxLatencySamples)
   * @param maxMtkStatistics MSKs with MTK statistics (the correlator's maxMtkStatistics)
   */
  constructor(
    private readonly bucketSeconds: number,
    ackTableRows: number,
    private readonly observe?: (m: Measurement) => void,
    maxLatencySamples = CORRELATOR_DEFAULTS.maxLatencySamples,
    private readonly maxMtkStatistics: number = CORRELATOR_DEFAULTS.maxMtkStatistics,
  ) {
    this.latency = {
      challengeToCredentials: new StepSamples('challengeToCredentials', observe, maxLatencySamples),
      requestTo200: new StepSamples('requestTo200', observe, maxLatencySamples),
      okToMikey: new StepSamples('okToMikey', observe, maxLatencySamples),
      mikeyToAck: new StepSamples('mikeyToAck', observe, maxLatencySamples),
    };
    this.ackByUe = new AckTable(ackTableRows);
    this.ackByTime = new AckTable(ackTableRows);
  }

  frame(): void {
    this.counts.frames++;
  }

  anomaly(code: string): void {
    this.counts.anomalies[code] = (this.counts.anomalies[code] ?? 0) + 1;
  }

  procedure(p: Procedure): void {
    this.counts.byProcedure[p] = (this.counts.byProcedure[p] ?? 0) + 1;
  }

  evictedTransaction(): void {
    this.counts.evictedTx++;
  }

  closed(r: KeyDeliveryTransaction): void {
    this.counts.byVerdict[r.verdict] = (this.counts.byVerdict[r.verdict] ?? 0) + 1;
    if (r.variant) this.counts.byVariant[r.variant] = (this.counts.byVariant[r.variant] ?? 0) + 1;
  }

  diagnostic(code: DiagnosticCode, severity: Severity): void {
    this.counts.diagnostics[code] = (this.counts.diagnostics[code] ?? 0) + 1;
    this.counts.bySeverity[severity] = (this.counts.bySeverity[severity] ?? 0) + 1;
  }

  /** An MSK message that is due an ACK, sent at `time`. */
  ackRequested(bmsc: string, ue: string, group: string, time: PacketTime): void {
    this.ack.requested++;
    this.ackByBmsc.requested(bmsc);
    this.ackByUe.requested(ue);
    this.ackByGroup.requested(group);
    this.ackByTime.requested(this.bucket(time));
    this.observe?.({ type: 'ack-due', bmsc, keyGroup: group });
  }

  /** Its ACK came in time; buckets go by the delivery's time, so a bucket's rate is about its deliveries. */
  acked(bmsc: string, ue: string, group: string, deliveryTime: PacketTime, latency: number): void {
    this.latency.mikeyToAck.add(latency);
    this.ack.acked++;
    this.ackByBmsc.acked(bmsc);
    this.ackByUe.acked(ue);
    this.ackByGroup.acked(group);
    this.ackByTime.acked(this.bucket(deliveryTime));
    this.observe?.({ type: 'acked', bmsc, keyGroup: group, seconds: latency });
  }

  /** An MTK message under MSK `key`; `interval` seconds since the previous one of that MSK. */
  mtkMessage(key: string, kd: string, msk: string, mtkId: number | undefined, interval: number | undefined): void {
    const iv = this.mtkIntervals.get(key) ?? { kd, msk, messages: 0, ids: new Set<number>(), samples: new SampleSet(LIMITS.mtkSamplesPerMsk) };
    iv.messages++;
    if (mtkId !== undefined && iv.ids.size < LIMITS.mtkIdsPerMsk) iv.ids.add(mtkId);
    if (interval !== undefined) iv.samples.add(interval);
    // statistics for new MSKs beyond the bound are dropped, and counted (the report says how many)
    if (this.mtkIntervals.has(key) || this.mtkIntervals.size < this.maxMtkStatistics) this.mtkIntervals.set(key, iv);
    else if (!this.mtkNotKept.has(key) && this.mtkNotKept.size < LIMITS.mtkMsksNotKeptCounted) this.mtkNotKept.add(key);
  }

  private bucket(t: PacketTime): string {
    return String(Math.floor(secs(t) / this.bucketSeconds));
  }

  toStats(extra: { transactions: number; ues: number; uesEstimated: boolean; evictedUes: number; first?: PacketTime; last?: PacketTime }): AnalysisStats {
    const s: AnalysisStats = {
      frames: this.counts.frames,
      transactions: extra.transactions,
      ues: extra.ues,
      byProcedure: { ...this.counts.byProcedure },
      byVerdict: { ...this.counts.byVerdict },
      byVariant: { ...this.counts.byVariant },
      diagnostics: { ...this.counts.diagnostics },
      diagnosticsBySeverity: { ...this.counts.bySeverity },
      anomalies: { ...this.counts.anomalies },
      ack: ackRate(this.ack.requested, this.ack.acked),
      ackByBmsc: this.ackByBmsc.toRecord(),
      ackByUe: this.ackByUe.toRecord(),
      ackByKeyGroup: this.ackByGroup.toRecord(),
      ackOverTime: { bucketSeconds: this.bucketSeconds, buckets: this.ackByTime.buckets(this.bucketSeconds) },
      latency: {
        challengeToCredentials: this.latency.challengeToCredentials.distribution(),
        requestTo200: this.latency.requestTo200.distribution(),
        okToMikey: this.latency.okToMikey.distribution(),
        mikeyToAck: this.latency.mikeyToAck.distribution(),
      },
      mtk: [...this.mtkIntervals.values()]
        .map((m) => ({ keyDomainId: m.kd, mskId: m.msk, messages: m.messages, distinctMtkIds: m.ids.size, intervals: m.samples.distribution() }))
        .sort((a, b) => (a.keyDomainId + a.mskId).localeCompare(b.keyDomainId + b.mskId)),
      evicted: { ues: extra.evictedUes, transactions: this.counts.evictedTx },
    };
    // only when it is one: records of captures that never hit the UE bound stay as they were
    if (extra.uesEstimated) s.uesEstimated = true;
    if (this.mtkNotKept.size > 0) s.mtkMsksNotKept = this.mtkNotKept.size;
    if (extra.first) s.first = extra.first;
    if (extra.last) s.last = extra.last;
    return s;
  }
}
