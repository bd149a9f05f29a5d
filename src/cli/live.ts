/**
 * `keyscope live -i IFACE`: capture from an interface with the optional `cap` addon and print frames as
 * `keyscope dissect` does, through the same Dissector. Ctrl-C / SIGTERM / -c / --duration end it cleanly: the
 * capture stops, held frames are flushed, the -w file is committed and a summary goes to standard error.
 */
import * as fs from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { CAP_MAX_SNAPLEN, DEFAULT_LIVE_BUFFER_SIZE, LiveCaptureError, listLiveInterfaces, openLiveCapture, type LiveCaptureStats, type LiveSource } from '../capture/live';
import { smallRingNote } from '../capture/ring-estimate';
import { openDumpcapCapture } from '../capture/dumpcap-engine';
import { openTcpdumpCapture } from '../capture/tcpdump-engine';
import {
  DEFAULT_DRAIN_LIMITS, DEFAULT_SPOOL_BYTES, DEFAULT_SPOOL_FREE_MARGIN_BYTES, DrainFileError, openDrainedCapture, type CaptureFileSink, type CaptureProcessOptions, type DrainFileOptions,
} from '../capture/live-drain';
import { PipedCapture } from '../capture/piped-capture';
import { backlogText, estimateCaptureLoss, mbText, type TcpLossInputs } from '../capture/live-stats';
import { LIVE_FILE_FLUSH_MS, LiveCaptureFile, parseRingOption, type RingBufferOptions } from '../capture/live-file';
import type { CaptureFrame } from '../capture/types';
import { escapeText } from '../common/escape';
import { ioReason } from '../common/io-error';
import type { Diagnostic } from '../correlate/types';
import { DEFAULT_LOSS_LOOKBACK_SECONDS, type CorrelatorOptions } from '../correlate/options';
import type { LossSignalCounts } from '../correlate/loss-signals';
import { Analyzer } from '../pipeline/analyzer';
import { LivePacer } from '../pipeline/live-pacer';
import { LineOutput } from '../report/output';
import { addFrameOutputOptions, frameSink, printLateFindings, type FrameOutputCliOptions } from './frame-output';
import { loadKeysOption } from './keys-option';
import { refuseOutputClash } from './output-paths';
import type { CommandRegistrar } from './main';
import { parsePositiveInt, parseSeconds } from './options';
import {
  DEFAULT_DASHBOARD_KEEP, addCorrelationOptions, addDashboardOptions, correlatorOptions, type CorrelationCliOptions, type DashboardCliOptions,
} from './analyzer-options';
import type { KeyStore } from '../protocols/keys';
// type only: blessed and blessed-contrib are loaded by --dash, not by every live run
import type { Dashboard } from '../tui/dashboard';
import { teeSinks } from '../pipeline/tee-sink';
import type { AnalyzerSink } from '../pipeline/analyzer';
import { AtomicFile } from '../capture/atomic-file';
import { anomalyJson, diagnosticJson, transactionJson } from '../report/analyze-json';
import { addMetricsOptions, startMetrics, type MetricsCliOptions, type MetricsRun } from './metrics-option';

export interface LiveCliOptions extends CorrelationCliOptions, DashboardCliOptions, FrameOutputCliOptions, MetricsCliOptions {
  interface?: string;
  listInterfaces?: boolean;
  filter?: string;
  write?: string;
  json?: boolean;
  verbose?: boolean;
  showKeys?: boolean;
  count?: number;
  duration?: number;
  snaplen?: number;
  dash?: boolean;
  pcapng?: boolean;
  ringBuffer?: RingBufferOptions;
  engine?: LiveEngine;
  bufferSize?: number;
  captureQueue?: number;
  spoolDir?: string;
  spoolSize?: number;
  findingsJson?: string;
}

/** MiB, for --spool-size. */
const MIB = 1024 * 1024;
/**
 * Text mode writes a status line on standard error this often while the analysis is behind its capture (frames
 * queued, spooled on disk, seconds behind); nothing while it keeps up.
 */
const LIVE_STATUS_INTERVAL_MS = 5_000;

/**
 * Capture engines: `cap` (libpcap in process, the default, read by a capture thread of its own: live-drain.ts),
 * `cap-inline` (the same, read on the main thread: for comparison), `tcpdump` (a tied child; kernel timestamps,
 * running drop counts) or `dumpcap` (a tied child without immediate mode: a packed kernel ring that keeps up at high
 * rates on lo, kernel timestamps, drop counts at the end; dumpcap-engine.ts).
 */
export type LiveEngine = 'cap' | 'cap-inline' | 'tcpdump' | 'dumpcap';
const LIVE_ENGINES: readonly LiveEngine[] = ['cap', 'cap-inline', 'tcpdump', 'dumpcap'];

