/**
 * What the two capture engines that run in keyscope's capture process share (`cap` in live-drain.ts, tcpdump relayed
 * by it in tcpdump-engine.ts): both hand keyscope a pcap stream on a pipe, through the process's memory queue and disk
 * spool, stop on SIGINT (SIGKILL after a grace time), and deliver frames, counters, the backlog, the `-w` file's
 * figures and the end of the capture the same way (the process's control lines, queueLine). Each engine adds only
 * its clock, its drop counters and what its process says beside the stream.
 */
import type { ChildProcess } from 'node:child_process';
import type { CaptureLossWindow } from '../common/capture-loss';
import type { PacketTime } from '../common/time';
import { killGroup } from '../common/tied-process';
import type { CaptureProcess, DrainFileOptions } from './live-drain';
import { addHandler, type LiveBacklog, type LiveCaptureStats, type LiveClockInfo, type LiveSource, type LiveStopOptions } from './live';
import { LIVE_RATE_WINDOW_SECONDS, RateWindow, countLiveFrame, liveStats, newLiveCounters } from './live-stats';
import { FrameArena } from './frame-arena';
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

/**
 * The `-w` file as the analysis side sees it when the capture process writes it: what LiveCaptureFile offers the
 * CLI (frames and files written, close at a clean end, abort after a failure), filled from the process's reports.
 */
export interface CaptureFileSink {
  readonly frames: number;
  readonly files: readonly string[];
  readonly current: string;
  readonly ring: boolean;
  close(): void;
  abort(): void;
}

/** The capture process's `-w` file, known here from its control lines. */
class ChildCaptureFile implements CaptureFileSink {
  frames = 0;
  files: string[] = [];
  current: string;
  /** Why the file could not be written (the capture process stopped); undefined while all is well. */
  error: string | undefined;

  constructor(path: string, readonly ring: boolean) {
    this.current = path;
  }

  /** The capture process closed (fsynced) the file when it ended: this only reports a failure it had. */
  close(): void {
    if (this.error !== undefined) throw new Error(this.error);
  }

  /** The capture process keeps what it wrote (as tcpdump does): nothing to do here. */
  abort(): void {}
}

