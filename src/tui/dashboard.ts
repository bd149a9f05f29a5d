/**
 * The dashboard controller: frames from a capture file, a pcap stream, a paced replay or a live capture go through
 * the one pipeline (Analyzer: Dissector → KeyDeliveryCorrelator); the dashboard is a sink of that pipeline
 * (DashboardModel gets the correlator's records) and reads its statistics for the screen. It never feeds anything
 * back upstream. Used by `keyscope dash` and `keyscope live --dash`.
 */
import * as fs from 'node:fs';
import * as tty from 'node:tty';
import * as blessed from 'blessed';
import type { LiveBacklog, LiveCaptureStats } from '../capture/live';
import { backlogText, estimateCaptureLoss, mbText, type TcpLossInputs } from '../capture/live-stats';
import { readCapture } from '../capture/reader';
import { readCaptureSet } from '../capture/capture-set';
import type { CaptureFrame, CaptureSummary, FrameHandler } from '../capture/types';
import { escapeText } from '../common/escape';
import { toEpochSeconds, type PacketTime } from '../common/time';
import type { AnalysisStats } from '../correlate/types';
import { Analyzer, type AnalyzerOptions, type AnalyzerSink } from '../pipeline/analyzer';
import { teeSinks } from '../pipeline/tee-sink';
import { LivePacer, type LivePacerOptions } from '../pipeline/live-pacer';
import { DashboardModel, PacketRate, averageRate, type DashboardModelOptions } from './model';
import { CaptureReplay } from './replay';
import type { CaptureLossWindow } from '../common/capture-loss';
import { DashboardView, type DashboardSnapshot, type DashboardViewOptions } from './view';
import { DASHBOARD_BUCKET_SECONDS } from './defaults';

/** The part of a LiveCapture (src/capture/live.ts) the dashboard uses. */
export interface LiveFrameSource {
  readonly device: string;
  readonly filter: string;
  readonly stats: LiveCaptureStats;
  readonly stopped: boolean;
  /** The capture's clock now (what a frame arriving now would be stamped with). */
  now(): PacketTime;
  /** Which clock stamps the frames, shown in the header. */
  readonly clock?: { engine: string; short: string };
  onFrame(handler: FrameHandler): () => void;
  onStop(handler: () => void): void;
  /** Spans of capture time in which packets were lost (see LiveSource.onLoss). */
  onLoss?(handler: (w: CaptureLossWindow) => void): () => void;
  /** Packets captured and not yet delivered, where the engine can tell (LiveSource.queued). */
  readonly queued?: number | undefined;
  /** How far behind the capture the analysis is, where the engine can tell (LiveSource.backlog): shown in the header. */
  readonly backlog?: Pick<LiveBacklog, 'frames' | 'spoolBytes' | 'seconds'> | undefined;
  /**
   * Stop capturing; with `drain`, frames already captured are still delivered before onStop (LiveSource.stop), and
   * a later plain stop() discards the rest.
   */
  stop(options?: { drain?: boolean }): void;
}

export type DashboardSource =
  /** A capture file, `-` (standard input) or a stream; `replay` paces it by its packet timestamps. */
  | { kind: 'capture'; input: string | readonly string[] | NodeJS.ReadableStream; label?: string; replay?: { speed: number } }
  /** An open live capture; the dashboard stops it when the user quits. */
  | { kind: 'live'; capture: LiveFrameSource; label?: string };

export interface DashboardTerminal {
  /** Keyboard input (default: the controlling terminal, /dev/tty, when standard input carries the capture). */
  input?: NodeJS.ReadableStream;
  /** Screen output (default process.stdout). */
  output?: NodeJS.WritableStream;
  /** terminfo name (default $TERM, falling back to `xterm` when blessed cannot compile the entry). */
  terminal?: string;
}

