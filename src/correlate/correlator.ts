/**
 * KeyDeliveryCorrelator: joins the dissected frames of a capture into MBMS key-delivery transactions per UE
 * (registration, deregistration, pull, push, solicited pull, MTK delivery; mbms.md "Procedures") and raises procedure
 * diagnostics. A deterministic state machine on packet time: timeouts are deadlines in packet time, expired when a
 * later frame arrives (or, for a quiet live source, through expire()), so a file and a live capture give the same
 * answers. A deadline the capture never reached decides nothing: what still waited at the end is `incomplete`.
 *
 * The work is split in rooms, each beside the diagnostics it raises (src/correlate/rules/):
 * - http-exchange.ts: requests and answers, Digest challenges, error statuses, Retry-After;
 * - registration.ts: registration and deregistration, and what rests on them;
 * - pull.ts: the pull and solicited pull, and whether the UE ends with a key;
 * - delivery.ts: MSK messages (pull deliveries, pushes, triggers), counters, ACKs;
 * - mtk.ts: MTK messages on the multicast stream;
 * - storm.ts: request storms.
 * The UE table (ues.ts), the transaction lifecycle (transactions.ts) and the statistics (statistics.ts) are shared.
 *
 * The input record is the protocol stage's DissectedFrame (src/protocols/records.ts).
 */
import type { Problem } from '../common/problem';
import type { PacketTime } from '../common/time';
import type { DissectedFrame, MikeyFrameRecord } from '../protocols/records';
import { DIAGNOSTICS, type DiagnosticCode } from './catalog';
import { PacketClock, type Findings, type RoomContext } from './context';
import { fromSecs, groupOf, pushOne, secs, type Endpoints, type Tx, type UeState } from './model';
import { DEFAULT_LOSS_LOOKBACK_SECONDS, HELD_FINDING_COST, HELD_FINDING_FRAME_COST, LIMITS, defaultLossMargin, resolveOptions, type CorrelatorOptions, type ResolvedOptions } from './options';
import type { CaptureLossWindow } from '../common/capture-loss';
import { CaptureLossSignals, type LossSignal, type LossSignalCounts } from './loss-signals';
import { DeliveryRules } from './rules/delivery';
import { HttpExchangeRules } from './rules/http-exchange';
import { MtkRules } from './rules/mtk';
import { PullRules } from './rules/pull';
import { RegistrationRules } from './rules/registration';
import { StormRules } from './rules/storm';
import { sortedDistinct } from './frames';
import { CorrelationStatistics } from './statistics';
import { PacketTimers } from './timers';
import { TransactionBook } from './transactions';
import type { AnalysisStats, Diagnostic, KeyDeliveryTransaction, Measurement, ProtocolAnomaly } from './types';
import { UeTable } from './ues';

export type { CorrelatorOptions } from './options';
/** `requesttype` of a key-management URI (re-exported for the sinks that label requests). */
export { requestTypeOf } from './model';

export interface CorrelatorSink {
  transaction?(t: KeyDeliveryTransaction): void;
  diagnostic?(d: Diagnostic): void;
  anomaly?(a: ProtocolAnomaly): void;
  /** Every measurement the statistics count, as it is counted (running counters: the Prometheus metrics). */
  measurement?(m: Measurement): void;
}

/** What the correlator holds open right now (gauges of a live view; not part of the deterministic output). */
export interface CorrelatorOpenState {
  ues: number;
  transactions: number;
  /** Findings held for the loss look-back, and their estimated bytes (bounded by maxHeldFindingBytes). */
  heldFindings: number;
  heldFindingBytes: number;
}

/** A UE as the UE table knows it: its id (first address, or B-TID), every address and B-TID it was seen with. */
export interface UeIdentity {
  id: string;
  addresses: string[];
  btids: string[];
}

/**
 * Frame problems that prove the capture missed bytes a TCP stream carried (Wireshark's "[TCP Previous segment not
 * captured]" and "[TCP ACKed unseen segment]"): each opens a span of capture loss at its frame's time.
 */
