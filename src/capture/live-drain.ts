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
 * 128 KiB kernel slot), and the analysis takes them when it can. The queue in memory is small and bounded
 * (DrainLimits); behind it an on-disk spool (spool.ts, DrainSpoolOptions) takes what the analysis cannot take yet,
 * as dumpcap's file does for a slow tshark, and only past the spool's bound is anything dropped — in the capture
 * process, counted, and reported as a CaptureLossWindow, so the loss is never silent. `--engine tcpdump` goes through
 * the same process (tcpdump-engine.ts): it starts tcpdump and relays its stream through the same queue and spool, so
 * tcpdump never blocks on a busy analysis either.
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
import * as os from 'node:os';
import * as path from 'node:path';
import type { PacketTime } from '../common/time';
import { eachLine } from '../common/lines';
import { killGroup, spawnTied } from '../common/tied-process';
import { CAP_CLOCK, LiveCaptureError, type LiveCaptureErrorKind, type LiveClockInfo } from './live';
import type { CaptureFileFormat, RingBufferOptions } from './live-file';
import { PipedCapture } from './piped-capture';

export type { CaptureFileSink } from './piped-capture';

/** Bounds of the queue in memory between the capture process and keyscope's analysis, and of one write. */
export interface DrainLimits {
  /** Packets written towards the analysis and not yet taken by it, at most; more go to the spool. */
  maxPackets: number;
  /** Bytes of those packets, at most. */
  maxBytes: number;
  /** A batch is written when it holds this many packets (or at the end of libpcap's burst, whichever comes first). */
  batchPackets: number;
  /** … or this many bytes. */
  batchBytes: number;
}

/**
 * Defaults: 16 MiB (at most 200 k packets) in memory — 1.3 s of the mix at 100 k packets/s — then the spool;
 * batches of ≤ 1024 packets / 1 MiB. The memory bound is part of the capture process's budget
 * (docs/memory-budgets.md, "The capture process").
 */
export const DEFAULT_DRAIN_LIMITS: Readonly<DrainLimits> = { maxPackets: 200_000, maxBytes: 16 * 1024 * 1024, batchPackets: 1024, batchBytes: 1024 * 1024 };

/** The disk spool behind the memory queue (spool.ts). */
export interface DrainSpoolOptions {
  /** Directory of the (at once unlinked) spool file; `live --spool-dir`. */
  dir: string;
  /** Bytes spooled at most; 0: no spool (a full memory queue drops at once). `live --spool-size` (MiB). */
  capacity: number;
  /** Never grow the spool closer than this to the file system's free space. */
  freeMargin: number;
}

/** Default `--spool-size`: 2 GiB, ~15 million packets of the bench mix (2.5 min behind at 100 k packets/s). */
export const DEFAULT_SPOOL_BYTES = 2 * 1024 * 1024 * 1024;
/** The spool leaves at least this much of its file system free (checked with statfs as it grows). */
export const DEFAULT_SPOOL_FREE_MARGIN_BYTES = 1024 * 1024 * 1024;

function defaultSpoolOptions(): DrainSpoolOptions {
  return { dir: os.tmpdir(), capacity: DEFAULT_SPOOL_BYTES, freeMargin: DEFAULT_SPOOL_FREE_MARGIN_BYTES };
}

/** The capture process reports its queue (captured, dropped, spooled) this often while it changes. */
export const DRAIN_QUEUE_REPORT_MS = 250;
/** Longest wait for the capture process to open the capture (or say why it could not). */
export const DRAIN_START_TIMEOUT_MS = 15_000;
/** Longest wait for the capture process to flush and exit after stop(), once it delivers nothing more. */
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
/**
 * V8 options of the capture process: its heap holds only the batches being built (the queue's bytes are Buffers
 * outside it, bounded by DrainLimits.maxBytes) — smaller semi-spaces keep the garbage of 100 k frame objects per
 * second from growing the young generation (and the RSS) to V8's default 16 MiB per semi-space.
 */
const DRAIN_V8_OPTIONS: readonly string[] = ['--max-semi-space-size=4'];

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

/** The capture process could not create the `-w` file: `message` is the reason (ioReason), one line. */
export class DrainFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DrainFileError';
  }
}

