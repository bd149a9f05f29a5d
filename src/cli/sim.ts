import { Option, type Command } from 'commander';
import type { CommandRegistrar } from './main';
import { parsePositiveInt, parseSeconds } from './options';
import { loadScenarioFile, normaliseScenario, ScenarioError, type Scenario } from '../sim/scenario';
import { simulate } from '../sim/record';
import { CaptureError } from '../sim/capture';
import type { SimEvent } from '../sim/common';
import { loadShortfallLine, type SimRunResult } from '../sim/run';
import { escapeText } from '../common/escape';
import { outputClash, SAME_FILE_EXIT_CODE } from './output-paths';
import { jsonLine } from '../report/json-line';

export interface SimCliOptions {
  seed?: number;
  capture?: string;
  keysOut?: string;
  expectedOut?: string;
  duration?: number;
  load?: boolean;
  ues?: number;
  pushRate?: number;
  network?: string;
  httpPort?: number;
  json?: boolean;
  quiet?: boolean;
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) throw new ScenarioError('--seed must be a whole number in [0, 2^32-1]');
  return n;
}

function parseRate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 10_000) throw new ScenarioError('--push-rate must be a number in [0, 10000]');
  return n;
}

/** Where the command writes (standard output and error unless a test gives its own). */
export interface SimIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

const STD_IO: SimIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export const registerSimCommand: CommandRegistrar = (program, setExitCode) => simCommandRegistrar(STD_IO)(program, setExitCode);

export const simCommandRegistrar = (io: SimIo): CommandRegistrar => (program: Command, setExitCode) => {
  program
    .command('sim')
    .description('lab simulator: a BM-SC and UEs on loopback speaking HTTP Digest and MIKEY for real, with scripted faults')
    .argument('[scenario]', 'scenario file (JSON or YAML); see scenarios/')
    .option('--seed <n>', 'seed for every random value (overrides the scenario\'s)', parseSeed)
    .option('--capture <file>', 'record the run with tcpdump on lo into this pcap (- for standard output; events then go to standard error)')
    .option('--keys-out <file>', 'write the key file (naf/msk lines) for what was simulated')
    .option('--expected-out <file>', 'write the expected analyzer findings (JSON)')
    .option('--duration <seconds>', 'wall-time bound of the run', parseSeconds)
    .option('--load', 'load generator: many UEs and a steady push rate (no scenario file needed)')
    .addOption(new Option('--ues <n>', 'load: number of UEs').argParser(parsePositiveInt).default(1000))
    .addOption(new Option('--push-rate <r>', 'load: MSK pushes per second').argParser(parseRate).default(20))
    .option('--network <cidr>', 'a /16 inside 127.0.0.0/8 for the run, e.g. 127.77.0.0/16')
    .option('--http-port <port>', 'BM-SC HTTP port', parsePositiveInt)
    .option('--json', 'events as NDJSON, then a summary object')
    .option('-q, --quiet', 'only the summary')
    .action(async (file: string | undefined, opts: SimCliOptions) => {
      setExitCode(await runSimCli(file, opts, io));
    });
};

/** The load generator's scenario: `ues` UEs joining over a few seconds, then `pushRate` pushes per second. */
export function loadScenario(ues: number, pushRate: number, durationSeconds: number): Scenario {
  return normaliseScenario({
    name: 'load',
    description: `${ues} UEs, ${pushRate} pushes/s`,
    network: '127.78.0.0/16',
    httpPort: 18278,
    ues: [{ count: ues, deregister: false }],
    timing: { startMs: 100, mtkIntervalMs: 500, mtkRepeat: 1 },
    durationSeconds,
    load: { pushRate, rampSeconds: Math.min(10, Math.max(1, durationSeconds / 3)) },
  });
}

/** One event for people; details may quote what a peer sent (a realm, an IDr), so they are escaped. */
function eventLine(e: SimEvent): string {
  return `${(e.t / 1000).toFixed(3).padStart(8)}  ${e.actor.padEnd(5)} ${(e.ue ?? '').padEnd(15)} ${e.kind}${e.detail ? `  ${escapeText(e.detail, 300)}` : ''}`;
}