export const CAPTURE_LOSS_PROBLEMS: ReadonlySet<string> = new Set(['http-gap', 'http-gap-in-header', 'http-gap-in-body', 'http-gap-cut-message', 'tcp-late-segment']);

/** What a qualified finding's message ends with. */
export const CAPTURE_LOSS_CAVEAT = 'possibly capture loss: the capture missed packets around this time';

export { sortedDistinct };

export class KeyDeliveryCorrelator {
  private readonly options: ResolvedOptions;
  private readonly lossMargin: number;
  private readonly lossLookback: number;
  /** Packet time findings are held before they are emitted (lossHoldSeconds, at least the look-back). */
  private readonly lossHold: number;
  /** Findings made and not yet emitted (the loss hold), oldest first, with their time in seconds and estimated size. */
  private readonly held: Array<{ d: Diagnostic; t: number; bytes: number }> = [];
  /** Their estimated bytes (HELD_FINDING_COST + frames + message), bounded by maxHeldFindingBytes. */
  private heldBytes = 0;
  /**
   * Spans of capture loss, in seconds of packet time, ordered by start, each with the packet time it became known
   * (`revealed`: the frame that showed it; -Infinity for a span the capture engine reported, which qualifies any
   * finding still held).
   */
  private readonly lossWindows: Array<{ from: number; to: number; revealed: number }> = [];
  /** The time of the frame being correlated (a loss signal it shows is known at that time); undefined between frames. */
  private frameTime: number | undefined;
  /** Loss the traffic itself proves (MSK counter jumps, responses without request): loss-signals.ts. */
  private readonly lossSignals: CaptureLossSignals;
  private readonly addSignal = (s: LossSignal): void => this.addLoss(s.from, s.to, this.frameTime ?? this.clock.now);
  private readonly clock = new PacketClock();
  private readonly timers = new PacketTimers();
  private readonly stats_: CorrelationStatistics;
  private readonly ues: UeTable;
  private readonly book: TransactionBook;
  private readonly http: HttpExchangeRules;
  private readonly pull: PullRules;
  private readonly delivery: DeliveryRules;
  private readonly mtk: MtkRules;
  /** advance() bound once, not a closure per frame. */
  private readonly advanceFn = (at: number): void => this.advance(at);
  /** The latest frame's time (when `seenFrame`). */
  private seenFrame = false;
  private lastSec = 0;
  private lastNsec = 0;

