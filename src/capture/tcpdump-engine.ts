/**
 * `keyscope live --engine tcpdump`: tcpdump captures, keyscope reads its pcap stream — through keyscope's capture
 * process (live-drain-child.ts), which starts tcpdump, reads its stream as fast as tcpdump writes it and relays it
 * through its memory queue and disk spool: tcpdump never blocks on a busy analysis (it used to write straight into
 * a pipe the analysis read, and blocked, and the kernel dropped what tcpdump could not take), and what the analysis
 * cannot take yet waits on disk, in order, as with `cap`. What this gives over the
 * in-process `cap` addon: the kernel's own timestamps (nanoseconds, the same clock tcpdump and Wireshark show), and
 * tcpdump's drop counters ("N packets dropped by kernel"), printed by tcpdump on its standard error when it ends.
 *
 * tcpdump runs as a tied child of the capture process, itself tied to keyscope (common/tied-process.ts): it never
 * outlives keyscope, however keyscope ends. SIGUSR1 to the capture process is passed on to tcpdump, and tcpdump's
 * standard error comes back as `tcpdump LINE` control lines: the counters and the errors read as before. It is
 * started with `-U -w -` (each packet written to the pipe as it is captured) and `--immediate-mode` (libpcap hands
 * packets over at once instead of when a kernel block fills or times out), so a frame reaches the screen as quickly
 * as with `cap`. The stream is parsed by the same reader as any pcap stream (capture/reader.ts).
 */
import { isLoopbackInterface, type LiveClockInfo } from './live';
import type { CaptureProcess, CaptureProcessOptions } from './live-drain';
import { RelayedToolCapture, startRelayedTool, wallTime, type RelayedCaptureInfo } from './relayed-tool';

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
/** Longest wait for tcpdump to print its counters and exit after it was told to stop. */
export const TCPDUMP_STOP_TIMEOUT_MS = 5_000;
/**
 * How often tcpdump is asked for its counters while it captures (SIGUSR1: tcpdump prints "N packets captured, N
 * packets received by filter, N packets dropped by kernel" on standard error), in milliseconds; 0 asks only at the
 * end. A rise of the kernel's drop counter opens a loss window over the interval since the previous answer, so a
 * finding made there carries the capture-loss caveat during the run, not only in the exit summary. The live analysis
 * holds its findings this much longer (lossLatencySeconds) so that a window reported up to one interval late still
 * reaches them.
 */
export const DEFAULT_TCPDUMP_STATS_INTERVAL_MS = 1_000;

export const TCPDUMP_CLOCK: LiveClockInfo = {
  engine: 'tcpdump',
  short: 'kernel, ns',
  description: "the kernel's, nanoseconds (as tcpdump and Wireshark show them)",
  nanosecond: true,
};

