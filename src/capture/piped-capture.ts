/**
 * What the two capture engines that run in a process of their own share (the `cap` capture process of
 * live-drain.ts, and tcpdump in tcpdump-engine.ts): both hand keyscope a pcap stream on a pipe, stop on SIGINT
 * (SIGKILL after a grace time), and deliver frames, counters and the end of the capture the same way. Each engine
 * adds only its clock, its drop counters and what its process says beside the stream.
 */
import type { ChildProcess } from 'node:child_process';
import type { CaptureLossWindow } from '../common/capture-loss';
import type { PacketTime } from '../common/time';
import { killGroup } from '../common/tied-process';
import { addHandler, type LiveCaptureStats, type LiveClockInfo, type LiveSource, type LiveStopOptions } from './live';
import { LIVE_RATE_WINDOW_SECONDS, RateWindow, countLiveFrame, liveStats, newLiveCounters } from './live-stats';
import { readCapture } from './reader';
import type { CaptureFrame, FrameHandler } from './types';

/**
 * Wall-clock seconds without a frame from the pipe after which the engine's stream counts as caught up. While frames
 * keep coming (keyscope's analysis behind the engine: the pipe, tcpdump's or the capture process's queue hold a
 * backlog stamped earlier), the live clock stays at the newest frame delivered instead of running on with the wall
 * clock: otherwise the pacer would move packet time past frames still queued — deadlines expiring before the frames
 * that meet them are analysed, findings stamped up to the backlog's age late, and so outside the loss windows of the
 * packets they concern.
 */
export const PIPE_QUIET_SECONDS = 0.1;

export abstract class PipedCapture implements LiveSource {
  abstract readonly clock: LiveClockInfo;
  abstract readonly dropped: number | undefined;
  abstract now(): PacketTime;
  readonly device: string;
  readonly filter: string;
  readonly linkType: number;
  readonly linkTypeName: string;
  readonly snaplen: number;
  readonly done: Promise<void>;
  protected readonly startMono = process.hrtime.bigint();
  protected stopMono: bigint | undefined;
  protected lastTime: PacketTime | undefined;
  /** hrtime when the newest frame was delivered. */
  private lastFrameMono: bigint | undefined;
  protected failure: unknown;
  private readonly handlers: FrameHandler[] = [];
  private readonly stopHandlers: Array<() => void> = [];
  private readonly lossHandlers: Array<(w: CaptureLossWindow) => void> = [];
  private readonly window = new RateWindow(LIVE_RATE_WINDOW_SECONDS);
  private readonly frameCounters = newLiveCounters();
  private ended = false;
  /** Frames still arriving are not delivered (a stop without drain, or a handler's failure); they are counted. */
  private discard = false;
  private discarded = 0;
  /** Frames handed to the handlers so far. */
  private delivered = 0;

