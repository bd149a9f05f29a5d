/**
 * `npm run bench`: what users run, side by side on one capture. Writes the realistic mix (bench/mix.ts: the simulator's
 * fault capture repeated with fresh UEs, B-TIDs and nonces per copy; default 2 000 000 frames) and its key file to a temp
 * directory, then times, each in its own process: the bare record walk (the runtime's ceiling), the dissector alone,
 * `keyscope analyze` as a user runs it (bin/keyscope.js, text and --json, with and without --keys; output to /dev/null),
 * `analyze-shard2` (`analyze-keys-shard2`, any N: N `analyze --shard K/N --json` at once, then `keyscope merge`)
 * and tshark (`-o tcp.reassemble_out_of_order:TRUE -T fields` with MIKEY and HTTP fields). Prints frames/s, MB/s, peak
 * RSS and the ratios in one table. A benchmark, not a test: nothing here passes or fails on speed.
 *   npm run bench -- --frames 500000 --runs walk,analyze,tshark --keep
 *   npm run bench -- --size 10G       # the mix generated on the fly into `analyze -` (never on disk): memory stays flat;
 *                                     # RSS sampled every --rss-every seconds (default 30) and printed as a series
 * `--live` runs the live benchmark instead (bench/live.ts): tcpreplay onto lo, keyscope live against tcpdump.
 *   npm run bench -- --live --seconds 20 --rates 10000,50000
 */
import { spawnSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadMixTemplate, mixKeyFile, parseSize, writeMix } from './mix';

interface Measurement {
  mode: string;
  seconds: number;
  packets: number;
  bytes: number;
  maxRssKiB: number | null;
  /** User + system CPU seconds (/usr/bin/time): less sensitive than wall time to other load on the machine. */
  cpu?: number;
  /** Several processes at once (analyze-shardN): their peak RSS summed (maxRssKiB is the largest one's). */
  rssSumKiB?: number;
}

