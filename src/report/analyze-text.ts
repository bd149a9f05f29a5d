/**
 * `keyscope analyze` readable report: summary, statistics, diagnostics grouped by severity with frame numbers, the
 * worst transactions, protocol anomalies by code. AnalysisCollector is the correlator sink that keeps what the
 * report needs, bounded (every diagnostic up to a limit, the N worst transactions, anomaly counts).
 */
import { SEVERITY_RANK, type Severity } from '../common/problem';
import { formatEpoch, diffSeconds } from '../common/time';
import type { CorrelatorSink } from '../correlate/correlator';
import type { AckRate, AnalysisStats, Diagnostic, Distribution, KeyDeliveryTransaction, ProtocolAnomaly } from '../correlate/types';

export interface CollectorOptions {
  /** Worst transactions kept (default 10). */
  worst?: number;
  /** Diagnostics kept for the report (default 10 000); more are counted. */
  maxDiagnostics?: number;
  /**
   * Diagnostics listed per severity (default 50): of those kept, the collector holds only the ones the report lists
   * (the first by frame), and counts the rest.
   */
  listedPerSeverity?: number;
  /** Example frames kept per anomaly code (default 5). */
  anomalyExamples?: number;
}

const VERDICT_RANK = { ok: 0, incomplete: 1, degraded: 2, failed: 3 } as const;

/** a is worse than b: by verdict, then number of diagnostics, then duration (compared in turn, no array per call). */
function worse(a: KeyDeliveryTransaction, b: KeyDeliveryTransaction): boolean {
  const va = VERDICT_RANK[a.verdict];
  const vb = VERDICT_RANK[b.verdict];
  if (va !== vb) return va > vb;
  const na = a.diagnostics.length;
  const nb = b.diagnostics.length;
  if (na !== nb) return na > nb;
  const da = diffSeconds(a.start, a.end);
  const db = diffSeconds(b.start, b.end);
  return da > db;
}

export class AnalysisCollector implements CorrelatorSink {
  /** Diagnostics kept (at most maxDiagnostics), by severity: how many, and the ones listed (first by frame). */
  readonly kept = new Map<Severity, { count: number; listed: Diagnostic[] }>();
  diagnosticsDropped = 0;
  readonly worst: KeyDeliveryTransaction[] = [];
  readonly anomalyExamples = new Map<string, { severity: Severity; layer: string; message: string; frames: number[] }>();
  transactions = 0;
  private readonly maxWorst: number;
  private readonly maxDiagnostics: number;
  private readonly examples: number;
  readonly listedPerSeverity: number;

  constructor(options: CollectorOptions = {}) {
    this.maxWorst = options.worst ?? 10;
    this.maxDiagnostics = options.maxDiagnostics ?? 10_000;
    this.listedPerSeverity = options.listedPerSeverity ?? 50;
    this.examples = options.anomalyExamples ?? 5;
  }

  transaction(t: KeyDeliveryTransaction): void {
    this.transactions++;
    if (t.verdict === 'ok' || this.maxWorst === 0) return;
    const w = this.worst;
    let i = w.length;
    while (i > 0 && worse(t, w[i - 1])) i--;
    if (i >= this.maxWorst) return;
    w.splice(i, 0, t);
    if (w.length > this.maxWorst) w.pop();
  }

  /**
   * A diagnostic counts among the kept ones while there is room; it is held only while it is among the first
   * `listedPerSeverity` of its severity in frame order (ties: in arrival order, as a stable sort of all would put
   * them). Holding every kept one (10 000 records with their message strings) kept them alive through the run for
   * the 50 per severity the report lists.
   */
  diagnostic(d: Diagnostic): void {
    if (this.keptTotal() >= this.maxDiagnostics) {
      this.diagnosticsDropped++;
      return;
    }
    let k = this.kept.get(d.severity);
    if (!k) {
      k = { count: 0, listed: [] };
      this.kept.set(d.severity, k);
    }
    k.count++;
    const list = k.listed;
    const key = d.frames[0] ?? 0;
    let i = list.length;
    while (i > 0 && (list[i - 1].frames[0] ?? 0) > key) i--;
    if (i >= this.listedPerSeverity) return;
    list.splice(i, 0, d);
    if (list.length > this.listedPerSeverity) list.pop();
  }

  /** Diagnostics kept, all severities (at most four counts to add). */
  private keptTotal(): number {
    let n = 0;
    for (const k of this.kept.values()) n += k.count;
    return n;
  }

