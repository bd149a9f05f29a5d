/**
 * `keyscope live --engine dumpcap`: Wireshark's capture program captures, keyscope's capture process relays its pcap
 * stream through its memory queue and disk spool (relayed-tool.ts, as for tcpdump).
 *
 * Why a third engine: both other engines run libpcap in immediate mode, so that a frame reaches the screen at once;
 * immediate mode gives the kernel's ring one fixed slot per packet, sized for the interface MTU (128 KiB on lo), and
 * the default 32 MiB ring then holds about 256 packets (ring-estimate.ts) — a few milliseconds at high rates, so any
 * delay of the capturing process loses packets in the kernel. dumpcap, as Wireshark runs it, does not use immediate
 * mode: libpcap gives it a TPACKET_V3 ring whose blocks hold packets packed back to back (a 150-byte packet takes
 * about 150 bytes), and hands a block over when it is full or when dumpcap's read timeout (250 ms) expires. So frames
 * come up to a quarter of a second late, and the same 32 MiB hold hundreds of thousands of packets. Measured with
 * the live bench on lo (docs/live-capture-loss.md): 100 k packets/s for 20 s with the default snapshot length, 0 lost,
 * live's findings equal to the oracle's, every stamp within 1 µs of tcpdump's (the tcpdump engine, immediate, lost
 * 8.7 % at 50 k packets/s with the same snapshot length).
 *
 * What it gives: the kernel's timestamps in microseconds (`-P`: a pcap stream; dumpcap's pcapng would carry the same
 * microseconds), and dumpcap's drop counters, which it prints only when it ends ("Packets received/dropped on interface
 * …"): during the capture the engine has no drop count, and the drops dumpcap reports at the end become one loss window
 * over the whole capture (it does not say when they fell).
 */
import { isLoopbackInterface, type LiveClockInfo } from './live';
import type { CaptureProcess, CaptureProcessOptions } from './live-drain';
import { RelayedToolCapture, startRelayedTool, wallTime, type RelayedCaptureInfo } from './relayed-tool';

/** The dumpcap program (a name on PATH or a path). */
export const DUMPCAP_ENV = 'KEYSCOPE_DUMPCAP';
/** Kernel capture buffer when none is given, in KiB (keyscope's -B unit; dumpcap takes whole MiB): 32 MiB as for the other engines. */
export const DEFAULT_DUMPCAP_BUFFER_KIB = 32 * 1024;
/** dumpcap's default snapshot length (as tcpdump's). */
export const DUMPCAP_DEFAULT_SNAPLEN = 262144;
/**
 * dumpcap's libpcap read timeout, in seconds: a block of the ring is handed over when it is full or this old, so a
 * frame reaches keyscope up to this late (measured on lo: 2–228 ms for single packets).
 */
export const DUMPCAP_READ_TIMEOUT_SECONDS = 0.25;
/**
 * The live clock (wall-clock deadlines, frames held for a response) runs this far behind the wall clock: dumpcap's read
 * timeout plus the pipe's lag (as TCPDUMP_CLOCK_LAG_SECONDS), so the correlator sees a frame before its clock passes
 * the frame's stamp. A held frame still reaches the screen within LIVE_HOLD_SECONDS + this + a tick (< 1 s).
 */
export const DUMPCAP_CLOCK_LAG_SECONDS = DUMPCAP_READ_TIMEOUT_SECONDS + 0.1;
/** Longest wait for dumpcap to print its counters and exit after it was told to stop. */
export const DUMPCAP_STOP_TIMEOUT_MS = 5_000;

export const DUMPCAP_CLOCK: LiveClockInfo = {
  engine: 'dumpcap',
  short: 'kernel, µs',
  description: "the kernel's, microseconds (dumpcap's; frames handed over within dumpcap's 250 ms read timeout)",
  nanosecond: false,
};

export interface DumpcapCaptureOptions extends CaptureProcessOptions {
  device: string;
  filter?: string;
  snaplen?: number;
  /** Kernel buffer in KiB (rounded up to whole MiB for dumpcap -B). */
  bufferKiB?: number;
  /** The dumpcap program (default $KEYSCOPE_DUMPCAP or `dumpcap`). */
  program?: string;
}

/** dumpcap's end-of-capture counters for one interface. */
export interface DumpcapCounters {
  /** Packets dumpcap received (its own count: each packet once, on lo too). */
  received: number;
  /** Its total of dropped packets, as it prints it. */
  dropped: number;
  /** The parts of the total: libpcap's (the kernel's) drops, dumpcap's own, flushed, and the interface's. */
  pcap: number;
  dumpcap: number;
  flushed: number;
  interface: number;
}

