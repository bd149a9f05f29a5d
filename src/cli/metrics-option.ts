/**
 * `--metrics [HOST:]PORT` (live, dash, analyze): serve Prometheus metrics of the run while it lasts (docs/metrics.md).
 * Off by default; loopback unless a host is given. `--metrics-linger SECONDS` keeps serving after the input ends
 * (a file read by `analyze` ends in moments; a Prometheus scraping every 15 s needs the endpoint a little longer);
 * Ctrl-C or SIGTERM ends the linger early.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { escapeText } from '../common/escape';
// type only: prom-client (≈ 11 MB of RSS once loaded) is loaded when --metrics is given, not by every run
import type { KeyscopeMetrics } from '../metrics/metrics';
import { MetricsServer, parseMetricsAddress, type MetricsAddress } from '../metrics/server';

export interface MetricsCliOptions {
  metrics?: MetricsAddress;
  metricsLinger?: number;
}

function parseAddress(value: string): MetricsAddress {
  try {
    return parseMetricsAddress(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function parseLinger(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 2 ** 31 / 1000) throw new InvalidArgumentError('a number of seconds (0 or more)');
  return n;
}

/** Add `--metrics` (and, for a command whose input ends, `--metrics-linger`). */
export function addMetricsOptions(cmd: Command, withLinger: boolean): Command {
  cmd.option('--metrics <[host:]port>', 'serve Prometheus metrics at http://HOST:PORT/metrics while running (host 127.0.0.1 unless given; port 0 picks one)', parseAddress);
  if (withLinger) cmd.option('--metrics-linger <s>', 'with --metrics: keep serving this many seconds after the input ends (Ctrl-C ends it sooner; default 0)', parseLinger);
  return cmd;
}

/** The metrics of one run and the endpoint that serves them. */
export interface MetricsRun {
  metrics: KeyscopeMetrics;
  server: MetricsServer;
  /** Keep serving `seconds` (or until SIGINT/SIGTERM), then close. */
  lingerAndClose(seconds: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Start the endpoint when `--metrics` was given; undefined when it was not, 'error' (reported on standard error)
 * when it cannot listen. The URL goes to standard error, so a script that asked for port 0 finds the one it got.
 */
export async function startMetrics(command: string, opts: MetricsCliOptions): Promise<MetricsRun | undefined | 'error'> {
  if (!opts.metrics) return undefined;
  const { KeyscopeMetrics } = await import('../metrics/metrics');
  const metrics = new KeyscopeMetrics({ command });
  let server: MetricsServer;
  try {
    server = await MetricsServer.start(metrics, opts.metrics);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`keyscope ${command}: --metrics ${escapeText(`${opts.metrics.host}:${opts.metrics.port}`)}: cannot listen: ${escapeText(e.code ?? e.message)}\n`);
    return 'error';
  }
  process.stderr.write(`keyscope ${command}: metrics at ${server.url}\n`);
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= server.close());
  return {
    metrics,
    server,
    close,
    lingerAndClose: async (seconds: number) => {
      if (seconds > 0) {
        process.stderr.write(`keyscope ${command}: input ended; serving metrics ${seconds} s more (Ctrl-C ends it)\n`);
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            process.off('SIGINT', done);
            process.off('SIGTERM', done);
            resolve();
          };
          const timer = setTimeout(done, seconds * 1000);
          process.on('SIGINT', done);
          process.on('SIGTERM', done);
        });
      }
      await close();
    },
  };
}