/** Largest -s accepted: tcpdump's default snap length. cap keeps at most CAP_MAX_SNAPLEN of it. */
export const MAX_SNAPLEN = 262144;

export const registerLiveCommand: CommandRegistrar = (program: Command, setExitCode) => {
  const cmd = program
    .command('live')
    .description('capture from a network interface (with the optional cap module, or --engine tcpdump or dumpcap) and dissect and analyze frames as they arrive')
    .option('-i, --interface <iface>', 'interface to capture on (any: all interfaces, Linux cooked)')
    .option('-D, --list-interfaces', 'list the interfaces live capture can use, and exit')
    .option('-f, --filter <bpf>', 'capture filter, tcpdump syntax (e.g. "udp port 2269 or tcp port 80")')
    .option('-w, --write <file>', `also save what was captured to this file, written as it grows (like tcpdump -U: flushed every ${LIVE_FILE_FLUSH_MS} ms, readable even after kill -9)`)
    .option('--pcapng', 'write -w as pcapng (also chosen by a .pcapng name); pcap otherwise')
    .option('-b, --ring-buffer <cond>', 'with -w, dumpcap\'s ring buffer: filesize:KB, duration:S (switch files), files:N (keep the newest N); repeatable', parseRing)
    .option('--json', 'NDJSON: one object per frame')
    .option('--findings-json <file>', 'also write the analyzer\'s findings to this file as NDJSON, the diagnostic, transaction and anomaly records of analyze --json, as they come (written through a temporary file, in place at the end; text or --dash)')
    .option('-V, --verbose', 'full protocol tree for each frame, like tshark -V')
    .option('--show-keys', 'show decrypted key material instead of masking it')
    .option('-c, --count <n>', 'stop after n frames', parsePositiveInt)
    .option('--duration <seconds>', 'stop after this many seconds', parseSeconds)
    .option('-s, --snaplen <bytes>', `bytes kept per frame (at most ${MAX_SNAPLEN}; the cap engine keeps at most ${CAP_MAX_SNAPLEN})`, parseSnaplen)
    .option('--engine <name>', 'capture engine: cap (libpcap in process, read by a capture thread of its own; the default), cap-inline (cap read on the main thread), tcpdump (kernel timestamps and running drop counts; tcpdump must be installed) or dumpcap (Wireshark\'s capture program: keeps up at high packet rates, kernel timestamps, frames up to 0.25 s late, drop counts at the end; dumpcap must be installed)', parseEngine)
    .option('-B, --buffer-size <KiB>', `kernel capture buffer in KiB, as tcpdump -B (default ${DEFAULT_LIVE_BUFFER_SIZE / 1024})`, parsePositiveInt)
    .option('--capture-queue <packets>', `cap, tcpdump and dumpcap engines: packets queued in memory between the capture process and the analysis before the capture process spools them to disk (default ${DEFAULT_DRAIN_LIMITS.maxPackets}, and at most ${DEFAULT_DRAIN_LIMITS.maxBytes / MIB} MiB)`, parsePositiveInt)
    .option('--spool-dir <dir>', 'cap, tcpdump and dumpcap engines: where the capture process spools what the analysis cannot take yet (a file unlinked at once; default the temp directory)')
    .option('--spool-size <MiB>', `cap, tcpdump and dumpcap engines: disk spool at most, in MiB (default ${DEFAULT_SPOOL_BYTES / MIB}; never closer than ${DEFAULT_SPOOL_FREE_MARGIN_BYTES / MIB} MiB to the file system's free space; 0: none). Beyond it packets are dropped, counted (-w still gets them)`, parseNonNegativeInt)
    .option('--dash', 'show the terminal dashboard instead of frame lines (q quits, ? help)');
  // the analyzer's own options: findings (printed to standard error as they come) and the dashboard
  addCorrelationOptions(cmd, { read: false });
  addDashboardOptions(cmd, 'with --dash: ');
  addMetricsOptions(cmd, false);
  addFrameOutputOptions(cmd)
    .action(async (opts: LiveCliOptions) => {
      setExitCode(await runLive(opts));
    });
};