  anomaly(a: ProtocolAnomaly): void {
    const p = a.problem;
    let e = this.anomalyExamples.get(p.code);
    if (!e) {
      if (this.anomalyExamples.size >= 1000) return;
      e = { severity: p.severity, layer: p.layer, message: p.message, frames: [] };
      this.anomalyExamples.set(p.code, e);
    }
    if (e.frames.length < this.examples) e.frames.push(a.frame);
  }
}

function fmtSeconds(v: number | undefined): string {
  if (v === undefined) return '-';
  if (Math.abs(v) < 1) return `${(v * 1000).toFixed(1)} ms`;
  return `${v.toFixed(3)} s`;
}

function fmtRate(r: AckRate): string {
  return r.rate === undefined ? `${r.acked}/${r.requested}` : `${r.acked}/${r.requested} (${(r.rate * 100).toFixed(1)} %)`;
}

function fmtDist(d: Distribution): string {
  if (d.count === 0) return 'n=0';
  // percentiles read back from merged histograms are within a bucket of the exact ones: marked ≈
  const a = d.percentiles === 'histogram' ? '≈' : '';
  return `n=${d.count}  p50 ${a}${fmtSeconds(d.p50)}  p95 ${a}${fmtSeconds(d.p95)}  p99 ${a}${fmtSeconds(d.p99)}  max ${fmtSeconds(d.max)}`;
}

