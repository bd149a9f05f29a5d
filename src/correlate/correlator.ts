/**
 * KeyDeliveryCorrelator: joins the dissected frames of a capture into MBMS key-delivery transactions per UE
 * (registration, deregistration, pull, push, solicited pull, MTK delivery; mbms.md "Procedures") and raises procedure
 * diagnostics. A deterministic state machine on packet time: timeouts are deadlines in packet time, expired when a
 * later frame arrives or at the end of the capture, so a file and a live capture give the same answers.
 *
 * UEs are joined by address and by B-TID (the Digest username, the MIKEY IDr), so a UE behind NAT or a GTP-U tunnel
 * stays one UE. All state is bounded: UEs and open transactions (oldest forgotten or closed early, counted in
 * stats.evicted), steps per transaction, the delivery index used to match ACKs.
 *
 * The input record is the Dissector's DissectedFrame (a type only: this stage never calls back into the pipeline).
 */
import type { Problem } from '../common/problem';
import { SEVERITY_RANK } from '../common/problem';
import { escapeText } from '../common/escape';
import { diffSeconds, type PacketTime } from '../common/time';
import type { DissectedFrame, MikeyFrameRecord } from '../pipeline/dissector';
import { digestChallengeView, digestCredentialsView, isDigest } from '../protocols/http/auth';
import type { HttpMessage } from '../protocols/http/types';
import type { MbmsKeyRef } from '../protocols/mbms/xml';
import { serialGreater } from '../protocols/mikey/tracker';
import type { MbmsInfo } from '../protocols/mikey/types';
import { DIAGNOSTICS } from './catalog';
import { AckTable, SampleSet, ackRate } from './stats';
import { PacketTimers } from './timers';
import type {
  AnalysisStats, Diagnostic, DiagnosticCode, DigestOutcome, KeyDeliveryTransaction, KeyRefSummary, Procedure, ProtocolAnomaly,
  StepKind, TransactionStep,
} from './types';

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

export interface CorrelatorSink {
  transaction?(t: KeyDeliveryTransaction): void;
  diagnostic?(d: Diagnostic): void;
  anomaly?(a: ProtocolAnomaly): void;
}

type TxState = 'requested' | 'challenged' | 'authorized' | 'awaiting-request' | 'waiting-ack' | 'done';

interface RequestRef {
  tx: Tx;
  msg: HttpMessage;
  credentials: boolean;
  answered: boolean;
  client: string;
  server: string;
}

interface DeliveryRef {
  tx: Tx;
  kind: 'msk' | 'trigger' | 'mtk';
  frame: number;
  time: PacketTime;
  v: boolean;
  /** An ACK is expected for it (V set on an MSK message not protected with an older MUK). */
  ackDue: boolean;
  acked: boolean;
  ackInvalid: boolean;
  /** ack-missing was reported: a later ACK is late, not counted. */
  timedOut: boolean;
  ue?: UeState;
  bmsc: string;
  group: string;
  label: string;
}

interface UeState {
  id: string;
  addresses: string[];
  btids: string[];
  /** Addresses a successful registration came from; cleared by a deregistration. */
  registeredFrom: Set<string>;
  /** The first successful registration in the capture: before it, the UE held no MSK of this capture's sessions. */
  registeredAt?: { frames: number[]; time: number };
  deregistered: boolean;
  /**
   * The capture's last word on the UE's registration, when it is against one: its deregistration, or a registration
   * that failed. Evidence that an MSK request comes from an unregistered UE.
   */
  unregisteredBy?: { frames: number[]; why: string };
  /** The BM-SC sent the UE an MSK message or a trigger: it considers the UE registered. */
  contactedByBmsc: boolean;
  unregisteredReported: boolean;
  /** `kd:kg` → key numbers delivered, oldest first (at most two live), with the frame that delivered each. */
  msks: Map<string, { kn: number; frame: number }[]>;
  /** `kd:kg:kn` → the last delivery of that MSK. */
  lastDelivery: Map<string, DeliveryRef>;
  /** The open pull or solicited pull. */
  pull?: Tx;
  /** The open registration or deregistration. */
  reg?: Tx;
  trigger?: Tx;
  /** `kd:kg` the UE asked for → the last transaction that asked. */
  requestedGroups: Map<string, Tx>;
  retryAfter?: { until: number; frame: number; tx: Tx };
}

interface Tx {
  rec: KeyDeliveryTransaction;
  ue: UeState | undefined;
  state: TxState;
  open: boolean;
  /** `kd:kg` (kd may be `*`) of the request. */
  requestedGroups: Set<string>;
  deliveredGroups: Set<string>;
  refusedGroups: Set<string>;
  refusedCodes: Map<string, string>;
  pendingRequests: number;
  challengeTime?: PacketTime;
  okTime?: PacketTime;
  staleRun: number;
  deliveries: DeliveryRef[];
  firstAckDelivery?: DeliveryRef;
  httpDelivery: boolean;
  deliveryDeadlinePassed: boolean;
  /** A registration the BM-SC accepted (2xx, and no refusing ResponseCode). */
  registrationAccepted?: boolean;
}

function ackPending(d: DeliveryRef): boolean {
  return d.ackDue && !d.acked && !d.ackInvalid && !d.timedOut;
}

const DEFAULTS = {
  ackTimeout: 10,
  deliveryTimeout: 10,
  pullTimeout: 30,
  stormUes: 50,
  stormWindow: 1,
  bucketSeconds: 60,
  maxUes: 100_000,
  maxOpenTransactions: 50_000,
  maxSteps: 64,
};

const MAX_DELIVERY_INDEX = 65_536;
const MAX_MUK_COUNTERS = 100_000;
const MAX_ADDRESSES = 8;
const MAX_DIAG_FRAMES = 64;
const MAX_TX_FRAMES = 1024;

const secs = (t: PacketTime) => t.tsSec + t.tsNsec / 1e9;
function fromSecs(s: number): PacketTime {
  const tsSec = Math.floor(s);
  return { tsSec, tsNsec: Math.min(999_999_999, Math.round((s - tsSec) * 1e9)) };
}
const hex = (n: number, w: number) => (n >>> 0).toString(16).padStart(w, '0');

function keyRef(kd: string | undefined, kg: number | undefined, kn: number | undefined): KeyRefSummary {
  const r: KeyRefSummary = { label: `${kd ?? '*'}:${kg === undefined ? '*' : hex(kg, 4)}:${kn === undefined ? '*' : hex(kn, 4)}` };
  if (kd !== undefined) r.keyDomainId = kd;
  if (kg !== undefined) r.keyGroup = kg;
  if (kn !== undefined) r.keyNumber = kn;
  return r;
}

function groupOf(kd: string | undefined, kg: number | undefined): string {
  return `${kd ?? '*'}:${kg === undefined ? '*' : hex(kg, 4)}`;
}

function header(m: HttpMessage, name: string): string | undefined {
  const lower = name.toLowerCase();
  return m.headers.find((h) => h.name.toLowerCase() === lower)?.value;
}

/** `requesttype` of a key-management URI (TS 33.246 Annex G; lab equipment writes `requesttype= register`). */
export function requestTypeOf(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  const q = uri.indexOf('?');
  if (q < 0) return undefined;
  for (const part of uri.slice(q + 1).split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim().toLowerCase() === 'requesttype') return part.slice(eq + 1).trim().toLowerCase();
  }
  return undefined;
}

