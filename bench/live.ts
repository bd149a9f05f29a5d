/**
 * `npm run bench -- --live`: keyscope live against tcpdump on the same traffic, at set packet rates.
 *
 * A realistic MBMS mix (bench/generate.ts, LOOPBACK_PLAN: every address in 127.172.0.0/16, the live benchmark's own
 * /16, ports 1727x besides MIKEY's and GTP-U's) is replayed onto lo by tcpreplay at each rate, after src/sim/replay.ts
 * has checked every frame is loopback-only. The frames carry a non-zero unicast destination MAC that is not lo's
 * (00:00:00:00:00:00), so the kernel marks them PACKET_OTHERHOST: capture taps see them, the IP stack drops them —
 * no RSTs or ICMP unreachables echo back and pollute the comparison. For every rate × mode (text, --dash in a tmux
 * pane) × engine (cap, tcpdump): tcpdump -w as the oracle, keyscope live -w beside it; then packets each saw, loss,
 * keyscope's own drop/loss figure, CPU seconds of keyscope's process tree, peak and start/end RSS, timestamp
 * agreement with tcpdump's, and whether `keyscope analyze` of both files agrees — by content (findings by code, UE,
 * addresses and time, transactions by procedure, UE, verdict and start, times ±ANALYZE_TIME_TOLERANCE_S), never by
 * frame number, which one missing packet would shift for the rest of the file. A benchmark, not a test: nothing
 * here passes or fails on speed; it prints a table.
 *   npm run bench -- --live --seconds 20 --rates 10000,50000 --modes text,dash --engines cap,tcpdump
 * `--net 127.N` moves the whole mix into another loopback /16 (default 127.172).
 * Every run (text and --dash: SIGINT drains the dashboard as it drains text mode, then it prints the same summary)
 * also compares keyscope live's OWN findings (live --findings-json) with analyze of tcpdump's file: findings
 * live made that did not happen (spurious), how many of those lack the "possibly capture loss" caveat (a UE or the
 * BM-SC accused for the capture's fault: issue #12), and findings live missed.
 * `--cpu-prof DIR` runs keyscope live under node --cpu-prof (a profile per run in DIR: where the time goes; the
 * capture process takes node options from KEYSCOPE_DRAIN_NODE_ARGS). `--rss-series` prints the RSS of each process of
 * keyscope's tree every 5 s; `--heap-snapshots DIR --snap-at 20,60` has keyscope live (text) write heap snapshots
 * at those seconds. `--buffer KiB` sets -B for keyscope and tcpdump.
 * Needs root (capture on lo), tcpdump, tcpreplay and tmux (scripts/install-system-deps.sh).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCapture } from '../src/capture/reader';
import { parseTcpdumpCounters, tcpdumpLoss } from '../src/capture/tcpdump-engine';
import { exited, killGroup, spawnTied } from '../src/common/tied-process';
import { replayOnLoopback, type ReplayResult } from '../src/sim/replay';
import { generateBenchCapture, LOOPBACK_PLAN, type AddressPlan } from './generate';

/**
 * The benchmark's loopback /16 (127.172 unless `--net 127.N`: another loopback /16, so two benchmarks or a test
 * replaying in 127.172 at the same time do not mix their traffic into each other's captures).
 */
const BENCH_NET = benchNet(arg('--net') ?? '127.172');
/** The capture filter both captures use: the benchmark's /16 only (other developers' loopback traffic stays out). */
export const LIVE_BENCH_FILTER = `net ${BENCH_NET.text}.0.0/16`;
/** LOOPBACK_PLAN moved into the benchmark's /16. */
const BENCH_PLAN: AddressPlan = (() => {
  const move = (a: number) => ((0x7f << 24) | (BENCH_NET.second << 16) | (a & 0xffff)) >>> 0;
  return { ...LOOPBACK_PLAN, ueBase: move(LOOPBACK_PLAN.ueBase), bmsc: move(LOOPBACK_PLAN.bmsc), group: move(LOOPBACK_PLAN.group), clientBase: move(LOOPBACK_PLAN.clientBase), httpServer: move(LOOPBACK_PLAN.httpServer), enb: move(LOOPBACK_PLAN.enb), sgw: move(LOOPBACK_PLAN.sgw) };
})();

function benchNet(value: string): { text: string; second: number } {
  const m = /^127\.(\d{1,3})$/.exec(value);
  const second = m ? Number(m[1]) : NaN;
  if (!(second >= 0 && second <= 255)) throw new Error(`--net: a loopback /16 as 127.N, not ${value}`);
  return { text: value, second };
}
/** Default seconds of traffic per run (a quick run); the issue's benchmark wants --seconds 20. */
export const DEFAULT_LIVE_SECONDS = 5;
export const DEFAULT_LIVE_RATES = [10_000, 50_000, 100_000];
/** How long a capture may take to start (tcpdump's "listening on", keyscope's "capturing on" or the dash's pid file). */
const START_TIMEOUT_MS = 20_000;
/** Wait after the start line before traffic: the dashboard draws its first screen, libpcap settles. */
const SETTLE_MS = 1_500;
/** After the replay, time for the captures to take what the kernel buffered before they are stopped. */
const DRAIN_MS = 3_000;
/**
 * A stopped keyscope drains what its capture process still queues (memory and disk spool) before it exits: it gets
 * EXIT_BASE_MS plus the time to analyse every frame sent at EXIT_MIN_FRAMES_PER_S (far below what it does even on a
 * loaded machine) — sized by the frames queued, not a fixed few seconds — and is killed earlier only when its
 * process tree has used no CPU for EXIT_STALL_MS (stuck, not draining).
 */