function counts(rec: Partial<Record<string, number>>): string {
  const parts = Object.entries(rec)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([k, n]) => `${k} ${n}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

function framesText(frames: readonly number[], max = 12): string {
  const shown = frames.slice(0, max).join(', ');
  return frames.length > max ? `${shown}, …` : shown;
}

export interface ReportOptions {
  /** Rows shown per ACK-rate table (default 20, the lowest rates first). */
  maxRows?: number;
}

function rateTable(title: string, rows: Record<string, AckRate>, max: number): string[] {
  const entries = Object.entries(rows).filter(([, r]) => r.requested > 0);
  if (entries.length === 0) return [];
  entries.sort((a, b) => (a[1].rate ?? 1) - (b[1].rate ?? 1) || a[0].localeCompare(b[0]));
  const out = [`  ACK rate by ${title}:`];
  for (const [k, r] of entries.slice(0, max)) out.push(`    ${k.padEnd(24)} ${fmtRate(r)}`);
  if (entries.length > max) out.push(`    … ${entries.length - max} more`);
  return out;
}

/** The report as lines. */
export function analysisReport(c: AnalysisCollector, s: AnalysisStats, options: ReportOptions = {}): string[] {
  const maxRows = options.maxRows ?? 20;
  // the collector holds only the diagnostics it lists: its listedPerSeverity is the one limit
  const perSev = c.listedPerSeverity;
  const out: string[] = [];
  const span = s.first && s.last ? `${formatEpoch(s.first, 6)} – ${formatEpoch(s.last, 6)} (${fmtSeconds(diffSeconds(s.first, s.last))})` : 'empty';
  out.push('== Summary ==');
  out.push(`  frames ${s.frames}, capture ${span}`);
  out.push(`  UEs ${s.uesEstimated ? '≈' : ''}${s.ues}, transactions ${s.transactions}: ${counts(s.byProcedure)}`);
  out.push(`  verdicts: ${counts(s.byVerdict)}`);
  out.push(`  transport variants: ${counts(s.byVariant)}`);
  const nDiag = Object.values(s.diagnosticsBySeverity).reduce((a, b) => a + (b ?? 0), 0);
  out.push(`  diagnostics ${nDiag}: ${counts(s.diagnosticsBySeverity)}`);
  const nAnom = Object.values(s.anomalies).reduce((a, b) => a + b, 0);
  out.push(`  protocol anomalies ${nAnom}`);
  if (s.evicted.ues > 0 || s.evicted.transactions > 0)
    out.push(`  state limits reached: ${s.evicted.ues} UEs forgotten, ${s.evicted.transactions} transactions closed early`);

  out.push('', '== Statistics ==');
  out.push(`  ACK rate: ${fmtRate(s.ack)}`);
  out.push(...rateTable('BM-SC', s.ackByBmsc, maxRows));
  out.push(...rateTable('UE', s.ackByUe, maxRows));
  out.push(...rateTable('key group', s.ackByKeyGroup, maxRows));
  if (s.ackOverTime.buckets.length > 0) {
    out.push(`  ACK rate over time (${s.ackOverTime.bucketSeconds} s buckets):`);
    for (const b of s.ackOverTime.buckets.slice(0, maxRows * 5)) out.push(`    ${formatEpoch({ tsSec: b.start, tsNsec: 0 }, 0)}  ${fmtRate(b)}`);
  }
  out.push('  latency:');
  out.push(`    challenge → credentials  ${fmtDist(s.latency.challengeToCredentials)}`);
  out.push(`    request → 200            ${fmtDist(s.latency.requestTo200)}`);
  out.push(`    200 → MIKEY              ${fmtDist(s.latency.okToMikey)}`);
  out.push(`    MIKEY → ACK              ${fmtDist(s.latency.mikeyToAck)}`);
  if (s.mtk.length > 0) {
    out.push('  MTK repetition (per MSK):');
    for (const m of s.mtk.slice(0, maxRows))
      out.push(`    ${m.keyDomainId}:${m.mskId}  messages ${m.messages}, MTK IDs ${m.distinctMtkIds}, interval ${fmtDist(m.intervals)}`);
  }
  if (s.mtkMsksNotKept) out.push(`    MTK statistics of ${s.mtkMsksNotKept} more MSK(s) not kept (the memory budget holds ${s.mtk.length}; --max-memory raises it)`);

  out.push('', '== Diagnostics ==');
  if (c.kept.size === 0) out.push('  none');
  const sevs: Severity[] = ['error', 'warning', 'note', 'chat'];
  for (const sev of sevs) {
    const k = c.kept.get(sev);
    if (!k || k.count === 0) continue;
    out.push(`  ${sev} (${k.count}):`);
    for (const d of k.listed.slice(0, perSev)) {
      const who = [d.transaction, d.ue ? `ue ${d.ue}` : undefined].filter((x) => x !== undefined).join(' ');
      out.push(`    ${d.code.padEnd(28)} ${who ? `[${who}] ` : ''}frames ${framesText(d.frames)}: ${d.message}`);
    }
    if (k.count > perSev) out.push(`    … ${k.count - perSev} more (use --json for all)`);
  }
  if (c.diagnosticsDropped > 0) out.push(`  (${c.diagnosticsDropped} more diagnostics not kept for this report)`);

  out.push('', '== Worst transactions ==');
  if (c.worst.length === 0) out.push('  none: every transaction ok');
  for (const t of c.worst) {
    const keys = t.deliveredKeys.map((k) => k.label).join(' ') || '-';
    out.push(`  ${t.id} ${t.procedure}${t.variant ? ` (variant ${t.variant})` : ''} ue ${t.ue}${t.btid ? ` btid ${t.btid}` : ''} bmsc ${t.bmsc ?? '-'}: ${t.verdict}`);
    out.push(`    http ${t.httpStatuses.join(' ') || '-'}, digest ${t.digest}, delivered ${t.delivered ? keys : 'no'}, ACK ${t.ackRequested ? (t.acked ? 'yes' : 'missing') : 'not requested'}; ${t.diagnostics.join(', ') || 'no diagnostics'}`);
    out.push(`    steps: ${t.steps.map((st) => `${st.kind}@${st.frame}${st.status !== undefined ? `(${st.status})` : ''}`).join(' → ')}`);
  }

  out.push('', '== Protocol anomalies ==');
  const codes = [...c.anomalyExamples.entries()].sort((a, b) => SEVERITY_RANK[b[1].severity] - SEVERITY_RANK[a[1].severity] || a[0].localeCompare(b[0]));
  if (codes.length === 0) out.push('  none');
  for (const [code, e] of codes) out.push(`  ${e.severity.padEnd(7)} ${code.padEnd(32)} ×${s.anomalies[code] ?? e.frames.length}  frames ${framesText(e.frames)}: ${e.message}`);
  return out;
}

/** The highest severity among the diagnostics counted in `s`, or undefined. */
export function worstSeverity(s: AnalysisStats): Severity | undefined {
  let best: Severity | undefined;
  for (const [sev, n] of Object.entries(s.diagnosticsBySeverity) as [Severity, number][]) {
    if (n > 0 && (best === undefined || SEVERITY_RANK[sev] > SEVERITY_RANK[best])) best = sev;
  }
  return best;
}
