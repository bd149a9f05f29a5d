/**
 * The analyzer options every command that correlates takes (`analyze`, `dash`, `live`, `export`): one definition,
 * so a timeout tuned for a lab means the same thing in a report, a dashboard and a live capture. Commands import
 * these from here rather than from each other.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CorrelatorOptions } from '../correlate/correlator';
import { CORRELATOR_DEFAULTS, DEFAULT_MAX_MEMORY_MB, MIN_MAX_MEMORY_MB, budgetFromMemory } from '../correlate/options';
import { parsePortList, parsePositiveInt, parseSeconds } from './options';

function parseMegabytes(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < MIN_MAX_MEMORY_MB) throw new InvalidArgumentError(`a whole number of megabytes, at least ${MIN_MAX_MEMORY_MB}`);
  return n;
}

/**
 * `--max-memory <MB>`: the one memory knob (docs/memory-budgets.md). The correlator's bounds (correlatorOptions) and
 * the dissection pipeline's (DissectorOptions.maxMemory) are both derived from it; `dissect` takes it too.
 */
export function maxMemoryOption(what = 'UEs, open transactions, ACK index, MUK counters, ACK table rows, '): Option {
  return new Option(
    '--max-memory <MB>',
    `size the state bounds (${what}open TCP connections, held frames, reassembly buffers) to about this many MB of peak memory (default ${DEFAULT_MAX_MEMORY_MB})`,
  ).argParser(parseMegabytes);
}

/** The correlation options (transaction ids depend on them). */
export interface CorrelationCliOptions {
  read?: string;
  keys?: string;
  mikeyPort?: number[];
  ackTimeout?: number;
  deliveryTimeout?: number;
  pullTimeout?: number;
  stormUes?: number;
  stormWindow?: number;
  bucket?: number;
  maxUes?: number;
  maxTransactions?: number;
  maxMemory?: number;
}

/** Panes of the dashboard (`dash`, `live --dash`). */
export interface DashboardCliOptions {
  keep?: number;
}

/** Transactions and diagnostics the dashboard panes keep, when --keep is not given. */
export const DEFAULT_DASHBOARD_KEEP = 1000;

export interface AnalyzerOptionSet {
  /** Add `-r, --read <capture>` (commands reading a capture file; not `live`). Default true. */
  read?: boolean;
  /** Add `--keys` and `--mikey-port` (a command that has its own wording for them says false). Default true. */
  keysAndPorts?: boolean;
}

export function addCorrelationOptions(cmd: Command, set: AnalyzerOptionSet = {}): Command {
  if (set.read ?? true) cmd.option('-r, --read <capture>', 'capture file (same as the argument)');
  if (set.keysAndPorts ?? true) {
    cmd
      .option('--keys <file>', 'key file (naf/muk/digest/msk lines): verify MACs and Digest responses')
      .addOption(new Option('--mikey-port <ports>', 'more UDP ports carrying MIKEY (2269 always), comma separated').argParser(parsePortList));
  }
  return cmd
    .option('--ack-timeout <s>', 'seconds a V-flagged MSK message waits for its ACK (default 10)', parseSeconds)
    .option('--delivery-timeout <s>', 'seconds from 200 OK to the MIKEY delivery (default 10)', parseSeconds)
    .option('--pull-timeout <s>', 'seconds a request waits for its response, a trigger for the UE\'s request (default 30)', parseSeconds)
    .option('--storm-ues <n>', 'request storm: this many UEs requesting (default 50) …', parsePositiveInt)
    .option('--storm-window <s>', '… within this many seconds (default 1)', parseSeconds)
    .option('--bucket <s>', 'ACK rate over time: bucket width in seconds (default 60)', parseSeconds)
    .option('--max-ues <n>', `UEs remembered at most; the least recently seen is forgotten (default ${CORRELATOR_DEFAULTS.maxUes})`, parsePositiveInt)
    .option('--max-transactions <n>', `open transactions at most; the oldest is closed early (default ${CORRELATOR_DEFAULTS.maxOpenTransactions}; both win over --max-memory)`, parsePositiveInt)
    .addOption(maxMemoryOption());
}

/** `--keep` for the dashboard's panes. */
export function addDashboardOptions(cmd: Command, prefix = ''): Command {
  return cmd.option('--keep <n>', `${prefix}transactions and diagnostics kept for the panes (default ${DEFAULT_DASHBOARD_KEEP})`, parsePositiveInt);
}

export function correlatorOptions(o: CorrelationCliOptions): CorrelatorOptions {
  const c: CorrelatorOptions = o.maxMemory !== undefined ? { ...budgetFromMemory(o.maxMemory) } : {};
  if (o.ackTimeout !== undefined) c.ackTimeout = o.ackTimeout;
  if (o.deliveryTimeout !== undefined) c.deliveryTimeout = o.deliveryTimeout;
  if (o.pullTimeout !== undefined) c.pullTimeout = o.pullTimeout;
  if (o.stormUes !== undefined) c.stormUes = o.stormUes;
  if (o.stormWindow !== undefined) c.stormWindow = o.stormWindow;
  if (o.bucket !== undefined) c.bucketSeconds = o.bucket;
  if (o.maxUes !== undefined) c.maxUes = o.maxUes;
  if (o.maxTransactions !== undefined) c.maxOpenTransactions = o.maxTransactions;
  return c;
}
