/**
 * Prometheus metrics of a keyscope run (`--metrics` on live, dash and analyze): a sink of the analyzer pipeline beside
 * the report and the dashboard. Counters are fed by the correlator's outputs (transactions, diagnostics, anomalies,
 * and the measurements its statistics count: MIKEY messages, ACKs due and in time, step latencies) and by the capture
 * frames; gauges (open UEs, transactions, TCP streams, capture loss) are read from the pipeline when scraped. The
 * exposition is prom-client's: names, types, escaping and the text format are the maintained library's, not ours.
 *
 * Every metric and label is listed in docs/metrics.md. No per-UE label: the only open-ended labels are `bmsc` and
 * `key_group`, each bounded to METRICS_DEFAULTS.maxLabelValues distinct values (first come, first kept); later values
 * are counted under `other` and in keyscope_metrics_label_overflow_total.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DIAGNOSTICS, DIAGNOSTIC_CODES } from '../correlate/catalog';
import type { CorrelatorOpenState } from '../correlate/correlator';
import { LATENCY_BUCKETS } from '../correlate/latency-buckets';
import type { Diagnostic, KeyDeliveryTransaction, LatencyStep, Measurement, Procedure, ProtocolAnomaly, Verdict } from '../correlate/types';
import { estimateCaptureLoss, type TcpLossInputs } from '../capture/live-stats';
import type { CaptureFrame } from '../capture/types';
import { toEpochSeconds } from '../common/time';
import type { AnalyzerSink } from '../pipeline/analyzer';

export const METRICS_DEFAULTS = {
  /**
   * Distinct values kept per open-ended label (`bmsc`, `key_group`); later values become `other`. A lab has a
   * handful of BM-SCs and tens of key groups; 100 keeps every series of a normal lab at a few thousand samples
   * (100 BM-SCs × 100 key groups × 4 kinds is the worst case for keyscope_mikey_messages_total).
   */
  maxLabelValues: 100,
} as const;

/** The label value that stands for every value past the bound. */
export const OVERFLOW_LABEL_VALUE = 'other';

/** `step` label values of keyscope_step_latency_seconds, by the statistics' latency kind. */
export const STEP_LABELS: Readonly<Record<LatencyStep, string>> = {
  challengeToCredentials: '401_to_credentials',
  requestTo200: 'request_to_200',
  okToMikey: '200_to_mikey',
  mikeyToAck: 'mikey_to_ack',
};

const PROCEDURES: readonly Procedure[] = ['register', 'deregister', 'pull', 'push', 'solicited-pull', 'mtk'];
const VERDICTS: readonly Verdict[] = ['ok', 'degraded', 'failed', 'incomplete'];

export interface KeyscopeMetricsOptions {
  maxLabelValues?: number;
  /** Also expose prom-client's process metrics (process_cpu_seconds_total, process_resident_memory_bytes, …). Default true. */
  processMetrics?: boolean;
  /** The `command` label of keyscope_info (live, dash, analyze). */
  command?: string;
}

/** What the gauges read at scrape time: the running pipeline. */
export interface MetricsSources {
  /** Open UEs and transactions (Analyzer.correlator.openState()). */
  openState?: () => CorrelatorOpenState;
  /** TCP reassembly counters (Analyzer.dissector.tcpStats): open streams and the capture-loss estimate. */
  tcp?: () => TcpLossInputs & { activeConnections: number };
  /** Packets the capture engine dropped; undefined when it cannot tell (then no sample is exposed). */
  dropped?: () => number | undefined;
}

/** First-come distinct values of one label, at most `limit`; the rest are `other`. */
export class BoundedLabel {
  private readonly kept = new Set<string>();
  overflowed = 0;

  constructor(readonly limit: number) {}

  value(v: string): string {
    if (this.kept.has(v)) return v;
    if (this.kept.size < this.limit) {
      this.kept.add(v);
      return v;
    }
    this.overflowed++;
    return OVERFLOW_LABEL_VALUE;
  }
}

/**
 * The growth of a cumulative figure read at scrape time, since the last read: what a counter that follows it adds
 * (in its collect()). Never negative: a figure that went back (a new capture) adds nothing until it passes the old.
 */
function growth(read: () => number | undefined): () => number {
  let last = 0;
  return () => {
    const v = read();
    if (v === undefined || !Number.isFinite(v) || v <= last) return 0;
    const d = v - last;
    last = v;
    return d;
  };
}