function parseRing(value: string, previous: RingBufferOptions | undefined): RingBufferOptions {
  try {
    return parseRingOption(value, previous);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function parseSnaplen(value: string): number {
  const n = parsePositiveInt(value);
  if (n > MAX_SNAPLEN) throw new InvalidArgumentError(`at most ${MAX_SNAPLEN}`);
  return n;
}

function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('a whole number (0 or more)');
  return Number(value);
}

function parseEngine(value: string): LiveEngine {
  const engine = LIVE_ENGINES.find((e) => e === value);
  if (engine === undefined) throw new InvalidArgumentError(`${LIVE_ENGINES.slice(0, -1).join(', ')} or ${LIVE_ENGINES[LIVE_ENGINES.length - 1]}`);
  return engine;
}

/** Open the capture with the chosen engine; a LiveCaptureError says why it could not start. */
async function openCapture(opts: LiveCliOptions & { interface: string }): Promise<LiveSource> {
  // -w is written by the capture process, as dumpcap writes it: packets the analysis queue drops are still saved
  const queue: CaptureProcessOptions = {
    ...(opts.captureQueue !== undefined ? { limits: { maxPackets: opts.captureQueue } } : {}),
    spool: { ...(opts.spoolDir !== undefined ? { dir: opts.spoolDir } : {}), ...(opts.spoolSize !== undefined ? { capacity: opts.spoolSize * MIB } : {}) },
    ...(opts.write ? { file: captureFileOptions(opts.write, opts) } : {}),
    ...(opts.count !== undefined ? { count: opts.count } : {}),
  };
  if (opts.engine === 'tcpdump' || opts.engine === 'dumpcap') {
    const tool = {
      device: opts.interface,
      filter: opts.filter ?? '',
      ...(opts.snaplen !== undefined ? { snaplen: opts.snaplen } : {}),
      ...(opts.bufferSize !== undefined ? { bufferKiB: opts.bufferSize } : {}),
      ...queue,
    };
    return opts.engine === 'tcpdump' ? openTcpdumpCapture(tool) : openDumpcapCapture(tool);
  }
  const capOptions = {
    device: opts.interface,
    filter: opts.filter ?? '',
    snaplen: Math.min(opts.snaplen ?? CAP_MAX_SNAPLEN, CAP_MAX_SNAPLEN),
    ...(opts.bufferSize !== undefined ? { bufferSize: opts.bufferSize * 1024 } : {}),
  };
  if (opts.engine === 'cap-inline') return openLiveCapture(capOptions);
  return openDrainedCapture({ ...capOptions, ...queue });
}

function captureFileOptions(write: string, opts: LiveCliOptions): DrainFileOptions {
  return { path: write, format: opts.pcapng || /\.pcapng$/i.test(write) ? 'pcapng' : 'pcap', ...(opts.ringBuffer ? { ring: opts.ringBuffer } : {}) };
}

export async function runLive(opts: LiveCliOptions): Promise<number> {
  if (!opts.metrics || opts.listInterfaces) return runLiveCapture(opts, undefined);
  const served = await startMetrics('live', opts);
  if (served === 'error' || served === undefined) return 2;
  try {
    return await runLiveCapture(opts, served);
  } finally {
    await served.close();
  }
}

/**
 * Extra packet time a live run holds its findings beyond the loss look-back: a frame that shows a loss span (a TCP
 * gap, an MSK counter jump) may reach the analysis a little after the live clock has passed its stamp (the capture
 * clock's lag behind a busy pipe). Holding longer never changes a caveat (the look-back decides it, on packet times),
 * it only lets such a late frame still count, as it does in `analyze` of the same frames.
 */
export const LIVE_LOSS_HOLD_MARGIN_SECONDS = 0.25;

/**
 * The analyzer options of a live run: the shared ones, and findings held for the loss look-back plus however late the
 * engine reports a loss window (tcpdump's counters come once a stats interval), so a window still qualifies them.
 * The caveat itself is decided as `analyze` decides it (the same look-back; correlate/options.ts lossHoldSeconds).
 */
export function liveCorrelatorOptions(opts: CorrelationCliOptions, capture: Pick<LiveSource, 'lossLatencySeconds' | 'clock'>): CorrelatorOptions {
  const base = correlatorOptions(opts);
  const lookback = base.lossLookbackSeconds ?? DEFAULT_LOSS_LOOKBACK_SECONDS;
  return { ...base, lossHoldSeconds: lookback + LIVE_LOSS_HOLD_MARGIN_SECONDS + (capture.lossLatencySeconds ?? 0) };
}

/** The metrics' gauges read the running pipeline; drops only from an engine that counts them. */
function attachMetrics(served: MetricsRun | undefined, analyzer: Analyzer, capture: LiveSource, engine: LiveEngine | undefined): void {
  served?.metrics.attach({
    openState: () => analyzer.correlator.openState(),
    tcp: () => analyzer.dissector.tcpStats,
    ...(engine === 'tcpdump' || engine === 'dumpcap' ? { dropped: () => capture.dropped } : {}),
  });
}

async function runLiveCapture(opts: LiveCliOptions, served: MetricsRun | undefined): Promise<number> {
  if (opts.listInterfaces) return listInterfaces();
  if (!opts.interface) {
    process.stderr.write('keyscope live: no interface given (-i IFACE; -D lists them)\n');
    return 64;
  }
  if (opts.ringBuffer && !opts.write) {
    process.stderr.write('keyscope live: -b (ring buffer) needs -w FILE\n');
    return 64;
  }
  if (opts.ringBuffer && opts.ringBuffer.fileSizeKB === undefined && opts.ringBuffer.durationSeconds === undefined) {
    process.stderr.write('keyscope live: a ring buffer needs -b filesize:KB or -b duration:S to know when to switch files\n');
    return 64;
  }
  for (const [given, option] of [[opts.captureQueue, '--capture-queue'], [opts.spoolDir, '--spool-dir'], [opts.spoolSize, '--spool-size']] as const) {
    if (given !== undefined && opts.engine === 'cap-inline') {
      process.stderr.write(`keyscope live: ${option} is the capture process's (engines cap, tcpdump and dumpcap), not cap-inline's\n`);
      return 64;
    }
  }
  if (opts.spoolDir !== undefined) {
    // the spool is created only when the analysis first falls behind: a directory it cannot use is said now
    try {
      if (!fs.statSync(opts.spoolDir).isDirectory()) throw new Error('not a directory');
      fs.accessSync(opts.spoolDir, fs.constants.W_OK);
    } catch (err) {
      process.stderr.write(`keyscope live: cannot spool in ${escapeText(opts.spoolDir)}: ${escapeText(ioMessage(err))}\n`);
      return 2;
    }
  }
  const clash = refuseOutputClash('live', [{ option: '-w', path: opts.write }, { option: '--findings-json', path: opts.findingsJson }], [{ option: '--keys file', path: opts.keys }]);
  if (clash !== undefined) return clash;
  const keys = loadKeysOption(opts.keys);
  if (keys === 'error') return 2;
  if (opts.dash && !process.stdout.isTTY) {
    process.stderr.write('keyscope live: --dash needs a terminal on standard output\n');
    return 64;
  }
  const out = new LineOutput(1);
  const limit = opts.count ?? Infinity;
  // a bad -Y or -T/-e combination is a usage error before the interface is opened
  const printer = opts.dash ? undefined : frameSink(out, opts, limit, 'live');
  if (!opts.dash && !printer) return 64;

  let capture: LiveSource;
  try {
    capture = await openCapture({ ...opts, interface: opts.interface });
  } catch (err) {
    if (err instanceof LiveCaptureError) {
      process.stderr.write(`keyscope live: ${err.message}\n`);
      return 2;
    }
    if (err instanceof DrainFileError) {
      process.stderr.write(`keyscope live: cannot write ${escapeText(opts.write ?? '')}: ${escapeText(err.message)}\n`);
      return 2;
    }
    throw err;
  }

  let writer: CaptureFileSink | undefined;
  const fileError: { error: string | undefined } = { error: undefined };
  if (capture instanceof PipedCapture && capture.file) {
    writer = capture.file;
    capture.onFileError((message) => {
      fileError.error ??= message;
      capture.stop();
    });
  } else if (opts.write) {
    try {
      writer = new LiveCaptureFile(opts.write, {
        linkType: capture.linkType,
        snaplen: capture.snaplen,
        nanosecond: capture.clock.nanosecond,
        ...captureFileOptions(opts.write, opts),
        onError: (err) => {
          fileError.error ??= ioMessage(err);
          capture.stop();
        },
      });
    } catch (err) {
      capture.stop();
      process.stderr.write(`keyscope live: cannot write ${escapeText(opts.write)}: ${escapeText(ioMessage(err))}\n`);
      return 2;
    }
  }

  let findingsFile: FindingsFile | undefined;
  if (opts.findingsJson !== undefined) {
    try {
      findingsFile = new FindingsFile(opts.findingsJson);
    } catch (err) {
      capture.stop();
      writer?.abort();
      process.stderr.write(`keyscope live: cannot write ${escapeText(opts.findingsJson)}: ${escapeText(ioMessage(err))}\n`);
      return 2;
    }
  }

  if (opts.dash) return runLiveDash(capture, writer, fileError, findingsFile, keys, opts, served);

  let flushScheduled = false;
  // frames come in bursts from one libpcap dispatch: write them out together on the next turn of the loop
  const scheduleFlush = () => {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      out.flush();
      if (out.isClosed) capture.stop();
    });
  };
  const analyzer = new Analyzer(
    teeSinks({
      dissectedFrame: (f) => {
        printer?.print(f);
        scheduleFlush();
      },
      // standard output carries the frames exactly as `dissect` prints them; the analyzer's findings go beside it
      diagnostic: (d) => process.stderr.write(findingLine(d)),
    }, findingsFile?.sink(() => capture.stop()), served?.metrics.sink),
    {
      // frames show when they arrive, not when the next one does; end-of-capture findings come back from finish()
      dissector: { mikeyPorts: opts.mikeyPort ?? [], keys, showKeys: opts.showKeys ?? false, holdNewest: false, maxMemory: opts.maxMemory },
      correlator: liveCorrelatorOptions(opts, capture),
    },
  );
  const dissector = analyzer.dissector;
  attachMetrics(served, analyzer, capture, opts.engine);
  // packet time stops when traffic stops: held frames and deadlines follow the capture's clock instead
  const pacer = new LivePacer(analyzer, () => capture.now(), { onTick: (r) => r.released > 0 && scheduleFlush() }).start();

  const saved = saveFrames(capture, writer, fileError);
  // spans the capture lost packets in: findings there carry the "possibly capture loss" caveat
  capture.onLoss?.((w) => analyzer.correlator.captureLoss(w));
  let framesIn = 0;
  capture.onFrame((frame: CaptureFrame) => {
    framesIn++;
    if (saved.error !== undefined) return;
    analyzer.frame(frame);
    if (framesIn >= limit) capture.stop();
  });

  // the first Ctrl-C (or --duration) stops capturing and lets the analysis finish what was captured, as tcpdump
  // writes what it has read; a second one stops at once
  let stopAsked = false;
  const stop = () => {
    capture.stop(stopAsked ? {} : { drain: true });
    stopAsked = true;
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
  const timer = opts.duration !== undefined ? setTimeout(stop, Math.min(opts.duration * 1000, 2 ** 31 - 1)) : undefined;
  const status = statusLines(capture);
  const filterText = capture.filter ? `, filter '${escapeText(capture.filter)}'` : '';
  process.stderr.write(
    `keyscope live: capturing on '${escapeText(capture.device)}' (link type ${escapeText(capture.linkTypeName.replace(/^LINKTYPE_/, ''))}, ${capture.linkType})${filterText}; Ctrl-C to stop\n`,
  );
  process.stderr.write(`keyscope live: timestamps: ${escapeText(capture.clock.description)} (engine ${capture.clock.engine})\n`);
  const ringNote = smallRingNote({ device: capture.device, engine: capture.clock.engine, snaplen: capture.snaplen, bufferBytes: opts.bufferSize !== undefined ? opts.bufferSize * 1024 : DEFAULT_LIVE_BUFFER_SIZE });
  if (ringNote) process.stderr.write(`keyscope live: note: ${escapeText(ringNote)}\n`);

  let failure: unknown;
  try {
    await capture.done;
  } catch (err) {
    failure = err;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.off('SIGHUP', stop);
    if (timer) clearTimeout(timer);
    clearInterval(status);
    pacer.stop();
  }

  if (failure === undefined) {
    printLateFindings(dissector.finish(), out, opts.json === true || opts.outputFormat === 'json');
    analyzer.correlator.finish();
  }
  out.flush();
  if (failure !== undefined || saved.error !== undefined) {
    writer?.abort();
    findingsFile?.abort();
    const why = saved.error !== undefined ? `cannot write ${escapeText(opts.write ?? '')}: ${escapeText(saved.error)}` : `stopped by an internal error: ${escapeText(ioMessage(failure))}`;
    process.stderr.write(`keyscope live: ${why}${writer ? `; ${escapeText(opts.write ?? '')} keeps the ${writer.frames} frames written before` : ''}\n`);
    writeSummary(capture, dissector.tcpStats, analyzer.correlator.lossSignalCounts());
    return 2;
  }
  writeSummary(capture, dissector.tcpStats, analyzer.correlator.lossSignalCounts());
  if (findingsFile && !findingsFile.commit()) {
    writer?.abort();
    return 2;
  }
  return commitCapture(writer, opts.write);
}