export interface DashboardOptions {
  analyzer?: AnalyzerOptions;
  model?: DashboardModelOptions;
  view?: DashboardViewOptions;
  terminal?: DashboardTerminal;
  /**
   * How often the screen is brought up to date, in ms (default DASHBOARD_REFRESH_MS): state changes, and findings or
   * frames let go while no frames arrive, show within this.
   */
  refreshMs?: number;
  /**
   * While frames keep arriving, the figures and panes are redrawn at most this often, in ms (default
   * DASHBOARD_BUSY_REDRAW_MS). A redraw takes the correlator's statistics (sorted distributions) and repaints the
   * whole screen (blessed), ~10 ms each: at 4 a second that was a tenth of a core taken from the analysis.
   */
  busyRedrawMs?: number;
  /**
   * While frames keep arriving, redraws take at most this share of the time (default DASHBOARD_REDRAW_SHARE): a redraw
   * that took longer (the statistics of a long capture take more sorting) spaces the next ones out beyond busyRedrawMs.
   */
  redrawShare?: number;
  /**
   * Quit on SIGINT / SIGTERM (default true). A live capture or a stream is drained first (see Dashboard.interrupt):
   * the first signal stops capturing and leaves once what was captured is analysed, a second one leaves at once.
   */
  handleSignals?: boolean;
  /** Live sources: how held frames are released and deadlines expire on the capture's clock. */
  pacer?: Omit<LivePacerOptions, 'onTick'>;
  /** Another sink of the dashboard's pipeline, beside its panes (the `--metrics` counters). */
  sink?: AnalyzerSink;
}

export interface DashboardResult {
  stats: AnalysisStats;
  /** Capture-file sources: the reader's summary (a `fatal` means the capture could not be read at all). */
  summary?: CaptureSummary;
  /** The input ended (file read completely, live capture stopped) before the user quit. */
  ended: boolean;
  /** The user interrupted and the dashboard drained its input before leaving (see Dashboard.interrupt). */
  drained: boolean;
  /** TCP reassembly counters of the dashboard's pipeline: the capture-loss estimate (e.g. for `liveSummary`). */
  tcp: TcpLossInputs;
}

export { DASHBOARD_BUCKET_SECONDS };

/** Default of DashboardOptions.refreshMs. */
export const DASHBOARD_REFRESH_MS = 250;
/** Default of DashboardOptions.busyRedrawMs. */
export const DASHBOARD_BUSY_REDRAW_MS = 1000;
/** Default of DashboardOptions.redrawShare: 2 % of the time. */
export const DASHBOARD_REDRAW_SHARE = 0.02;