/**
 * Parse dumpcap's end-of-capture line ("Packets received/dropped on interface 'Loopback: lo': 10/0
 * (pcap:0/dumpcap:0/flushed:0/ps_ifdrop:0) (100.0%)"); undefined when it has not printed one.
 */
export function parseDumpcapCounters(stderr: string): DumpcapCounters | undefined {
  const m = /^Packets received\/dropped on interface .*: (\d+)\/(\d+) \(pcap:(\d+)\/dumpcap:(\d+)\/flushed:(\d+)\/ps_ifdrop:(\d+)\)/m.exec(stderr);
  if (!m) return undefined;
  return { received: Number(m[1]), dropped: Number(m[2]), pcap: Number(m[3]), dumpcap: Number(m[4]), flushed: Number(m[5]), interface: Number(m[6]) };
}

/**
 * Packets lost by the capture, from dumpcap's counters. libpcap's drop counter is the kernel's, which on a loopback
 * interface counts each lost packet twice (its outgoing and its incoming copy: see tcpdumpLoss, measured there), so
 * it is halved on lo; dumpcap's own drops, flushed packets and the interface's drops count once.
 */
export function dumpcapLoss(c: DumpcapCounters, loopback: boolean): number {
  return (loopback ? Math.ceil(c.pcap / 2) : c.pcap) + c.dumpcap + c.flushed + c.interface;
}

export class DumpcapCapture extends RelayedToolCapture {
  readonly clock = DUMPCAP_CLOCK;
  /** dumpcap's counters, once it has exited (and printed them). */
  counters: DumpcapCounters | undefined;
  /** A loopback interface: the kernel's drop counter counts each lost packet twice (dumpcapLoss). */
  private readonly loopback: boolean;

  /** Use openDumpcapCapture(). */
  constructor(proc: CaptureProcess, stderrText: () => string, info: RelayedCaptureInfo) {
    super(proc, stderrText, info, { name: 'dumpcap', stopTimeoutMs: DUMPCAP_STOP_TIMEOUT_MS }, DUMPCAP_CLOCK_LAG_SECONDS);
    this.loopback = isLoopbackInterface(info.device);
  }

  protected override ending(): void {
    this.counters = parseDumpcapCounters(this.stderrText());
    const lost = this.counters ? dumpcapLoss(this.counters, this.loopback) : 0;
    // dumpcap does not say when its drops fell: the window spans the whole capture
    if (lost > 0) this.lost({ from: wallTime(this.startWallMs), to: wallTime(this.wallMs()), cause: 'engine', packets: lost });
  }

  /** Packets dumpcap counted as dropped, once it has exited; undefined before (it counts only at the end) or if it printed no counters. */
  get dropped(): number | undefined {
    return this.counters ? dumpcapLoss(this.counters, this.loopback) : undefined;
  }
}

/**
 * Start dumpcap and wait for its pcap header. Rejects with a LiveCaptureError (one line) when dumpcap is missing,
 * the interface does not exist, the filter does not compile or capturing is not permitted.
 */
export async function openDumpcapCapture(opts: DumpcapCaptureOptions): Promise<DumpcapCapture> {
  const program = opts.program ?? (process.env[DUMPCAP_ENV] || 'dumpcap');
  const filter = opts.filter ?? '';
  const snaplen = opts.snaplen ?? DUMPCAP_DEFAULT_SNAPLEN;
  const bufferMiB = Math.max(1, Math.ceil((opts.bufferKiB ?? DEFAULT_DUMPCAP_BUFFER_KIB) / 1024));
  // -q: no running packet count on standard error (its end-of-capture counters still come); -P: pcap, which the
  // capture process reads; no -Z: dumpcap keeps the user it runs as, so the tie to keyscope holds (tied-process.ts)
  const args = ['-q', '-P', '-w', '-', '-i', opts.device, '-s', String(snaplen), '-B', String(bufferMiB)];
  if (filter.trim().length > 0) args.push('-f', filter);
  const tool = await startRelayedTool({
    ...opts,
    engine: 'dumpcap',
    program,
    args,
    install: 'apt-get install wireshark-common',
    device: opts.device,
    filter,
    snaplen,
    chatter: /^(Capturing on |File: |Packets captured: |See the User's Guide)/,
  });
  return new DumpcapCapture(tool.proc, tool.stderrText, { device: opts.device, filter, linkType: tool.opened.linkType, snaplen: tool.opened.snaplen, ...(opts.file ? { file: opts.file } : {}) });
}
