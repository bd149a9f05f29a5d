/**
 * What every room of the correlator shares: the packet clock, the deadlines, the options, the UE table, the
 * transaction book, the statistics, and the one way to raise a diagnostic.
 */
import type { LossSignal } from './loss-signals';
import type { PacketTime } from '../common/time';
import type { DiagnosticCode } from './catalog';
import type { Tx, UeState } from './model';
import type { ResolvedOptions } from './options';
import type { CorrelationStatistics } from './statistics';
import type { PacketTimers } from './timers';
import type { TransactionBook } from './transactions';
import type { UeTable } from './ues';

/** Packet time as the state machine sees it: it never runs backwards, and it knows where the capture started. */
export class PacketClock {
  /** Epoch seconds of the latest frame or expired deadline. */
  now = 0;
  /** The latest frame's time as numbers; its PacketTime object is made only when a rule asks for it (nowTime). */
  private nowSec = 0;
  private nowNsec = 0;
  private nowObj: PacketTime | undefined;
  /** The capture's first frame: rules that look backwards know what the capture could not have seen. */
  first?: PacketTime;
  last?: PacketTime;
  /** The capture has ended: nothing more is decided on deadlines. */
  finished = false;

  /** Packet time advanced to a frame's time (the object for nowTime is made later, if at all). */
  advanceTo(t: number, tsSec: number, tsNsec: number): void {
    this.now = t;
    this.nowSec = tsSec;
    this.nowNsec = tsNsec;
    this.nowObj = undefined;
  }

  /** The current packet time as a PacketTime (made once per time, on demand: most frames never need it). */
  get nowTime(): PacketTime {
    return (this.nowObj ??= { tsSec: this.nowSec, tsNsec: this.nowNsec });
  }

  set nowTime(t: PacketTime) {
    this.nowSec = t.tsSec;
    this.nowNsec = t.tsNsec;
    this.nowObj = t;
  }

  /** Seconds from the capture's first frame to `t` (epoch seconds); Infinity before any frame. */
  sinceStart(t: number): number {
    return this.first ? t - (this.first.tsSec + this.first.tsNsec / 1e9) : Infinity;
  }
}

export interface Findings {
  /**
   * Raise diagnostic `code` (its severity comes from the catalog). `frames` are the evidence: every frame the
   * finding was decided from. `time` is when it was decided (a deadline), the current packet time by default.
   * `tx` is the open transaction, or only the id of one already reported.
   */
  report(code: DiagnosticCode, tx: Tx | string | undefined, ue: UeState | string | undefined, frames: readonly number[], message: string, time?: PacketTime): void;
}

/** A span of suspected capture loss a room found (seconds of packet time): see CaptureLossSignals.room. */
export type LossSpanSink = (s: LossSignal) => void;

export interface RoomContext {
  readonly options: ResolvedOptions;
  /** The traffic proves a message the capture lacks: a span of suspected capture loss (loss-signals.ts). */
  readonly loss: LossSpanSink;
  readonly clock: PacketClock;
  readonly timers: PacketTimers;
  readonly ues: UeTable;
  readonly book: TransactionBook;
  readonly stats: CorrelationStatistics;
  readonly findings: Findings;
}
