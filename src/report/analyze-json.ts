/**
 * `analyze --json`: NDJSON records `{"type":"transaction",…}`, `{"type":"diagnostic",…}`, `{"type":"anomaly",…}` and
 * a final `{"type":"stats",…}`. Times are epoch seconds (like `dissect --json`'s `ts`), durations seconds. The field
 * names are part of the public interface.
 */
import { toEpochSeconds, type PacketTime } from '../common/time';
import type { AnalysisStats, Diagnostic, KeyDeliveryTransaction, ProtocolAnomaly } from '../correlate/types';

const ts = (t: PacketTime) => toEpochSeconds(t);

export function transactionJson(t: KeyDeliveryTransaction): Record<string, unknown> {
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
  return o;
}

export function diagnosticJson(d: Diagnostic): Record<string, unknown> {
  return {
    type: 'diagnostic',
    code: d.code,
    severity: d.severity,
    transaction: d.transaction ?? null,
    ue: d.ue ?? null,
    frames: d.frames,
    message: d.message,
    ts: ts(d.time),
    // only when set: the finding may be the capture's fault (correlator's loss windows)
    ...(d.possibleCaptureLoss ? { possibleCaptureLoss: true } : {}),
  };
}

export function anomalyJson(a: ProtocolAnomaly): Record<string, unknown> {
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
  return o;
}

export function statsJson(s: AnalysisStats): Record<string, unknown> {
  const { first, last, ...rest } = s;
  return { type: 'stats', ...rest, first: first ? ts(first) : null, last: last ? ts(last) : null };
}
