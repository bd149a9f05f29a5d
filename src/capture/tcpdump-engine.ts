/**
 * `keyscope live --engine tcpdump`: tcpdump captures, keyscope reads its pcap stream. What this gives over the
 * in-process `cap` addon: the kernel's own timestamps (nanoseconds, the same clock tcpdump and Wireshark show), and
 * tcpdump's drop counters ("N packets dropped by kernel"), printed by tcpdump on its standard error when it ends.
 *
 * tcpdump runs as a tied child (common/tied-process.ts): it never outlives keyscope, however keyscope ends. It is
 * started with `-U -w -` (each packet written to the pipe as it is captured) and `--immediate-mode` (libpcap hands
 * packets over at once instead of when a kernel block fills or times out), so a frame reaches the screen as quickly
 * as with `cap`. The stream is parsed by the same reader as any pcap stream (capture/reader.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { escapeText } from '../common/escape';
import type { PacketTime } from '../common/time';
import { killGroup, spawnTied } from '../common/tied-process';
import { LiveCaptureError, addHandler, isLoopbackInterface, type LiveCaptureStats, type LiveClockInfo, type LiveSource, type LiveStopOptions } from './live';
import { RateWindow } from './live-stats';
import { PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC } from './pcap';
import { readCapture } from './reader';
import type { CaptureFrame, FrameHandler } from './types';

/** The tcpdump program (a name on PATH or a path). */
export const TCPDUMP_ENV = 'KEYSCOPE_TCPDUMP';
/** Kernel capture buffer passed to tcpdump -B when none is given, in KiB (tcpdump's unit): 32 MiB as for cap. */
export const DEFAULT_TCPDUMP_BUFFER_KIB = 32 * 1024;
/**
 * The live clock (for wall-clock deadlines) runs this far behind the wall clock: a frame stamped by the kernel
 * reaches keyscope through tcpdump and a pipe a little later, and the correlator must see it before its clock passes
 * the frame's stamp.
 */
export const TCPDUMP_CLOCK_LAG_SECONDS = 0.1;
/** Longest wait for tcpdump to start capturing (its "listening on" line) or to fail. */
export const TCPDUMP_START_TIMEOUT_MS = 10_000;
/** Longest wait for tcpdump to print its counters and exit after it was told to stop. */
export const TCPDUMP_STOP_TIMEOUT_MS = 5_000;

export const TCPDUMP_CLOCK: LiveClockInfo = {
  engine: 'tcpdump',
  short: 'kernel, ns',
  description: "the kernel's, nanoseconds (as tcpdump and Wireshark show them)",
  nanosecond: true,
};

export interface TcpdumpCaptureOptions {
  device: string;
  filter?: string;
  snaplen?: number;
  /** Kernel buffer in KiB (tcpdump -B). */
  bufferKiB?: number;
  /** The tcpdump program (default $KEYSCOPE_TCPDUMP or `tcpdump`). */
  program?: string;
}

/** tcpdump's counters, from its last lines on standard error. */
export interface TcpdumpCounters {
  captured?: number;
  receivedByFilter?: number;
  droppedByKernel?: number;
  droppedByInterface?: number;
}

/** Parse tcpdump's end-of-capture counters ("12 packets captured", "0 packets dropped by kernel", …). */
export function parseTcpdumpCounters(stderr: string): TcpdumpCounters {
  const c: TcpdumpCounters = {};
  const num = (re: RegExp) => {
    const m = re.exec(stderr);
    return m ? Number(m[1]) : undefined;
  };
  const captured = num(/^(\d+) packets? captured$/m);
  const filter = num(/^(\d+) packets? received by filter$/m);
  const kernel = num(/^(\d+) packets? dropped by kernel$/m);
  const iface = num(/^(\d+) packets? dropped by interface$/m);
  if (captured !== undefined) c.captured = captured;
  if (filter !== undefined) c.receivedByFilter = filter;
  if (kernel !== undefined) c.droppedByKernel = kernel;
  if (iface !== undefined) c.droppedByInterface = iface;
  return c;
}