const ROOT = path.join(__dirname, '..', '..');
/** `--keyscope DIR` times another build's bin/keyscope.js (a before/after table in one session), `--label` names its rows. */
const KEYSCOPE = path.join(process.argv.includes('--keyscope') ? process.argv[process.argv.indexOf('--keyscope') + 1] : ROOT, 'bin', 'keyscope.js');
const LABEL = process.argv.includes('--label') ? ` (${process.argv[process.argv.indexOf('--label') + 1]})` : '';
/** The mix's HTTP port (sim-faults): tshark needs it named. */
const MIX_HTTP_PORT = 18282;
const ALL_RUNS = ['walk', 'dissector', 'analyze', 'analyze-json', 'analyze-keys', 'analyze-keys-json', 'tshark'];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function runWorker(mode: string, file: string): Measurement {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'worker.js'), mode, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${mode} worker failed: ${r.stderr}`);
  const m = JSON.parse(r.stdout.trim()) as Measurement;
  return { ...m, mode: mode === 'keyscope' ? 'dissector' : mode };
}

function haveCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Resident set of `pid` in KiB (Linux /proc), undefined once it is gone. */
function rssKiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** `pid` and every process below it (Linux /proc: the measured command runs under /usr/bin/time). */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const c of fs.readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      // gone, or no /proc: nothing below it
    }
  }
  return out;
}

/** RSS of the measured process over time: [seconds since start, MiB] (the largest process of the tree at each tick). */
type RssSeries = Array<[number, number]>;

/** What a timed run may add: its standard input, where its output goes, an RSS series. */
interface TimedRunOptions {
  /** Writes the command's standard input (and says how many frames and bytes it wrote). */
  input?: (stdin: NodeJS.WritableStream) => Promise<{ frames: number; bytes: number }>;
  /** The command's standard output goes here (default /dev/null). */
  stdoutFile?: string;
  /** Sample the command's RSS into `series` every `everySeconds`. */
  rss?: { everySeconds: number; series: RssSeries };
}

/** Runs a command with stdout to /dev/null (or `stdoutFile`) under /usr/bin/time (peak RSS). */
async function timed(mode: string, cmd: string, args: string[], packets: number, bytes: number, opts: TimedRunOptions = {}): Promise<Measurement | null> {
  const { input, stdoutFile, rss } = opts;
  const timeCmd = fs.existsSync('/usr/bin/time');
  const start = process.hrtime.bigint();
  const out = stdoutFile !== undefined ? fs.openSync(stdoutFile, 'w') : 'ignore';
  const stdio: ('pipe' | 'ignore' | number)[] = [input ? 'pipe' : 'ignore', out, 'pipe'];
  const child = timeCmd ? spawn('/usr/bin/time', ['-f', 'MAXRSS %M CPU %U %S', cmd, ...args], { stdio }) : spawn(cmd, args, { stdio });
  if (typeof out === 'number') fs.closeSync(out);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed: Promise<number> = new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const sampler = rss && child.pid !== undefined
    ? setInterval(() => {
        const kib = Math.max(0, ...processTree(child.pid!).map((p) => rssKiB(p) ?? 0));
        if (kib > 0) rss.series.push([Number(process.hrtime.bigint() - start) / 1e9, kib / 1024]);
      }, rss.everySeconds * 1000)
    : undefined;
  void closed.then(() => clearInterval(sampler));
  if (input && child.stdin) {
    child.stdin.on('error', () => {});
    const r = await input(child.stdin);
    packets = r.frames;
    bytes = r.bytes;
  }
  const code = await closed;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (code !== 0) {
    process.stderr.write(`${mode} failed (${code}): ${stderr.slice(-500)}\n`);
    return null;
  }
  const m = /MAXRSS (\d+) CPU ([\d.]+) ([\d.]+)/.exec(stderr);
  return { mode, seconds, packets, bytes, maxRssKiB: m ? Number(m[1]) : null, cpu: m ? Number(m[2]) + Number(m[3]) : undefined };
}

function analyzeArgs(mode: string, file: string, keys: string): string[] {
  const a = [KEYSCOPE, 'analyze', file, '--fail-on', 'never'];
  if (mode.includes('keys')) a.push('--keys', keys);
  if (mode.endsWith('json')) a.push('--json');
  return a;
}

/**
 * `analyze-shardN` (`analyze-keys-shardN`): what a user runs to use N cores with `--shard` — N `analyze --shard K/N
 * --json` processes at once, each into its own file, then `keyscope merge` of the N files (the text report). Timed as a
 * whole: wall seconds from the first start to merge's end, CPU seconds of every process, the largest peak RSS and
 * the sum of the shards' (they run at the same time).
 */
async function timedShards(mode: string, n: number, file: string, keys: string, dir: string, packets: number, bytes: number): Promise<Measurement | null> {
  const start = process.hrtime.bigint();
  const base = analyzeArgs(mode.replace(/-shard\d+$/, '-json'), file, keys);
  const outs = Array.from({ length: n }, (_, k) => path.join(dir, `shard-${k + 1}-of-${n}.ndjson`));
  const shards = await Promise.all(outs.map((out, k) => timed(`${mode} ${k + 1}/${n}`, process.execPath, [...base, '--shard', `${k + 1}/${n}`], packets, bytes, { stdoutFile: out })));
  if (shards.some((m) => m === null)) return null;
  const merge = await timed(`${mode} merge`, process.execPath, [KEYSCOPE, 'merge', '--fail-on', 'never', ...outs], packets, bytes);
  for (const out of outs) fs.rmSync(out, { force: true });
  if (merge === null) return null;
  const all = [...(shards as Measurement[]), merge];
  const rss = all.map((m) => m.maxRssKiB);
  return {
    mode: mode + LABEL,
    seconds: Number(process.hrtime.bigint() - start) / 1e9,
    packets,
    bytes,
    maxRssKiB: rss.every((r) => r !== null) ? Math.max(...(rss as number[])) : null,
    rssSumKiB: rss.every((r) => r !== null) ? (shards as Measurement[]).reduce((s, m) => s + (m.maxRssKiB as number), 0) : undefined,
    cpu: all.every((m) => m.cpu !== undefined) ? all.reduce((s, m) => s + (m.cpu as number), 0) : undefined,
  };
}

function tsharkArgs(file: string): string[] {
  // every layer dissected (as keyscope does), HTTP on the mix's port, out-of-order TCP reassembled, MIKEY and HTTP fields out
  return ['-n', '-o', 'tcp.reassemble_out_of_order:TRUE', '-d', `tcp.port==${MIX_HTTP_PORT},http`, '-r', file, '-T', 'fields',
    '-e', 'frame.number', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'http.request.method', '-e', 'http.response.code', '-e', 'http.authorization',
    '-e', 'mikey.type', '-e', 'mikey.csb_id', '-e', 'mikey.kemac.mac', '-e', 'mikey.ext.value'];
}

function fmtRow(m: Measurement, ts: Measurement | undefined, walk: Measurement | undefined): string {
  const pps = m.packets / m.seconds;
  const mbps = m.bytes / m.seconds / 1e6;
  const rss = m.maxRssKiB === null ? 'n/a' : `${(m.maxRssKiB / 1024).toFixed(0)} MiB${m.rssSumKiB !== undefined ? ` (Σ ${(m.rssSumKiB / 1024).toFixed(0)})` : ''}`;
  const vsT = ts ? `${(ts.seconds / m.seconds).toFixed(2)}×` : '';
  const vsW = walk ? `${((walk.seconds / m.seconds) * 100).toFixed(1)} %` : '';
  return `| ${m.mode} | ${m.seconds.toFixed(2)} | ${m.cpu !== undefined ? m.cpu.toFixed(2) : ''} | ${Math.round(pps).toLocaleString('en-US')} | ${mbps.toFixed(1)} | ${rss} | ${vsT} | ${vsW} |`;
}

async function main(): Promise<void> {
  const frames = parseSize(arg('--frames') ?? arg('--packets') ?? '2M');
  const keep = process.argv.includes('--keep');
  const runs = (arg('--runs') ?? ALL_RUNS.join(',')).split(',');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-bench-'));
  const file = arg('--file') ?? path.join(dir, 'mix.pcap');
  const keys = arg('--keys') ?? path.join(dir, 'mix.keys');
  try {
    const tpl = await loadMixTemplate();
    process.stdout.write(`node ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}; load: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
    if (arg('--size')) {
      const bytes = parseSize(arg('--size')!);
      process.stdout.write(`streaming ${(bytes / 1e9).toFixed(1)} GB of the mix into \`keyscope analyze -\` (not kept on disk) …\n`);
      const series: RssSeries = [];
      const everySeconds = Number(arg('--rss-every') ?? 30);
      const m = await timed('analyze - (stream)', process.execPath, [KEYSCOPE, 'analyze', '-', '--fail-on', 'never', ...(process.argv.includes('--json') ? ['--json'] : [])], 0, 0,
        { input: (stdin) => writeMix(tpl, stdin, { bytes }), rss: { everySeconds, series } });
      if (m) process.stdout.write(`| run | s | CPU s | frames/s | MB/s | peak RSS | vs tshark | vs walk |\n|---|---|---|---|---|---|---|---|\n${fmtRow(m, undefined, undefined)}\n`);
      // flat memory is the point of this run: the series shows it (or not), the peak alone does not
      if (series.length > 0) {
        process.stdout.write(`RSS every ${everySeconds} s (MiB): ${series.map(([, mib]) => mib.toFixed(0)).join(' ')}\n`);
        const half = series.slice(Math.floor(series.length / 2));
        process.stdout.write(`second half of the run: ${Math.min(...half.map(([, v]) => v)).toFixed(0)}–${Math.max(...half.map(([, v]) => v)).toFixed(0)} MiB\n`);
      }
      return;
    }
    let gen = { frames, bytes: fs.existsSync(file) ? fs.statSync(file).size : 0, copies: 0 };
    if (!arg('--file')) {
      const t0 = Date.now();
      gen = await writeMix(tpl, fs.createWriteStream(file), { frames });
      fs.writeFileSync(keys, mixKeyFile(tpl, gen.copies), { mode: 0o600 });
      process.stdout.write(`mix: ${gen.copies} copies of sim-faults (${tpl.btids.length} B-TIDs each), ${gen.frames.toLocaleString('en-US')} frames, ${(gen.bytes / 1e6).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    }
    const results: Measurement[] = [];
    for (const mode of runs) {
      let m: Measurement | null = null;
      if (mode === 'walk' || mode === 'dissector') m = runWorker(mode === 'dissector' ? 'keyscope' : 'walk', file);
      else if (/^analyze(-keys)?-shard\d+$/.test(mode)) m = await timedShards(mode, Number(/\d+$/.exec(mode)![0]), file, keys, dir, gen.frames, gen.bytes);
      else if (mode.startsWith('analyze')) m = await timed(mode + LABEL, process.execPath, analyzeArgs(mode, file, keys), gen.frames, gen.bytes);
      else if (mode === 'tshark' && haveCommand('tshark')) m = await timed('tshark', 'tshark', tsharkArgs(file), gen.frames, gen.bytes);
      if (m) {
        results.push(m);
        process.stdout.write(`  ${m.mode}: ${m.seconds.toFixed(2)} s\n`);
      }
    }
    const walk = results.find((r) => r.mode === 'walk');
    const ts = results.find((r) => r.mode === 'tshark');
    process.stdout.write(`\nload after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n| run | s | CPU s | frames/s | MB/s | peak RSS | vs tshark | vs walk |\n|---|---|---|---|---|---|---|---|\n`);
    for (const m of results) process.stdout.write(fmtRow(m, ts, walk) + '\n');
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    else process.stdout.write(`kept ${file} and ${keys}\n`);
  }
}

(process.argv.includes('--live') ? import('./live').then((m) => m.runLiveBench()).then((code) => process.exit(code)) : main()).catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