const EXIT_BASE_MS = 60_000;
const EXIT_MIN_FRAMES_PER_S = 2_000;
const EXIT_STALL_MS = 30_000;
/** RSS sampling interval during the replay. */
const SAMPLE_MS = 1_000;
/** With --rss-series: one row of the RSS series every this many samples (5 s). */
const RSS_SERIES_EVERY = 5;
/** Frames whose timestamps are compared with tcpdump's, at most (memory of the matching map stays bounded). */
const MAX_TIMESTAMP_SAMPLES = 300_000;
/** Dashboard terminal size in the tmux pane. */
const DASH_COLS = 160;
const DASH_ROWS = 48;
/** Kernel clock ticks per second for /proc/<pid>/stat (USER_HZ is 100 on every Linux this runs on). */
const CLOCK_TICKS = 100;
/**
 * Kernel capture buffer given to every capture (KiB), the same for the oracle and keyscope (`--buffer KiB`; default
 * 32768). On lo an immediate-mode ring takes a 128 KiB slot per packet: 32 MiB is only ~256 packets.
 */
const BUFFER_KIB = Number(arg('--buffer') ?? 32_768);
/**
 * `--snaplen N`: keyscope's snapshot length (`live -s`); default keyscope's own (262144, as tcpdump's). An immediate-
 * mode ring's slot is sized by the snapshot length up to the interface's MTU (64 KiB on lo), so a snapshot length
 * just above the mix's largest frame (1 040 bytes) gives the same 32 MiB ring ~15 k slots instead of ~256: the
 * experiment that tells the kernel ring's size from the capture process's speed as the cause of kernel loss.
 * The oracle keeps `-s 0` (it runs without immediate mode: a block ring, packets packed).
 */
const KEYSCOPE_SNAPLEN = arg('--snaplen');

type Mode = 'text' | 'dash';
type Engine = 'cap' | 'cap-inline' | 'tcpdump' | 'dumpcap';

interface RunResult {
  rate: number;
  mode: Mode;
  engine: Engine;
  replay: ReplayResult;
  tcpdumpSaw: number;
  tcpdumpDropped: number | undefined;
  keyscopeSaw: number;
  keyscopeFileFrames: number;
  /** keyscope's own drop counter ("unknown" for cap) and its TCP loss estimate. */
  keyscopeDropped: string;
  /** The capture process's disk spool at its fullest (MiB; 0 when nothing was spooled). */
  spoolPeakMiB: number | undefined;
  /** Seconds from the end of the replay until keyscope had analysed everything and exited (DRAIN_MS included). */
  drainSeconds: number | undefined;
  keyscopeLossEstimate: string;
  cpuSeconds: number | undefined;
  peakRssMiB: number | undefined;
  rssFirstMiB: number | undefined;
  rssLastMiB: number | undefined;
  /** Every RSS_SERIES_EVERY samples: seconds since start and VmRSS (MiB) of each process of keyscope's tree. */
  rssSeries: Array<{ t: number; mib: number[] }>;
  ts: TimestampAgreement | undefined;
  analyzeEqual: string;
  /** keyscope live's own findings (--findings-json, text and --dash) against analyze of tcpdump's file. */
  liveFindings: LiveFindingsComparison | undefined;
  error?: string;
}

/**
 * keyscope live's own diagnostics compared by content with those of `analyze` of the oracle's file (what really
 * happened on the wire): `spurious` — live made it, the oracle has no partner; `spuriousBare` — of those, the ones
 * without the "possibly capture loss" caveat (a UE or the BM-SC accused for the capture's fault); `missed` — the
 * oracle has it, live has no partner; `caveatOnReal` — live qualified a finding the oracle also has.
 */
interface LiveFindingsComparison {
  live: number;
  oracle: number;
  spurious: number;
  spuriousBare: number;
  missed: number;
  caveatOnReal: number;
  /** The bare spurious ones, for the diagnosis: "code ue time". */
  bare: string[];
}

interface TimestampAgreement {
  matched: number;
  medianUs: number;
  p99Us: number;
  maxUs: number;
  /** Share of matched frames within 0.1 ms of tcpdump's stamp. */
  within100us: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function list<T extends string>(value: string | undefined, all: readonly T[]): T[] {
  if (value === undefined) return [...all];
  const out = value.split(',').map((s) => s.trim()) as T[];
  for (const v of out) if (!all.includes(v)) throw new Error(`unknown value ${v}: one of ${all.join(', ')}`);
  return out;
}

function haveCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore', timeout: 5000 }).status === 0;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll until `ok()` or the deadline; false when the deadline passed. */
async function waitFor(ok: () => boolean, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (ok()) return true;
    await sleep(stepMs);
  }
  return ok();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** A process and its descendants (from /proc/<pid>/task/<tid>/children). */
function processTree(pid: number, depth = 0): number[] {
  const out = [pid];
  if (depth > 4) return out;
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    for (const c of readText(`/proc/${pid}/task/${t}/children`).split(/\s+/).filter(Boolean)) out.push(...processTree(Number(c), depth + 1));
  }
  return out;
}