/**
 * Packets lost by the capture, from tcpdump's counters. Elsewhere: dropped by kernel + dropped by interface. On a
 * loopback interface the kernel counts every packet twice — its outgoing and its incoming copy both pass the packet
 * socket, and libpcap throws the outgoing one away only after the kernel counted it (and, when the ring was full, counted
 * it as dropped). Measured on lo, 4000 packets: "8000 received by filter, 4028 dropped by kernel, 1986 captured" —
 * 2014 packets lost, not 4028. There the loss is what the kernel received, halved, less what tcpdump captured.
 * (A kernel filter `inbound` would keep the outgoing copies out, but it was seen to lose the first packet of a flow.)
 */
export function tcpdumpLoss(c: TcpdumpCounters, loopback: boolean): number | undefined {
  if (loopback && c.receivedByFilter !== undefined && c.captured !== undefined) {
    return Math.max(0, Math.ceil(c.receivedByFilter / 2) - c.captured) + (c.droppedByInterface ?? 0);
  }
  if (c.droppedByKernel === undefined && c.droppedByInterface === undefined) return undefined;
  return (c.droppedByKernel ?? 0) + (c.droppedByInterface ?? 0);
}

export class TcpdumpCapture implements LiveSource {
  readonly clock = TCPDUMP_CLOCK;
  readonly device: string;
  readonly filter: string;
  readonly linkType: number;
  readonly linkTypeName: string;
  readonly snaplen: number;
  readonly done: Promise<void>;
  /** tcpdump's counters, once it has exited. */
  counters: TcpdumpCounters | undefined;
  private readonly handlers: FrameHandler[] = [];
  private readonly stopHandlers: Array<() => void> = [];
  private readonly window = new RateWindow(5);
  private readonly startMono = process.hrtime.bigint();
  private readonly startWallMs = Date.now();
  private stopMono: bigint | undefined;
  private readonly st = { packets: 0, bytes: 0, capturedBytes: 0, truncatedFrames: 0 };
  private lastTime: PacketTime | undefined;
  private failure: unknown;
  private ended = false;
  /** Frames still arriving are not delivered (a stop without drain, or a handler's failure). */
  private discard = false;
  /** A loopback interface: the kernel's counters count each packet twice (tcpdumpLoss). */
  private readonly loopback: boolean;

  /** Use openTcpdumpCapture(). */
  constructor(
    private readonly child: ChildProcess,
    stream: NodeJS.ReadableStream,
    private readonly stderrText: () => string,
    info: { device: string; filter: string; linkType: number; snaplen: number },
  ) {
    this.device = info.device;
    this.filter = info.filter;
    this.linkType = info.linkType;
    this.linkTypeName = linkTypeLabel(info.linkType);
    this.snaplen = info.snaplen;
    this.loopback = isLoopbackInterface(info.device);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const read = readCapture(stream, (f) => this.packet(f), { name: 'tcpdump' });
    this.done = read
      .then(
        (summary) => {
          if (summary.fatal && this.failure === undefined) this.failure = new Error(`tcpdump's stream: ${summary.fatal}`);
        },
        (err) => {
          this.failure ??= err;
        },
      )
      .then(() => exited)
      .then(() => {
        this.counters = parseTcpdumpCounters(this.stderrText());
        this.stopMono ??= process.hrtime.bigint();
        this.ended = true;
        for (const h of this.stopHandlers.splice(0)) h();
        if (this.failure !== undefined) throw this.failure;
      });
    this.done.catch(() => undefined);
    // tcpdump ending by itself (interface gone, killed) ends the capture too
    child.once('exit', () => {
      this.stopMono ??= process.hrtime.bigint();
    });
  }

  get stopped(): boolean {
    return this.stopMono !== undefined;
  }