/** What the capture process is started with (one JSON argument). */
export interface DrainChildArgs {
  device: string;
  filter: string;
  snaplen: number;
  bufferSize?: number;
  limits: DrainLimits;
  spool: DrainSpoolOptions;
  /** `-w`: the capture process writes every packet it captures here, queue drops included. */
  file?: DrainFileOptions;
  /** `-c`: stop after this many packets. */
  count?: number;
  /** Nice value to run at (DRAIN_PRIORITY). */
  priority: number;
  /** Report the queue this often (DRAIN_QUEUE_REPORT_MS). */
  reportMs: number;
  /** Relay a capture tool's pcap stream (tcpdump or dumpcap, started with these arguments) instead of capturing with cap. */
  tool?: { program: string; args: string[] };
}

/** What both engines' capture processes share: the queue's bounds, the spool, -w and -c. */
export interface CaptureProcessOptions {
  limits?: Partial<DrainLimits>;
  spool?: Partial<DrainSpoolOptions>;
  /** Let the capture process write the capture file (every packet, before the queue can drop any). */
  file?: DrainFileOptions;
  /** Stop after this many packets (the file holds exactly these). */
  count?: number;
}

export interface DrainedCaptureOptions extends CaptureProcessOptions {
  device: string;
  filter?: string;
  snaplen: number;
  /** Kernel capture buffer in bytes (cap's bufSize). */
  bufferSize?: number;
}

/** The capture process's `open` line. */
interface OpenLine {
  linkType: number;
  linkTypeName: string;
  snaplen: number;
  startSec: number;
  startNsec: number;
}

/** A started capture process: its stream, and its control lines (standard error) as they come. */
export interface CaptureProcess {
  child: ChildProcess;
  data: NodeJS.ReadableStream;
  onLine(h: (line: string) => void): void;
  offLine(h: (line: string) => void): void;
  /** The last line that was not a control line (a crash's message). */
  tail(): string;
}

const CONTROL_LINE = /^(open|error|drop|queue|file|fileerror|spoolerror|spawnerror|exit|end|tool) /;

/** The queue's bounds and the spool, checked, with the defaults filled in. */
export function captureProcessArgs(opts: CaptureProcessOptions): Pick<DrainChildArgs, 'limits' | 'spool' | 'file' | 'count' | 'reportMs'> {
  const limits: DrainLimits = { ...DEFAULT_DRAIN_LIMITS, ...opts.limits };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isInteger(v) || v < 1) throw new LiveCaptureError('failed', `capture queue limit ${k} must be a positive integer, not ${v}`);
  }
  const spool: DrainSpoolOptions = { ...defaultSpoolOptions(), ...opts.spool };
  if (!Number.isInteger(spool.capacity) || spool.capacity < 0) throw new LiveCaptureError('failed', `the spool size must be a whole number of bytes, not ${spool.capacity}`);
  return { limits, spool, reportMs: DRAIN_QUEUE_REPORT_MS, ...(opts.file ? { file: opts.file } : {}), ...(opts.count !== undefined ? { count: opts.count } : {}) };
}