/** utime + stime of a process, seconds. */
function cpuSecondsOf(pid: number): number {
  const stat = readText(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[11] is utime, fields[12] stime (fields 14 and 15 of proc(5), counted from after the command name)
  return fields.length > 13 ? (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS : 0;
}

/** A figure of /proc/PID/status texts (a process tree's, each read once) summed (peaks: the sum of each one's peak). */
function treeKiB(statuses: readonly string[], key: 'VmRSS' | 'VmHWM'): number | undefined {
  const values = statuses.map((s) => statusKiB(s, key)).filter((v): v is number => v !== undefined);
  return values.length > 0 ? values.reduce((a, b) => a + b, 0) : undefined;
}

/** A figure of one /proc/PID/status text. */
function statusKiB(status: string, key: 'VmRSS' | 'VmHWM'): number | undefined {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : undefined;
}

/** The oracle: tcpdump -w on lo with the benchmark's filter, as a tied child. */
async function startOracle(file: string, errFile: string): Promise<ChildProcess> {
  const err = fs.openSync(errFile, 'w');
  const child = spawnTied('tcpdump', ['-i', 'lo', '-U', '-n', '-s', '0', '-B', String(BUFFER_KIB), '--time-stamp-precision=nano', '-w', file, LIVE_BENCH_FILTER], {
    stdio: ['ignore', 'ignore', err],
  });
  fs.closeSync(err);
  if (!(await waitFor(() => readText(errFile).includes('listening on'), START_TIMEOUT_MS))) throw new Error(`tcpdump did not start: ${readText(errFile)}`);
  return child;
}

interface KeyscopeRun {
  pid: number;
  errFile: string;
  child?: ChildProcess;
  tmuxSocket?: string;
}

const REPO = path.resolve(__dirname, '..', '..');
const KEYSCOPE = path.join(REPO, 'bin', 'keyscope.js');

function keyscopeArgs(engine: Engine, out: string, dash: boolean): string[] {
  // live also writes its own findings, machine-readable, beside the capture (compared with the oracle's), text or --dash
  const findings = ['--findings-json', path.join(path.dirname(out), 'keyscope-findings.ndjson')];
  return ['live', '-i', 'lo', '-f', LIVE_BENCH_FILTER, '--engine', engine, '-B', String(BUFFER_KIB), ...(KEYSCOPE_SNAPLEN ? ['-s', KEYSCOPE_SNAPLEN] : []), '-w', out, ...findings, ...(dash ? ['--dash'] : [])];
}

/** `--cpu-prof DIR`: keyscope live runs under node --cpu-prof, its profile written into DIR (where time goes). */
function nodeArgs(): string[] {
  const dir = arg('--cpu-prof');
  const snaps = arg('--heap-snapshots');
  return [
    ...(dir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`] : []),
    ...(snaps ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${path.resolve(snaps)}`] : []),
  ];
}

/** `--heap-snapshots DIR --snap-at 20,60`: keyscope live (text mode) writes a heap snapshot into DIR at these seconds. */
function snapshotTimes(): number[] {
  if (!arg('--heap-snapshots')) return [];
  return (arg('--snap-at') ?? '20,60').split(',').map(Number).filter((n) => Number.isFinite(n) && n >= 0);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

async function startKeyscope(mode: Mode, engine: Engine, dir: string): Promise<KeyscopeRun> {
  const errFile = path.join(dir, 'keyscope.err');
  const out = path.join(dir, 'keyscope.pcap');
  if (mode === 'text') {
    // frame lines go to /dev/null: writing them is part of text mode's cost, reading them back would add ours
    const devnull = fs.openSync('/dev/null', 'w');
    const err = fs.openSync(errFile, 'w');
    const child = spawnTied(process.execPath, [...nodeArgs(), KEYSCOPE, ...keyscopeArgs(engine, out, false)], { stdio: ['ignore', devnull, err] });
    fs.closeSync(devnull);
    fs.closeSync(err);
    if (child.pid === undefined) throw new Error('keyscope live did not start');
    if (!(await waitFor(() => readText(errFile).includes('capturing on'), START_TIMEOUT_MS))) throw new Error(`keyscope live did not start: ${readText(errFile)}`);
    return { pid: child.pid, errFile, child };
  }
  // --dash in a tmux pane of a tmux server of our own (killed at the end); the pane's shell writes its pid and
  // execs keyscope, so the pid is keyscope's; standard error (the exit summary) goes to a file
  const socket = `keyscope-livebench-${process.pid}`;
  const pidFile = path.join(dir, 'keyscope.pid');
  const line = `echo $$ > ${shellQuote(pidFile)}; exec ${shellQuote(process.execPath)} ${[...nodeArgs(), KEYSCOPE, ...keyscopeArgs(engine, out, true)].map(shellQuote).join(' ')} 2> ${shellQuote(errFile)}`;
  const r = spawnSync('tmux', ['-L', socket, 'new-session', '-d', '-s', 'bench', '-x', String(DASH_COLS), '-y', String(DASH_ROWS), '-e', 'TERM=xterm-256color', line], { timeout: 10_000 });
  if (r.status !== 0) throw new Error(`tmux failed: ${r.stderr?.toString() ?? ''}`);
  if (!(await waitFor(() => /^\d+\s*$/.test(readText(pidFile)), START_TIMEOUT_MS))) throw new Error('the dashboard did not start');
  const pid = Number(readText(pidFile).trim());
  // the dashboard prints nothing on standard error while it runs: give it the time to open the capture and draw
  await sleep(SETTLE_MS);
  if (!alive(pid)) throw new Error(`keyscope live --dash ended at once: ${readText(errFile)}`);
  return { pid, errFile, tmuxSocket: socket };
}

async function stopKeyscope(k: KeyscopeRun, queuedFrames: number): Promise<void> {
  if (alive(k.pid)) process.kill(k.pid, 'SIGINT');
  const waitMs = EXIT_BASE_MS + (queuedFrames / EXIT_MIN_FRAMES_PER_S) * 1000;
  const until = Date.now() + waitMs;
  let cpu = -1;
  let movedAt = Date.now();
  const ok = await waitFor(() => {
    if (!alive(k.pid)) return true;
    const now = processTree(k.pid).reduce((s, p) => s + cpuSecondsOf(p), 0);
    if (now !== cpu) {
      cpu = now;
      movedAt = Date.now();
    }
    return Date.now() > until || Date.now() - movedAt > EXIT_STALL_MS;
  }, waitMs + 1000, 200) && !alive(k.pid);
  if (!ok) {
    if (k.child) killGroup(k.child);
    else process.kill(k.pid, 'SIGKILL');
  }
  if (k.child) await exited(k.child);
  if (k.tmuxSocket) spawnSync('tmux', ['-L', k.tmuxSocket, 'kill-server'], { stdio: 'ignore', timeout: 10_000 });
}

/** Frames in a capture file and, for timestamp matching, a content hash → stamps (ns) map. */
async function readStamps(file: string, keep: boolean): Promise<{ frames: number; stamps: Map<string, bigint[]> }> {
  const stamps = new Map<string, bigint[]>();
  let kept = 0;
  const summary = await readCapture(file, (f) => {
    if (!keep || kept >= MAX_TIMESTAMP_SAMPLES) return;
    kept++;
    const key = createHash('sha1').update(f.data.subarray(0, f.capturedLength)).digest('base64');
    const t = BigInt(f.tsSec) * 1_000_000_000n + BigInt(f.tsNsec);
    const q = stamps.get(key);
    if (q) q.push(t);
    else stamps.set(key, [t]);
  });
  return { frames: summary.frames, stamps };
}

/**
 * The same frames in both files, by content: |keyscope − tcpdump| per frame. Only contents that occur exactly once in
 * each file are paired: the mix repeats some datagrams byte for byte, and pairing repeats in order would compare
 * different packets as soon as one copy was lost.
 */
function compareStamps(oracle: Map<string, bigint[]>, ks: Map<string, bigint[]>): TimestampAgreement | undefined {
  const deltas: number[] = [];
  for (const [key, list] of ks) {
    const o = oracle.get(key);
    if (!o || o.length !== 1 || list.length !== 1) continue;
    deltas.push(Math.abs(Number(list[0] - o[0])) / 1000);
  }
  if (deltas.length === 0) return undefined;
  deltas.sort((a, b) => a - b);
  const at = (q: number) => deltas[Math.min(deltas.length - 1, Math.floor(q * deltas.length))];
  return { matched: deltas.length, medianUs: at(0.5), p99Us: at(0.99), maxUs: deltas[deltas.length - 1], within100us: deltas.filter((d) => d <= 100).length / deltas.length };
}

interface AnalyzeDigest {
  /** Findings (diagnostics and anomalies) by content key: their times. */
  findings: Map<string, number[]>;
  /** Diagnostics only, by the same key: their times and whether they carry the capture-loss caveat. */
  diagnostics: Map<string, Array<{ t: number; caveat: boolean }>>;
  /** Transactions by (procedure, UE, verdict): their start times. */
  transactions: Map<string, number[]>;
  acks: string;
}

/**
 * Two analyses agree on an item when it has the same key (below) and times within this many seconds: the two files'
 * stamps come from different clocks (keyscope's capture process vs the kernel's, up to a few ms apart), so times are
 * paired with a tolerance rather than compared exactly, and never by frame number (one packet missing from one file
 * would shift every frame number after it).
 */
const ANALYZE_TIME_TOLERANCE_S = 0.05;
/** Spurious findings without the caveat listed per code after the table, at most. */
const BARE_EXAMPLES = 3;

/**
 * `keyscope analyze --json` of a file, by content: findings keyed by code, UE and addresses (transaction's UE and
 * BM-SC, or the anomaly's layer), transactions by procedure, UE and verdict, each with its time (finding: its packet
 * time; transaction: its start); and the ACK figures of its stats.
 */
function analyzeDigest(file: string): AnalyzeDigest {
  // into a file, read back line by line: a loss run's analysis can pass V8's longest string (512 MiB)
  const outFile = `${file}.analyze.ndjson`;
  const fd = fs.openSync(outFile, 'w');
  let r;
  try {
    r = spawnSync(process.execPath, [KEYSCOPE, 'analyze', '--json', file], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 600_000 });
  } finally {
    fs.closeSync(fd);
  }
  try {
    if (r.status !== 0 && r.status !== 1) throw new Error(`analyze ${file} failed (${r.status}): ${(r.stderr ?? '').slice(-300)}`);
    return digestRecords(fileLines(outFile));
  } finally {
    fs.rmSync(outFile, { force: true });
  }
}

/** The lines of a file, read in chunks (no whole-file string). */
function* fileLines(file: string): Generator<string> {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    let rest = '';
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const text = rest + buf.toString('utf8', 0, n);
      const parts = text.split('\n');
      rest = parts.pop() ?? '';
      yield* parts;
    }
    if (rest) yield rest;
  } finally {
    fs.closeSync(fd);
  }
}