  onFrame(handler: FrameHandler): () => void {
    return addHandler(this.handlers, handler);
  }

  /** Called once the capture has ended (tcpdump gone, its stream read to the end); at once if it has. */
  onStop(handler: () => void): void {
    if (this.ended) handler();
    else this.stopHandlers.push(handler);
  }

  /** Packets tcpdump counted as dropped (kernel and interface), once it has exited; undefined before or if unknown. */
  get dropped(): number | undefined {
    const c = this.counters;
    return c ? tcpdumpLoss(c, this.loopback) : undefined;
  }

  /**
   * Ask tcpdump to stop (SIGINT: it prints its counters and exits). As with `cap`, no frame is delivered after
   * stop(), even one tcpdump had already written (-c N means N frames).
   */
  stop(options: LiveStopOptions = {}): void {
    if (!options.drain) this.discard = true;
    if (this.stopMono !== undefined) return;
    this.stopMono = process.hrtime.bigint();
    killGroup(this.child, 'SIGINT');
    const t = setTimeout(() => killGroup(this.child, 'SIGKILL'), TCPDUMP_STOP_TIMEOUT_MS);
    t.unref();
    this.child.once('exit', () => clearTimeout(t));
  }

  /** The kernel's clock (the wall clock) now, less the pipe's lag; never before the newest frame. */
  now(): PacketTime {
    const ms = (this.stopMono !== undefined ? this.startWallMs + Number(this.stopMono - this.startMono) / 1e6 : Date.now()) - TCPDUMP_CLOCK_LAG_SECONDS * 1000;
    const t = { tsSec: Math.floor(ms / 1000), tsNsec: Math.round((ms % 1000) * 1e6) % 1_000_000_000 };
    const last = this.lastTime;
    if (last && (last.tsSec > t.tsSec || (last.tsSec === t.tsSec && last.tsNsec > t.tsNsec))) return last;
    return t;
  }

  get stats(): LiveCaptureStats {
    const now = this.stopMono ?? process.hrtime.bigint();
    const rate = this.window.rate(now, this.startMono);
    const ms = this.startWallMs;
    const s: LiveCaptureStats = {
      ...this.st,
      startTime: { tsSec: Math.floor(ms / 1000), tsNsec: (ms % 1000) * 1e6 },
      elapsedSeconds: Number(now - this.startMono) / 1e9,
      packetsPerSecond: rate.packetsPerSecond,
      bytesPerSecond: rate.bytesPerSecond,
    };
    if (this.lastTime) s.lastTime = this.lastTime;
    return s;
  }

  private packet(f: CaptureFrame): void {
    if (this.discard) return;
    // the reader may reuse its buffer; handlers (and the Dissector's held frames) keep frames
    const frame: CaptureFrame = { ...f, data: Buffer.from(f.data) };
    this.st.packets++;
    this.st.bytes += frame.originalLength;
    this.st.capturedBytes += frame.capturedLength;
    if (frame.capturedLength < frame.originalLength) this.st.truncatedFrames++;
    this.lastTime = { tsSec: frame.tsSec, tsNsec: frame.tsNsec };
    this.window.add(process.hrtime.bigint(), frame.originalLength);
    try {
      for (const h of this.handlers.slice()) h(frame);
    } catch (err) {
      this.failure ??= err;
      this.stop();
    }
  }
}

function linkTypeLabel(n: number): string {
  const names: Record<number, string> = { 0: 'NULL', 1: 'ETHERNET', 101: 'RAW', 113: 'LINUX_SLL', 228: 'IPV4', 229: 'IPV6', 276: 'LINUX_SLL2' };
  return names[n] ?? `LINKTYPE ${n}`;
}

/**
 * Start tcpdump and wait for its pcap header. Rejects with a LiveCaptureError (one line) when tcpdump is missing,
 * the interface does not exist, the filter does not compile or capturing is not permitted.
 */