  constructor(private readonly sink: CorrelatorSink, options: CorrelatorOptions = {}) {
    this.options = resolveOptions(options);
    const margin = options.lossMarginSeconds;
    this.lossMargin = margin !== undefined && Number.isFinite(margin) && margin >= 0 ? margin : defaultLossMargin(this.options);
    const lookback = options.lossLookbackSeconds;
    this.lossLookback = lookback !== undefined && Number.isFinite(lookback) && lookback >= 0 ? lookback : DEFAULT_LOSS_LOOKBACK_SECONDS;
    const hold = options.lossHoldSeconds;
    this.lossHold = hold !== undefined && Number.isFinite(hold) && hold > this.lossLookback ? hold : this.lossLookback;
    this.lossSignals = new CaptureLossSignals(this.options.maxMukCounters, this.options.ackTimeout, this.options.maxConnections);
    const measured = sink.measurement ? (m: Measurement) => sink.measurement?.(m) : undefined;
    this.stats_ = new CorrelationStatistics(this.options.bucketSeconds, this.options.maxAckTableRows, measured, this.options.maxLatencySamples, this.options.maxMtkStatistics);
    const findings: Findings = { report: (...a) => this.report(...a) };
    // a forgotten UE ends like one at the end of the capture: the pull room decides whether it was left keyless
    this.ues = new UeTable(this.options.maxUes, (ue) => this.pull.ueEnds(ue));
    this.book = new TransactionBook(this.timers, this.options.maxOpenTransactions, this.options.maxSteps, this.stats_, (t) => this.sink.transaction?.(t), options.transactionIds);
    const loss = (s: LossSignal): void => this.lossSignals.room(s, this.addSignal);
    const ctx: RoomContext = { options: this.options, clock: this.clock, timers: this.timers, ues: this.ues, book: this.book, stats: this.stats_, findings, loss };
    const registration = new RegistrationRules(ctx);
    this.pull = new PullRules(ctx, new StormRules(ctx));
    this.http = new HttpExchangeRules(ctx, registration, this.pull);
    this.delivery = new DeliveryRules(ctx, this.pull, registration);
    this.mtk = new MtkRules(ctx, this.delivery);
    this.delivery.attachMtk(this.mtk);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // input

  frame(f: DissectedFrame): void {
    const p = f.packet;
    const clock = this.clock;
    // a frame another shard owns (analyze --shard) moves the clock; that shard counts it
    if (f.foreign !== true) this.stats_.frame();
    clock.first ??= { tsSec: p.tsSec, tsNsec: p.tsNsec };
    // the latest frame's time as numbers: the object is made once, by stats()
    this.seenFrame = true;
    this.lastSec = p.tsSec;
    this.lastNsec = p.tsNsec;
    const t = secs(p);
    // packet time never runs backwards for the state machine, even when the capture does
    if (t > clock.now) {
      // virtual time advances deadline by deadline, so a callback sees the time it fires at
      this.timers.expire(t, this.advanceFn);
      clock.advanceTo(t, p.tsSec, p.tsNsec);
    }
    for (const pr of f.problems) {
      if (CAPTURE_LOSS_PROBLEMS.has(pr.code)) this.addLoss(t, t, t);
      this.anomaly(p.frame, p, pr);
    }
    // loss the frame shows is known at the frame's own time (not the live clock's, which may have run ahead of it)
    this.frameTime = t;
    this.lossSignals.frame(f, t, this.addSignal);
    const http = f.http;
    if (http) for (let i = 0; i < http.length; i++) this.http.message(f, http[i].message, http[i]);
    const mikey = f.mikey;
    if (mikey) for (let i = 0; i < mikey.length; i++) this.mikey(f, mikey[i]);
    this.frameTime = undefined;
    this.releaseHeld(this.clock.now - this.lossHold);
  }

  /**
   * Let packet time pass without a frame (a live source that has been quiet up to `time`, e.g. a pcap stream's
   * heartbeat): deadlines before it expire. Never called with wall-clock time by keyscope itself.
   */
  expire(time: PacketTime): void {
    const t = secs(time);
    if (t <= this.clock.now || this.clock.finished) return;
    this.timers.expire(t, this.advanceFn);
    this.clock.advanceTo(t, time.tsSec, time.tsNsec);
    this.releaseHeld(t - this.lossHold);
  }

  /**
   * A span of capture time in which the capture lost packets (a capture-level fact: the engine's drop counter, or
   * keyscope's own capture queue overflowing). Findings made in it or within the loss margin after it carry the
   * "possibly capture loss" caveat.
   */
  captureLoss(w: CaptureLossWindow): void {
    const from = secs(w.from);
    const to = secs(w.to);
    this.addLoss(Math.min(from, to), Math.max(from, to), -Infinity);
  }

  /** Spans of suspected loss the traffic showed (MSK counter jumps, responses without request), and messages missing, per cause. */
  lossSignalCounts(): LossSignalCounts {
    return this.lossSignals.counts;
  }

  /**
   * A span of loss known at packet time `revealed`. It merges into the latest span only where that changes no
   * finding's caveat: it starts within that span's reach, became known no earlier than it, and early enough that every
   * finding the merge adds meets its own look-back anyway (so the caveat never depends on when a finding was emitted).
   */
  private addLoss(from: number, to: number, revealed: number): void {
    const list = this.lossWindows;
    const last = list[list.length - 1];
    if (last && from >= last.from && from <= last.to + this.lossMargin && revealed >= last.revealed && revealed <= last.to + this.lossMargin + this.lossLookback) {
      last.to = Math.max(last.to, to);
      return;
    }
    // spans come nearly in order of start: insert from the end
    let i = list.length;
    while (i > 0 && list[i - 1].from > from) i--;
    list.splice(i, 0, { from, to, revealed });
    if (list.length > LIMITS.lossWindows) list.shift();
  }

  /** Emit the held findings made up to packet time `upTo` (seconds), qualified when a loss span is near them. */
  private releaseHeld(upTo: number): void {
    const held = this.held;
    let n = 0;
    while (n < held.length && held[n].t <= upTo) n++;
    if (n === 0) return;
    for (const h of held.splice(0, n)) {
      this.heldBytes -= h.bytes;
      this.emit(h.d, h.t);
    }
  }

  private emit(d: Diagnostic, t: number): void {
    if (this.lossWindows.length > 0 && this.nearLoss(t)) {
      d.possibleCaptureLoss = true;
      d.message = `${d.message} (${CAPTURE_LOSS_CAVEAT})`;
    }
    this.sink.diagnostic?.(d);
  }

  /**
   * Whether packet time `t` falls in a span of capture loss, within the loss margin after one or the look-back before
   * one, that was known by `t` plus the look-back (a span the engine reported: whenever, while the finding was held).
   */
  private nearLoss(t: number): boolean {
    const lookback = this.lossLookback;
    for (let i = this.lossWindows.length - 1; i >= 0; i--) {
      const w = this.lossWindows[i];
      if (t >= w.from - lookback && t <= w.to + this.lossMargin && w.revealed <= t + lookback) return true;
    }
    return false;
  }

  /**
   * End of capture: every open transaction is closed. A deadline after the last frame had not passed when the
   * capture ended, so nothing is decided on it: what still waited is `incomplete`, not a fault.
   */
  finish(): void {
    if (this.clock.finished) return;
    this.clock.finished = true;
    // every loss span is known now: what was held goes out before the end-of-capture findings
    this.releaseHeld(Infinity);
    this.timers.clear();
    for (const tx of this.book.openTransactions()) this.book.close(tx, 'end-of-capture');
    this.mtk.finish();
    for (const ue of this.ues.all()) this.pull.ueEnds(ue);
  }

  stats(): AnalysisStats {
    const ues = this.ues.distinct();
    if (this.seenFrame) this.clock.last = { tsSec: this.lastSec, tsNsec: this.lastNsec };
    return this.stats_.toStats({ transactions: this.book.opened, ues: ues.count, uesEstimated: ues.estimated, evictedUes: this.ues.forgotten, first: this.clock.first, last: this.clock.last });
  }

  /**
   * The UEs in the table (every UE of the capture unless some were forgotten at --max-ues) with their addresses and
   * B-TIDs, and the distinct-UE sketch: what `analyze --json` writes so that `keyscope merge` can count distinct UEs
   * across captures.
   */
  ueIdentities(): { ues: UeIdentity[]; sketch: string } {
    const ues: UeIdentity[] = [];
    for (const ue of this.ues.all()) ues.push({ id: ue.id, addresses: [...ue.addresses], btids: [...ue.btids] });
    return { ues, sketch: this.ues.sketchBase64() };
  }

  openState(): CorrelatorOpenState {
    return { ues: this.ues.size, transactions: this.book.openCount, heldFindings: this.held.length, heldFindingBytes: this.heldBytes };
  }

  private advance(at: number): void {
    if (at > this.clock.now) {
      this.clock.now = at;
      this.clock.nowTime = fromSecs(at);
    }
  }

  private anomaly(frame: number, time: PacketTime, problem: Problem): void {
    this.stats_.anomaly(problem.code);
    this.sink.anomaly?.({ frame, time: { tsSec: time.tsSec, tsNsec: time.tsNsec }, problem });
  }

  private report(code: DiagnosticCode, tx: Tx | string | undefined, ue: UeState | string | undefined, frames: readonly number[], message: string, time?: PacketTime): void {
    const info = DIAGNOSTICS[code];
    const at = time ?? this.clock.nowTime;
    const d: Diagnostic = {
      code, severity: info.severity, frames: sortedDistinct(frames, LIMITS.framesPerDiagnostic), message,
      time: at,
    };
    const open = typeof tx === 'string' ? undefined : tx;
    if (tx !== undefined) d.transaction = typeof tx === 'string' ? tx : tx.rec.id;
    const ueId = typeof ue === 'string' ? ue : ue?.id ?? open?.rec.ue;
    if (ueId !== undefined) d.ue = ueId;
    if (open && !open.rec.diagnostics.includes(code)) pushOne(open.rec, 'diagnostics', code);
    this.stats_.diagnostic(code, info.severity);
    // held for the loss look-back: a loss span proven a little later still qualifies it (see lossLookbackSeconds)
    const t = secs(at);
    if (this.lossHold === 0 || this.clock.finished) {
      this.emit(d, t);
      return;
    }
    const bytes = HELD_FINDING_COST + HELD_FINDING_FRAME_COST * d.frames.length + d.message.length;
    this.held.push({ d, t, bytes });
    this.heldBytes += bytes;
    // past the bound the oldest go out early (a loss span known later no longer qualifies them)
    while (this.heldBytes > this.options.maxHeldFindingBytes) {
      const first = this.held.shift();
      if (!first) break;
      this.heldBytes -= first.bytes;
      this.emit(first.d, first.t);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // MIKEY

  private mikey(f: DissectedFrame, rec: MikeyFrameRecord): void {
    const info = rec.analysis.mbms;
    if (!info || !rec.analysis.message) return;
    const ends = this.endpoints(f, rec);
    if (!ends) return;
    const frame = f.packet.frame;
    const time: PacketTime = f.packet;
    if (this.sink.measurement) {
      const kind = info.kind === 'msk-delivery' ? 'msk' : info.kind === 'mtk-delivery' ? 'mtk' : info.kind === 'solicited-pull-trigger' ? 'trigger' : info.kind === 'verification' ? 'ack' : undefined;
      // the BM-SC sends deliveries and triggers, and receives ACKs
      if (kind) this.sink.measurement({ type: 'mikey', kind, bmsc: kind === 'ack' ? ends.dst : ends.src, keyGroup: groupOf(info.keyDomainId, info.keyGroup) });
    }
    switch (info.kind) {
      case 'msk-delivery':
        this.delivery.msk(frame, time, rec, info, ends);
        break;
      case 'solicited-pull-trigger':
        this.delivery.trigger(frame, time, rec, info, ends);
        break;
      case 'mtk-delivery':
        this.mtk.message(frame, time, rec, info, ends);
        break;
      case 'verification':
        this.delivery.ack(frame, time, rec, info, ends);
        break;
      default:
        break;
    }
  }

  /** The UE and BM-SC ends of a MIKEY message: its datagram's, or for an HTTP body its connection's. */
  private endpoints(f: DissectedFrame, rec: MikeyFrameRecord): Endpoints | undefined {
    const ip = f.packet.ip;
    if (rec.carrier === 'udp') return ip ? { src: ip.src, dst: ip.dst } : undefined;
    const carrier = (f.http ?? []).map((h) => h.message).find((h) => h.contentType === 'application/mikey');
    const conn = carrier ? this.http.connection(carrier.connId) : undefined;
    if (!carrier || !conn) return ip ? { src: ip.src, dst: ip.dst } : undefined;
    return carrier.kind === 'request' ? { src: conn.client, dst: conn.server } : { src: conn.server, dst: conn.client };
  }
}
