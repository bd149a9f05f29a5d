/**
 * `keyscope merge a.ndjson b.ndjson … | -`: the combined report of several `analyze --json` results (one per capture
 * file, per probe, per batch job), as one run over all the traffic would give it for everything per UE. Text by
 * default (the analyze report's renderer), `--json` for a merged result that can be merged again. docs/merge.md.
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { Option, type Command } from 'commander';
import { SEVERITY_RANK, type Severity } from '../common/problem';
import { escapeText } from '../common/escape';
import { LATENCY_BUCKETS } from '../correlate/latency-buckets';
import { analysisReport, worstSeverity } from '../report/analyze-text';
import { RESULTS_FORMAT, RESULTS_VERSION, statsJson, ueJson } from '../report/analyze-json';
import { jsonLine } from '../report/json-line';
import { MergeInputError, ResultMerger } from '../report/merge';
import { LineOutput } from '../report/output';
import { parseFailOn } from './analyze';
import { ExitCode, type CommandRegistrar } from './main';
import { parsePositiveInt } from './options';
import { keyscopeVersion } from './version';

export interface MergeCliOptions {
  json?: boolean;
  worst?: number;
  failOn?: Severity | 'never';
}

/** The name merged results carry as their `capture`. */
export const MERGED_CAPTURE = 'merged';

export const registerMergeCommand: CommandRegistrar = (program: Command, setExitCode) => {
  program
    .command('merge')
    .description('combine several `analyze --json` results (files, probes, batch jobs) into one report and statistics')
    .argument('<results...>', 'NDJSON files written by `keyscope analyze --json` (or merge --json), or - for standard input')
    .option('--json', 'a merged NDJSON result (header, the inputs\' transaction/diagnostic/anomaly records, one ue record per UE, stats)')
    .option('--worst <n>', 'worst transactions shown (default 10)', parsePositiveInt)
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a diagnostic at or above this severity was counted').argParser(parseFailOn).default('error'))
    .action(async (results: string[], opts: MergeCliOptions) => {
      setExitCode(await runMerge(results, opts));
    });
};

export async function runMerge(inputs: readonly string[], opts: MergeCliOptions): Promise<number> {
  if (inputs.filter((i) => i === '-').length > 1) {
    process.stderr.write('keyscope merge: - (standard input) can be given once\n');
    return ExitCode.usage;
  }
  const out = new LineOutput(1);
  const json = opts.json === true;
  const merger = new ResultMerger({ worst: opts.worst ?? 10, passThrough: json ? (r) => out.line(jsonLine(r)) : undefined });
  // a stream may hold several results one after the other (cat *.ndjson | keyscope merge -): ids get prefixed then too
  merger.multipleResults = inputs.length > 1 || inputs[0] === '-';
  if (json) out.line(jsonLine({ type: 'header', format: RESULTS_FORMAT, version: RESULTS_VERSION, keyscope: keyscopeVersion(), files: [...inputs], latencyBuckets: [...LATENCY_BUCKETS], capture: MERGED_CAPTURE }));
  for (const name of inputs) {
    const err = await readResults(name, merger);
    if (err !== undefined) {
      out.flush();
      process.stderr.write(`keyscope merge: ${escapeText(err)}\n`);
      return ExitCode.unusable;
    }
  }
  if (merger.results === 0) {
    process.stderr.write('keyscope merge: no results in the input\n');
    return ExitCode.unusable;
  }
  const stats = merger.mergedStats();
  if (json) {
    for (const u of merger.mergedUes()) out.line(jsonLine({ ...ueJson(u), capture: MERGED_CAPTURE }));
    out.line(jsonLine({ ...statsJson(stats, merger.sketchBase64()), captures: merger.captures, capture: MERGED_CAPTURE }));
  } else {
    merger.completeAnomalyExamples();
    if (merger.results > 1) out.line(`merged ${merger.results} results: ${merger.captures.map((c) => escapeText(c)).join(', ')}`);
    for (const l of analysisReport(merger.collector, stats)) out.line(l);
  }
  out.flush();
  const worst = worstSeverity(stats);
  const failOn = opts.failOn ?? 'error';
  if (failOn !== 'never' && worst !== undefined && SEVERITY_RANK[worst] >= SEVERITY_RANK[failOn]) return ExitCode.findings;
  return ExitCode.ok;
}

/** Every line of one input into the merger; the error as one line, or undefined. */
async function readResults(name: string, merger: ResultMerger): Promise<string | undefined> {
  const input = name === '-' ? process.stdin : fs.createReadStream(name);
  const shown = name === '-' ? 'standard input' : name;
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const text of lines) {
      n++;
      merger.line(shown, n, text);
    }
    merger.end(shown, n);
    return undefined;
  } catch (err) {
    if (err instanceof MergeInputError) return err.message;
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code === 'string') return `cannot read ${shown}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EISDIR' ? 'is a directory' : e.code}`;
    throw err;
  } finally {
    lines.close();
    if (name !== '-') (input as fs.ReadStream).destroy();
  }
}