export class Dashboard {
  readonly model: DashboardModel;
  readonly analyzer: Analyzer;
  readonly view: DashboardView;
  /** Resolves when the user quits (or quit() is called). */
  readonly done: Promise<DashboardResult>;
  /** Resolves when the input has ended and the pipeline is finished. */
  readonly inputEnded: Promise<void>;
  private resolveDone!: (r: DashboardResult) => void;
  private resolveEnded!: () => void;
  private readonly rate = new PacketRate(5);
  private readonly abort = new AbortController();
  private replay: CaptureReplay | undefined;
  private summary: CaptureSummary | undefined;
  private ended = false;
  private quitting = false;
  private state: string;
  private refreshTimer: NodeJS.Timeout | undefined;
  private lastStats: AnalysisStats | undefined;
  private lastStatsAt = 0;
  private lastVersion = -1;
  private lastFrames = -1;
  private lastKey = '';
  private readonly refreshMs: number;
  private readonly busyRedrawMs: number;
  private readonly redrawShare: number;
  /** Date.now() of the last redraw, and how long it took (ms). */
  private lastDrawAt = 0;
  private lastDrawCost = 0;
  /** Frames received at the previous refresh: frames arrived in between means the input is busy. */
  private framesAtRefresh = -1;
  private readonly signalHandler = () => this.interrupt(true);
  /** A first Ctrl-C / SIGINT / SIGTERM / q came: the input is being drained, the dashboard leaves when it has ended. */
  private draining = false;
  private readonly ownInput: tty.ReadStream | undefined;
  private readonly handleSignals: boolean;
  /** Fraction of a capture file read so far, when known. */
  private progress: (() => number) | undefined;
  private ownStream: fs.ReadStream | undefined;
  /** Live sources: the wall-clock pacing of the pipeline. */
  private readonly pacer: LivePacer | undefined;
  /** Something changed that the header must show at the next refresh, not a second later. */
  private statsStale = false;
  private pacerTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: DashboardSource,
    options: DashboardOptions = {},
  ) {
    this.model = new DashboardModel(options.model);
    const correlator = { ...options.analyzer?.correlator };
    correlator.bucketSeconds ??= DASHBOARD_BUCKET_SECONDS;
    const dissector = { ...options.analyzer?.dissector };
    // a live frame must reach the correlator when it arrives, not when the next one does (Dissector holdNewest)
    if (source.kind === 'live') dissector.holdNewest ??= false;
    const model = this.model;
    const sink: AnalyzerSink = {
      transaction: (t) => model.transaction(t),
      diagnostic: (d) => model.diagnostic(d),
      anomaly: (a) => model.anomaly(a),
    };
    this.analyzer = new Analyzer(teeSinks(sink, options.sink), { ...options.analyzer, dissector, correlator });
    this.refreshMs = options.refreshMs ?? DASHBOARD_REFRESH_MS;
    this.busyRedrawMs = options.busyRedrawMs ?? DASHBOARD_BUSY_REDRAW_MS;
    this.redrawShare = options.redrawShare ?? DASHBOARD_REDRAW_SHARE;
    if (source.kind === 'live') {
      const capture = source.capture;
      this.pacer = new LivePacer(this.analyzer, () => capture.now(), options.pacer);
    }
    this.handleSignals = options.handleSignals ?? true;
    this.state = source.kind === 'live' ? 'capturing' : source.replay ? 'replaying' : 'reading';
    const term = options.terminal ?? {};
    let input = term.input;
    if (!input) {
      const stdinCarriesCapture = source.kind === 'capture' && source.input === '-';
      if (stdinCarriesCapture || !process.stdin.isTTY) {
        this.ownInput = openControllingTerminal();
        input = this.ownInput;
      } else input = process.stdin;
    }
    const output = term.output ?? process.stdout;
    const screen = blessed.screen({
      input: input as NodeJS.ReadableStream,
      output: output as NodeJS.WritableStream,
      terminal: term.terminal ?? usableTerminal(process.env.TERM),
      fullUnicode: true,
      smartCSR: true,
      warnings: false,
      autoPadding: false,
      title: 'keyscope dash',
    } as unknown as blessed.Widgets.IScreenOptions);
    // q and Ctrl-C on the keyboard as the signals: drain first, a second one leaves at once
    this.view = new DashboardView(screen, this.model, { quit: () => this.interrupt(false), pause: (p) => this.replay?.setPaused(p) }, options.view);
    this.done = new Promise((r) => (this.resolveDone = r));
    this.inputEnded = new Promise((r) => (this.resolveEnded = r));
  }

  /** Start reading the input and drawing. */
  start(): this {
    if (this.handleSignals) {
      process.on('SIGINT', this.signalHandler);
      process.on('SIGTERM', this.signalHandler);
    }
    this.refresh(true);
    this.refreshTimer = setInterval(() => this.refresh(false), this.refreshMs);
    const feed = (f: CaptureFrame) => {
      this.rate.add(toEpochSeconds(f));
      this.analyzer.frame(f);
    };
    const src = this.source;
    if (src.kind === 'live') {
      const off = src.capture.onFrame(feed);
      // spans the capture lost packets in: findings there carry the "possibly capture loss" caveat
      const offLoss = src.capture.onLoss?.((w) => this.analyzer.correlator.captureLoss(w));
      const pacer = this.pacer;
      if (pacer) {
        this.pacerTimer = setInterval(() => {
          const version = this.model.version;
          const r = pacer.tick();
          // frames let go and findings raised by the clock show at the next refresh, not a stats interval later
          if (r.released > 0 || this.model.version !== version) this.statsStale = true;
        }, pacer.tickMs);
      }
      src.capture.onStop(() => {
        if (this.pacerTimer) clearInterval(this.pacerTimer);
        off();
        offLoss?.();
        this.inputFinished(undefined);
      });
    } else if (Array.isArray(src.input)) {
      // several files as one capture (not replayed: runDash refuses --replay for them)
      readCaptureSet(src.input as readonly string[], feed, { signal: this.abort.signal }).then(
        (s) => this.inputFinished(s),
        (err) => this.inputFailed(err),
      );
    } else if (src.replay) {
      this.replay = new CaptureReplay(src.input as string | NodeJS.ReadableStream, feed, { speed: src.replay.speed });
      this.replay.done.then(
        (s) => this.inputFinished(s),
        (err) => this.inputFailed(err),
      );
      this.replay.start();
    } else {
      let input = src.input as string | NodeJS.ReadableStream;
      const name = typeof input === 'string' && input !== '-' ? input : undefined;
      if (typeof input === 'string' && input !== '-') {
        // our own stream, so the header can tell how far a long file has been read
        const size = fileSize(input);
        if (size !== undefined && size > 0) {
          const stream = fs.createReadStream(input, { highWaterMark: 1 << 20 });
          this.progress = () => Math.min(1, stream.bytesRead / size);
          this.ownStream = stream;
          input = stream;
        }
      }
      readCapture(input, feed, { signal: this.abort.signal, ...(name !== undefined ? { name } : {}) }).then(
        (s) => {
          this.ownStream?.destroy();
          this.inputFinished(s);
        },
        (err) => {
          this.ownStream?.destroy();
          this.inputFailed(err);
        },
      );
    }
    return this;
  }

  /**
   * What Ctrl-C, SIGINT, SIGTERM and q do. A live capture still capturing, or a pcap stream still open when a signal
   * came (`signal`: the stream's writer got the same SIGINT and ends it; a key in the dashboard's raw terminal reaches
   * only the dashboard): the first one stops capturing (a stream: waits for its end) and keeps the dashboard up,
   * showing the frames still queued going down, until everything captured is analysed and the pipeline finished —
   * then it leaves, as text-mode `live` ends. A second one, or any once the input has ended or for a capture file,
   * leaves at once (what was still queued is counted as not analysed).
   */
  interrupt(signal = false): void {
    if (this.quitting) return;
    const src = this.source;
    const stream = src.kind === 'capture' && signal && !src.replay && !Array.isArray(src.input) && (src.input === '-' || typeof src.input !== 'string');
    const drainable = !this.ended && (src.kind === 'live' || stream);
    if (this.draining || !drainable) {
      this.quit();
      return;
    }
    this.draining = true;
    if (src.kind === 'live') src.capture.stop({ drain: true });
    this.state = this.drainState();
    void this.inputEnded.then(() => this.quit());
    this.refresh(true);
  }

  /** The header's state while draining: how many frames are still queued, where the capture can tell. */
  private drainState(): string {
    const again = 'Ctrl-C again quits at once';
    if (this.source.kind !== 'live') return `draining: reading to the end of the stream (${again})`;
    const queued = this.source.capture.queued;
    const analysed = this.analyzer.dissector.stats.frames;
    const spool = this.source.capture.backlog?.spoolBytes ?? 0;
    const spooled = spool > 0 ? ` (${mbText(spool)} spooled)` : '';
    return queued !== undefined ? `draining: ${queued} frames queued${spooled}, ${analysed} analysed (${again})` : `draining: ${analysed} frames analysed (${again})`;
  }

  /** Leave the dashboard: stop the input, restore the terminal, resolve `done`. */
  quit(): void {
    if (this.quitting) return;
    this.quitting = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.pacerTimer) clearInterval(this.pacerTimer);
    if (this.handleSignals) {
      process.off('SIGINT', this.signalHandler);
      process.off('SIGTERM', this.signalHandler);
    }
    this.abort.abort();
    this.replay?.stop();
    // a live capture still delivering (capturing, or draining after a first Ctrl-C): the rest is not analysed (counted)
    if (this.source.kind === 'live' && !this.ended) this.source.capture.stop();
    this.view.destroy();
    this.ownInput?.destroy();
    const finish = () => {
      const t = this.analyzer.dissector.tcpStats;
      const tcp = { bytesDelivered: t.bytesDelivered, gapBytes: t.gapBytes, ackedUnseenBytes: t.ackedUnseenBytes };
      const r: DashboardResult = { stats: this.analyzer.stats(), ended: this.ended, drained: this.draining && this.ended, tcp };
      if (this.summary) r.summary = this.summary;
      this.resolveDone(r);
    };
    // a file read stops at its next chunk boundary: report after the reader has settled
    if (this.ended || this.source.kind === 'live') finish();
    else this.inputEnded.then(finish, finish);
    setTimeout(() => this.resolveEnded(), 2000).unref();
  }

  /** The capture reader's summary, once a capture-file input has ended. */
  get readSummary(): CaptureSummary | undefined {
    return this.summary;
  }

  /** The figures the header shows, recomputed now. */
  snapshot(): DashboardSnapshot {
    return this.makeSnapshot(this.analyzer.stats());
  }

  private inputFinished(summary: CaptureSummary | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.summary = summary;
    // the pipeline finishes only for a complete input: a quit leaves what was seen as it was
    if (!this.quitting) this.analyzer.finish();
    if (summary?.fatal) this.state = `error: ${summary.fatal}`;
    else if (this.source.kind === 'live') this.state = 'capture stopped';
    else this.state = summary?.problems.length ? `ended (${summary.problems.length} read problems)` : 'ended';
    this.resolveEnded();
    if (!this.quitting) this.refresh(true);
  }

  private inputFailed(err: unknown): void {
    this.state = `error: ${err instanceof Error ? err.message : String(err)}`;
    this.inputFinished(undefined);
  }

  private refresh(force: boolean): void {
    if (this.quitting) return;
    const now = Date.now();
    const frames = this.analyzer.dissector.stats.frames;
    // while frames arrive, every refresh would find something new: the screen is redrawn at most every busyRedrawMs
    // then (stats() sorts distributions, blessed repaints the whole screen); once a refresh period passed without
    // frames (the input went quiet, or only the live clock let frames go), what changed shows at once
    const busy = frames !== this.framesAtRefresh;
    this.framesAtRefresh = frames;
    const due = force || now - this.lastDrawAt >= (busy ? Math.max(this.busyRedrawMs, this.lastDrawCost / this.redrawShare) : 0);
    if (!due) return;
    const started = performance.now();
    const changed = frames !== this.lastFrames || this.model.version !== this.lastVersion;
    if (force || !this.lastStats || this.statsStale || changed) {
      this.statsStale = false;
      this.lastStats = this.analyzer.stats();
      this.lastStatsAt = now;
      this.lastVersion = this.model.version;
      this.lastFrames = frames;
    }
    if (!this.ended && this.progress && this.state.startsWith('reading')) this.state = `reading ${(100 * this.progress()).toFixed(0)} %`;
    if (this.draining && !this.ended) this.state = this.drainState();
    else if (!this.ended && this.source.kind === 'live' && this.state.startsWith('capturing')) {
      const b = this.source.capture.backlog;
      this.state = b && b.frames > 0 ? `capturing, ${backlogText(b)}` : 'capturing';
    }
    const snap = this.makeSnapshot(this.lastStats);
    const key = `${this.lastStatsAt}|${snap.state}|${snap.rate.toFixed(1)}|${snap.loss.lostBytes}|${snap.loss.gapBytes}`;
    if (!force && key === this.lastKey) return;
    this.lastKey = key;
    this.view.setSnapshot(snap);
    this.lastDrawAt = now;
    this.lastDrawCost = performance.now() - started;
  }

  private makeSnapshot(stats: AnalysisStats): DashboardSnapshot {
    const src = this.source;
    let label: string;
    let mode: string;
    let rate: number;
    if (src.kind === 'live') {
      const clock = src.capture.clock;
      label =
        src.label ??
        `live on ${src.capture.device}${src.capture.filter ? ` (${src.capture.filter})` : ''}${clock ? `, ${clock.engine} stamps: ${clock.short}` : ''}`;
      mode = 'live';
      rate = src.capture.stats.packetsPerSecond;
    } else {
      label = src.label ?? (typeof src.input === 'string' ? (src.input === '-' ? 'standard input' : src.input) : 'input stream');
      mode = src.replay ? `replay ×${src.replay.speed}` : Array.isArray(src.input) ? 'files' : typeof src.input === 'string' && src.input !== '-' ? 'file' : 'stream';
      // while frames come: the recent packet-time rate; at the end: the capture's average
      rate = this.ended ? averageRate(stats) : this.rate.rate();
    }
    const loss = estimateCaptureLoss(this.analyzer.dissector.tcpStats);
    return { stats, sourceLabel: escapeText(label, 300), mode, state: this.state, rate, loss };
  }
}