/**
 * `--findings-json FILE`: the findings of a live run, machine-readable (what `bench --live` compares with analyze of
 * the oracle's capture). Records as analyze --json writes them, one a line, through an AtomicFile: a run that fails
 * leaves no partial file. A write error stops the capture; the run then ends with exit code 2.
 */
class FindingsFile {
  private readonly file: AtomicFile;
  private error: string | undefined;

  constructor(private readonly target: string) {
    this.file = new AtomicFile(target);
  }

  sink(stop: () => void): AnalyzerSink {
    const put = (rec: Record<string, unknown>) => {
      if (this.error !== undefined) return;
      try {
        // encoded straight into the file's buffer: a Buffer per record came from Node's shared pool, and the
        // analysis's long-lived small copies (the MIKEY tracker's) then each kept a slab of dead records alive (#12)
        this.file.writeString(`${JSON.stringify(rec)}\n`);
      } catch (err) {
        this.error = ioMessage(err);
        this.file.abort();
        stop();
      }
    };
    return {
      transaction: (t) => put(transactionJson(t)),
      diagnostic: (d) => put(diagnosticJson(d)),
      anomaly: (a) => put(anomalyJson(a)),
    };
  }

  /** In place at the end; false (and said why) when it could not be written. */
  commit(): boolean {
    if (this.error === undefined) {
      try {
        this.file.commit();
        return true;
      } catch (err) {
        this.error = ioMessage(err);
      }
    }
    process.stderr.write(`keyscope live: cannot write ${escapeText(this.target)}: ${escapeText(this.error)}\n`);
    return false;
  }

