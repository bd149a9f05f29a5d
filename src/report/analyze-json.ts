/**
 * `analyze --json`: NDJSON records, a first `{"type":"header",…}`, then `{"type":"transaction",…}`,
 * `{"type":"diagnostic",…}`, `{"type":"anomaly",…}` as they are found, `{"type":"ue",…}` per UE at the end and a
 * final `{"type":"stats",…}`. Every record carries `capture` (and `probe` when given). Times are epoch seconds (like
 * `dissect --json`'s `ts`), durations seconds. The field names are part of the public interface: docs/json-output.md.
 */
import { toEpochSeconds, type PacketTime } from '../common/time';
import type { UeIdentity } from '../correlate/correlator';
import { LATENCY_BUCKETS } from '../correlate/latency-buckets';
import type { AnalysisStats, Diagnostic, KeyDeliveryTransaction, ProtocolAnomaly } from '../correlate/types';

/** Format name and version of the NDJSON results; `keyscope merge` refuses other versions. */
export const RESULTS_FORMAT = 'keyscope-analyze';
export const RESULTS_VERSION = 1;

/** Where a result came from: put on every record, so rows of many captures and probes can share one table. */
export interface ResultOrigin {
  /** The capture's base name (`-` for standard input, `dir/` for a directory, `first+N` for several files). */
  capture: string;
  /** `--probe NAME`: the capture point. */
  probe?: string;
}

export function originFields(o: ResultOrigin): Record<string, unknown> {
  return o.probe !== undefined ? { capture: o.capture, probe: o.probe } : { capture: o.capture };
}

/** The first record: format, version, the latency bucket bounds the stats record's histograms count in. */
export function headerJson(o: ResultOrigin, extra: { keyscope: string; files: string[] }): Record<string, unknown> {
  return { type: 'header', format: RESULTS_FORMAT, version: RESULTS_VERSION, keyscope: extra.keyscope, files: extra.files, latencyBuckets: [...LATENCY_BUCKETS], ...originFields(o) };
}

/** One UE of the capture (as the UE table knew it at the end): what merge joins distinct UEs across captures on. */
export function ueJson(u: UeIdentity): Record<string, unknown> {
  return { type: 'ue', id: u.id, addresses: u.addresses, btids: u.btids };
}

const ts = (t: PacketTime) => toEpochSeconds(t);

/**
 * The records below take the run's origin to put at their end (as `{ ...record, ...originFields(o) }` would): the
 * spread copied every record into a second object, about a third of the cost of writing a transaction line
 * (measured: 14 → 9 µs per transaction record on the bench mix).
 */
function addOrigin(o: Record<string, unknown>, origin: ResultOrigin | undefined): Record<string, unknown> {
  if (origin !== undefined) {
    o.capture = origin.capture;
    if (origin.probe !== undefined) o.probe = origin.probe;
  }
  return o;
}

export function transactionJson(t: KeyDeliveryTransaction, origin?: ResultOrigin): Record<string, unknown> {
  const o: Record<string, unknown> = {
    type: 'transaction',
    id: t.id,
    procedure: t.procedure,
    variant: t.variant ?? null,
    ue: t.ue,
    ueAddresses: t.ueAddresses,
    bmsc: t.bmsc ?? null,
    btid: t.btid ?? null,
    requestType: t.requestType ?? null,
    requested: t.requestedKeys.map((k) => k.label),
    delivered: t.deliveredKeys.map((k) => k.label),
    serviceIds: t.serviceIds,
    steps: t.steps.map((s) => {
      const st: Record<string, unknown> = { kind: s.kind, frame: s.frame, ts: ts(s.time) };
      if (s.status !== undefined) st.status = s.status;
      if (s.carrier !== undefined) st.carrier = s.carrier;
      if (s.detail !== undefined) st.detail = s.detail;
      return st;
    }),
    frames: t.frames,
    httpStatuses: t.httpStatuses,
    digest: t.digest,
    keysDelivered: t.delivered,
    ackRequested: t.ackRequested,
    acked: t.acked,
    latencies: t.latencies,
    verdict: t.verdict,
    diagnostics: t.diagnostics,
    start: ts(t.start),
    end: ts(t.end),
    closedBy: t.closedBy,
  };
  if (t.stepsDropped > 0) o.stepsDropped = t.stepsDropped;
  if (t.repetitions !== undefined) o.repetitions = t.repetitions;
  return addOrigin(o, origin);
}

export function diagnosticJson(d: Diagnostic, origin?: ResultOrigin): Record<string, unknown> {
  const o: Record<string, unknown> = {
    type: 'diagnostic',
    code: d.code,
    severity: d.severity,
    transaction: d.transaction ?? null,
    ue: d.ue ?? null,
    frames: d.frames,
    message: d.message,
    ts: ts(d.time),
  };
  // only when set: the finding may be the capture's fault (correlator's loss windows)
  if (d.possibleCaptureLoss) o.possibleCaptureLoss = true;
  return addOrigin(o, origin);
}

export function anomalyJson(a: ProtocolAnomaly, origin?: ResultOrigin): Record<string, unknown> {
  const o: Record<string, unknown> = {
    type: 'anomaly',
    frame: a.frame,
    ts: ts(a.time),
    code: a.problem.code,
    severity: a.problem.severity,
    layer: a.problem.layer,
    message: a.problem.message,
  };
  if (a.problem.offset !== undefined) o.offset = a.problem.offset;
  return addOrigin(o, origin);
}

/** `ueSketch`: the distinct-UE HyperLogLog registers (base64), for merging estimated UE counts. */
export function statsJson(s: AnalysisStats, ueSketch?: string): Record<string, unknown> {
  const { first, last, ...rest } = s;
  const o: Record<string, unknown> = { type: 'stats', ...rest, first: first ? ts(first) : null, last: last ? ts(last) : null };
  if (ueSketch !== undefined) o.ueSketch = ueSketch;
  return o;
}