  protected constructor(
    protected readonly child: ChildProcess,
    stream: NodeJS.ReadableStream,
    info: { device: string; filter: string; linkType: number; linkTypeName: string; snaplen: number },
    private readonly process_: { name: string; stopTimeoutMs: number },
  ) {
    this.device = info.device;
    this.filter = info.filter;
    this.linkType = info.linkType;
    this.linkTypeName = info.linkTypeName;
    this.snaplen = info.snaplen;
    // 'close': the process has exited and everything it wrote beside the stream (stderr, control lines) is read
    const closed = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('close', () => resolve());
    });
    // reading starts on the next turn of the event loop: the stream may already hold frames (a first chunk with the
    // pcap header and packets behind it), and the caller registers its frame handlers right after the engine is
    // opened — frames parsed before that would be counted as captured but reach no analysis, a loss nothing reports
    const read = new Promise<void>((resolve) => setImmediate(resolve)).then(() => readCapture(stream, (f) => this.packet(f), { name: process_.name }));
    this.done = read
      .then(
        (summary) => {
          // a stream cut by our own stop (SIGKILL after the grace time) is not a failure
          if (summary.fatal && this.failure === undefined && this.stopMono === undefined) this.failure = new Error(`${process_.name}'s stream: ${summary.fatal}`);
        },
        (err) => {
          this.failure ??= err;
        },
      )
      .then(() => closed)
      .then(() => {
        this.ending();
        this.stopMono ??= process.hrtime.bigint();
        this.ended = true;
        for (const h of this.stopHandlers.splice(0)) h();
        if (this.failure !== undefined) throw this.failure;
      });
    this.done.catch(() => undefined);
    child.once('exit', (code, signal) => {
      if (this.stopMono === undefined) this.exitedByItself(code, signal);
      this.stopMono ??= process.hrtime.bigint();
    });
  }

  /** The process ended without being asked to (interface gone, crash): an engine may call it a failure. */
  protected exitedByItself(_code: number | null, _signal: NodeJS.Signals | null): void {}

  /** Called once when the process is gone and its stream read, before the stop handlers run. */
  protected ending(): void {}

  /**
   * The live clock an engine reads off the wall clock (`wall`), held at the newest frame delivered while the stream
   * is not quiet (PIPE_QUIET_SECONDS): packet time then moves with the frames themselves. Never before that frame.
   */
  protected paced(wall: PacketTime): PacketTime {
    const last = this.lastTime;
    if (!last) return wall;
    if (last.tsSec > wall.tsSec || (last.tsSec === wall.tsSec && last.tsNsec > wall.tsNsec)) return last;
    const since = this.lastFrameMono === undefined ? Infinity : Number(process.hrtime.bigint() - this.lastFrameMono) / 1e9;
    return since < PIPE_QUIET_SECONDS ? last : wall;
  }

  /** The wall-clock start of the capture, for the statistics. */
  protected abstract startTime(): PacketTime;

  get stopped(): boolean {
    return this.stopMono !== undefined;
  }

  /** Packets captured but not analysed: still arriving when a stop without drain came (dashboard q, -c N). */
  get notAnalysed(): number {
    return this.discarded;
  }

  /** Packets captured and not yet delivered, where the engine says (see LiveSource.queued); undefined: unknown. */
  get queued(): number | undefined {
    return undefined;
  }

  onFrame(handler: FrameHandler): () => void {
    return addHandler(this.handlers, handler);
  }

  /** Called once the capture has ended (the process gone, its stream read to the end); at once if it has. */
  onStop(handler: () => void): void {
    if (this.ended) handler();
    else this.stopHandlers.push(handler);
  }

  /**
   * Ask the process to stop (SIGINT, then SIGKILL after the grace time). Without `drain`, no frame is delivered
   * after stop(), even one the process had already written (-c N means N frames).
   */
  stop(options: LiveStopOptions = {}): void {
    if (!options.drain) this.discard = true;
    if (this.stopMono !== undefined) return;
    this.stopMono = process.hrtime.bigint();
    killGroup(this.child, 'SIGINT');
    // SIGKILL once the process has delivered nothing for the grace time: a drain of a long backlog takes longer than
    // that, and killing the process in the middle of it would lose what it still queues
    const grace = this.process_.stopTimeoutMs;
    let delivered = this.delivered;
    const check = () => {
      if (this.delivered === delivered) {
        killGroup(this.child, 'SIGKILL');
        return;
      }
      delivered = this.delivered;
      t = setTimeout(check, grace);
      t.unref();
    };
    let t = setTimeout(check, grace);
    t.unref();
    this.child.once('exit', () => clearTimeout(t));
  }

  /** Spans of capture time in which packets were lost, as the engine learns of them. */
  onLoss(handler: (w: CaptureLossWindow) => void): () => void {
    return addHandler(this.lossHandlers, handler);
  }

  /** An engine learnt of a span of loss: hand it to the onLoss handlers. */
  protected lost(w: CaptureLossWindow): void {
    for (const h of this.lossHandlers.slice()) h(w);
  }

  get stats(): LiveCaptureStats {
    return liveStats(this.frameCounters, this.window, { startMono: this.startMono, stopMono: this.stopMono, startTime: this.startTime(), lastTime: this.lastTime });
  }

  private packet(f: CaptureFrame): void {
    if (this.discard) {
      this.discarded++;
      return;
    }
    this.delivered++;
    // the reader reuses its buffer; handlers (and the Dissector's held frames) keep frames
    const frame: CaptureFrame = { ...f, data: Buffer.from(f.data) };
    countLiveFrame(this.frameCounters, this.window, frame);
    this.lastTime = { tsSec: frame.tsSec, tsNsec: frame.tsNsec };
    this.lastFrameMono = process.hrtime.bigint();
    try {
      for (const h of this.handlers.slice()) h(frame);
    } catch (err) {
      this.failure ??= err;
      this.stop();
    }
  }
}
