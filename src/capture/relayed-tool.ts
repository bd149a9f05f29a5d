/**
 * What the engines that relay a capture tool share (`--engine tcpdump`, `--engine dumpcap`): keyscope's capture
 * process (live-drain-child.ts) starts the tool tied to itself, reads its pcap stream as fast as the tool writes it
 * and relays it through its memory queue and disk spool; the tool's standard error comes back as `tool LINE`
 * control lines. Here: starting it, keeping the tail of its standard error for its counters and its error messages,
 * and turning a failed start into one clear LiveCaptureError.
 */
import { escapeText } from '../common/escape';
import type { PacketTime } from '../common/time';
import { LiveCaptureError } from './live';
import { DRAIN_PRIORITY, awaitOpen, captureProcessArgs, spawnCaptureProcess, type CaptureProcess, type CaptureProcessOptions, type DrainFileOptions } from './live-drain';
import { PipedCapture } from './piped-capture';

/** At most this many characters of the tool's standard error are kept for its error and end-of-capture lines. */
export const TOOL_STDERR_KEEP = 16 * 1024;
/** Longest wait for the tool to start capturing (its pcap header) or to fail. */
export const TOOL_START_TIMEOUT_MS = 10_000;
/** A name from the command line or the tool, quoted and escaped for one line of output. */
function quote(s: string): string {
  return `'${escapeText(s, 200)}'`;
}
/** The control line prefix the capture process puts before each line of the tool's standard error. */
const TOOL_LINE_PREFIX = 'tool ';

export interface RelayedToolSpec extends CaptureProcessOptions {
  /** The engine's name (`--engine NAME`), for messages. */
  engine: string;
  program: string;
  args: string[];
  /** How to install the tool when it is missing (e.g. "apt-get install tcpdump"). */
  install: string;
  device: string;
  filter: string;
  snaplen: number;
  /** Lines of the tool's standard error that are chatter, not a reason (tcpdump's "listening on"). */
  chatter: RegExp;
  /** A line the engine takes for itself (tcpdump's running counters): true keeps it out of the kept text. */
  takeLine?: (line: string) => boolean;
}

export interface RelayedTool {
  proc: CaptureProcess;
  opened: Awaited<ReturnType<typeof awaitOpen>>;
  /** The tail of the tool's standard error (TOOL_STDERR_KEEP), without the lines takeLine took. */
  stderrText(): string;
}

/**
 * Start the tool through a capture process and wait for its pcap header. Rejects with a LiveCaptureError (one line)
 * when the tool is missing, the interface does not exist, the filter does not compile or capturing is not permitted.
 */
export async function startRelayedTool(spec: RelayedToolSpec): Promise<RelayedTool> {
  const proc = spawnCaptureProcess({
    device: spec.device,
    filter: spec.filter,
    snaplen: spec.snaplen,
    priority: DRAIN_PRIORITY,
    ...captureProcessArgs(spec),
    tool: { program: spec.program, args: spec.args },
  });
  let stderr = '';
  proc.onLine((l) => {
    if (!l.startsWith(TOOL_LINE_PREFIX)) return;
    const line = l.slice(TOOL_LINE_PREFIX.length);
    if (spec.takeLine?.(line.trimEnd())) return;
    stderr = (stderr + line + '\n').slice(-TOOL_STDERR_KEEP);
  });
  const stderrText = () => stderr;
  // the reason a tool gives can span lines (dumpcap: the message, then "(No such device exists)"): the lines after
  // its last chatter line, joined
  const reason = () => {
    const lines = stderrText().trim().split('\n').map((l) => l.trim()).filter((l) => l.length > 0 && !spec.chatter.test(l));
    return lines.slice(-3).join(' ') || `${spec.engine} ended`;
  };
  const opened = await awaitOpen(
    proc,
    TOOL_START_TIMEOUT_MS,
    (l) => {
      if (l.startsWith('spawnerror ')) {
        const e = JSON.parse(l.slice(11)) as { code?: string; message: string };
        return new LiveCaptureError('unavailable', e.code === 'ENOENT' ? `--engine ${spec.engine}: ${quote(spec.program)} is not installed (${spec.install})` : `--engine ${spec.engine}: ${e.message}`);
      }
      if (l.startsWith('exit ')) return classifyToolError(spec.engine, reason(), spec.device, spec.filter);
      return undefined;
    },
    () => classifyToolError(spec.engine, proc.tail() || reason(), spec.device, spec.filter),
  );
  return { proc, opened, stderrText };
}