/** NDJSON records as analyze --json (or live --findings-json) writes them, by content. */
function digestRecords(lines: Iterable<string>): AnalyzeDigest {
  const findings = new Map<string, number[]>();
  const transactions = new Map<string, number[]>();
  const txAddr = new Map<string, string>();
  const add = (m: Map<string, number[]>, key: string, ts: number) => {
    const l = m.get(key);
    if (l) l.push(ts);
    else m.set(key, [ts]);
  };
  let acks = '';
  // kept small: a loss run's analysis has hundreds of thousands of records (diagnostics name their transaction,
  // which may come later in the stream: resolved after the read)
  const recs: Array<Record<string, unknown>> = [];
  const diagnostics = new Map<string, Array<{ t: number; caveat: boolean }>>();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    const rec = JSON.parse(line) as Record<string, unknown>;
    if (rec.type === 'transaction') {
      txAddr.set(String(rec.id), `${rec.ue ?? ''}>${rec.bmsc ?? ''}`);
      add(transactions, `${rec.procedure}|${rec.ue ?? ''}|${rec.verdict}`, Number(rec.start));
    } else if (rec.type === 'stats') acks = JSON.stringify(ackFigures(rec));
    else if (rec.type === 'diagnostic') recs.push({ type: rec.type, code: rec.code, ue: rec.ue, transaction: rec.transaction, ts: rec.ts, possibleCaptureLoss: rec.possibleCaptureLoss });
    else if (rec.type === 'anomaly') recs.push({ type: rec.type, code: rec.code, layer: rec.layer, ts: rec.ts });
  }
  for (const rec of recs) {
    if (rec.type === 'diagnostic') {
      const who = rec.transaction !== undefined ? (txAddr.get(String(rec.transaction)) ?? '') : '';
      const key = `diag ${rec.code}|${rec.ue ?? ''}|${who}`;
      add(findings, key, Number(rec.ts));
      const l = diagnostics.get(key) ?? [];
      l.push({ t: Number(rec.ts), caveat: rec.possibleCaptureLoss === true });
      diagnostics.set(key, l);
    } else if (rec.type === 'anomaly') add(findings, `anomaly ${rec.code}|${rec.layer ?? ''}`, Number(rec.ts));
  }
  return { findings, transactions, acks, diagnostics };
}

