/**
 * `keyscope dash <capture|->`: the terminal dashboard on a capture file (shown at once, or replayed at its own pace
 * with --replay / --speed) or on a pcap stream on standard input. Same pipeline and correlation options as
 * `keyscope analyze`, so the counters agree.
 */
import * as fs from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { escapeText } from '../common/escape';
// types only: the dashboard (blessed, blessed-contrib) is loaded when a dashboard starts, not to declare the options
import type { Dashboard, DashboardSource } from '../tui/dashboard';
import { DASHBOARD_BUCKET_SECONDS } from '../tui/defaults';
import { DEFAULT_DASHBOARD_KEEP, addCorrelationOptions, addDashboardOptions, correlatorOptions, type CorrelationCliOptions, type DashboardCliOptions } from './analyzer-options';
import { addDisplayFilterOption, frameFilterOption, type DisplayFilterCliOptions } from './frame-output';
import { reportCaptureProblems } from './capture-messages';
import { expandCaptureArgs } from '../capture/capture-set';
import { loadKeysOption } from './keys-option';
import type { CommandRegistrar } from './main';
import { addMetricsOptions, startMetrics, type MetricsCliOptions, type MetricsRun } from './metrics-option';

export interface DashCliOptions extends CorrelationCliOptions, DashboardCliOptions, DisplayFilterCliOptions, MetricsCliOptions {
  replay?: boolean;
  speed?: number;
  /** Leave the dashboard when the input has ended (benchmarks and scripts: the time of a whole read). */
  quitAtEnd?: boolean;
}

function parseSpeed(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1e6) throw new InvalidArgumentError('a positive number (1 = real time)');
  return n;
}

export const registerDashCommand: CommandRegistrar = (program: Command, setExitCode) => {
  const cmd = program
    .command('dash')
    .description('terminal dashboard: ACK rate, latencies, transactions, diagnostics (q quits, ? help)')
    .argument('[captures...]', 'capture file, several files or a directory of ring-buffer files (one capture, in time order), or - for a pcap/pcapng stream on standard input');
  addCorrelationOptions(cmd);
  const bucket = cmd.options.find((o) => o.long === '--bucket');
  if (bucket) bucket.description = `ACK rate over time: bucket width in seconds (default ${DASHBOARD_BUCKET_SECONDS} here; the chart merges buckets to fit)`;
  cmd
    .option('--replay', 'replay the capture at the pace of its timestamps instead of showing it at once')
    .option('--speed <n>', 'replay this many times faster than real time (implies --replay)', parseSpeed)
    .option('--quit-at-end', 'leave the dashboard as soon as the input has ended (for benchmarks and scripts; default: stay until q)');
  addDashboardOptions(cmd);
  addMetricsOptions(cmd, false);
  addDisplayFilterOption(cmd, 'correlate only the frames that match (all are still dissected and reassembled)')
    .action(async (captures: string[], opts: DashCliOptions) => {
      setExitCode(await runDash(captures.length > 1 ? captures : captures[0] ?? opts.read, opts));
    });
};

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export async function runDash(sources: string | readonly string[] | undefined, opts: DashCliOptions): Promise<number> {
  if (!opts.metrics) return runDashOn(sources, opts, undefined);
  const served = await startMetrics('dash', opts);
  if (served === 'error' || served === undefined) return 2;
  try {
    return await runDashOn(sources, opts, served);
  } finally {
    await served.close();
  }
}

async function runDashOn(sources: string | readonly string[] | undefined, opts: DashCliOptions, served: MetricsRun | undefined): Promise<number> {
  const { Dashboard, DashboardTerminalError } = await import('../tui/dashboard');
  if (!sources) {
    process.stderr.write('keyscope dash: no capture given (a file, or - for standard input)\n');
    return 64;
  }
  // several files or a directory: one capture in time order (src/capture/capture-set.ts); not replayed
  let set: string[] | undefined;
  if (typeof sources !== 'string' || isDirectory(sources)) {
    const inputs = expandCaptureArgs(typeof sources === 'string' ? [sources] : sources);
    if ('error' in inputs) {
      process.stderr.write(`keyscope dash: ${escapeText(inputs.error)}\n`);
      return 64;
    }
    if (inputs.files.length > 1) set = inputs.files;
    if (set && (opts.replay || opts.speed !== undefined)) {
      process.stderr.write('keyscope dash: --replay reads one capture file (analyze or dash without --replay read several)\n');
      return 64;
    }
    sources = inputs.files[0];
  }
  const source: string = set ? `${set.length} files` : (sources as string);
  if (!set && source !== '-') {
    try {
      if (fs.statSync(source).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      fs.accessSync(source, fs.constants.R_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String(code ?? err);
      process.stderr.write(`keyscope dash: cannot read ${escapeText(source)}: ${why}\n`);
      return 2;
    }
  }
  const frameFilter = frameFilterOption(opts.displayFilter, 'dash', opts.maxMemory);
  if (frameFilter === undefined) return 64;
  const keys = loadKeysOption(opts.keys);
  if (keys === 'error') return 2;
  if (!process.stdout.isTTY) {
    process.stderr.write('keyscope dash: standard output is not a terminal (for a report, use keyscope analyze)\n');
    return 64;
  }
  // without --bucket the dashboard picks its own ACK-rate buckets (1 s): only the chart's resolution differs
  const correlator = correlatorOptions(opts);
  const speed = opts.speed ?? (opts.replay ? 1 : undefined);
  const dashSource: DashboardSource = set ? { kind: 'capture', input: set, label: source } : { kind: 'capture', input: source };
  if (speed !== undefined) dashSource.replay = { speed };
  const keep = opts.keep ?? DEFAULT_DASHBOARD_KEEP;

  let dash: Dashboard;
  try {
    dash = new Dashboard(dashSource, {
      analyzer: { dissector: { keys, mikeyPorts: opts.mikeyPort ?? [], maxMemory: opts.maxMemory }, correlator, frameFilter: frameFilter ?? undefined },
      model: { maxTransactions: keep, maxDiagnostics: keep },
      ...(served ? { sink: served.metrics.sink } : {}),
    });
  } catch (err) {
    if (err instanceof DashboardTerminalError) {
      process.stderr.write(`keyscope dash: ${escapeText(err.message)}\n`);
      return 64;
    }
    throw err;
  }
  const analyzer = dash.analyzer;
  served?.metrics.attach({ openState: () => analyzer.correlator.openState(), tcp: () => analyzer.dissector.tcpStats });
  dash.start();
  // an unreadable capture (bad magic, empty input) ends the dashboard at once, with the reason on the terminal
  void dash.inputEnded.then(() => {
    if (dash.readSummary?.fatal || opts.quitAtEnd) dash.quit();
  });
  const result = await dash.done;
  if (source === '-') process.stdin.destroy();
  if (result.summary?.fatal) {
    process.stderr.write(`keyscope dash: ${escapeText(result.summary.fatal)}\n`);
    return 2;
  }
  if (result.summary) reportCaptureProblems(source, result.summary);
  return 0;
}
