/**
 * `npm run bench`: generate a large capture (default 2 000 000 packets, streamed to a temp file), then measure
 * keyscope's full pipeline, a bare record walk over the same file (the runtime's ceiling) and tshark when it is
 * installed, each in its own process, and print packets/s, MB/s, peak RSS and the ratios. A benchmark, not a
 * test: nothing here passes or fails on speed.
 *   npm run bench -- --packets 500000 --keep
 * `--live` runs the live benchmark instead (bench/live.ts): tcpreplay onto lo, keyscope live against tcpdump.
 *   npm run bench -- --live --seconds 20 --rates 10000,50000
 */
import { spawnSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateBenchCapture } from './generate';

interface Measurement {
  mode: string;
  seconds: number;
  packets: number;
  bytes: number;
  maxRssKiB: number | null;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function runWorker(mode: string, file: string): Measurement {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'worker.js'), mode, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${mode} worker failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as Measurement;
}

function haveCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

async function runTshark(file: string, packets: number, bytes: number): Promise<Measurement | null> {
  if (!haveCommand('tshark')) return null;
  // -T fields with a few fields makes tshark dissect every layer (as keyscope does) without formatting cost.
  const args = ['-n', '-r', file, '-T', 'fields', '-e', 'frame.number', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'tcp.srcport'];
  const timeCmd = fs.existsSync('/usr/bin/time');
  const start = process.hrtime.bigint();
  const child = timeCmd
    ? spawn('/usr/bin/time', ['-f', 'MAXRSS %M', 'tshark', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn('tshark', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (code !== 0) {
    process.stderr.write(`tshark failed (${code}): ${stderr.slice(-500)}\n`);
    return null;
  }
  const m = /MAXRSS (\d+)/.exec(stderr);
  return { mode: 'tshark', seconds, packets, bytes, maxRssKiB: m ? Number(m[1]) : null };
}

function row(m: Measurement): string {
  const pps = m.packets / m.seconds;
  const mbps = m.bytes / m.seconds / 1e6;
  const rss = m.maxRssKiB === null ? 'n/a' : `${(m.maxRssKiB / 1024).toFixed(0)} MiB`;
  return `${m.mode.padEnd(10)} ${m.seconds.toFixed(2).padStart(8)} s ${Math.round(pps).toLocaleString('en-US').padStart(12)} pkt/s ${mbps.toFixed(1).padStart(8)} MB/s   peak RSS ${rss}`;
}

async function main(): Promise<void> {
  const packets = Number(arg('--packets') ?? 2_000_000);
  const keep = process.argv.includes('--keep');
  const file = arg('--file') ?? path.join(os.tmpdir(), `keyscope-bench-${process.pid}.pcap`);
  const skipTshark = process.argv.includes('--no-tshark');
  try {
    let gen;
    if (arg('--file') && fs.existsSync(file)) gen = { path: file, packets, bytes: fs.statSync(file).size };
    else {
      process.stdout.write(`generating ${packets.toLocaleString('en-US')} packets into ${file} …\n`);
      const t0 = Date.now();
      gen = await generateBenchCapture(file, packets);
      process.stdout.write(`  ${gen.packets.toLocaleString('en-US')} packets, ${(gen.bytes / 1e6).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    }
    const walk = runWorker('walk', file);
    const ks = runWorker('keyscope', file);
    const ts = skipTshark ? null : await runTshark(file, walk.packets, walk.bytes);
    process.stdout.write(`\nnode ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}\n`);
    for (const m of [walk, ks, ts]) if (m) process.stdout.write(row(m) + '\n');
    process.stdout.write(`\nkeyscope / bare walk: ${((walk.seconds / ks.seconds) * 100).toFixed(1)} % of the ceiling (${(ks.seconds / walk.seconds).toFixed(1)}× slower)\n`);
    if (ts) process.stdout.write(`keyscope / tshark:    ${(ts.seconds / ks.seconds).toFixed(1)}× tshark's speed\n`);
    if (ks.packets !== walk.packets) process.stdout.write(`WARNING: keyscope saw ${ks.packets} packets, the walk ${walk.packets}\n`);
    process.stdout.write(`keyscope found ${(ks as Measurement & { mikey?: number }).mikey ?? 0} MIKEY messages, ${(ks as Measurement & { http?: number }).http ?? 0} HTTP messages\n`);
  } finally {
    if (!keep && !arg('--file')) fs.rmSync(file, { force: true });
  }
}

(process.argv.includes('--live') ? import('./live').then((m) => m.runLiveBench()).then((code) => process.exit(code)) : main()).catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
