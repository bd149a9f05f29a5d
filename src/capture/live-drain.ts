/**
 * `keyscope live` with the `cap` engine, drained off the main thread.
 *
 * Why: with the packet socket read on the main thread, every packet waits for dissection, correlation and rendering
 * of the ones before it. On `lo` libpcap runs its ring in immediate mode (TPACKET_V2, one fixed slot per packet, a
 * slot as large as the interface MTU allows: 128 KiB on lo), so the 32 MiB kernel buffer holds only ~256 packets —
 * 25 ms at 10 k packets/s. A main thread that is busy (or merely descheduled on a loaded machine) for longer than
 * that loses packets, silently, since `cap` has no drop counter. Measured (bench --live --cpu-prof, 10 k packets/s,
 * load average 8 on 2 cores): the main thread was 61 % idle in text mode and still lost 23 % (54 % with --dash).
 *
 * So a capture process of its own (live-drain-child.ts) does nothing but empty the socket and write the packets, in
 * batches, as a pcap stream into a pipe; they queue in user space, packed (a 100-byte packet costs ~100 bytes, not a
 * 128 KiB kernel slot), and the analysis takes them when it can. The queue is bounded (DrainLimits); overflow is
 * dropped in the capture process, counted, and reported as a CaptureLossWindow, so the loss is never silent.
 *
 * Measured (bench --live, 10 s per run, load average ~9 on 2 cores; cap = this, cap-inline = the main-thread reader):
 * at 10 k packets/s the loss against tcpdump fell from 36.5 % to 0.09 % in text mode and from 56 % to 0.74 % with
 * --dash, arrival stamps from 15.7 ms to 1.0 ms median behind the kernel's (p99 279 ms → 7 ms). At 50 k and 100 k
 * packets/s the analysis itself (~20 k packets/s on this machine) is the limit: the queue overflows and says so
 * (246,692 of 500,000 counted as queue drops at 50 k, text), and the capture process, sharing two busy cores, no
 * longer empties the kernel's ring in time either (the rest of the loss, which cap cannot count).
 *
 * Why a process and not a worker_thread: `cap` is not context-aware (it loads in one thread of a process only), and
 * worse, it registers its poll handle on libuv's default loop — the main thread's — so in a worker its packet
 * callback runs on the main thread against the worker's isolate and V8 aborts (tried: "Cannot create a handle
 * without a HandleScope"). tcpdump as the default drain is no answer either: keyscope runs it in immediate mode
 * (frames on screen at once), which has the same one-slot-per-packet ring, and it is not always installed.
 */
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { PacketTime } from '../common/time';
import { killGroup, spawnTied } from '../common/tied-process';
import { CAP_CLOCK, LiveCaptureError, type LiveCaptureErrorKind, type LiveClockInfo } from './live';
import type { CaptureFileFormat, RingBufferOptions } from './live-file';
import type { CaptureLossWindow } from './live-stats';
import { PipedCapture } from './piped-capture';

/** Bounds of the queue between the capture process and keyscope's analysis, and of one write. */
export interface DrainLimits {
  /** Packets written towards the analysis and not yet taken by it, at most; more are dropped (counted). */
  maxPackets: number;
  /** Bytes of those packets, at most. */
  maxBytes: number;
  /** A batch is written when it holds this many packets (or at the end of libpcap's burst, whichever comes first). */
  batchPackets: number;
  /** … or this many bytes. */
  batchBytes: number;
}

/**
 * Defaults: 200 k packets / 128 MiB queued is 2 s at 100 k packets/s (4 s at 50 k) of the analysis falling behind
 * before anything is dropped; batches of ≤ 1024 packets / 1 MiB.
 */
export const DEFAULT_DRAIN_LIMITS: Readonly<DrainLimits> = { maxPackets: 200_000, maxBytes: 128 * 1024 * 1024, batchPackets: 1024, batchBytes: 1024 * 1024 };

/** Longest wait for the capture process to open the capture (or say why it could not). */
export const DRAIN_START_TIMEOUT_MS = 15_000;
/** Longest wait for the capture process to flush and exit after stop(). */
export const DRAIN_STOP_TIMEOUT_MS = 5_000;
/**
 * The live clock (for wall-clock deadlines) runs this far behind the capture process's: a frame stamped there reaches
 * the analysis through a pipe a little later, and the correlator must see it before its clock passes the stamp.
 */
export const DRAIN_CLOCK_LAG_SECONDS = 0.1;
/**
 * Scheduling priority (nice value) of the capture process, where the user may raise it (root): a little ahead of the
 * analysis and of other work on the machine, as the kernel's small ring on lo leaves it only milliseconds.
 */
export const DRAIN_PRIORITY = -5;
/** Environment variable: extra node options for the capture process (e.g. --cpu-prof for a profile of it). */
export const DRAIN_NODE_OPTIONS_ENV = 'KEYSCOPE_DRAIN_NODE_ARGS';

export const CAP_DRAINED_CLOCK: LiveClockInfo = {
  ...CAP_CLOCK,
  short: 'arrival in the capture process, µs',
  description: "arrival in keyscope's capture process, microseconds (cap passes no kernel timestamps: later than the kernel's by the process's wake-up delay; --engine tcpdump has them)",
};