/** Start a capture process (tied: it dies with keyscope, and tcpdump with it). */
export function spawnCaptureProcess(args: DrainChildArgs): CaptureProcess {
  const nodeArgs = (process.env[DRAIN_NODE_OPTIONS_ENV] ?? '').split(' ').filter((a) => a.length > 0);
  const child = spawnTied(process.execPath, [...DRAIN_V8_OPTIONS, ...nodeArgs, path.join(__dirname, 'live-drain-child.js'), JSON.stringify(args)], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const lineHandlers: Array<(line: string) => void> = [];
  let stderrTail = '';
  // (an unterminated last line is not a line: not passed on)
  if (child.stderr) {
    eachLine(child.stderr, (line) => {
      if (!CONTROL_LINE.test(line)) stderrTail = `${stderrTail}${line}\n`.slice(-2000);
      for (const h of lineHandlers.slice()) h(line);
    });
  }
  return {
    child,
    data: child.stdio[3] as NodeJS.ReadableStream,
    onLine: (h) => lineHandlers.push(h),
    offLine: (h) => {
      const i = lineHandlers.indexOf(h);
      if (i >= 0) lineHandlers.splice(i, 1);
    },
    tail: () => stderrTail.trim().split('\n').pop() ?? '',
  };
}

/** A `cap` capture run by a capture process of its own, read here as a pcap stream. */
export class DrainedCapture extends PipedCapture {
  readonly clock: LiveClockInfo = CAP_DRAINED_CLOCK;
  private readonly startNs: bigint;

  /** Use openDrainedCapture(). The capture process ending by itself (crash, interface gone) ends the capture, as a failure. */
  constructor(proc: CaptureProcess, info: { device: string; filter: string; file?: DrainFileOptions } & OpenLine) {
    super(proc, info, { name: 'capture process', label: 'the capture process', stopTimeoutMs: DRAIN_STOP_TIMEOUT_MS });
    this.startNs = BigInt(info.startSec) * 1_000_000_000n + BigInt(info.startNsec);
  }

  protected startTime(): PacketTime {
    return nsToTime(this.startNs);
  }

  /** cap counts no kernel drops: unknown. The capture queue's own drops are `queueDropped`. */
  get dropped(): number | undefined {
    return undefined;
  }

  now(): PacketTime {
    const mono = this.stopMono ?? process.hrtime.bigint();
    let ns = this.startNs + (mono - this.startMono) - BigInt(DRAIN_CLOCK_LAG_SECONDS * 1e9);
    ns -= ns % 1000n;
    // held at the newest frame while the pipe still streams: the capture process may queue a backlog
    return this.paced(nsToTime(ns));
  }
}

/**
 * Wait for a capture process's `open` line; `onLine` sees every other line first and may fail the start (return an
 * Error). Rejects (and kills the process) on `error`, an early exit or the start timeout.
 */
export function awaitOpen(proc: CaptureProcess, timeoutMs: number, onLine: (line: string) => Error | undefined, early: () => Error): Promise<OpenLine> {
  const child = proc.child;
  return new Promise<OpenLine>((resolve, reject) => {
    const timer = setTimeout(() => fail(new LiveCaptureError('failed', `the capture process did not start within ${timeoutMs / 1000} s`)), timeoutMs);
    const fail = (err: Error) => {
      cleanup();
      killGroup(child, 'SIGKILL');
      reject(err);
    };
    const line = (l: string) => {
      if (l.startsWith('open ')) {
        cleanup();
        resolve(JSON.parse(l.slice(5)) as OpenLine);
      } else if (l.startsWith('error ')) {
        const e = JSON.parse(l.slice(6)) as { kind: LiveCaptureErrorKind | 'file'; message: string };
        fail(e.kind === 'file' ? new DrainFileError(e.message) : new LiveCaptureError(e.kind, e.message));
      } else {
        const err = onLine(l);
        if (err) fail(err);
      }
    };
    const onExit = () => setImmediate(() => fail(early()));
    const onError = (err: Error) => fail(new LiveCaptureError('failed', `cannot start the capture process: ${err.message}`));
    const cleanup = () => {
      clearTimeout(timer);
      proc.offLine(line);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    proc.onLine(line);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Start the capture process and wait until it has opened the capture; rejects with LiveCaptureError as openLiveCapture throws. */
export async function openDrainedCapture(opts: DrainedCaptureOptions): Promise<DrainedCapture> {
  const args: DrainChildArgs = {
    device: opts.device,
    filter: opts.filter ?? '',
    snaplen: opts.snaplen,
    priority: DRAIN_PRIORITY,
    ...captureProcessArgs(opts),
    ...(opts.bufferSize !== undefined ? { bufferSize: opts.bufferSize } : {}),
  };
  const proc = spawnCaptureProcess(args);
  const opened = await awaitOpen(proc, DRAIN_START_TIMEOUT_MS, () => undefined, () => {
    const tail = proc.tail();
    return new LiveCaptureError('failed', `the capture process ended before the capture opened${tail ? `: ${tail}` : ''}`);
  });
  return new DrainedCapture(proc, { device: opts.device, filter: opts.filter ?? '', ...opened, ...(opts.file ? { file: opts.file } : {}) });
}

function nsToTime(ns: bigint): PacketTime {
  return { tsSec: Number(ns / 1_000_000_000n), tsNsec: Number(ns % 1_000_000_000n) };
}