/** One clear error for what the tool said when it could not start (tcpdump's and dumpcap's wordings). */
export function classifyToolError(engine: string, msg: string, device: string, filter: string): LiveCaptureError {
  const line = msg.replace(new RegExp(`^${engine}: `), '').trim();
  const said = `(${engine}: ${escapeText(line)})`;
  if (/permission|not permitted/i.test(line)) return new LiveCaptureError('permission', `no permission to capture on ${quote(device)} ${said}: run as root`);
  if (/no such device|doesn't exist|there is no device/i.test(line)) return new LiveCaptureError('no-such-device', `no such interface: ${quote(device)}`);
  if (/syntax error|filter/i.test(line)) return new LiveCaptureError('bad-filter', `bad capture filter ${quote(filter)}: ${escapeText(line)}`);
  return new LiveCaptureError('failed', `cannot capture on ${quote(device)} with ${engine}: ${escapeText(line)}`);
}

/** The name of a pcap link type as keyscope's `open` line shows it (the tools' stream carries only its number). */
export function linkTypeLabel(n: number): string {
  const names: Record<number, string> = { 0: 'NULL', 1: 'ETHERNET', 101: 'RAW', 113: 'LINUX_SLL', 228: 'IPV4', 229: 'IPV6', 276: 'LINUX_SLL2' };
  return names[n] ?? `LINKTYPE ${n}`;
}

/** What an engine relaying a tool knows of the capture once the tool's pcap header is in. */
export interface RelayedCaptureInfo {
  device: string;
  filter: string;
  linkType: number;
  snaplen: number;
  file?: DrainFileOptions;
}

/**
 * A capture relayed from a tool: its frames are stamped by the kernel (the wall clock), so the live clock is the
 * wall clock less how late the tool hands frames over (`clockLagSeconds`), stopped when the capture stopped.
 */
export abstract class RelayedToolCapture extends PipedCapture {
  protected readonly startWallMs = Date.now();

  protected constructor(
    proc: CaptureProcess,
    protected readonly stderrText: () => string,
    info: RelayedCaptureInfo,
    tool: { name: string; stopTimeoutMs: number },
    private readonly clockLagSeconds: number,
  ) {
    super(proc, { ...info, linkTypeName: linkTypeLabel(info.linkType) }, { name: tool.name, label: `${tool.name}'s capture process`, stopTimeoutMs: tool.stopTimeoutMs });
  }

  /** What the failure of the capture process (or the tool) ending by itself quotes: the tool's last line on its standard error. */
  protected override tail(): string {
    return this.stderrText().trim().split('\n').pop() as string;
  }

  /** The wall clock now, in ms, or when the capture stopped. */
  protected wallMs(): number {
    return this.stopMono !== undefined ? this.startWallMs + Number(this.stopMono - this.startMono) / 1e6 : Date.now();
  }

  protected startTime(): PacketTime {
    return wallTime(this.startWallMs);
  }

  /**
   * The kernel's clock (the wall clock) now, less the tool's and the pipe's lag; never before the newest frame, and
   * held at it while frames still stream in (PipedCapture.paced: keyscope may be behind the tool).
   */
  now(): PacketTime {
    return this.paced(wallTime(this.wallMs() - this.clockLagSeconds * 1000));
  }
}

/** A wall-clock time in ms as a packet time. */
export function wallTime(ms: number): PacketTime {
  const sec = Math.floor(ms / 1000);
  return { tsSec: sec, tsNsec: Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6)) };
}