  abort(): void {
    this.file.abort();
  }
}

function listInterfaces(): number {
  let devices;
  try {
    devices = listLiveInterfaces();
  } catch (err) {
    if (err instanceof LiveCaptureError) {
      process.stderr.write(`keyscope live: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const out = new LineOutput(1);
  devices.forEach((d, i) => {
    const addrs = (d.addresses ?? []).map((a) => a.addr).filter((a): a is string => typeof a === 'string');
    const extra = [d.description, addrs.join(', '), d.flags === 'PCAP_IF_LOOPBACK' ? 'loopback' : undefined].filter((x) => x);
    out.line(`${i + 1}.${escapeText(d.name)}${extra.length > 0 ? ` [${escapeText(extra.join('; '))}]` : ''}`);
  });
  out.flush();
  return 0;
}

/**
 * Findings a `live --dash` run lists on standard error after leaving the screen, at most (each is a line of text mode's
 * kind; the rest are counted, and are in the dashboard's pane while it runs, --findings-json and analyze of -w).
 * Only when standard error is a terminal (the dashboard's own): otherwise they are written as they come, as in text mode.
 */
export const LIVE_DASH_FINDINGS_LISTED = 10_000;

/**
 * The findings of `live --dash` as text mode prints them ("keyscope live: error code [T ue] frames …: message"): as
 * they come when standard error is not the dashboard's terminal (a file, a pipe), else kept (LIVE_DASH_FINDINGS_LISTED)
 * and printed once the screen is left.
 */
class DashFindingLines {
  private readonly kept: string[] = [];
  private unlisted = 0;
  private readonly deferred = process.stderr.isTTY === true;

  readonly sink: AnalyzerSink = {
    diagnostic: (d) => {
      const line = findingLine(d);
      if (!this.deferred) process.stderr.write(line);
      else if (this.kept.length < LIVE_DASH_FINDINGS_LISTED) this.kept.push(line);
      else this.unlisted++;
    },
  };

  /** After the screen is left: what was kept. */
  flush(): void {
    for (const l of this.kept.splice(0)) process.stderr.write(l);
    if (this.unlisted > 0) process.stderr.write(`keyscope live: ${this.unlisted} more findings not listed (at most ${LIVE_DASH_FINDINGS_LISTED}; --findings-json keeps them all)\n`);
    this.unlisted = 0;
  }
}

/**
 * `live --dash`: the dashboard is the sink; it handles Ctrl-C, SIGINT/SIGTERM and q. The first one stops capturing
 * and the dashboard shows the queued frames being analysed, then leaves; a second one leaves at once. Then, as text
 * mode ends: the findings, the capture summary, and the -w file committed.
 */
async function runLiveDash(
  capture: LiveSource,
  writer: CaptureFileSink | undefined,
  fileError: { error: string | undefined },
  findingsFile: FindingsFile | undefined,
  keys: KeyStore | null,
  opts: LiveCliOptions,
  served: MetricsRun | undefined,
): Promise<number> {
  const { Dashboard, DashboardTerminalError } = await import('../tui/dashboard');
  let dash: Dashboard;
  const lines = new DashFindingLines();
  try {
    const keep = opts.keep ?? DEFAULT_DASHBOARD_KEEP;
    dash = new Dashboard(
      { kind: 'live', capture },
      {
        analyzer: { dissector: { keys, mikeyPorts: opts.mikeyPort ?? [], showKeys: opts.showKeys ?? false, maxMemory: opts.maxMemory }, correlator: liveCorrelatorOptions(opts, capture) },
        model: { maxTransactions: keep, maxDiagnostics: keep },
        sink: teeSinks(lines.sink, findingsFile?.sink(() => capture.stop()), served?.metrics.sink),
      },
    );
  } catch (err) {
    capture.stop();
    writer?.abort();
    findingsFile?.abort();
    if (err instanceof DashboardTerminalError) {
      process.stderr.write(`keyscope live: ${escapeText(err.message)}\n`);
      return 64;
    }
    throw err;
  }
  attachMetrics(served, dash.analyzer, capture, opts.engine);
  const saved = saveFrames(capture, writer, fileError);
  let framesIn = 0;
  const limit = opts.count ?? Infinity;
  capture.onFrame(() => {
    framesIn++;
    // -c and --duration end the capture; the dashboard stays up showing the result until the user quits
    if (framesIn >= limit) capture.stop();
  });
  const timer = opts.duration !== undefined ? setTimeout(() => capture.stop({ drain: true }), Math.min(opts.duration * 1000, 2 ** 31 - 1)) : undefined;
  dash.start();
  const result = await dash.done;
  if (timer) clearTimeout(timer);
  capture.stop();
  let failed = false;
  try {
    await capture.done;
  } catch (err) {
    failed = true;
    process.stderr.write(`keyscope live: stopped by an internal error: ${escapeText(ioMessage(err))}\n`);
  }
  // left at once (a second Ctrl-C, or q while capturing): the end-of-capture findings of what was analysed, as text
  // mode makes them after its second Ctrl-C
  if (!result.ended && !failed) dash.analyzer.finish();
  lines.flush();
  writeSummary(capture, dash.analyzer.dissector.tcpStats, dash.analyzer.correlator.lossSignalCounts());
  if (saved.error !== undefined || failed) {
    writer?.abort();
    findingsFile?.abort();
    if (saved.error !== undefined) process.stderr.write(`keyscope live: cannot write ${escapeText(opts.write ?? '')}: ${escapeText(saved.error)}; it keeps the ${writer?.frames ?? 0} frames written before\n`);
    return 2;
  }
  if (findingsFile && !findingsFile.commit()) {
    writer?.abort();
    return 2;
  }
  return commitCapture(writer, opts.write);
}

/** `-w FILE` at a clean end: flush, fsync and close (exit code 0), or say why not (2). */
function commitCapture(writer: CaptureFileSink | undefined, path: string | undefined): number {
  if (!writer) return 0;
  try {
    writer.close();
  } catch (err) {
    process.stderr.write(`keyscope live: cannot write ${escapeText(path ?? '')}: ${escapeText(ioMessage(err))}\n`);
    return 2;
  }
  const where = writer.ring ? `${writer.files.length} ring buffer files, the newest ${escapeText(writer.current)}` : escapeText(path ?? '');
  process.stderr.write(`keyscope live: wrote ${writer.frames} frames to ${where}\n`);
  return 0;
}

/** Copies each captured frame into the `-w` file; the first write error stops the capture and is kept. */
function saveFrames(capture: LiveSource, writer: CaptureFileSink | undefined, state: { error: string | undefined }): { readonly error: string | undefined } {
  // the capture process writes its own file (cap engine): nothing to copy here
  if (!(writer instanceof LiveCaptureFile)) return state;
  capture.onFrame((frame: CaptureFrame) => {
    if (state.error !== undefined) return;
    try {
      writer.write(frame);
    } catch (err) {
      state.error = ioMessage(err);
      capture.stop();
    }
  });
  return state;
}

/**
 * Text mode: a status line on standard error every LIVE_STATUS_INTERVAL_MS while the analysis is behind its capture
 * (the capture process spools, or the backlog is LIVE_STATUS_BEHIND_SECONDS old or more), and one when it has caught
 * up again; nothing while it keeps up.
 */
function statusLines(capture: LiveSource): NodeJS.Timeout {
  let said = false;
  const t = setInterval(() => {
    const b = capture.backlog;
    if (!b || capture.stopped) return;
    if (b.spoolBytes > 0 || b.seconds >= LIVE_STATUS_BEHIND_SECONDS) {
      said = true;
      process.stderr.write(`keyscope live: ${backlogText(b)} (analysed ${capture.stats.packets}; the capture goes on)\n`);
    } else if (said && b.frames === 0) {
      said = false;
      process.stderr.write(`keyscope live: caught up (peak spool ${mbText(b.peakSpoolBytes)})\n`);
    }
  }, LIVE_STATUS_INTERVAL_MS);
  t.unref();
  return t;
}

/** The status line is written when the analysis is this many seconds of capture time behind (or spooling). */
const LIVE_STATUS_BEHIND_SECONDS = 1;

/** The end of a capture on standard error: the figures line, then tshark's kind of summary, then the queue's. */
function writeSummary(capture: LiveSource, tcp: TcpLossInputs, signals: LossSignalCounts): void {
  process.stderr.write(`keyscope live: ${liveSummary(capture.stats, tcp)}\n`);
  process.stderr.write(`keyscope live: ${lossSummary(capture, tcp, signals)}\n`);
  const queue = queueSummary(capture);
  if (queue !== undefined) process.stderr.write(`keyscope live: ${queue}\n`);
}

/**
 * The capture process's queue at the end, when it held anything back on disk or dropped: frames spooled, the
 * spool's peak, drops, and how long the analysis took after the capture stopped. Undefined when it never spooled.
 */
function queueSummary(capture: Pick<LiveSource, 'backlog' | 'queueDropped' | 'stats' | 'notAnalysed'> & { readonly spoolError?: string | undefined }): string | undefined {
  const b = capture.backlog;
  if (!b || (b.spooledFrames === 0 && !capture.queueDropped)) return undefined;
  const st = capture.stats;
  const broken = capture.spoolError !== undefined ? `; the spool failed: ${escapeText(capture.spoolError)}` : '';
  return (
    `capture queue: ${b.spooledFrames} frames went through the disk spool (peak ${mbText(b.peakSpoolBytes)}), ` +
    `${capture.queueDropped ?? 0} dropped (spool full), ${st.packets} analysed${capture.notAnalysed ? `, ${capture.notAnalysed} not analysed` : ''}${broken}`
  );
}

/**
 * "N packets captured, D dropped, loss estimate …" as tshark ends: the engine's drop counter where it has one
 * (tcpdump's "dropped by kernel"), an honest "unknown" where it has none (cap), and which clock stamped the frames.
 */
export function lossSummary(capture: Pick<LiveSource, 'stats' | 'dropped' | 'clock' | 'queueDropped' | 'notAnalysed'>, tcp: TcpLossInputs, signals: LossSignalCounts = {}): string {
  const st = capture.stats;
  const dropped = capture.dropped;
  const queue = capture.queueDropped;
  const queued = queue !== undefined ? `${queue} dropped by keyscope's capture queue (the analysis fell behind and the spool was full), ` : '';
  const drops =
    dropped !== undefined
      ? `${queued}${dropped} dropped (${capture.clock.engine}'s kernel and interface counters)`
      : `${queued}dropped by the kernel unknown (${
          capture.clock.engine === 'dumpcap' ? 'dumpcap prints its counters only when it ends and printed none' : `the ${capture.clock.engine} engine has no kernel drop counter; --engine tcpdump or dumpcap reports the kernel's`
        })`;
  const loss = estimateCaptureLoss(tcp);
  const estimate = `loss estimate ${(loss.ratio * 100).toFixed(2)} % of TCP payload (${loss.lostBytes} ACKed-but-unseen bytes; UDP loss is invisible to it)`;
  const left = capture.notAnalysed ? `, ${capture.notAnalysed} more captured (and in -w) but not analysed: queued when the capture stopped` : '';
  // what the traffic itself shows missing (src/correlate/loss-signals.ts)
  const mikey = signals['mikey-counter'];
  const http = signals['http-unpaired'];
  const digest = signals['digest-missing'];
  const shown = [
    mikey ? `${mikey.packets} MSK message(s) missing by the MIKEY counters (${mikey.spans} span(s))` : undefined,
    http ? `${http.packets} HTTP response(s) without their request` : undefined,
    digest ? `${digest.packets} MSK pull(s) answered without their authenticated request in the capture` : undefined,
  ].filter((x) => x !== undefined);
  const traffic = shown.length > 0 ? `, ${shown.join(', ')}` : '';
  return `${st.packets} packets captured, ${drops}, ${estimate}${traffic}${left}; timestamps: ${capture.clock.description}`;
}

/** The end-of-capture line: frames, bytes, duration, and the TCP-based capture-loss estimate (cap has no drop counter). */
export function liveSummary(stats: LiveCaptureStats, tcp: TcpLossInputs): string {
  const loss = estimateCaptureLoss(tcp);
  const secs = stats.elapsedSeconds;
  const rate = secs > 0 ? stats.packets / secs : 0;
  const cut = stats.truncatedFrames > 0 ? `, ${stats.truncatedFrames} cut by the snaplen` : '';
  return (
    `${stats.packets} frames, ${stats.bytes} bytes in ${secs.toFixed(3)} s (${rate.toFixed(1)} frames/s)${cut}; ` +
    `capture loss estimate (TCP): ${loss.lostBytes} ACKed-but-unseen bytes, ${loss.gapBytes} gap bytes (${(loss.ratio * 100).toFixed(2)} %)`
  );
}

/** Frame numbers listed per finding line (the rest are in the -w file's analysis). */
const MAX_FRAMES_LISTED = 10;

/** One finding of the analyzer, as `analyze` lists it (its message is escaped where it was made), as live prints it. */
function findingLine(d: Diagnostic): string {
  const who = [d.transaction, d.ue ? `ue ${d.ue}` : undefined].filter((x) => x !== undefined).join(' ');
  return `keyscope live: ${d.severity} ${d.code}${who ? ` [${escapeText(who)}]` : ''} frames ${d.frames.slice(0, MAX_FRAMES_LISTED).join(', ')}: ${d.message}\n`;
}

function ioMessage(err: unknown): string {
  return ioReason(err);
}