function summaryLines(r: SimRunResult): string[] {
  const out = [
    `scenario ${r.scenario.name}, seed ${r.seed}: ${r.ues.length} UEs, ${r.wallSeconds.toFixed(1)} s${r.timedOut ? ' (duration bound reached)' : ''}`,
    `BM-SC ${r.addresses.bmsc}: ${r.bmsc.httpRequests} HTTP requests (${r.bmsc.challenges} challenges, ${r.bmsc.authFailures} rejected), ${r.bmsc.mskMessages} MSK messages, ${r.bmsc.mtkMessages} MTK messages to ${r.addresses.group}, ${r.bmsc.acksVerified}/${r.bmsc.acksReceived} ACKs verified`,
  ];
  if (r.load) {
    const l = r.load;
    out.push(`load: asked ${l.askedPerSecond} pushes/s, achieved ${l.achievedPerSecond.toFixed(1)}/s (${l.pushes} pushes in ${l.seconds.toFixed(1)} s)`);
    const shortfall = loadShortfallLine(l);
    if (shortfall) out.push(shortfall);
  }
  const faulty = r.ues.filter((u) => u.faults.length > 0);
  if (r.ues.length <= 50) {
    for (const u of r.ues)
      out.push(`  UE ${u.address.padEnd(15)} ${u.variant} ${u.faults.length ? u.faults.join(',') : 'clean'}: deliveries ${u.stats.deliveriesAccepted} accepted ${u.stats.deliveriesRejected} rejected, ACKs ${u.stats.acksSent}, MTKs ${u.stats.mtksAccepted}, MSKs ${JSON.stringify(u.msks)}`);
  } else out.push(`  ${r.ues.length} UEs, ${faulty.length} with faults`);
  return out;
}

export async function runSimCli(file: string | undefined, opts: SimCliOptions, io: SimIo = STD_IO): Promise<number> {
  let sc: Scenario;
  try {
    if (opts.load) sc = loadScenario(opts.ues ?? 1000, opts.pushRate ?? 20, opts.duration ?? 30);
    else if (file) sc = loadScenarioFile(file);
    else {
      io.err('keyscope sim: give a scenario file, or --load\n');
      return 64;
    }
    if (opts.network || opts.httpPort) sc = normaliseScenario({ ...sc, network: opts.network ?? sc.network, httpPort: opts.httpPort ?? sc.httpPort });
  } catch (e) {
    io.err(`keyscope sim: ${(e as Error).message}\n`);
    return e instanceof ScenarioError ? 64 : 2;
  }
  const clash = outputClash(
    [{ option: '--capture', path: opts.capture }, { option: '--keys-out', path: opts.keysOut }, { option: '--expected-out', path: opts.expectedOut }],
    [{ option: 'scenario file', path: opts.load ? undefined : file }],
  );
  if (clash !== undefined) {
    io.err(`keyscope sim: ${clash}\n`);
    return SAME_FILE_EXIT_CODE;
  }
    // with the pcap on standard output, everything for people goes to standard error
  const toStdout = opts.capture === '-';
  const say = toStdout ? io.err : io.out;
  const onEvent = opts.quiet ? undefined : (e: SimEvent) => say(`${opts.json ? jsonLine({ type: 'event', ...e }) : eventLine(e)}\n`);
  try {
    const r = await simulate(sc, {
      seed: opts.seed, durationSeconds: opts.duration, capture: toStdout ? process.stdout : opts.capture, keysOut: opts.keysOut, expectedOut: opts.expectedOut, onEvent,
      maxEvents: opts.load ? 0 : undefined, command: `keyscope sim ${process.argv.slice(3).join(' ')}`.trim(),
    });
    if (opts.json) say(`${jsonLine({ type: 'summary', scenario: r.scenario.name, seed: r.seed, wallSeconds: r.wallSeconds, timedOut: r.timedOut, bmsc: r.bmsc, ...(r.load ? { load: r.load } : {}), ues: r.ues })}\n`);
    else for (const l of summaryLines(r)) say(`${l}\n`);
    // a load run that delivered less than asked says so on standard error too, whatever the summary's format
    // (the run still did what it could: exit 0)
    const shortfall = r.load ? loadShortfallLine(r.load) : '';
    if (shortfall && (opts.json || say !== io.err)) io.err(`keyscope sim: ${shortfall}\n`);
    return 0;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const hint = err.code === 'EADDRINUSE' ? ' (another run on the same network/port? use --network / --http-port)' : '';
    io.err(`keyscope sim: ${e instanceof CaptureError ? '' : 'run failed: '}${err.message}${hint}\n`);
    return 2;
  }
}