/** What the capture process's `queue` lines say (live-drain-child.ts), the latest. */
interface QueueReport {
  captured: number;
  spoolBytes: number;
  peakSpoolBytes: number;
  spooledPackets: number;
  newest: PacketTime;
}

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
  private killed = false;
  /** Frames still arriving are not delivered (a stop without drain, or a handler's failure); they are counted. */
  private discard = false;
  private discarded = 0;
  /** Frames handed to the handlers so far. */
  private delivered = 0;
  /** Where delivered frames are copied (frame-arena.ts). */
  private readonly frameArena = new FrameArena();
  /** The capture process's latest `queue` report. */
  private queueReport: QueueReport | undefined;
  /** Packets the capture process dropped (its queue and spool full). */
  private queueDrops = 0;
  /** Packets the capture process captured, known once it has stopped capturing (its `end` line). */
  private capturedTotal: number | undefined;
  /** Frames the capture process still queued when it was killed after a stop without drain: not analysed. */
  private killedQueued = 0;
  /** Why the spool failed, once (the capture process then drops what does not fit in memory). */
  spoolError: string | undefined;
  private readonly fileErrorHandlers: Array<(message: string) => void> = [];
  private readonly childFile: ChildCaptureFile | undefined;
  /** The `-w` file the capture process writes, when it was asked to. */
  readonly file: CaptureFileSink | undefined;

  protected readonly child: ChildProcess;

  /**
   * `process_.name` names the stream in messages (`NAME's stream: …`), `process_.label` the process when it ends by
   * itself (`LABEL ended (…)`). The process's control lines go to queueLine from here on.
   */
  protected constructor(
    private readonly proc: CaptureProcess,
    info: { device: string; filter: string; linkType: number; linkTypeName: string; snaplen: number; file?: DrainFileOptions },
    private readonly process_: { name: string; label: string; stopTimeoutMs: number },
  ) {
    const child = proc.child;
    const stream = proc.data;
    this.child = child;
    this.childFile = info.file ? new ChildCaptureFile(info.file.path, info.file.ring !== undefined) : undefined;
    this.file = this.childFile;
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
    proc.onLine((line) => this.queueLine(line));
  }

  /** The process ending by itself, not asked to (crash, interface gone): a failure, with the process's last words (tail()). */
  protected exitedByItself(code: number | null, signal: NodeJS.Signals | null): void {
    if (code !== 0 || signal !== null) {
      const tail = this.tail();
      this.failure ??= new Error(`${this.process_.label} ended (${signal ?? `exit code ${code}`})${tail ? `: ${tail}` : ''}`);
    }
  }

  /** The last line the process wrote that was not a control line (a crash's message). */
  protected tail(): string {
    return this.proc.tail();
  }

  /** Called once when the process is gone and its stream read, before the stop handlers run. */
  protected ending(): void {}

  /**
   * The live clock an engine reads off the wall clock (`wall`), held at the newest frame delivered while the stream
   * is not quiet (PIPE_QUIET_SECONDS) or the capture process still queues frames for the analysis: packet time then
   * moves with the frames themselves. Never before that frame.
   */
  protected paced(wall: PacketTime): PacketTime {
    const last = this.lastTime;
    if (!last) return wall;
    if (last.tsSec > wall.tsSec || (last.tsSec === wall.tsSec && last.tsNsec > wall.tsNsec)) return last;
    const since = this.lastFrameMono === undefined ? Infinity : Number(process.hrtime.bigint() - this.lastFrameMono) / 1e9;
    if (since < PIPE_QUIET_SECONDS) return last;
    // A pause in delivery is not a quiet capture while the capture process says frames are still queued for the
    // analysis (memory queue, spool): a long drain (a 2 M-frame burst analysed over minutes) has pauses — a long
    // collection, a slow chunk — and following the wall clock there moved packet time minutes past the frames still
    // queued: every open deadline expired at once (the bench's 100 k packets/s run: 848 k findings unlike the oracle's).
    if ((this.queued ?? 0) > 0) return last;
    return wall;
  }

  /** The wall-clock start of the capture, for the statistics. */
  protected abstract startTime(): PacketTime;

  get stopped(): boolean {
    return this.stopMono !== undefined;
  }

  /** Packets captured but not analysed: still arriving when a stop without drain came (dashboard q, -c N). */
  get notAnalysed(): number {
    return this.discarded + this.killedQueued;
  }

  /** Packets dropped between the capture process and the analysis because its queue and spool were full. */
  get queueDropped(): number {
    return this.queueDrops;
  }

  /**
   * Packets captured and still on their way to the analysis (the capture process's memory queue and spool, the
   * pipe): exact once the capture process has stopped capturing (a drain after Ctrl-C), from its latest report
   * (every DRAIN_QUEUE_REPORT_MS) before; undefined before the first report.
   */
  get queued(): number | undefined {
    const captured = this.capturedTotal ?? this.queueReport?.captured;
    if (captured === undefined) return undefined;
    return Math.max(0, captured - this.queueDrops - this.delivered - this.discarded - this.killedQueued);
  }

  /** How far behind the capture the analysis is (LiveSource.backlog). */
  get backlog(): LiveBacklog | undefined {
    const r = this.queueReport;
    const frames = this.queued;
    if (r === undefined || frames === undefined) return undefined;
    const last = this.lastTime;
    const seconds = frames > 0 && last ? Math.max(0, r.newest.tsSec - last.tsSec + (r.newest.tsNsec - last.tsNsec) / 1e9) : 0;
    return { frames, spoolBytes: r.spoolBytes, peakSpoolBytes: r.peakSpoolBytes, spooledFrames: r.spooledPackets, seconds };
  }

  /** The capture process could not write the `-w` file (it stops capturing): the reason, once. */
  onFileError(handler: (message: string) => void): void {
    this.fileErrorHandlers.push(handler);
  }

  /**
   * A control line of the capture process about its queue, spool, file and end (live-drain-child.ts): handled here;
   * false for any other line.
   */
  protected queueLine(line: string): boolean {
    const drop = /^drop (\d+) (\d+)\.(\d{9}) (\d+)\.(\d{9})$/.exec(line);
    if (drop) {
      const packets = Number(drop[1]);
      this.queueDrops += packets;
      this.lost({ from: { tsSec: Number(drop[2]), tsNsec: Number(drop[3]) }, to: { tsSec: Number(drop[4]), tsNsec: Number(drop[5]) }, cause: 'queue', packets });
      return true;
    }
    const q = /^queue (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)\.(\d{9})$/.exec(line);
    if (q) {
      // (its dropped count, q[2], is known here from the drop lines)
      this.queueReport = {
        captured: Number(q[1]),
        spoolBytes: Number(q[3]),
        peakSpoolBytes: Number(q[4]),
        spooledPackets: Number(q[5]),
        newest: { tsSec: Number(q[6]), tsNsec: Number(q[7]) },
      };
      return true;
    }
    if (line.startsWith('spoolerror ')) {
      this.spoolError ??= (JSON.parse(line.slice(11)) as { message: string }).message;
      return true;
    }
    if (this.childFile && line.startsWith('file ')) {
      const f = JSON.parse(line.slice(5)) as { frames: number; files: string[]; current: string };
      this.childFile.frames = f.frames;
      this.childFile.files = f.files;
      this.childFile.current = f.current;
      return true;
    }
    if (this.childFile && line.startsWith('fileerror ')) {
      const f = JSON.parse(line.slice(10)) as { message: string; frames: number };
      this.childFile.frames = f.frames;
      this.childFile.error ??= f.message;
      for (const h of this.fileErrorHandlers.slice()) h(f.message);
      return true;
    }
    const end = /^end (\d+) (\d+)$/.exec(line);
    if (end) {
      this.queueDrops = Math.max(this.queueDrops, Number(end[1]));
      this.capturedTotal = Number(end[2]);
      // stopped without drain (-c N, q): what the process still queues would only be read to be thrown away
      if (this.discard) this.abandon();
      return true;
    }
    return false;
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
    if (this.stopMono !== undefined) {
      // a second stop during a drain: once the process has said how many it captured (and closed -w), what it still
      // queues (memory, spool) is counted as not analysed and the process is killed at once, not read to the end
      if (!options.drain) this.abandon();
      return;
    }
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

  /**
   * Nothing more will be analysed: once the process has said how many it captured (and closed -w), what it still
   * queues (memory, spool) is counted as not analysed and the process is killed at once, not read to the end.
   */
  private abandon(): void {
    if (this.capturedTotal === undefined || this.killed) return;
    this.killed = true;
    this.killedQueued = this.queued ?? 0;
    killGroup(this.child, 'SIGKILL');
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
    // killed on a second stop: what still arrives is already counted in killedQueued
    if (this.killed) return;
    if (this.discard) {
      this.discarded++;
      return;
    }
    this.delivered++;
    // the reader reuses its buffer; handlers (and the Dissector's held frames) keep frames. Copied out of Node's
    // shared Buffer pool: in it, each long-lived small copy the analysis takes pinned a slab of dead frames (#12)
    const frame: CaptureFrame = { ...f, data: this.frameArena.copy(f.data) };
    const mono = process.hrtime.bigint();
    countLiveFrame(this.frameCounters, this.window, frame, mono);
    this.lastTime = { tsSec: frame.tsSec, tsNsec: frame.tsNsec };
    this.lastFrameMono = mono;
    try {
      for (const h of this.handlers.slice()) h(frame);
    } catch (err) {
      this.failure ??= err;
      this.stop();
    }
  }
}