export class KeyscopeMetrics {
  readonly registry = new Registry();
  private readonly sources: MetricsSources = {};
  private readonly bmsc: BoundedLabel;
  private readonly keyGroup: BoundedLabel;
  private packets = 0;
  private bytes = 0;
  private lastPacket: number | undefined;

  private readonly mikeyMessages: Counter<'bmsc' | 'key_group' | 'kind'>;
  private readonly acksExpected: Counter<'bmsc' | 'key_group'>;
  private readonly acks: Counter<'bmsc' | 'key_group'>;
  private readonly transactions: Counter<'procedure' | 'verdict'>;
  private readonly diagnostics: Counter<'code' | 'severity'>;
  private readonly anomalies: Counter<'code' | 'severity'>;
  private readonly latency: Histogram<'step'>;

  constructor(options: KeyscopeMetricsOptions = {}) {
    const limit = options.maxLabelValues ?? METRICS_DEFAULTS.maxLabelValues;
    this.bmsc = new BoundedLabel(limit);
    this.keyGroup = new BoundedLabel(limit);
    const registers = [this.registry];
    const self = this;

    this.mikeyMessages = new Counter({
      name: 'keyscope_mikey_messages_total',
      help: 'MIKEY messages of MBMS key delivery the correlator handled, by BM-SC, key group (kd:kg hex) and kind (msk, mtk, trigger, ack)',
      labelNames: ['bmsc', 'key_group', 'kind'],
      registers,
    });
    this.acksExpected = new Counter({
      name: 'keyscope_mikey_acks_expected_total',
      help: 'MSK messages due an ACK (V flag set, current MUK), by BM-SC and key group; the ACK rate is keyscope_mikey_acks_total / this',
      labelNames: ['bmsc', 'key_group'],
      registers,
    });
    this.acks = new Counter({
      name: 'keyscope_mikey_acks_total',
      help: 'MSK messages ACKed within the ACK timeout (valid MAC), by BM-SC and key group of the message ACKed',
      labelNames: ['bmsc', 'key_group'],
      registers,
    });
    this.transactions = new Counter({
      name: 'keyscope_transactions_total',
      help: 'Key-delivery transactions closed, by procedure and verdict',
      labelNames: ['procedure', 'verdict'],
      registers,
    });
    this.diagnostics = new Counter({
      name: 'keyscope_diagnostics_total',
      help: 'Procedure diagnostics raised (docs/diagnostics.md), by code and severity',
      labelNames: ['code', 'severity'],
      registers,
    });
    this.anomalies = new Counter({
      name: 'keyscope_anomalies_total',
      help: 'Protocol anomalies of the dissectors (docs/problem-codes.md), by code and severity',
      labelNames: ['code', 'severity'],
      registers,
    });
    this.latency = new Histogram({
      name: 'keyscope_step_latency_seconds',
      help: 'Step latencies of key delivery: 401_to_credentials, request_to_200, 200_to_mikey, mikey_to_ack',
      labelNames: ['step'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
    // known label sets start at 0, so rate() and increase() see the first event and alerts fire on it
    for (const code of DIAGNOSTIC_CODES) this.diagnostics.inc({ code, severity: DIAGNOSTICS[code].severity }, 0);
    for (const procedure of PROCEDURES) for (const verdict of VERDICTS) this.transactions.inc({ procedure, verdict }, 0);
    for (const step of Object.values(STEP_LABELS)) this.latency.zero({ step });

    // frames are counted in plain numbers (the per-frame path stays cheap) and handed to the counters when scraped
    const packets = growth(() => self.packets);
    new Counter({
      name: 'keyscope_capture_packets_total',
      help: 'Frames read from the capture',
      registers,
      collect() {
        this.inc(packets());
      },
    });
    const bytes = growth(() => self.bytes);
    new Counter({
      name: 'keyscope_capture_bytes_total',
      help: 'Bytes of the frames read from the capture (original lengths)',
      registers,
      collect() {
        this.inc(bytes());
      },
    });
    const lost = growth(() => self.sources.tcp?.().ackedUnseenBytes);
    new Counter({
      name: 'keyscope_capture_tcp_lost_bytes_total',
      help: 'TCP payload bytes the peer ACKed that never reached the capture (proven capture loss)',
      registers,
      collect() {
        this.inc(lost());
      },
    });
    new Gauge({
      name: 'keyscope_capture_loss_ratio',
      help: 'Capture-loss estimate: ACKed-but-unseen TCP bytes / (delivered + those); a lower bound (UDP loss is invisible)',
      registers,
      collect() {
        const tcp = self.sources.tcp?.();
        this.set(tcp ? estimateCaptureLoss(tcp).ratio : 0);
      },
    });
    new Gauge({
      name: 'keyscope_capture_last_packet_timestamp_seconds',
      help: 'Packet time of the newest frame, epoch seconds (a stalled capture stops moving it)',
      registers,
      collect() {
        if (self.lastPacket !== undefined) this.set(self.lastPacket);
      },
    });
    new Gauge({
      name: 'keyscope_open_ues',
      help: 'UEs the correlator holds now (bounded by --max-ues)',
      registers,
      collect() {
        this.set(self.sources.openState?.().ues ?? 0);
      },
    });
    new Gauge({
      name: 'keyscope_open_transactions',
      help: 'Key-delivery transactions open now, MTK streams not counted (bounded by --max-transactions)',
      registers,
      collect() {
        this.set(self.sources.openState?.().transactions ?? 0);
      },
    });
    new Gauge({
      name: 'keyscope_open_tcp_streams',
      help: 'TCP connections the reassembly follows now',
      registers,
      collect() {
        this.set(self.sources.tcp?.().activeConnections ?? 0);
      },
    });
    const overflowBmsc = growth(() => self.bmsc.overflowed);
    const overflowGroup = growth(() => self.keyGroup.overflowed);
    new Counter({
      name: 'keyscope_metrics_label_overflow_total',
      help: `Events counted under label value "${OVERFLOW_LABEL_VALUE}" because the label had ${limit} distinct values already`,
      labelNames: ['label'],
      registers,
      collect() {
        this.inc({ label: 'bmsc' }, overflowBmsc());
        this.inc({ label: 'key_group' }, overflowGroup());
      },
    });
    const info = new Gauge({ name: 'keyscope_info', help: 'Always 1: the command serving these metrics', labelNames: ['command'], registers });
    info.set({ command: options.command ?? 'keyscope' }, 1);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Where the gauges read from (called once the pipeline exists). */
  attach(sources: MetricsSources): this {
    if (sources.dropped && !this.sources.dropped) {
      // only a source that can count drops gets the counter: an absent series says "unknown", a 0 would claim none
      const self = this;
      const dropped = growth(() => self.sources.dropped?.());
      new Counter({
        name: 'keyscope_capture_dropped_packets_total',
        help: 'Packets the capture engine counted as dropped (live --engine tcpdump, known once it stops; absent where the engine cannot count them)',
        registers: [this.registry],
        collect() {
          this.inc(dropped());
        },
      });
    }
    Object.assign(this.sources, sources);
    return this;
  }

  /** The analyzer sink that feeds the counters. */
  readonly sink: AnalyzerSink = {
    captureFrame: (f: CaptureFrame) => {
      this.packets++;
      this.bytes += f.originalLength;
      this.lastPacket = toEpochSeconds(f);
    },
    transaction: (t: KeyDeliveryTransaction) => this.transactions.inc({ procedure: t.procedure, verdict: t.verdict }),
    diagnostic: (d: Diagnostic) => this.diagnostics.inc({ code: d.code, severity: d.severity }),
    anomaly: (a: ProtocolAnomaly) => this.anomalies.inc({ code: a.problem.code, severity: a.problem.severity }),
    measurement: (m: Measurement) => this.measurement(m),
  };

  /** The exposition text (Prometheus text format 0.0.4). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private measurement(m: Measurement): void {
    switch (m.type) {
      case 'mikey':
        this.mikeyMessages.inc({ bmsc: this.bmsc.value(m.bmsc), key_group: this.keyGroup.value(m.keyGroup), kind: m.kind });
        break;
      case 'ack-due': {
        const labels = { bmsc: this.bmsc.value(m.bmsc), key_group: this.keyGroup.value(m.keyGroup) };
        this.acksExpected.inc(labels);
        // the ACK series exists from the first message due one, so the ratio is 0 (not absent) until an ACK comes
        this.acks.inc(labels, 0);
        break;
      }
      case 'acked':
        this.acks.inc({ bmsc: this.bmsc.value(m.bmsc), key_group: this.keyGroup.value(m.keyGroup) });
        break;
      case 'latency':
        this.latency.observe({ step: STEP_LABELS[m.step] }, m.seconds);
        break;
    }
  }
}