export interface TcpdumpCaptureOptions extends CaptureProcessOptions {
  device: string;
  filter?: string;
  snaplen?: number;
  /** Kernel buffer in KiB (tcpdump -B). */
  bufferKiB?: number;
  /** The tcpdump program (default $KEYSCOPE_TCPDUMP or `tcpdump`). */
  program?: string;
  /** Ask tcpdump for its counters this often while it captures, in ms (default DEFAULT_TCPDUMP_STATS_INTERVAL_MS; 0: only at the end). */
  statsIntervalMs?: number;
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
 * The counters tcpdump prints on one line when it gets SIGUSR1 during the capture ("tcpdump: 12 packets captured,
 * 24 packets received by filter, 0 packets dropped by kernel[, 0 packets dropped by interface]"); undefined for any
 * other line.
 */
export function parseTcpdumpInfoLine(line: string): TcpdumpCounters | undefined {
  const m = /^(?:tcpdump: )?(\d+) packets? captured, (\d+) packets? received by filter, (\d+) packets? dropped by kernel(?:, (\d+) packets? dropped by interface)?\s*$/.exec(line);
  if (!m) return undefined;
  const c: TcpdumpCounters = { captured: Number(m[1]), receivedByFilter: Number(m[2]), droppedByKernel: Number(m[3]) };
  if (m[4] !== undefined) c.droppedByInterface = Number(m[4]);
  return c;
}

/**
 * Packets lost so far by the kernel's counters alone, for the counters tcpdump prints during the capture. The
 * end-of-capture figure (tcpdumpLoss) takes "received, halved, less captured" on loopback; during the capture that
 * difference also counts the packets still in the kernel's ring on their way to tcpdump, so it would report loss
 * where there is none. The drop counter counts only packets the full ring refused; on loopback each lost packet is
 * counted twice (its outgoing and its incoming copy: 4028 dropped for 2014 lost in the measurement of tcpdumpLoss),
 * hence halved there.
 */
export function tcpdumpRunningLoss(c: TcpdumpCounters, loopback: boolean): number {
  const kernel = c.droppedByKernel ?? 0;
  return (loopback ? Math.ceil(kernel / 2) : kernel) + (c.droppedByInterface ?? 0);
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

export class TcpdumpCapture extends RelayedToolCapture {
  readonly clock = TCPDUMP_CLOCK;
  /** tcpdump's counters, once it has exited. */
  counters: TcpdumpCounters | undefined;
  /** A loopback interface: the kernel's counters count each packet twice (tcpdumpLoss). */
  private readonly loopback: boolean;
  /** Seconds a loss window may be reported after the loss (one stats interval): see DEFAULT_TCPDUMP_STATS_INTERVAL_MS. */
  readonly lossLatencySeconds: number;
  /** Packets counted lost so far (running counters, then the end-of-capture figure), and put in loss windows. */
  private lossReported = 0;
  /** When the counters were last asked for (wall ms): the start of the next loss window. */
  private lastAskMs = Date.now();
  /** When the counters are being asked for (wall ms), until tcpdump answers. */
  private askingMs: number | undefined;
  private readonly poll: NodeJS.Timeout | undefined;
  /** tcpdump has said "listening on": it handles SIGUSR1 from then on. */
  private listening = false;

  /** Use openTcpdumpCapture(). */
  constructor(
    proc: CaptureProcess,
    stderrText: () => string,
    info: RelayedCaptureInfo,
    infoLines: (handler: (c: TcpdumpCounters) => void) => void,
    statsIntervalMs: number,
  ) {
    super(proc, stderrText, info, { name: 'tcpdump', stopTimeoutMs: TCPDUMP_STOP_TIMEOUT_MS }, TCPDUMP_CLOCK_LAG_SECONDS);
    const child = proc.child;
    this.loopback = isLoopbackInterface(info.device);
    this.lossLatencySeconds = statsIntervalMs > 0 ? statsIntervalMs / 1000 : 0;
    infoLines((c) => this.running(c));
    if (statsIntervalMs > 0) {
      this.poll = setInterval(() => this.ask(), statsIntervalMs);
      this.poll.unref();
      child.once('exit', () => clearInterval(this.poll));
    }
  }

  /** Ask tcpdump for its counters (SIGUSR1 to the capture process, which passes it on to tcpdump alone); not while an answer is due or once stopping. */
  private ask(): void {
    // before its "listening on" line tcpdump may not handle SIGUSR1 yet (the default action would end it)
    if (!this.listening) {
      if (!/listening on/.test(this.stderrText())) return;
      this.listening = true;
    }
    if (this.stopped || this.askingMs !== undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.askingMs = Date.now();
    try {
      this.child.kill('SIGUSR1');
    } catch {
      this.askingMs = undefined;
    }
  }

  /** tcpdump's answer: a rise of its drop counter is a loss window since the previous question. */
  private running(c: TcpdumpCounters): void {
    const asked = this.askingMs ?? Date.now();
    this.askingMs = undefined;
    this.running_ = c;
    this.windowUpTo(tcpdumpRunningLoss(c, this.loopback), Date.now());
    this.lastAskMs = asked;
  }

  /** Open a loss window from the previous question to `toMs` for the packets lost beyond those already reported. */
  private windowUpTo(lost: number, toMs: number): void {
    if (lost > this.lossReported) {
      this.lost({ from: wallTime(this.lastAskMs), to: wallTime(Math.max(toMs, this.lastAskMs)), cause: 'engine', packets: lost - this.lossReported });
      this.lossReported = lost;
    }
  }

  /** The counters of tcpdump's latest answer during the capture. */
  private running_: TcpdumpCounters | undefined;

  protected override ending(): void {
    if (this.poll) clearInterval(this.poll);
    this.counters = parseTcpdumpCounters(this.stderrText());
    // what the end-of-capture figure adds to the running counters fell since the last question
    const total = tcpdumpLoss(this.counters, this.loopback);
    if (total !== undefined) this.windowUpTo(total, this.wallMs());
  }

  /**
   * Packets tcpdump counted as dropped (kernel and interface): its end-of-capture figure once it has exited, before
   * that the running count of its latest answer to SIGUSR1; undefined before the first answer or if unknown.
   */
  get dropped(): number | undefined {
    const c = this.counters;
    if (c) return tcpdumpLoss(c, this.loopback);
    return this.running_ ? tcpdumpRunningLoss(this.running_, this.loopback) : undefined;
  }
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
  // the answers to SIGUSR1 go to the engine; the rest (errors, "listening on", the end-of-capture counters) is kept
  const infoHandlers: Array<(c: TcpdumpCounters) => void> = [];
  const tool = await startRelayedTool({
    ...opts,
    engine: 'tcpdump',
    program,
    args,
    install: 'apt-get install tcpdump',
    device: opts.device,
    filter,
    snaplen,
    chatter: /^tcpdump: listening on/,
    takeLine: (line) => {
      const info = parseTcpdumpInfoLine(line);
      if (info) for (const h of infoHandlers) h(info);
      return info !== undefined;
    },
  });
  const interval = opts.statsIntervalMs ?? DEFAULT_TCPDUMP_STATS_INTERVAL_MS;
  return new TcpdumpCapture(
    tool.proc,
    tool.stderrText,
    { device: opts.device, filter, linkType: tool.opened.linkType, snaplen: tool.opened.snaplen, ...(opts.file ? { file: opts.file } : {}) },
    (h) => infoHandlers.push(h),
    Number.isFinite(interval) && interval > 0 ? interval : 0,
  );
}