function usernameOf(m: HttpMessage): string | undefined {
  for (const c of m.auth?.credentials ?? []) {
    if (!isDigest(c)) continue;
    const u = digestCredentialsView(c).username;
    // the B-TID becomes a UE label shown to people: escaped once here
    if (u) return escapeText(u, 256);
  }
  return undefined;
}

function retryAfterSeconds(m: HttpMessage): number | undefined {
  const v = header(m, 'retry-after');
  if (v === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Math.min(Number(v), 86_400 * 365);
  const d = Date.parse(v);
  const date = header(m, 'date');
  const base = date ? Date.parse(date) : NaN;
  // an HTTP-date is only usable against the response's own Date header: packet time, not wall-clock time
  if (!Number.isNaN(d) && !Number.isNaN(base)) return Math.max(0, (d - base) / 1000);
  return undefined;
}

export class KeyDeliveryCorrelator {
  private readonly o: typeof DEFAULTS;
  private readonly timers = new PacketTimers();
  private readonly ues = new Map<string, UeState>();
  private readonly uesByAddress = new Map<string, UeState>();
  private readonly uesByBtid = new Map<string, UeState>();
  private readonly open = new Map<string, Tx>();
  private readonly requests = new Map<HttpMessage, RequestRef>();
  private readonly conns = new Map<number, { client: string; server: string }>();
  private readonly deliveriesByKey = new Map<string, DeliveryRef>();
  private readonly deliveriesByFrame = new Map<number, DeliveryRef>();
  private readonly mukCounters = new Map<string, { counter: number; frame: number }>();
  private readonly mtkStreams = new Map<string, { counter?: number; mtkId?: number; raw?: Buffer; frame: number; last: number; tx?: Tx; dst: string }>();
  private readonly mtkIntervals = new Map<string, { kd: string; msk: string; messages: number; ids: Set<number>; samples: SampleSet }>();
  private readonly storm: { t: number; ue: UeState; tx: Tx; frame: number }[] = [];
  private stormActive = false;
  private stormStart: number | undefined;
  private readonly stormReported = new Set<UeState>();
  private txCount = 0;
  private now = 0;
  private nowTime: PacketTime = { tsSec: 0, tsNsec: 0 };
  private finished = false;

  private readonly lat = {
    challengeToCredentials: new SampleSet(),
    requestTo200: new SampleSet(),
    okToMikey: new SampleSet(),
    mikeyToAck: new SampleSet(),
  };
  private readonly ack = { requested: 0, acked: 0 };
  private readonly ackByBmsc = new AckTable();
  private readonly ackByUe = new AckTable(100_000);
  private readonly ackByGroup = new AckTable();
  private readonly ackByTime = new AckTable(100_000);
  private readonly counts = {
    frames: 0,
    byProcedure: {} as Partial<Record<Procedure, number>>,
    byVerdict: {} as AnalysisStats['byVerdict'],
    byVariant: {} as AnalysisStats['byVariant'],
    diagnostics: {} as AnalysisStats['diagnostics'],
    bySeverity: {} as AnalysisStats['diagnosticsBySeverity'],
    anomalies: {} as Record<string, number>,
    evictedUes: 0,
    evictedTx: 0,
    uesSeen: 0,
  };
  private first?: PacketTime;
  private last?: PacketTime;

  constructor(private readonly sink: CorrelatorSink, options: CorrelatorOptions = {}) {
    this.o = { ...DEFAULTS };
    for (const k of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const v = options[k];
      if (v !== undefined && Number.isFinite(v) && v > 0) this.o[k] = v;
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // input

  frame(f: DissectedFrame): void {
    const p = f.packet;
    this.counts.frames++;
    this.first ??= { tsSec: p.tsSec, tsNsec: p.tsNsec };
    this.last = { tsSec: p.tsSec, tsNsec: p.tsNsec };
    const t = secs(p);
    // packet time never runs backwards for the state machine, even when the capture does
    if (t > this.now) {
      // virtual time advances deadline by deadline, so a callback sees the time it fires at
      this.timers.expire(t, (at) => this.advance(at));
      this.now = t;
      this.nowTime = { tsSec: p.tsSec, tsNsec: p.tsNsec };
    }
    for (const pr of f.problems) this.anomaly(p.frame, p, pr);
    for (const h of f.http ?? []) this.http(f, h.message);
    for (const m of f.mikey ?? []) this.mikey(f, m);
  }

  /**
   * Let packet time pass without a frame (a live source that has been quiet up to `time`, e.g. a pcap stream's
   * heartbeat): deadlines before it expire. Never called with wall-clock time by keyscope itself.
   */
  expire(time: PacketTime): void {
    const t = secs(time);
    if (t <= this.now || this.finished) return;
    this.timers.expire(t, (at) => this.advance(at));
    this.now = t;
    this.nowTime = { tsSec: time.tsSec, tsNsec: time.tsNsec };
  }

  /**
   * End of capture: every open transaction is closed. A deadline after the last frame had not passed when the
   * capture ended, so nothing is decided on it: what still waited is `incomplete`, not a fault.
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.timers.clear();
    for (const tx of [...this.open.values()]) this.close(tx, 'end-of-capture');
    for (const s of this.mtkStreams.values()) if (s.tx?.open) this.close(s.tx, 'end-of-capture');
    for (const ue of this.ues.values()) this.checkGroups(ue);
  }

  private advance(at: number): void {
    if (at > this.now) {
      this.now = at;
      this.nowTime = fromSecs(at);
    }
  }

  stats(): AnalysisStats {
    const s: AnalysisStats = {
      frames: this.counts.frames,
      transactions: this.txCount,
      ues: this.counts.uesSeen,
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
      ackOverTime: { bucketSeconds: this.o.bucketSeconds, buckets: this.ackByTime.buckets(this.o.bucketSeconds) },
      latency: {
        challengeToCredentials: this.lat.challengeToCredentials.distribution(),
        requestTo200: this.lat.requestTo200.distribution(),
        okToMikey: this.lat.okToMikey.distribution(),
        mikeyToAck: this.lat.mikeyToAck.distribution(),
      },
      mtk: [...this.mtkIntervals.values()]
        .map((m) => ({ keyDomainId: m.kd, mskId: m.msk, messages: m.messages, distinctMtkIds: m.ids.size, intervals: m.samples.distribution() }))
        .sort((a, b) => (a.keyDomainId + a.mskId).localeCompare(b.keyDomainId + b.mskId)),
      evicted: { ues: this.counts.evictedUes, transactions: this.counts.evictedTx },
    };
    if (this.first) s.first = this.first;
    if (this.last) s.last = this.last;
    return s;
  }

  private anomaly(frame: number, time: PacketTime, problem: Problem): void {
    this.counts.anomalies[problem.code] = (this.counts.anomalies[problem.code] ?? 0) + 1;
    this.sink.anomaly?.({ frame, time: { tsSec: time.tsSec, tsNsec: time.tsNsec }, problem });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // UEs

  private ue(address: string | undefined, btid: string | undefined): UeState | undefined {
    const byBtid = btid !== undefined ? this.uesByBtid.get(btid) : undefined;
    const byAddr = address !== undefined ? this.uesByAddress.get(address) : undefined;
    let ue = byBtid ?? byAddr;
    if (!ue) {
      const id = address ?? btid;
      if (id === undefined) return undefined;
      ue = {
        id, addresses: [], btids: [], registeredFrom: new Set(), deregistered: false, contactedByBmsc: false, unregisteredReported: false,
        msks: new Map(), lastDelivery: new Map(), requestedGroups: new Map(),
      };
      this.counts.uesSeen++;
    }
    if (address !== undefined && !ue.addresses.includes(address)) {
      ue.addresses.push(address);
      if (ue.addresses.length > MAX_ADDRESSES) ue.addresses.splice(1, 1);
    }
    if (address !== undefined) this.uesByAddress.set(address, ue);
    if (btid !== undefined) {
      if (!ue.btids.includes(btid)) {
        ue.btids.push(btid);
        if (ue.btids.length > MAX_ADDRESSES) ue.btids.shift();
      }
      this.uesByBtid.set(btid, ue);
    }
    // least recently seen last out
    this.ues.delete(ue.id);
    this.ues.set(ue.id, ue);
    while (this.ues.size > this.o.maxUes) {
      const oldest = this.ues.values().next().value as UeState;
      this.ues.delete(oldest.id);
      this.checkGroups(oldest);
      for (const a of oldest.addresses) if (this.uesByAddress.get(a) === oldest) this.uesByAddress.delete(a);
      for (const b of oldest.btids) if (this.uesByBtid.get(b) === oldest) this.uesByBtid.delete(b);
      this.counts.evictedUes++;
    }
    return ue;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // transactions

  private newTx(procedure: Procedure, ue: UeState | undefined, ueLabel: string, time: PacketTime): Tx {
    const id = `T${++this.txCount}`;
    const rec: KeyDeliveryTransaction = {
      id, procedure, ue: ue?.id ?? ueLabel, ueAddresses: ue ? [...ue.addresses] : [ueLabel], requestedKeys: [], deliveredKeys: [], serviceIds: [],
      steps: [], frames: [], stepsDropped: 0, httpStatuses: [], digest: 'none', delivered: false, ackRequested: false, acked: false, latencies: {},
      verdict: 'ok', diagnostics: [], start: time, end: time, closedBy: 'complete',
    };
    if (ue?.btids.length) rec.btid = ue.btids[ue.btids.length - 1];
    const tx: Tx = {
      rec, ue, state: 'requested', open: true, requestedGroups: new Set(), deliveredGroups: new Set(), refusedGroups: new Set(), refusedCodes: new Map(), pendingRequests: 0,
      staleRun: 0, deliveries: [], httpDelivery: false, deliveryDeadlinePassed: false,
    };
    this.counts.byProcedure[procedure] = (this.counts.byProcedure[procedure] ?? 0) + 1;
    if (procedure !== 'mtk') {
      this.open.set(id, tx);
      while (this.open.size > this.o.maxOpenTransactions) {
        const oldest = this.open.values().next().value as Tx;
        this.counts.evictedTx++;
        this.close(oldest, 'evicted');
      }
    }
    return tx;
  }

  private step(tx: Tx, kind: StepKind, frame: number, time: PacketTime, extra: Partial<TransactionStep> = {}, frames: readonly number[] = [frame]): void {
    const fr = tx.rec.frames;
    for (const n of frames) {
      if (fr.length >= MAX_TX_FRAMES) break;
      if (fr.length === 0 || fr[fr.length - 1] < n) fr.push(n);
      else if (!fr.includes(n)) {
        fr.push(n);
        fr.sort((a, b) => a - b);
      }
    }
    if (tx.rec.steps.length >= this.o.maxSteps) tx.rec.stepsDropped++;
    else tx.rec.steps.push({ kind, frame, time: { tsSec: time.tsSec, tsNsec: time.tsNsec }, ...extra });
    tx.rec.end = { tsSec: time.tsSec, tsNsec: time.tsNsec };
    if (tx.ue) {
      tx.rec.ue = tx.ue.id;
      tx.rec.ueAddresses = [...tx.ue.addresses];
      if (tx.ue.btids.length) tx.rec.btid = tx.ue.btids[tx.ue.btids.length - 1];
    }
  }

  private diag(code: DiagnosticCode, tx: Tx | undefined, ue: UeState | string | undefined, frames: number[], message: string, time?: PacketTime): void {
    const info = DIAGNOSTICS[code];
    const d: Diagnostic = {
      code, severity: info.severity, frames: [...new Set(frames)].sort((a, b) => a - b).slice(0, MAX_DIAG_FRAMES), message,
      time: time ?? this.nowTime,
    };
    if (tx) d.transaction = tx.rec.id;
    const ueId = typeof ue === 'string' ? ue : ue?.id ?? tx?.rec.ue;
    if (ueId !== undefined) d.ue = ueId;
    if (tx && !tx.rec.diagnostics.includes(code)) tx.rec.diagnostics.push(code);
    this.counts.diagnostics[code] = (this.counts.diagnostics[code] ?? 0) + 1;
    this.counts.bySeverity[info.severity] = (this.counts.bySeverity[info.severity] ?? 0) + 1;
    this.sink.diagnostic?.(d);
  }

  private close(tx: Tx, by: KeyDeliveryTransaction['closedBy']): void {
    if (!tx.open) return;
    tx.open = false;
    tx.state = 'done';
    this.open.delete(tx.rec.id);
    if (tx.ue?.pull === tx) tx.ue.pull = undefined;
    if (tx.ue?.trigger === tx) tx.ue.trigger = undefined;
    if (tx.ue?.reg === tx) tx.ue.reg = undefined;
    const r = tx.rec;
    r.closedBy = by;
    let worst = -1;
    for (const c of r.diagnostics) worst = Math.max(worst, SEVERITY_RANK[DIAGNOSTICS[c].severity]);
    const unfinished = this.incomplete(tx) || tx.pendingRequests > 0 || tx.deliveries.some(ackPending);
    if (worst >= SEVERITY_RANK.error) r.verdict = 'failed';
    else if (worst >= SEVERITY_RANK.warning) r.verdict = 'degraded';
    // cut by the end of the capture (or the state bound) while it still waited: nothing to blame
    else if (unfinished && (by === 'end-of-capture' || by === 'evicted')) r.verdict = 'incomplete';
    else r.verdict = unfinished ? 'failed' : 'ok';
    if (tx.ue && r.procedure === 'register' && by !== 'end-of-capture' && by !== 'evicted' && !tx.registrationAccepted && tx.ue.registeredFrom.size === 0)
      tx.ue.unregisteredBy = { frames: r.steps.map((st) => st.frame), why: 'its registration failed' };
    this.counts.byVerdict[r.verdict] = (this.counts.byVerdict[r.verdict] ?? 0) + 1;
    if (r.variant) this.counts.byVariant[r.variant] = (this.counts.byVariant[r.variant] ?? 0) + 1;
    this.sink.transaction?.(r);
  }

  /** The procedure did not reach its goal (keys delivered, registration accepted). */
  private incomplete(tx: Tx): boolean {
    switch (tx.rec.procedure) {
      case 'pull':
      case 'solicited-pull':
        return !tx.rec.delivered;
      case 'register':
      case 'deregister':
        return !tx.rec.httpStatuses.some((s) => s >= 200 && s < 300);
      default:
        return false;
    }
  }

  /**
   * End of capture (or a UE forgotten): key groups the UE asked for and holds no MSK of leave it without an MSK: it
   * must leave the user service. Only on evidence inside the capture: the UE's registration is in it (so it cannot
   * hold an MSK delivered before the capture started), and the request's outcome is final — refused, failed, or its
   * delivery deadline passed — not merely cut by the end of the capture.
   */
  private checkGroups(ue: UeState): void {
    for (const [g, tx] of ue.requestedGroups) {
      const held = [...ue.msks.entries()].some(([k, kns]) => kns.length > 0 && groupMatches(g, k));
      if (held) continue;
      const reg = ue.registeredAt;
      if (!reg || reg.time > secs(tx.rec.start)) continue;
      const regFrame = reg.frames[reg.frames.length - 1];
      const refused = tx.refusedGroups.has(g);
      if (!refused && (tx.open || tx.rec.closedBy === 'end-of-capture' || tx.rec.closedBy === 'evicted')) continue;
      const why = refused ? `refused by the BM-SC with ResponseCode ${tx.refusedCodes.get(g) ?? '?'}` : tx.okTime ? 'never delivered' : 'the request failed';
      this.diag('no-valid-msk', tx, ue, [...reg.frames, ...tx.rec.frames], `UE ${ue.id}, registered in frame ${regFrame}, has no MSK for key group ${g} it requested (${why}): it must leave the user service`);
    }
    ue.requestedGroups.clear();
  }

  private groupDelivered(delivered: Set<string>, g: string): boolean {
    for (const d of delivered) if (groupMatches(g, d)) return true;
    return false;
  }

  /** A transaction is finished once every requested group is in and no ACK is outstanding (a pull: after its delivery deadline). */
  private maybeComplete(tx: Tx): void {
    if (!tx.open) return;
    if (tx.deliveries.some(ackPending)) return;
    const p = tx.rec.procedure;
    if (p === 'push') {
      this.close(tx, 'complete');
      return;
    }
    if (p !== 'pull' && p !== 'solicited-pull') return;
    // a pull stays open until its delivery deadline, so late extra deliveries (another key group, a repeat) still join it
    if (tx.state !== 'authorized' || tx.pendingRequests > 0 || !tx.rec.delivered || !tx.deliveryDeadlinePassed) return;
    for (const g of tx.requestedGroups) if (!this.groupDelivered(tx.deliveredGroups, g) && !tx.refusedGroups.has(g)) return;
    this.close(tx, 'complete');
  }

  // ---------------------------------------------------------------------------------------------------------------
  // HTTP

  private http(f: DissectedFrame, m: HttpMessage): void {
    const p = f.packet;
    if (m.kind === 'request') {
      if (p.ip && p.frame === m.lastFrame) {
        this.conns.set(m.connId, { client: p.ip.src, server: p.ip.dst });
        if (this.conns.size > 65_536) this.conns.delete(this.conns.keys().next().value as number);
      }
      this.request(f, m);
    } else if (!m.interim) this.response(f, m);
  }

  private request(f: DissectedFrame, m: HttpMessage): void {
    const conn = this.conns.get(m.connId);
    if (!conn) return;
    const rt = requestTypeOf(m.uri) ?? (m.mbms && m.mbms.kind !== 'unknown' ? bodyRequestType(m.mbms.kind) : undefined);
    if (m.contentType === 'application/mikey') return; // an ACK carried over HTTP (variant B): the MIKEY side handles it
    if (rt !== 'register' && rt !== 'deregister' && rt !== 'msk-request') return;
    const btid = usernameOf(m);
    const ue = this.ue(conn.client, btid);
    if (!ue) return;
    const time: PacketTime = m.lastTime;
    const credentials = btid !== undefined;
    let tx: Tx | undefined;
    if (rt === 'msk-request') {
      if (ue.pull?.open && ue.pull.state !== 'authorized') tx = ue.pull;
      else if (ue.trigger?.open && ue.trigger.state === 'awaiting-request') {
        tx = ue.trigger;
        tx.state = 'requested';
        ue.trigger = undefined;
        ue.pull = tx;
        this.stormCheck(ue, tx, m.lastFrame);
      } else {
        // an earlier pull still waiting for its delivery stays open: its own deadline closes it
        tx = this.newTx('pull', ue, conn.client, time);
        ue.pull = tx;
        this.stormCheck(ue, tx, m.lastFrame);
      }
      if (ue.retryAfter) {
        const ra = ue.retryAfter;
        ue.retryAfter = undefined;
        if (this.now < ra.until)
          this.diag('retry-after-ignored', tx, ue, [ra.frame, m.lastFrame], `UE ${ue.id} repeated its request ${(ra.until - this.now).toFixed(3)} s before the Retry-After of frame ${ra.frame} expired`);
      }
      this.registrationCheck(ue, tx, m);
      for (const k of m.mbms?.msks ?? []) this.addRequested(tx, k);
    } else {
      const proc: Procedure = rt === 'register' ? 'register' : 'deregister';
      const cur = ue.reg;
      if (cur?.open && cur.rec.procedure === proc && cur.state === 'challenged') tx = cur;
      else {
        if (cur?.open) this.close(cur, 'complete');
        tx = this.newTx(proc, ue, conn.client, time);
        ue.reg = tx;
      }
      for (const s of m.mbms?.serviceIds ?? []) if (!tx.rec.serviceIds.includes(s) && tx.rec.serviceIds.length < 64) tx.rec.serviceIds.push(escapeText(s, 200));
    }
    tx.rec.requestType ??= rt;
    tx.rec.bmsc ??= conn.server;
    if (credentials && tx.challengeTime) {
      const l = diffSeconds(tx.challengeTime, time);
      tx.rec.latencies.challengeToCredentials ??= l;
      this.lat.challengeToCredentials.add(l);
      tx.challengeTime = undefined;
    }
    this.step(tx, credentials ? 'credentials' : 'request', m.lastFrame, time, { detail: escapeText(`${m.method ?? ''} ${m.uri ?? ''}`, 200) }, m.frames);
    tx.pendingRequests++;
    const ref: RequestRef = { tx, msg: m, credentials, answered: false, client: conn.client, server: conn.server };
    this.requests.set(m, ref);
    if (this.requests.size > 65_536) this.requests.delete(this.requests.keys().next().value as HttpMessage);
    this.timers.set(secs(time) + this.o.pullTimeout, (at) => {
      this.requests.delete(m);
      if (ref.answered) return;
      ref.tx.pendingRequests--;
      this.diag('request-unanswered', ref.tx, ref.tx.ue, [m.lastFrame], `${escapeText(m.method ?? '')} ${escapeText(m.uri ?? '', 120)} from ${ref.client} got no response within ${this.o.pullTimeout} s`, fromSecs(at));
      if (ref.tx.open && ref.tx.pendingRequests === 0 && ref.tx.state !== 'authorized') this.close(ref.tx, 'timeout');
    });
  }

  /**
   * An MSK request from a UE the capture shows unregistered (it deregistered, or its registration failed) is a
   * warning. A registration that is merely absent may precede the capture: a note, and not even that once the BM-SC
   * has shown it considers the UE registered (it pushed to it or triggered it).
   */
  private registrationCheck(ue: UeState, tx: Tx, m: HttpMessage): void {
    if (ue.unregisteredReported || ue.registeredFrom.size > 0) return;
    if (ue.unregisteredBy) {
      ue.unregisteredReported = true;
      const by = ue.unregisteredBy;
      this.diag('msk-request-unregistered', tx, ue, [...by.frames, m.lastFrame], `MSK request from UE ${ue.id}, but ${by.why} (frame ${by.frames[by.frames.length - 1]})`);
    } else if (!ue.registeredAt && !ue.contactedByBmsc) {
      ue.unregisteredReported = true;
      this.diag('registration-not-seen', tx, ue, [m.lastFrame], `MSK request from UE ${ue.id}, whose registration is not in the capture (it may precede it)`);
    }
  }

  private addRequested(tx: Tx, k: MbmsKeyRef): void {
    const kd = k.keyDomainId?.toLowerCase();
    const r = keyRef(kd, k.keyGroup, k.keyNumber);
    if (!tx.rec.requestedKeys.some((x) => x.label === r.label) && tx.rec.requestedKeys.length < 64) tx.rec.requestedKeys.push(r);
    if (k.keyGroup !== undefined && tx.requestedGroups.size < 64) {
      const g = groupOf(kd, k.keyGroup);
      tx.requestedGroups.add(g);
      if (tx.ue) {
        tx.ue.requestedGroups.delete(g);
        tx.ue.requestedGroups.set(g, tx);
        if (tx.ue.requestedGroups.size > 64) tx.ue.requestedGroups.delete(tx.ue.requestedGroups.keys().next().value as string);
      }
    }
  }

  private response(f: DissectedFrame, m: HttpMessage): void {
    const req = m.request;
    if (!req) return;
    const ref = this.requests.get(req);
    if (!ref || ref.answered) return;
    ref.answered = true;
    this.requests.delete(req);
    const tx = ref.tx;
    tx.pendingRequests--;
    const status = m.status ?? 0;
    const time = m.lastTime;
    if (tx.rec.httpStatuses.length < 64) tx.rec.httpStatuses.push(status);
    const ue = tx.ue;
    if (status === 401) {
      const ch = (m.auth?.challenges ?? []).filter(isDigest).map((c) => digestChallengeView(c));
      const stale = ch.some((c) => c.stale === true);
      this.step(tx, 'challenge', m.lastFrame, time, { status }, m.frames);
      tx.challengeTime = time;
      if (tx.state !== 'authorized') tx.state = 'challenged';
      if (ref.credentials) {
        if (stale) {
          tx.staleRun++;
          tx.rec.digest = 'stale';
          if (tx.staleRun === 2)
            this.diag('stale-nonce-loop', tx, ue, stepFrames(tx, 'challenge'), `UE ${ue?.id ?? ref.client} got ${tx.staleRun} stale-nonce challenges in a row`);
        } else {
          tx.staleRun = 0;
          tx.rec.digest = 'rejected';
          this.diag('credentials-rejected', tx, ue, [req.lastFrame, m.lastFrame], `401 to Digest credentials of ${usernameOf(req) ?? '?'} (frame ${req.lastFrame}): rejected`);
        }
      } else if (tx.rec.digest === 'none') tx.rec.digest = 'challenged';
      // a challenge nobody answers leaves the transaction open until the pull timeout
      const at = secs(time) + this.o.pullTimeout;
      this.timers.set(at, () => {
        if (tx.open && tx.state === 'challenged' && tx.pendingRequests === 0 && tx.challengeTime === time) this.close(tx, 'timeout');
      });
      return;
    }
    this.step(tx, 'response', m.lastFrame, time, { status }, m.frames);
    if (status >= 200 && status < 300) {
      if (ref.credentials) tx.rec.digest = 'accepted';
      tx.staleRun = 0;
      const l = diffSeconds(req.lastTime, time);
      tx.rec.latencies.requestTo200 ??= l;
      this.lat.requestTo200.add(l);
      // a ResponseCode other than 200 for one MSK is a refusal of that key, not an HTTP failure: no-valid-msk tells it
      for (const r of m.mbms?.responses ?? []) {
        if (r.status !== undefined && r.status !== 200 && r.msk?.keyGroup !== undefined) {
          const g = groupOf(r.msk.keyDomainId?.toLowerCase(), r.msk.keyGroup);
          tx.refusedGroups.add(g);
          tx.refusedCodes.set(g, escapeText(r.responseCode ?? String(r.status), 60));
        }
      }
      const proc = tx.rec.procedure;
      if (proc === 'register' || proc === 'deregister') {
        const ok = (m.mbms?.responses ?? []).length === 0 || (m.mbms?.responses ?? []).some((r) => r.status === undefined || r.status === 200);
        if (ue && ok) {
          if (proc === 'register') {
            tx.registrationAccepted = true;
            ue.registeredFrom.add(ref.client);
            ue.registeredAt ??= { frames: [req.lastFrame, m.lastFrame], time: secs(time) };
            ue.deregistered = false;
            ue.unregisteredBy = undefined;
            ue.unregisteredReported = false;
          } else {
            ue.registeredFrom.delete(ref.client);
            if (ue.registeredFrom.size === 0) {
              ue.deregistered = true;
              ue.unregisteredBy = { frames: [req.lastFrame, m.lastFrame], why: 'it deregistered' };
              ue.unregisteredReported = false;
            }
          }
        }
        tx.state = 'done';
        this.close(tx, 'complete');
        return;
      }
      tx.state = 'authorized';
      tx.okTime = time;
      if (tx.rec.delivered && !tx.rec.variant) tx.rec.variant = 'D';
      this.timers.set(secs(time) + this.o.deliveryTimeout, (at) => {
        if (!tx.open) return;
        const allRefused = tx.requestedGroups.size > 0 && [...tx.requestedGroups].every((g) => tx.refusedGroups.has(g));
        if (!tx.rec.delivered && !allRefused)
          this.diag('no-mikey-after-200', tx, ue, [req.lastFrame, m.lastFrame], `200 OK to the MSK request of UE ${ue?.id ?? ref.client}, but no MIKEY MSK message within ${this.o.deliveryTimeout} s`, fromSecs(at));
        tx.deliveryDeadlinePassed = true;
        if (!tx.deliveries.some(ackPending)) this.close(tx, tx.rec.delivered ? 'complete' : 'timeout');
      });
      this.maybeComplete(tx);
      return;
    }
    if (status >= 400) {
      const ra = status === 503 ? retryAfterSeconds(m) : undefined;
      this.diag('http-error-status', tx, ue, [req.lastFrame, m.lastFrame], `${status} ${escapeText(m.reason ?? '', 60)} to ${escapeText(req.method ?? '')} ${escapeText(req.uri ?? '', 120)}${ra !== undefined ? ` (Retry-After ${ra} s)` : ''}`);
      if (ue && ra !== undefined && tx.rec.requestType === 'msk-request') {
        const until = secs(time) + ra;
        const entry = { until, frame: m.lastFrame, tx };
        ue.retryAfter = entry;
        this.timers.set(until + this.o.pullTimeout, () => {
          if (ue.retryAfter !== entry) return;
          ue.retryAfter = undefined;
          this.diag('retry-after-ignored', tx, ue, [req.lastFrame, m.lastFrame], `UE ${ue.id} did not repeat its MSK request within ${this.o.pullTimeout} s after the Retry-After ${ra} s of the 503`);
        });
      }
      if (tx.pendingRequests === 0) this.close(tx, 'complete');
    }
  }

  /**
   * Request storm: `stormUes` distinct UEs starting MSK requests within `stormWindow`. Reported on every UE of the
   * storm (each gets the finding, with its own request frame), as long as the storm lasts.
   */
  private stormCheck(ue: UeState, tx: Tx, frame: number): void {
    const w = this.storm;
    w.push({ t: this.now, ue, tx, frame });
    while (w.length > 0 && w[0].t < this.now - this.o.stormWindow) w.shift();
    if (w.length > 10 * this.o.stormUes) w.splice(0, w.length - 10 * this.o.stormUes);
    const distinct = new Set(w.map((x) => x.ue));
    if (distinct.size >= this.o.stormUes) {
      const fresh = !this.stormActive;
      this.stormActive = true;
      this.stormStart ??= w[0].frame;
      const list = fresh ? w : w.slice(-1);
      for (const x of list) {
        if (this.stormReported.has(x.ue)) continue;
        this.stormReported.add(x.ue);
        this.diag('request-storm', x.tx, x.ue, [x.frame], `${distinct.size} UEs started MSK requests within ${this.o.stormWindow} s (storm from frame ${this.stormStart}); this UE's request is frame ${x.frame}`);
      }
    } else if (distinct.size < Math.max(1, this.o.stormUes / 2)) {
      this.stormActive = false;
      this.stormStart = undefined;
      this.stormReported.clear();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // MIKEY

  private mikey(f: DissectedFrame, rec: MikeyFrameRecord): void {
    const a = rec.analysis;
    const info = a.mbms;
    const m = a.message;
    if (!info || !m) return;
    const ends = this.endpoints(f, rec);
    if (!ends) return;
    switch (info.kind) {
      case 'msk-delivery':
      case 'solicited-pull-trigger':
        this.mskMessage(f, rec, info, ends);
        break;
      case 'mtk-delivery':
        this.mtkMessage(f, rec, info, ends);
        break;
      case 'verification':
        this.ackMessage(f, rec, info, ends);
        break;
      default:
        break;
    }
  }

  private endpoints(f: DissectedFrame, rec: MikeyFrameRecord): { src: string; dst: string } | undefined {
    const ip = f.packet.ip;
    if (rec.carrier === 'udp') return ip ? { src: ip.src, dst: ip.dst } : undefined;
    const carrier = (f.http ?? []).map((h) => h.message).find((h) => h.contentType === 'application/mikey');
    const conn = carrier ? this.conns.get(carrier.connId) : undefined;
    if (!carrier || !conn) return ip ? { src: ip.src, dst: ip.dst } : undefined;
    return carrier.kind === 'request' ? { src: conn.client, dst: conn.server } : { src: conn.server, dst: conn.client };
  }

  private counterCheck(f: DissectedFrame, info: MbmsInfo, dst: string, ue: UeState | undefined, tx: Tx): void {
    if (info.counter === undefined) return;
    const key = info.idr !== undefined ? `${info.idi ?? ''}\u0000${info.idr}` : `addr:${dst}`;
    const last = this.mukCounters.get(key);
    const frame = f.packet.frame;
    if (last) {
      if (!serialGreater(info.counter, last.counter))
        this.diag('counter-replay', tx, ue, [last.frame, frame], `MSK message counter ${info.counter} is not above ${last.counter} (frame ${last.frame}) under the same MUK: the UE drops it as a replay`);
      else {
        const jump = (info.counter - last.counter) >>> 0;
        if (jump > 1)
          this.diag('msk-counter-jump', tx, ue, [last.frame, frame], `MSK message counter jumped from ${last.counter} (frame ${last.frame}) to ${info.counter}: ${jump - 1} MSK message(s) to this UE missing from the capture`);
      }
    }
    if (!last || serialGreater(info.counter, last.counter)) {
      this.mukCounters.delete(key);
      this.mukCounters.set(key, { counter: info.counter, frame });
      if (this.mukCounters.size > MAX_MUK_COUNTERS) this.mukCounters.delete(this.mukCounters.keys().next().value as string);
    }
  }

  private index(d: DeliveryRef, csbId: number, counter: number | undefined): void {
    if (counter !== undefined) {
      const k = `${csbId}:${counter}`;
      this.deliveriesByKey.delete(k);
      this.deliveriesByKey.set(k, d);
      if (this.deliveriesByKey.size > MAX_DELIVERY_INDEX) this.deliveriesByKey.delete(this.deliveriesByKey.keys().next().value as string);
    }
    this.deliveriesByFrame.set(d.frame, d);
    if (this.deliveriesByFrame.size > MAX_DELIVERY_INDEX) this.deliveriesByFrame.delete(this.deliveriesByFrame.keys().next().value as number);
  }

  private mskMessage(f: DissectedFrame, rec: MikeyFrameRecord, info: MbmsInfo, ends: { src: string; dst: string }): void {
    const a = rec.analysis;
    const m = a.message;
    if (!m) return;
    const frame = f.packet.frame;
    const time: PacketTime = f.packet;
    const ue = this.ue(ends.dst, info.idr);
    const trigger = info.kind === 'solicited-pull-trigger';
    const group = groupOf(info.keyDomainId, info.keyGroup);
    const ref = keyRef(info.keyDomainId, info.keyGroup, info.keyNumber);
    const detail = `${trigger ? 'trigger' : 'MSK'} ${ref.label}${info.counter !== undefined ? ` ctr=${info.counter}` : ''}${info.v ? ' V' : ''}`;

    let tx: Tx;
    if (trigger) {
      if (ue?.trigger?.open) this.close(ue.trigger, 'complete');
      tx = this.newTx('solicited-pull', ue, ends.dst, time);
      tx.state = 'awaiting-request';
      tx.rec.bmsc = ends.src;
      if (info.keyGroup !== undefined) {
        tx.requestedGroups.add(group);
        tx.rec.requestedKeys.push(ref);
      }
      if (ue) {
        ue.trigger = tx;
        ue.contactedByBmsc = true;
      }
      this.step(tx, 'trigger', frame, time, { carrier: rec.carrier, detail });
      this.counterCheck(f, info, ends.dst, ue, tx);
      this.timers.set(secs(time) + this.o.pullTimeout, (at) => {
        if (!tx.open || tx.state !== 'awaiting-request') return;
        this.diag('solicited-pull-ignored', tx, ue, [frame], `Solicited-pull trigger for key group ${group} reached UE ${ue?.id ?? ends.dst}, but it sent no MSK request within ${this.o.pullTimeout} s`, fromSecs(at));
        this.close(tx, 'timeout');
      });
      const d: DeliveryRef = { tx, kind: 'trigger', frame, time, v: info.v, ackDue: false, acked: false, ackInvalid: false, timedOut: false, ue, bmsc: ends.src, group, label: ref.label };
      this.index(d, m.header.csbId, info.counter);
      return;
    }

    const pull = ue?.pull?.open && (ue.pull.rec.procedure === 'pull' || ue.pull.rec.procedure === 'solicited-pull') && this.belongsToPull(ue.pull, group, ref.label) ? ue.pull : undefined;
    if (pull) {
      tx = pull;
      if (tx.state !== 'authorized') {
        tx.rec.variant = 'A';
        const reqFrame = stepFrames(tx, 'credentials').concat(stepFrames(tx, 'request'));
        this.diag('mikey-before-200', tx, ue, [...reqFrame.slice(-1), frame], `MIKEY MSK message to UE ${ue?.id ?? ends.dst} before the 200 OK of its request (transport variant A): Digest mutual authentication is lost`);
      } else if (!tx.rec.variant) tx.rec.variant = rec.carrier === 'http' ? 'C' : 'D';
      if (tx.okTime && tx.rec.latencies.okToMikey === undefined) {
        const l = diffSeconds(tx.okTime, time);
        tx.rec.latencies.okToMikey = l;
        this.lat.okToMikey.add(l);
      }
      if (tx.requestedGroups.size > 0 && info.keyGroup !== undefined && ![...tx.requestedGroups].some((g) => groupMatches(g, group)))
        this.diag('key-group-not-requested', tx, ue, [...stepFrames(tx, 'credentials').concat(stepFrames(tx, 'request')).slice(-1), frame], `MSK ${ref.label} delivered to UE ${ue?.id ?? ends.dst}, whose request asked for ${[...tx.requestedGroups].join(', ')}`);
    } else {
      tx = this.newTx('push', ue, ends.dst, time);
      if (ue && (ue.registeredFrom.size > 0 || ue.deregistered) && !ue.registeredFrom.has(ends.dst)) {
        const why = ue.registeredFrom.size > 0 ? `it registered from ${[...ue.registeredFrom].join(', ')}` : 'it deregistered';
        const evidence = (ue.registeredFrom.size > 0 ? ue.registeredAt?.frames : ue.unregisteredBy?.frames) ?? [];
        const shown = evidence.length > 0 ? ` (frame ${evidence[evidence.length - 1]})` : '';
        this.diag('push-to-unregistered-address', tx, ue, [...evidence, frame], `MSK ${ref.label} pushed to ${ends.dst}, but ${why}${shown}`);
      }
    }
    tx.rec.bmsc ??= ends.src;
    if (ue) ue.contactedByBmsc = true;
    if (rec.carrier === 'http') tx.httpDelivery = true;
    this.step(tx, 'delivery', frame, time, { carrier: rec.carrier, detail });
    this.counterCheck(f, info, ends.dst, ue, tx);
    tx.rec.delivered = true;
    if (!tx.rec.deliveredKeys.some((k) => k.label === ref.label) && tx.rec.deliveredKeys.length < 64) tx.rec.deliveredKeys.push(ref);
    tx.deliveredGroups.add(group);

    const previousMuk = a.verifiedWith === 'previous-muk';
    const ackDue = info.v && !previousMuk;
    const d: DeliveryRef = { tx, kind: 'msk', frame, time, v: info.v, ackDue, acked: false, ackInvalid: false, timedOut: false, ue, bmsc: ends.src, group, label: ref.label };
    tx.deliveries.push(d);
    if (tx.deliveries.length > this.o.maxSteps) tx.deliveries.shift();
    this.index(d, m.header.csbId, info.counter);

    if (ue) {
      const prev = ue.lastDelivery.get(ref.label);
      // a resend after the ACK deadline passed unanswered is a retransmission, and a UE may ask again for an MSK it
      // has (a pull answers it); a second copy in the same transaction or an unasked push is a repeat
      if (prev && !prev.timedOut && info.keyNumber !== 0 && (prev.tx === tx || tx.rec.procedure === 'push'))
        this.diag('repeated-delivery', tx, ue, [prev.frame, frame], `MSK ${ref.label} delivered again to UE ${ue.id} (first in frame ${prev.frame}${prev.acked ? ', already ACKed' : ''})`);
      ue.lastDelivery.delete(ref.label);
      ue.lastDelivery.set(ref.label, d);
      if (ue.lastDelivery.size > 256) ue.lastDelivery.delete(ue.lastDelivery.keys().next().value as string);
      if (info.keyNumber !== undefined && info.keyNumber !== 0) {
        const kns = ue.msks.get(group) ?? [];
        if (!kns.some((k) => k.kn === info.keyNumber)) {
          kns.push({ kn: info.keyNumber, frame });
          if (kns.length > 2) {
            const dropped = kns.shift() as { kn: number; frame: number };
            this.diag('third-msk', tx, ue, [dropped.frame, ...kns.map((k) => k.frame)], `Third MSK for key group ${group} at UE ${ue.id}: it drops MSK key number 0x${hex(dropped.kn, 4)} and keeps 0x${kns.map((k) => hex(k.kn, 4)).join(', 0x')}`);
          }
        }
        ue.msks.set(group, kns);
        if (ue.msks.size > 256) ue.msks.delete(ue.msks.keys().next().value as string);
      }
    }

    if (ackDue) {
      tx.rec.ackRequested = true;
      tx.firstAckDelivery ??= d;
      this.ack.requested++;
      this.ackByBmsc.requested(d.bmsc);
      this.ackByUe.requested(ue?.id ?? ends.dst);
      this.ackByGroup.requested(group);
      this.ackByTime.requested(String(Math.floor(secs(time) / this.o.bucketSeconds)));
      this.timers.set(secs(time) + this.o.ackTimeout, (at) => {
        if (d.acked || d.ackInvalid) return;
        d.timedOut = true;
        this.diag('ack-missing', d.tx, d.ue, [d.frame], `MSK ${d.label} to UE ${d.ue?.id ?? ends.dst} had V set, but no ACK came back within ${this.o.ackTimeout} s`, fromSecs(at));
        if (d.tx.open) {
          if (d.tx.rec.procedure === 'push') this.close(d.tx, 'timeout');
          else this.maybeComplete(d.tx);
        }
      });
    }
    this.maybeComplete(tx);
  }

  /**
   * Whether an MSK message to a UE with an open pull is part of that pull. Once every requested group is in, a new MSK
   * of a requested group is a push; a repeat of a delivered MSK or a group nobody asked for still belongs to the pull.
   */
  private belongsToPull(tx: Tx, group: string, label: string): boolean {
    if (tx.state !== 'authorized') return true;
    const missing = [...tx.requestedGroups].some((g) => !this.groupDelivered(tx.deliveredGroups, g) && !tx.refusedGroups.has(g));
    if (missing || tx.requestedGroups.size === 0 && !tx.rec.delivered) return true;
    if (tx.rec.deliveredKeys.some((k) => k.label === label)) return true;
    return tx.requestedGroups.size > 0 && ![...tx.requestedGroups].some((g) => groupMatches(g, group));
  }

  private mtkMessage(f: DissectedFrame, rec: MikeyFrameRecord, info: MbmsInfo, ends: { src: string; dst: string }): void {
    const m = rec.analysis.message;
    if (!m || info.keyDomainId === undefined || info.mskId === undefined) return;
    const frame = f.packet.frame;
    const time: PacketTime = f.packet;
    const mskHex = hex(info.mskId, 8);
    const key = `${info.keyDomainId}:${mskHex}`;
    const ref = keyRef(info.keyDomainId, info.keyGroup, info.keyNumber);
    let st = this.mtkStreams.get(key);
    const same = st?.raw !== undefined && st.raw.equals(m.raw);
    const sameMtk = st?.mtkId !== undefined && st.mtkId === info.mtkId;
    let tx = st?.tx;
    if (!tx || !tx.open || !sameMtk) {
      if (tx?.open) this.close(tx, 'complete');
      tx = this.newTx('mtk', undefined, ends.dst, time);
      tx.rec.bmsc = ends.src;
      tx.rec.repetitions = 0;
      tx.rec.deliveredKeys.push({ ...ref, label: `${ref.label}${info.mtkId !== undefined ? `:mtk=${info.mtkId}` : ''}` });
      tx.rec.delivered = true;
    } else tx.rec.repetitions = (tx.rec.repetitions ?? 0) + 1;
    this.step(tx, 'mtk', frame, time, { carrier: rec.carrier, detail: `MTK ${info.mtkId ?? '?'} under ${ref.label}${info.counter !== undefined ? ` ctr=${info.counter}` : ''}` });
    if (info.v && !same) this.diag('mtk-v-set', tx, ends.dst, [frame], `MTK message ${info.mtkId ?? '?'} under MSK ${ref.label} has the V bit set; MTK messages are never ACKed`);
    if (st && !same && !sameMtk && info.counter !== undefined && st.counter !== undefined && !serialGreater(info.counter, st.counter))
      this.diag('counter-replay', tx, ends.dst, [st.frame, frame], `MTK message counter ${info.counter} under MSK ${ref.label} is not above ${st.counter} (frame ${st.frame}): receivers drop it as a replay`);
    const iv = this.mtkIntervals.get(key) ?? { kd: info.keyDomainId, msk: mskHex, messages: 0, ids: new Set<number>(), samples: new SampleSet(50_000) };
    iv.messages++;
    if (info.mtkId !== undefined && iv.ids.size < 65_536) iv.ids.add(info.mtkId);
    if (st) iv.samples.add(secs(time) - st.last);
    if (!this.mtkIntervals.has(key) && this.mtkIntervals.size >= 10_000) {
      // bound: statistics for new MSKs beyond this are dropped
    } else this.mtkIntervals.set(key, iv);
    const counterUp = st?.counter === undefined || (info.counter !== undefined && serialGreater(info.counter, st.counter));
    st = {
      counter: counterUp ? info.counter : st?.counter, mtkId: info.mtkId, raw: Buffer.from(m.raw), frame: counterUp ? frame : st?.frame ?? frame,
      last: secs(time), tx, dst: ends.dst,
    };
    this.mtkStreams.delete(key);
    this.mtkStreams.set(key, st);
    if (this.mtkStreams.size > 10_000) {
      const oldest = this.mtkStreams.values().next().value;
      if (oldest?.tx?.open) this.close(oldest.tx, 'evicted');
      this.mtkStreams.delete(this.mtkStreams.keys().next().value as string);
    }
    const d: DeliveryRef = { tx, kind: 'mtk', frame, time, v: info.v, ackDue: false, acked: false, ackInvalid: false, timedOut: false, bmsc: ends.src, group: groupOf(info.keyDomainId, info.keyGroup), label: ref.label };
    this.index(d, m.header.csbId, info.counter);
  }

  private ackMessage(f: DissectedFrame, rec: MikeyFrameRecord, info: MbmsInfo, ends: { src: string; dst: string }): void {
    const a = rec.analysis;
    const m = a.message;
    if (!m) return;
    const frame = f.packet.frame;
    const time: PacketTime = f.packet;
    const byFrame = a.answersFrame !== undefined ? this.deliveriesByFrame.get(a.answersFrame) : undefined;
    const d = byFrame ?? (info.counter !== undefined ? this.deliveriesByKey.get(`${m.header.csbId}:${info.counter}`) : undefined);
    if (!d) {
      const ue = this.ue(ends.src, info.idr);
      // the message it answers may lie before the capture: only an ACK later than the ACK timeout after the
      // capture's first frame is evidence of an ACK that answers nothing
      if (this.first && secs(time) - secs(this.first) < this.o.ackTimeout) return;
      this.diag('ack-unmatched', undefined, ue, [frame], `ACK from ${ends.src} (CSB ID 0x${hex(m.header.csbId, 8)}, counter ${info.counter ?? '?'}) matches no MIKEY message in the capture`);
      return;
    }
    const tx = d.tx;
    const ue = d.ue ?? this.ue(ends.src, info.idr);
    this.stepIfOpen(tx, 'ack', frame, time, rec.carrier, `ACK to frame ${d.frame}`);
    if (d.kind === 'mtk') {
      this.diag('mtk-ack', tx, ue ?? ends.src, [d.frame, frame], `ACK from ${ends.src} answers the MTK message of frame ${d.frame}; UEs never ACK MTK messages`);
      return;
    }
    if (!d.ackDue) {
      const why = d.kind === 'trigger' ? 'a solicited-pull trigger' : !d.v ? 'an MSK message without the V bit' : 'an MSK message under an older MUK (the UE should request the MSK instead)';
      this.diag('ack-not-due', tx, ue, [d.frame, frame], `ACK from ${ends.src} answers ${why} (frame ${d.frame})`);
      return;
    }
    if (a.verified === false) {
      d.ackInvalid = true;
      this.diag('ack-mac-invalid', tx, ue, [d.frame, frame], `ACK from ${ends.src} to the MSK message of frame ${d.frame}: MAC does not verify`);
      this.maybeComplete(tx);
      return;
    }
    if (d.acked) return; // a duplicate ACK: the first one counted
    if (d.timedOut) return; // late: ack-missing already said it, and the ACK rate counts ACKs in time
    d.acked = true;
    if (rec.carrier === 'http' && (tx.rec.variant === 'C' || tx.httpDelivery)) tx.rec.variant = 'B';
    const l = diffSeconds(d.time, time);
    this.lat.mikeyToAck.add(l);
    if (d === tx.firstAckDelivery) tx.rec.latencies.mikeyToAck = l;
    tx.rec.acked = tx.deliveries.filter((x) => x.ackDue).every((x) => x.acked);
    this.ack.acked++;
    this.ackByBmsc.acked(d.bmsc);
    this.ackByUe.acked(d.ue?.id ?? ends.src);
    this.ackByGroup.acked(d.group);
    this.ackByTime.acked(String(Math.floor(secs(d.time) / this.o.bucketSeconds)));
    this.maybeComplete(tx);
  }

  private stepIfOpen(tx: Tx, kind: StepKind, frame: number, time: PacketTime, carrier: 'udp' | 'http', detail: string): void {
    // steps of a transaction already reported cannot change it any more
    if (tx.open) this.step(tx, kind, frame, time, { carrier, detail });
  }
}

function stepFrames(tx: Tx, kind: StepKind): number[] {
  return tx.rec.steps.filter((s) => s.kind === kind).map((s) => s.frame);
}

/** `kd:kg` patterns where either side may be `*`. */
function groupMatches(a: string, b: string): boolean {
  const [ad, ag] = a.split(':');
  const [bd, bg] = b.split(':');
  return (ad === '*' || bd === '*' || ad === bd) && (ag === '*' || bg === '*' || ag === bg);
}

function bodyRequestType(kind: string): string | undefined {
  return kind === 'register' ? 'register' : kind === 'deregister' ? 'deregister' : kind === 'msk-request' ? 'msk-request' : undefined;
}