/**
 * live's own diagnostics against the oracle's, paired as unmatched() pairs (same key, time within the tolerance,
 * in time order); what stays unpaired on live's side is spurious, on the oracle's missed.
 */
function compareLiveFindings(live: AnalyzeDigest, oracle: AnalyzeDigest): LiveFindingsComparison {
  const out: LiveFindingsComparison = { live: 0, oracle: 0, spurious: 0, spuriousBare: 0, missed: 0, caveatOnReal: 0, bare: [] };
  for (const key of new Set([...live.diagnostics.keys(), ...oracle.diagnostics.keys()])) {
    const x = [...(live.diagnostics.get(key) ?? [])].sort((p, q) => p.t - q.t);
    const y = [...(oracle.diagnostics.get(key) ?? [])].sort((p, q) => p.t - q.t);
    out.live += x.length;
    out.oracle += y.length;
    const pairedX = new Set<number>();
    let i = 0;
    let j = 0;
    let paired = 0;
    while (i < x.length && j < y.length) {
      const d = x[i].t - y[j].t;
      if (Math.abs(d) <= ANALYZE_TIME_TOLERANCE_S) {
        pairedX.add(i);
        if (x[i].caveat) out.caveatOnReal++;
        paired++;
        i++;
        j++;
      } else if (d < 0) i++;
      else j++;
    }
    out.missed += y.length - paired;
    x.forEach((f, n) => {
      if (pairedX.has(n)) return;
      out.spurious++;
      if (!f.caveat) {
        out.spuriousBare++;
        out.bare.push(`${key.slice(5)} t=${f.t.toFixed(6)}`);
      }
    });
  }
  return out;
}

