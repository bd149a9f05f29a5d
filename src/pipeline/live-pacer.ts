/**
 * Wall-clock pacing for a live source. The pipeline runs on packet time, and packet time stops when traffic stops:
 * a request the BM-SC never answers would hold its frame (and every frame behind it) in the Dissector until the
 * next 30 s of traffic, and an ACK deadline would expire only when some later frame arrives. A live source has a
 * clock of its own (the one its frames are stamped with), so a timer reads it and
 * - releases frames held longer than `holdSeconds` (Dissector.releaseHeld): a held frame reaches the screen within
 *   holdSeconds + one tick of wall-clock time;
 * - once nothing is held, lets the correlator's deadlines expire up to that clock (KeyDeliveryCorrelator.expire).
 *   Only then: a held frame is older than the clock, and the correlator must see it first. Every later frame is
 *   stamped later, so the correlator sees the same sequence it would see from the saved capture.
 * A capture file is never paced, so its analysis stays a function of packet time alone.
 */
import type { PacketTime } from '../common/time';
import type { Analyzer } from './analyzer';

/**
 * Wall-clock seconds a live frame is held for its HTTP response at most (default). Long enough for a BM-SC on a
 * LAN to answer (the request line then shows its response frame), short enough that a held frame plus one tick plus
 * a dashboard refresh stays under a second.
 */
export const LIVE_HOLD_SECONDS = 0.4;
/** How often the live clock is read, in ms (default). */
export const LIVE_TICK_MS = 100;

export interface LivePacerOptions {
  holdSeconds?: number;
  tickMs?: number;
  /** Called after a tick that released frames or let deadlines expire (e.g. to flush output, redraw). */
  onTick?: (result: LiveTickResult) => void;
}

export interface LiveTickResult {
  /** Frames the Dissector let go because they were held too long on the wall clock. */
  released: number;
  /** The correlator's clock was moved forward to the capture's clock. */
  expired: boolean;
}

/** The live source's clock: the time a frame arriving now would be stamped with (undefined before it starts). */
export type LiveClock = () => PacketTime | undefined;

export class LivePacer {
  private timer: NodeJS.Timeout | undefined;
  private readonly holdNs: bigint;
  readonly tickMs: number;

  constructor(
    private readonly analyzer: Pick<Analyzer, 'dissector' | 'correlator'>,
    private readonly clock: LiveClock,
    private readonly options: LivePacerOptions = {},
  ) {
    this.holdNs = BigInt(Math.round((options.holdSeconds ?? LIVE_HOLD_SECONDS) * 1e9));
    this.tickMs = options.tickMs ?? LIVE_TICK_MS;
  }

  start(): this {
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      // the pacer never keeps the process alive on its own: the capture does
      this.timer.unref();
    }
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One reading of the clock (the timer calls this; tests may too). */
  tick(): LiveTickResult {
    const result: LiveTickResult = { released: 0, expired: false };
    const now = this.clock();
    const dissector = this.analyzer.dissector;
    if (now === undefined || dissector.stats.frames === 0) return result;
    if (dissector.heldFrames > 0) {
      const ns = BigInt(now.tsSec) * 1_000_000_000n + BigInt(now.tsNsec) - this.holdNs;
      result.released = dissector.releaseHeld({ tsSec: Number(ns / 1_000_000_000n), tsNsec: Number(ns % 1_000_000_000n) });
    }
    if (dissector.heldFrames === 0) {
      this.analyzer.correlator.expire(now);
      result.expired = true;
    }
    if (result.released > 0 || result.expired) this.options.onTick?.(result);
    return result;
  }
}