export async function openTcpdumpCapture(opts: TcpdumpCaptureOptions): Promise<TcpdumpCapture> {
  const program = opts.program ?? (process.env[TCPDUMP_ENV] || 'tcpdump');
  const filter = opts.filter ?? '';
  const snaplen = opts.snaplen ?? 262144;
  // -Z root when root: tcpdump would otherwise switch to its own user after opening the device, and a change of
  // user clears the parent-death signal that ties it to keyscope (tied-process.ts): it could outlive a kill -9
  const keepUser = process.getuid?.() === 0 ? ['-Z', 'root'] : [];
  const args = [...keepUser, '-U', '-w', '-', '--immediate-mode', '--time-stamp-precision', 'nano', '-n', '-i', opts.device, '-s', String(snaplen), '-B', String(opts.bufferKiB ?? DEFAULT_TCPDUMP_BUFFER_KIB)];
  if (filter.trim().length > 0) args.push('--', filter);
  const child = spawnTied(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const stdout = child.stdout as NodeJS.ReadableStream;
  const quote = (s: string) => `'${escapeText(s, 200)}'`;

  const header = await new Promise<Buffer>((resolve, reject) => {
    let got = Buffer.alloc(0);
    const fail = (why: string) => {
      cleanup();
      killGroup(child, 'SIGKILL');
      reject(classify(why, opts.device, filter, quote));
    };
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 24) {
        cleanup();
        stdout.pause();
        resolve(got);
      }
    };
    const onExit = () => setImmediate(() => fail(stderr.trim().split('\n').filter((l) => !/^tcpdump: listening on/.test(l)).pop() ?? 'tcpdump ended'));
    const onError = (err: NodeJS.ErrnoException) => {
      cleanup();
      reject(new LiveCaptureError('unavailable', err.code === 'ENOENT' ? `--engine tcpdump: ${quote(program)} is not installed (apt-get install tcpdump)` : `--engine tcpdump: ${err.message}`));
    };
    const timer = setTimeout(() => fail(`no pcap header from tcpdump within ${TCPDUMP_START_TIMEOUT_MS / 1000} s`), TCPDUMP_START_TIMEOUT_MS);
    const cleanup = () => {
      clearTimeout(timer);
      stdout.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    stdout.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
  const magic = header.readUInt32LE(0);
  const le = magic === PCAP_MAGIC_NSEC || magic === PCAP_MAGIC_USEC;
  const linkType = (le ? header.readUInt32LE(20) : header.readUInt32BE(20)) & 0x0fffffff;
  const fileSnaplen = le ? header.readUInt32LE(16) : header.readUInt32BE(16);
  // the header goes back in front of the rest of the stream for the reader
  const stream = new PassThrough({ highWaterMark: 1 << 20 });
  stream.write(header);
  (stdout as NodeJS.ReadableStream & { pipe: <T extends NodeJS.WritableStream>(d: T) => T }).pipe(stream);
  stdout.resume();
  return new TcpdumpCapture(child, stream, () => stderr, { device: opts.device, filter, linkType, snaplen: fileSnaplen });
}

function classify(msg: string, device: string, filter: string, quote: (s: string) => string): LiveCaptureError {
  const line = msg.replace(/^tcpdump: /, '').trim();
  if (/permission|not permitted/i.test(line)) return new LiveCaptureError('permission', `no permission to capture on ${quote(device)} (tcpdump: ${escapeText(line)}): run as root`);
  if (/no such device|doesn't exist/i.test(line)) return new LiveCaptureError('no-such-device', `no such interface: ${quote(device)}`);
  if (/syntax error|filter/i.test(line)) return new LiveCaptureError('bad-filter', `bad capture filter ${quote(filter)}: ${escapeText(line)}`);
  return new LiveCaptureError('failed', `cannot capture on ${quote(device)} with tcpdump: ${escapeText(line)}`);
}