/** Run a dashboard until the user quits. */
export async function runDashboard(source: DashboardSource, options: DashboardOptions = {}): Promise<DashboardResult> {
  const d = new Dashboard(source, options).start();
  return d.done;
}

function fileSize(path: string): number | undefined {
  try {
    const st = fs.statSync(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/** Keyboard input when standard input is busy with the capture: the controlling terminal itself. */
function openControllingTerminal(): tty.ReadStream {
  let fd: number;
  try {
    fd = fs.openSync('/dev/tty', 'r');
  } catch (err) {
    throw new DashboardTerminalError(`no terminal for keyboard input (/dev/tty: ${(err as NodeJS.ErrnoException).code ?? 'unavailable'})`);
  }
  return new tty.ReadStream(fd);
}

export class DashboardTerminalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DashboardTerminalError';
  }
}

/**
 * blessed compiles the terminfo entry itself and chokes on some newer ones (xterm-256color's `Setulc`, tools.md):
 * such an entry is replaced by plain `xterm`, which every terminal emulator understands.
 */
export function usableTerminal(name: string | undefined): string {
  const term = name && /^[A-Za-z0-9._+-]{1,64}$/.test(name) ? name : 'xterm';
  const originalError = console.error;
  let complained = false;
  console.error = () => {
    complained = true;
  };
  try {
    const Tput = (blessed as unknown as { Tput: typeof blessed.Widgets.Tput }).Tput;
    const tput = new Tput({ terminal: term, extended: true });
    if (complained || !tput) return 'xterm';
    return term;
  } catch {
    return 'xterm';
  } finally {
    console.error = originalError;
  }
}