/** `-w` written by the capture process itself (see live-drain-child.ts). */
export interface DrainFileOptions {
  path: string;
  format: CaptureFileFormat;
  ring?: RingBufferOptions;
}

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

/** The capture process could not create the `-w` file: `message` is the reason (ioReason), one line. */
export class DrainFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DrainFileError';
  }
}

/** The capture process's `-w` file, known here from its control lines. */
class ChildCaptureFile implements CaptureFileSink {
  frames = 0;
  files: string[] = [];
  current: string;
  /** Why the file could not be written (the capture process stopped); undefined while all is well. */
  error: string | undefined;

  constructor(private readonly options: DrainFileOptions) {
    this.current = options.path;
  }

  get ring(): boolean {
    return this.options.ring !== undefined;
  }

  /** The capture process closed (fsynced) the file when it ended: this only reports a failure it had. */
  close(): void {
    if (this.error !== undefined) throw new Error(this.error);
  }

  /** The capture process keeps what it wrote (as tcpdump does): nothing to do here. */
  abort(): void {}
}

/** What the capture process is started with (one JSON argument). */
export interface DrainChildArgs {
  device: string;
  filter: string;
  snaplen: number;
  bufferSize?: number;
  limits: DrainLimits;
  /** `-w`: the capture process writes every packet it captures here, queue drops included. */
  file?: DrainFileOptions;
  /** `-c`: stop after this many packets. */
  count?: number;
  /** Nice value to run at (DRAIN_PRIORITY). */
  priority: number;
}

export interface DrainedCaptureOptions {
  device: string;
  filter?: string;
  snaplen: number;
  /** Kernel capture buffer in bytes (cap's bufSize). */
  bufferSize?: number;
  limits?: Partial<DrainLimits>;
  /** Let the capture process write the capture file (every packet, before the queue can drop any). */
  file?: DrainFileOptions;
  /** Stop after this many packets (the file holds exactly these). */
  count?: number;
}

interface OpenLine {
  linkType: number;
  linkTypeName: string;
  snaplen: number;
  startSec: number;
  startNsec: number;
}

/** A `cap` capture run by a capture process of its own, read here as a pcap stream. */
export class DrainedCapture extends PipedCapture {
  readonly clock: LiveClockInfo = CAP_DRAINED_CLOCK;
  private readonly fileErrorHandlers: Array<(message: string) => void> = [];
  /** The `-w` file the capture process writes, when it was asked to. */
  readonly file: CaptureFileSink | undefined;
  private readonly childFile: ChildCaptureFile | undefined;
  private readonly startNs: bigint;
  private queueDrops = 0;
  /** Packets the capture process captured, known once it has stopped capturing (its `end` line). */
  private capturedTotal: number | undefined;

  /** Use openDrainedCapture(). */
  constructor(
    child: ChildProcess,
    stream: NodeJS.ReadableStream,
    private readonly control: { onLine: (h: (line: string) => void) => void; tail: () => string },
    info: { device: string; filter: string; file?: DrainFileOptions } & OpenLine,
  ) {
    super(child, stream, info, { name: 'capture process', stopTimeoutMs: DRAIN_STOP_TIMEOUT_MS });
    this.childFile = info.file ? new ChildCaptureFile(info.file) : undefined;
    this.file = this.childFile;
    this.startNs = BigInt(info.startSec) * 1_000_000_000n + BigInt(info.startNsec);
    control.onLine((line) => this.controlLine(line));
  }

  /** The capture process ending by itself (crash, interface gone) ends the capture, as a failure. */
  protected override exitedByItself(code: number | null, signal: NodeJS.Signals | null): void {
    if (code !== 0 || signal !== null) {
      const tail = this.control.tail();
      this.failure ??= new Error(`the capture process ended (${signal ?? `exit code ${code}`})${tail ? `: ${tail}` : ''}`);
    }
  }

  protected startTime(): PacketTime {
    return nsToTime(this.startNs);
  }

  /** cap counts no kernel drops: unknown. The capture queue's own drops are `queueDropped`. */
  get dropped(): number | undefined {
    return undefined;
  }

  /** Packets dropped between the capture process and the analysis because the queue was full. */
  get queueDropped(): number {
    return this.queueDrops;
  }

  /**
   * Packets captured and still on their way to the analysis (the capture process's queue, the pipe): known once the
   * capture process has stopped capturing and said how many it captured (a drain after Ctrl-C), undefined before.
   */
  override get queued(): number | undefined {
    if (this.capturedTotal === undefined) return undefined;
    return Math.max(0, this.capturedTotal - this.queueDrops - this.stats.packets - this.notAnalysed);
  }

  /** The capture process could not write the `-w` file (it stops capturing): the reason, once. */
  onFileError(handler: (message: string) => void): void {
    this.fileErrorHandlers.push(handler);
  }

