import { Option, InvalidArgumentError, type Command } from 'commander';
import * as path from 'node:path';
import { captureName, expandCaptureArgs, readCaptureInput } from '../capture/capture-set';
import { PcapngWriter } from '../capture/pcapng-writer';
import { SEVERITY_RANK, type Severity } from '../common/problem';
import { escapeText } from '../common/escape';
import { OutputError } from '../common/io-error';
import type { Diagnostic } from '../correlate/types';
import { analyzeCapture, type Analyzer, type AnalyzerSink } from '../pipeline/analyzer';
import { withFileProgress } from './progress';
import { reportCaptureProblems } from './capture-messages';
import { AnalysisCollector, analysisReport, worstSeverity } from '../report/analyze-text';
import { anomalyJson, diagnosticJson, headerJson, originFields, statsJson, transactionJson, ueJson, type ResultOrigin } from '../report/analyze-json';
import { keyscopeVersion } from './version';
import { LineOutput } from '../report/output';
import type { CommandRegistrar } from './main';
import { loadKeysOption } from './keys-option';
import { addDisplayFilterOption, frameFilterOption, type DisplayFilterCliOptions } from './frame-output';
import { refuseOutputClash } from './output-paths';
import { parsePositiveInt } from './options';
import { addCorrelationOptions, correlatorOptions, type CorrelationCliOptions } from './analyzer-options';
import { jsonLine } from '../report/json-line';
import { teeSinks } from '../pipeline/tee-sink';
import { addMetricsOptions, startMetrics, type MetricsCliOptions } from './metrics-option';
import { parseShard, type ShardSpec } from '../pipeline/shard';

// kept here too for `export`, which has always imported them from this module

export interface AnalyzeCliOptions extends CorrelationCliOptions, DisplayFilterCliOptions, MetricsCliOptions {
  json?: boolean;
  failOn?: Severity | 'never';
  annotate?: string;
  worst?: number;
  probe?: string;
  shard?: ShardSpec;
}

function parseShardOption(v: string): ShardSpec {
  const r = parseShard(v);
  if (typeof r === 'string') throw new InvalidArgumentError(r);
  return r;
}

export function parseFailOn(v: string): Severity | 'never' {
  const s = v.toLowerCase();
  if (s === 'never' || s === 'error' || s === 'warning' || s === 'note' || s === 'chat') return s;
  throw new InvalidArgumentError('one of error, warning, note, chat, never');
}

export const registerAnalyzeCommand: CommandRegistrar = (program: Command, setExitCode) => {
  const cmd = program
    .command('analyze')
    .description('correlate MBMS key delivery per UE: transactions, diagnostics, ACK rates and latencies')
    .argument('[captures...]', 'capture file, several files or a directory of ring-buffer files (read as one capture, in time order), or - for a pcap/pcapng stream on standard input');
  addCorrelationOptions(cmd)
    .option('--json', 'NDJSON records: header, transaction, diagnostic, anomaly, ue, stats (docs/json-output.md)')
    .option('--probe <name>', 'name of the capture point, put on every --json record (for results merged across probes)')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a diagnostic at or above this severity is found').argParser(parseFailOn).default('error'))
    .option('--annotate <out.pcapng>', 'write the capture as pcapng with every finding as a packet comment')
    .option('--worst <n>', 'worst transactions shown (default 10)', parsePositiveInt)
    .option('--shard <K/N>', 'analyze only the UEs of shard K of N (every frame is read; `keyscope merge` adds the N results up: docs/sharding.md)', parseShardOption);
  addMetricsOptions(cmd, true);
  addDisplayFilterOption(cmd, 'correlate only the frames that match (all are still dissected and reassembled)')
    .action(async (captures: string[], opts: AnalyzeCliOptions) => {
      setExitCode(await runAnalyze(captures.length > 0 ? captures : opts.read !== undefined ? [opts.read] : [], opts));
    });
};

/** Packet comment for one finding, as Wireshark shows it in `frame.comment`. */
export function findingComment(d: Diagnostic): string {
  const who = [d.transaction, d.ue ? `ue ${d.ue}` : undefined].filter((x) => x !== undefined).join(' ');
  return `keyscope ${d.severity}: ${d.code}${who ? ` [${who}]` : ''}: ${d.message}`;
}

/**
 * Finding comments kept for --annotate (each ≈ 250 bytes: a map entry per frame and the shared comment text; see
 * docs/diagnostics.md "State and memory"); findings past it are in the report but not in the annotated file.
 */
const MAX_COMMENTS = 100_000;
const MAX_COMMENTS_PER_FRAME = 32;