/** Items of `a` without a partner in `b` (same key, time within the tolerance), and the other way round. */
function unmatched(a: Map<string, number[]>, b: Map<string, number[]>): [number, number] {
  let onlyA = 0;
  let onlyB = 0;
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = [...(a.get(key) ?? [])].sort((p, q) => p - q);
    const y = [...(b.get(key) ?? [])].sort((p, q) => p - q);
    let i = 0;
    let j = 0;
    let paired = 0;
    while (i < x.length && j < y.length) {
      const d = x[i] - y[j];
      if (Math.abs(d) <= ANALYZE_TIME_TOLERANCE_S) {
        paired++;
        i++;
        j++;
      } else if (d < 0) i++;
      else j++;
    }
    onlyA += x.length - paired;
    onlyB += y.length - paired;
  }
  return [onlyA, onlyB];
}
/** Every numeric field of the stats record whose name mentions ACKs (the delivery/ACK counters), sorted by name. */
function ackFigures(rec: Record<string, unknown>, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(rec)) {
    const name = prefix ? `${prefix}.${k}` : k;
    // counts only: latencies (latency.mikeyToAck…) follow each file's clock, which differ by design
    if (name.startsWith('latency')) continue;
    if (typeof v === 'number' && /ack/i.test(name)) out[name] = v;
    else if (v && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, ackFigures(v as Record<string, unknown>, name));
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** "equal", or how many findings and transactions differ (keyscope's -w analysis vs tcpdump's). */
function compareAnalyses(a: AnalyzeDigest, b: AnalyzeDigest): string {
  const [fa, fb] = unmatched(a.findings, b.findings);
  const [ta, tb] = unmatched(a.transactions, b.transactions);
  const acksEqual = a.acks === b.acks;
  const count = (m: Map<string, number[]>) => [...m.values()].reduce((s, l) => s + l.length, 0);
  if (fa + fb + ta + tb === 0 && acksEqual) return `equal (${count(a.findings)} findings, ${count(a.transactions)} tx)`;
  return `${fa + fb} findings differ (${fa} only ks, ${fb} only td), ${ta + tb} tx differ (${ta}/${tb})${acksEqual ? '' : ', ACK stats differ'}`;
}

/** keyscope's exit summary: "N packets captured, D dropped (…)|dropped unknown (…), loss estimate X % …". */
function parseKeyscopeSummary(text: string): { captured?: number; dropped: string; loss: string; spoolPeakMiB: number | undefined } {
  // "capture queue: N frames went through the disk spool (peak M MB)", only when something was spooled or dropped
  const spool = /capture queue: \d+ frames went through the disk spool \(peak ([\d.]+) MB\)/.exec(text);
  const spoolPeakMiB = spool ? Number(spool[1]) : /capturing on/.test(text) ? 0 : undefined;
  return { ...parseDrops(text), spoolPeakMiB };
}

function parseDrops(text: string): { captured?: number; dropped: string; loss: string } {
  const m = /(\d+) packets captured, (?:(\d+) dropped by keyscope's capture queue[^,]*, )?(?:(\d+) dropped|dropped (?:by the kernel )?unknown)[^,]*(?:\([^)]*\))?, loss estimate ([\d.]+) %/.exec(text);
  if (!m) return { dropped: '?', loss: '?' };
  const kernel = m[3] ?? 'unknown';
  // captured but never analysed: still queued when keyscope was told to stop (the dashboard's q)
  const left = /(\d+) more captured \(and in -w\) but not analysed/.exec(text)?.[1];
  const dropped = `${m[2] !== undefined ? `q ${m[2]} + k ${kernel}` : kernel}${left ? ` (+${left} unanalysed at stop)` : ''}`;
  return { captured: Number(m[1]), dropped, loss: `${m[4]} %` };
}

/** The oracle's counters; its loss as keyscope's tcpdump engine reads it on lo (the kernel counts each packet twice there). */
function parseTcpdumpSummary(text: string): { captured?: number; dropped?: number } {
  const c = parseTcpdumpCounters(text);
  const dropped = tcpdumpLoss(c, true);
  return { ...(c.captured !== undefined ? { captured: c.captured } : {}), ...(dropped !== undefined ? { dropped } : {}) };
}

async function runOne(capture: string, rate: number, seconds: number, mode: Mode, engine: Engine, root: string): Promise<RunResult> {
  const dir = fs.mkdtempSync(path.join(root, `${rate}-${mode}-${engine}-`));
  const oracleFile = path.join(dir, 'tcpdump.pcap');
  const oracleErr = path.join(dir, 'tcpdump.err');
  const oracle = await startOracle(oracleFile, oracleErr);
  let ks: KeyscopeRun | undefined;
  const rss: number[] = [];
  const series: Array<{ t: number; mib: number[] }> = [];
  let cpu: number | undefined;
  let peak: number | undefined;
  let replay: ReplayResult;
  let replayEnded: number | undefined;
  let drainSeconds: number | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    ks = await startKeyscope(mode, engine, dir);
    const pid = ks.pid;
    const snapTimers = snapshotTimes().map((sec) => setTimeout(() => process.kill(pid, 'SIGUSR2'), sec * 1000));
    // sampled until keyscope exits: the drain after the replay (its capture process's spool emptied into the
    // analysis) is part of the run's CPU and memory
    sampler = setInterval(() => {
      // keyscope's whole tree: the capture process holds the queue and spool towards the analysis (one walk of the
      // tree, each process's status read once, per sample)
      const tree = processTree(pid);
      const statuses = tree.map((p) => readText(`/proc/${p}/status`));
      const v = treeKiB(statuses, 'VmRSS');
      if (v === undefined || !alive(pid)) return;
      rss.push(v);
      if (rss.length % RSS_SERIES_EVERY === 1) {
        series.push({ t: (rss.length - 1) * (SAMPLE_MS / 1000), mib: statuses.map((s) => (statusKiB(s, 'VmRSS') ?? 0) / 1024) });
      }
      const c = tree.reduce((s, p) => s + cpuSecondsOf(p), 0);
      if (cpu === undefined || c > cpu) cpu = c;
      const h = treeKiB(statuses, 'VmHWM');
      if (h !== undefined && (peak === undefined || h > peak)) peak = h;
    }, SAMPLE_MS);
    try {
      replay = await replayOnLoopback({ file: capture, pps: rate, limit: rate * seconds, durationSeconds: seconds + 5 });
      replayEnded = Date.now();
      await sleep(DRAIN_MS);
    } finally {
      for (const t of snapTimers) clearTimeout(t);
    }
  } finally {
    if (ks) await stopKeyscope(ks, rate * seconds);
    if (replayEnded !== undefined && ks) drainSeconds = (Date.now() - replayEnded) / 1000;
    if (sampler) clearInterval(sampler);
    killGroup(oracle, 'SIGINT');
    await Promise.race([exited(oracle), sleep(10_000)]);
    killGroup(oracle, 'SIGKILL');
  }
  const td = parseTcpdumpSummary(readText(oracleErr));
  const ksSummary = parseKeyscopeSummary(readText(ks.errFile));
  const ksFile = path.join(dir, 'keyscope.pcap');
  const [o, k] = await Promise.all([readStamps(oracleFile, true), readStamps(ksFile, true)]);
  let analyzeEqual: string;
  let liveFindings: LiveFindingsComparison | undefined;
  try {
    const oracleDigest = analyzeDigest(oracleFile);
    analyzeEqual = compareAnalyses(analyzeDigest(ksFile), oracleDigest);
    const findingsFile = path.join(dir, 'keyscope-findings.ndjson');
    if (!fs.existsSync(findingsFile)) throw new Error('keyscope live wrote no --findings-json file');
    liveFindings = compareLiveFindings(digestRecords(fileLines(findingsFile)), oracleDigest);
  } catch (err) {
    analyzeEqual = `analyze failed: ${(err as Error).message.slice(0, 120)}`;
  }
  const mib = (k?: number) => (k === undefined ? undefined : k / 1024);
  const result: RunResult = {
    rate, mode, engine, replay,
    tcpdumpSaw: o.frames,
    tcpdumpDropped: td.dropped,
    keyscopeSaw: ksSummary.captured ?? k.frames,
    keyscopeFileFrames: k.frames,
    keyscopeDropped: ksSummary.dropped,
    spoolPeakMiB: ksSummary.spoolPeakMiB,
    drainSeconds,
    keyscopeLossEstimate: ksSummary.loss,
    cpuSeconds: cpu,
    peakRssMiB: mib(peak),
    rssFirstMiB: mib(rss[0]),
    rssLastMiB: mib(rss[rss.length - 1]),
    rssSeries: series,
    ts: compareStamps(o.stamps, k.stamps),
    analyzeEqual,
    liveFindings,
  };
  if (!process.argv.includes('--keep')) fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

function fmt(n: number | undefined, digits = 0): string {
  return n === undefined ? 'n/a' : n.toFixed(digits);
}

function table(results: RunResult[]): string {
  const head = ['rate/s', 'mode', 'engine', 'sent', 'tcpdump', 'drop', 'ks -w', 'loss %', 'ks analysed', 'an. loss %', 'ks drop', 'ks est', 'spool MiB', 'drain s', 'CPU s', 'RSS MiB peak (start→end)', 'Δt µs med/p99/max', '≤0.1ms', 'analyze', 'live findings (oracle)', 'spurious', 'spur. no caveat', 'missed', 'caveat on real'];
  const rows = results.map((r) => {
    if (r.error) return [String(r.rate), r.mode, r.engine, `error: ${r.error}`];
    const loss = r.tcpdumpSaw > 0 ? ((r.tcpdumpSaw - r.keyscopeFileFrames) / r.tcpdumpSaw) * 100 : 0;
    const analysisLoss = r.tcpdumpSaw > 0 ? ((r.tcpdumpSaw - r.keyscopeSaw) / r.tcpdumpSaw) * 100 : 0;
    return [
      String(r.rate), r.mode, r.engine, fmt(r.replay.packetsSent), String(r.tcpdumpSaw), fmt(r.tcpdumpDropped), String(r.keyscopeFileFrames),
      loss.toFixed(2), String(r.keyscopeSaw), analysisLoss.toFixed(2), r.keyscopeDropped, r.keyscopeLossEstimate, fmt(r.spoolPeakMiB, 1), fmt(r.drainSeconds, 1), fmt(r.cpuSeconds, 1),
      `${fmt(r.peakRssMiB)} (${fmt(r.rssFirstMiB)}→${fmt(r.rssLastMiB)})`,
      r.ts ? `${fmt(r.ts.medianUs, 1)}/${fmt(r.ts.p99Us, 0)}/${fmt(r.ts.maxUs, 0)}` : 'n/a',
      r.ts ? `${(r.ts.within100us * 100).toFixed(1)} %` : 'n/a',
      r.analyzeEqual,
      ...(r.liveFindings
        ? [`${r.liveFindings.live} (${r.liveFindings.oracle})`, String(r.liveFindings.spurious), String(r.liveFindings.spuriousBare), String(r.liveFindings.missed), String(r.liveFindings.caveatOnReal)]
        : ['n/a', 'n/a', 'n/a', 'n/a', 'n/a']),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export async function runLiveBench(): Promise<number> {
  const seconds = Number(arg('--seconds') ?? DEFAULT_LIVE_SECONDS);
  const rates = (arg('--rates')?.split(',').map(Number) ?? DEFAULT_LIVE_RATES).filter((r) => Number.isFinite(r) && r > 0);
  const modes = list<Mode>(arg('--modes'), ['text', 'dash']);
  const engines = list<Engine>(arg('--engines'), ['cap', 'cap-inline', 'tcpdump', 'dumpcap']);
  if (!(seconds > 0) || rates.length === 0) throw new Error('--seconds and --rates must be positive');
  const tools = ['tcpdump', 'tcpreplay', 'tmux', ...(engines.includes('dumpcap') ? ['dumpcap'] : [])];
  const missing = tools.filter((c) => !haveCommand(c));
  if (missing.length > 0 || process.getuid?.() !== 0) {
    process.stderr.write(`bench --live needs root and ${tools.join(', ')} (missing: ${missing.join(', ') || 'root'}); scripts/install-system-deps.sh installs them\n`);
    return 1;
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-livebench-'));
  const capture = path.join(root, 'mix.pcap');
  try {
    const packets = Math.max(...rates) * seconds;
    process.stdout.write(`generating ${packets.toLocaleString('en-US')} packets (loopback addresses only, ${LIVE_BENCH_FILTER}) …\n`);
    await generateBenchCapture(capture, packets, BENCH_PLAN, 10);
    const results: RunResult[] = [];
    for (const rate of rates) {
      for (const mode of modes) {
        for (const engine of engines) {
          process.stdout.write(`${rate} packets/s, ${mode}, engine ${engine}: ${seconds} s of traffic …\n`);
          try {
            results.push(await runOne(capture, rate, seconds, mode, engine, root));
          } catch (err) {
            results.push({ rate, mode, engine, error: (err as Error).message.slice(0, 200) } as RunResult);
          }
        }
      }
    }
    process.stdout.write(`\nnode ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
    process.stdout.write(`${seconds} s per run; loss % = (tcpdump − keyscope -w frames) / tcpdump (keyscope's capture process writes -w, queue drops included); an. loss % = (tcpdump − frames keyscope analysed) / tcpdump; ks drop = keyscope's own drop counter; ks est = its TCP loss estimate; spool MiB = its capture process's disk spool at its fullest; drain s = from the end of the replay until keyscope had analysed everything and exited (${DRAIN_MS / 1000} s of it waiting before the SIGINT); CPU and RSS = keyscope's process tree (its capture process, with tcpdump or dumpcap under it for those engines), until it exited; Δt = |keyscope − tcpdump| stamp per frame; analyze = analyze of keyscope's -w vs of tcpdump's file, findings by (code, UE, addresses, time ±${ANALYZE_TIME_TOLERANCE_S * 1000} ms) and transactions by (procedure, UE, verdict, start ±${ANALYZE_TIME_TOLERANCE_S * 1000} ms)\n\n`);
    process.stdout.write(`live findings = keyscope live's own diagnostics (--findings-json) against analyze of tcpdump's file (the oracle), paired by (code, UE, addresses, time ±${ANALYZE_TIME_TOLERANCE_S * 1000} ms): spurious = live's without an oracle partner, of them without the "possibly capture loss" caveat; missed = the oracle's without a live partner; caveat on real = live qualified one the oracle has too\n\n`);
    process.stdout.write(`${table(results)}\n`);
    for (const r of results) {
      if (!r.liveFindings || r.liveFindings.bare.length === 0) continue;
      // per code, with the first few of each (a loss run can make thousands)
      const byCode = new Map<string, string[]>();
      for (const b of r.liveFindings.bare) {
        const code = b.slice(0, b.indexOf('|'));
        byCode.set(code, [...(byCode.get(code) ?? []), b]);
      }
      process.stdout.write(`\nspurious findings without the caveat, ${r.rate}/s ${r.mode} ${r.engine}:\n`);
      for (const [code, l] of byCode) process.stdout.write(`  ${code}: ${l.length}, e.g. ${l.slice(0, BARE_EXAMPLES).join('; ')}\n`);
    }
    if (process.argv.includes('--rss-series')) {
      for (const r of results) {
        if (r.error) continue;
        process.stdout.write(`\nRSS over time, ${r.rate}/s ${r.mode} ${r.engine} (MiB per process of keyscope's tree, parent first):\n`);
        for (const s of r.rssSeries ?? []) process.stdout.write(`  t=${String(s.t).padStart(4)} s  ${s.mib.map((m) => m.toFixed(0)).join(' + ')} = ${s.mib.reduce((a, b) => a + b, 0).toFixed(0)}\n`);
      }
    }
    return 0;
  } finally {
    if (!process.argv.includes('--keep')) fs.rmSync(root, { recursive: true, force: true });
    else process.stdout.write(`kept ${root}\n`);
  }
}