  now(): PacketTime {
    const mono = this.stopMono ?? process.hrtime.bigint();
    let ns = this.startNs + (mono - this.startMono) - BigInt(DRAIN_CLOCK_LAG_SECONDS * 1e9);
    ns -= ns % 1000n;
    // held at the newest frame while the pipe still streams: the capture process may queue a backlog
    return this.paced(nsToTime(ns));
  }

  private controlLine(line: string): void {
    const drop = /^drop (\d+) (\d+)\.(\d{9}) (\d+)\.(\d{9})$/.exec(line);
    if (drop) {
      const packets = Number(drop[1]);
      this.queueDrops += packets;
      const w: CaptureLossWindow = {
        from: { tsSec: Number(drop[2]), tsNsec: Number(drop[3]) },
        to: { tsSec: Number(drop[4]), tsNsec: Number(drop[5]) },
        cause: 'queue',
        packets,
      };
      this.lost(w);
      return;
    }
    if (this.childFile && line.startsWith('file ')) {
      const f = JSON.parse(line.slice(5)) as { frames: number; files: string[]; current: string };
      Object.assign(this.childFile, f);
      return;
    }
    if (this.childFile && line.startsWith('fileerror ')) {
      const f = JSON.parse(line.slice(10)) as { message: string; frames: number };
      this.childFile.frames = f.frames;
      this.childFile.error ??= f.message;
      for (const h of this.fileErrorHandlers.slice()) h(f.message);
      return;
    }
    const end = /^end (\d+)(?: (\d+))?$/.exec(line);
    if (end) {
      this.queueDrops = Math.max(this.queueDrops, Number(end[1]));
      if (end[2] !== undefined) this.capturedTotal = Number(end[2]);
    }
  }
}

/** Start the capture process and wait until it has opened the capture; rejects with LiveCaptureError as openLiveCapture throws. */
export async function openDrainedCapture(opts: DrainedCaptureOptions): Promise<DrainedCapture> {
  const limits: DrainLimits = { ...DEFAULT_DRAIN_LIMITS, ...opts.limits };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isInteger(v) || v < 1) throw new LiveCaptureError('failed', `capture queue limit ${k} must be a positive integer, not ${v}`);
  }
  const args: DrainChildArgs = {
    device: opts.device,
    filter: opts.filter ?? '',
    snaplen: opts.snaplen,
    limits,
    priority: DRAIN_PRIORITY,
    ...(opts.bufferSize !== undefined ? { bufferSize: opts.bufferSize } : {}),
    ...(opts.file ? { file: opts.file } : {}),
    ...(opts.count !== undefined ? { count: opts.count } : {}),
  };
  const nodeArgs = (process.env[DRAIN_NODE_OPTIONS_ENV] ?? '').split(' ').filter((a) => a.length > 0);
  const child = spawnTied(process.execPath, [...nodeArgs, path.join(__dirname, 'live-drain-child.js'), JSON.stringify(args)], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const lineHandlers: Array<(line: string) => void> = [];
  let pending = '';
  let stderrTail = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    pending += d;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!/^(open|error|drop|file|fileerror|end) /.test(line)) stderrTail = `${stderrTail}${line}\n`.slice(-2000);
      for (const h of lineHandlers) h(line);
    }
  });
  const data = child.stdio[3] as NodeJS.ReadableStream;
  const opened = await new Promise<OpenLine>((resolve, reject) => {
    const timer = setTimeout(() => fail(new LiveCaptureError('failed', `the capture process did not start within ${DRAIN_START_TIMEOUT_MS / 1000} s`)), DRAIN_START_TIMEOUT_MS);
    const fail = (err: Error) => {
      cleanup();
      killGroup(child, 'SIGKILL');
      reject(err);
    };
    const onLine = (line: string) => {
      if (line.startsWith('open ')) {
        cleanup();
        resolve(JSON.parse(line.slice(5)) as OpenLine);
      } else if (line.startsWith('error ')) {
        const e = JSON.parse(line.slice(6)) as { kind: LiveCaptureErrorKind | 'file'; message: string };
        fail(e.kind === 'file' ? new DrainFileError(e.message) : new LiveCaptureError(e.kind, e.message));
      }
    };
    const onExit = () =>
      setImmediate(() => fail(new LiveCaptureError('failed', `the capture process ended before the capture opened${stderrTail ? `: ${stderrTail.trim().split('\n').pop()}` : ''}`)));
    const onError = (err: Error) => fail(new LiveCaptureError('failed', `cannot start the capture process: ${err.message}`));
    const cleanup = () => {
      clearTimeout(timer);
      lineHandlers.splice(lineHandlers.indexOf(onLine), 1);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    lineHandlers.push(onLine);
    child.once('exit', onExit);
    child.once('error', onError);
  });
  return new DrainedCapture(child, data, { onLine: (h) => lineHandlers.push(h), tail: () => stderrTail.trim().split('\n').pop() ?? '' }, { device: opts.device, filter: opts.filter ?? '', ...opened, ...(opts.file ? { file: opts.file } : {}) });
}

function nsToTime(ns: bigint): PacketTime {
  return { tsSec: Number(ns / 1_000_000_000n), tsNsec: Number(ns % 1_000_000_000n) };
}