export async function runAnalyze(sources: string | readonly string[] | undefined, opts: AnalyzeCliOptions): Promise<number> {
  const args = sources === undefined ? [] : typeof sources === 'string' ? [sources] : sources;
  const inputs = expandCaptureArgs(args);
  if ('error' in inputs) {
    process.stderr.write(`keyscope analyze: ${escapeText(inputs.error)}\n`);
    return 64;
  }
  const files = inputs.files;
  // one file: read as ever (progress bar, stream names); several: one capture in time order
  const source = files.length === 1 ? files[0] : `${files.length} files`;
  const input: string | string[] = files.length === 1 ? files[0] : files;
  const origin: ResultOrigin = { capture: captureName(args, inputs), probe: opts.probe };
  if (opts.annotate && source === '-') {
    process.stderr.write('keyscope analyze: --annotate needs a capture file (it reads the capture twice)\n');
    return 64;
  }
  const clash = refuseOutputClash('analyze', [{ option: '--annotate', path: opts.annotate }], [...files.map((f) => ({ option: 'input capture', path: f })), { option: '--keys file', path: opts.keys }]);
  if (clash !== undefined) return clash;
  if (opts.shard !== undefined && opts.displayFilter !== undefined) {
    // frames a filter drops do not move the correlator's clock in one run, but another shard's frames must move it here
    process.stderr.write('keyscope analyze: --shard cannot be combined with -Y (the shards would not add up to one run)\n');
    return 64;
  }
  const frameFilter = frameFilterOption(opts.displayFilter, 'analyze', opts.maxMemory);
  if (frameFilter === undefined) return 64;
  const keys = loadKeysOption(opts.keys);
  if (keys === 'error') return 2;
  const out = new LineOutput(1);
  const collector = new AnalysisCollector({ worst: opts.worst ?? 10 });
  const comments = new Map<number, string[]>();
  let nComments = 0;
  const json = opts.json === true;
  const tag = originFields(origin);
  const record = (r: Record<string, unknown>) => out.line(jsonLine({ ...r, ...tag }));
  const shardField = opts.shard !== undefined ? { shard: `${opts.shard.index + 1}/${opts.shard.count}` } : {};
  if (json) out.line(jsonLine({ ...headerJson(origin, { keyscope: keyscopeVersion(), files: files.map((f) => (f === '-' ? '-' : path.basename(f))) }), ...shardField }));
  const sink: AnalyzerSink = {
    transaction(t) {
      // the collector keeps what the text report shows; --json prints every record as it comes instead
      if (json) out.line(jsonLine(transactionJson(t, origin)));
      else collector.transaction(t);
    },
    diagnostic(d) {
      if (json) out.line(jsonLine(diagnosticJson(d, origin)));
      else collector.diagnostic(d);
      if (opts.annotate) {
        const text = findingComment(d);
        for (const f of d.frames) {
          if (nComments >= MAX_COMMENTS) break;
          const list = comments.get(f) ?? [];
          if (list.length >= MAX_COMMENTS_PER_FRAME) continue;
          list.push(text);
          comments.set(f, list);
          nComments++;
        }
      }
    },
    anomaly(a) {
      if (!json) collector.anomaly(a);
      else if (a.problem.severity !== 'chat') out.line(jsonLine(anomalyJson(a, origin)));
    },
  };
  const served = await startMetrics('analyze', opts);
  if (served === 'error') return 2;
  // the report comes at the end, so a bar on a terminal does not tear through it
  const analyzerOptions = { dissector: { keys, mikeyPorts: opts.mikeyPort ?? [], maxMemory: opts.maxMemory }, correlator: correlatorOptions(opts), frameFilter: frameFilter ?? undefined, shard: opts.shard };
  const analyzerSink = teeSinks(sink, served?.metrics.sink);
  const started = (a: Analyzer) => served?.metrics.attach({ openState: () => a.correlator.openState(), tcp: () => a.dissector.tcpStats });
  const run =
    typeof input === 'string'
      ? await withFileProgress(input, (src) => analyzeCapture(src, analyzerSink, analyzerOptions, { name: input }, started), { withTerminalStdout: true })
      : await analyzeCapture(input, analyzerSink, analyzerOptions, {}, started);
  const code = await reportRun();
  await served?.lingerAndClose(opts.metricsLinger ?? 0);
  return code;

  async function reportRun(): Promise<number> {
    if (run.summary.fatal) {
      out.flush();
      process.stderr.write(`keyscope: ${escapeText(run.summary.fatal)}\n`);
      return 2;
    }
    reportCaptureProblems(source, run.summary);
    if (json) {
      for (const u of run.ues.ues) record(ueJson(u));
      record(statsJson(run.stats, run.ues.sketch));
    }
    else for (const l of analysisReport(collector, run.stats)) out.line(l);
    out.flush();
    if (opts.annotate) {
      const ok = await writeAnnotated(input, opts.annotate, comments);
      if (!ok) return 2;
    }
    const worst = worstSeverity(run.stats);
    const failOn = opts.failOn ?? 'error';
    if (failOn !== 'never' && worst !== undefined && SEVERITY_RANK[worst] >= SEVERITY_RANK[failOn]) return 1;
    return 0;
  }
}

/** Second pass: every frame of `source` into a pcapng file, with the findings as packet comments (kept ones first). */
async function writeAnnotated(source: string | string[], target: string, comments: Map<number, string[]>): Promise<boolean> {
  let writer: PcapngWriter;
  try {
    writer = new PcapngWriter(target, { application: 'keyscope analyze --annotate' });
  } catch (err) {
    process.stderr.write(`keyscope analyze: ${err instanceof OutputError ? escapeText(err.message) : `--annotate ${escapeText(target)}: ${escapeText((err as Error).message)}`}; nothing written\n`);
    return false;
  }
  try {
    const summary = await readCaptureInput(source, (f) => {
      const own = comments.get(f.number);
      const all = own ? [...(f.comments ?? []), ...own] : f.comments;
      writer.write({ tsSec: f.tsSec, tsNsec: f.tsNsec, data: f.data, originalLength: f.originalLength, linkType: f.linkType, comments: all });
    });
    if (summary.fatal) throw new Error(summary.fatal);
    await writer.commit();
    return true;
  } catch (err) {
    await writer.abort();
    process.stderr.write(`keyscope analyze: ${err instanceof OutputError ? escapeText(err.message) : `--annotate ${escapeText(target)}: ${escapeText((err as Error).message)}`}; nothing written\n`);
    return false;
  }
}
