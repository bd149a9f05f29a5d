/**
 * `node dist/scripts/budget-table.js [--only NAME,…] [--max-memory MB] [--full] [--dir DIR]`
 *
 * The table of docs/memory-budgets.md: each budget case of issue #13 generated with the generators of the budget tests
 * (test/support/adversarial.ts, test/correlate/adversarial.ts) into a temporary folder, then
 * `keyscope analyze --fail-on never [--max-memory MB] CAPTURE > /dev/null` in a child (test/support/rss-child.js: its
 * peak RSS from process.resourceUsage().maxRSS), one case at a time. Prints one line per run (case, size, frames,
 * capture MB, exit, peak RSS, seconds, load average) and deletes each capture after its run. `--full` adds the largest
 * sizes (1 M pushes, 1.6 M pipelined requests, 250 k flows, 1 M holes).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  holesAndOverlaps, largeMessagesInProgress, neverClosedFlows, pipelinedConnections, pipelinedRequests, unfinishedHttpLoad,
} from '../test/support/adversarial';
import { writeUnackedPushes } from '../test/correlate/adversarial';
import { CORRELATOR_DEFAULTS, LIMITS } from '../src/correlate/options';

interface Case {
  name: string;
  size: string;
  full?: boolean;
  /** Writes the capture(s); returns the file names. */
  make: (dir: string) => Promise<string[]>;
}

const one = (f: (file: string) => unknown) => async (dir: string): Promise<string[]> => {
  const file = path.join(dir, 'c.pcap');
  await f(file);
  return [file];
};

const worstUes = CORRELATOR_DEFAULTS.maxUes;
const worstPushes = worstUes * (LIMITS.deliveriesPerUe + 4);

const CASES: Case[] = [
  { name: 'pushes', size: '10k/2k', make: one((f) => writeUnackedPushes(f, 10_000, 2_000)) },
  { name: 'pushes', size: '100k/20k', make: one((f) => writeUnackedPushes(f, 100_000, 20_000)) },
  { name: 'pushes', size: '100k/200k', make: one((f) => writeUnackedPushes(f, 100_000, 200_000)) },
  { name: 'pushes', size: '1M/20k', full: true, make: one((f) => writeUnackedPushes(f, 1_000_000, 20_000)) },
  { name: 'pushes', size: '1M/200k', full: true, make: one((f) => writeUnackedPushes(f, 1_000_000, 200_000)) },
  { name: 'worst-ues', size: `${worstPushes / 1000}k/${worstUes}`, make: one((f) => writeUnackedPushes(f, worstPushes, worstUes)) },
  { name: 'pipelined', size: '10k', make: one((f) => pipelinedRequests(f, 10_000)) },
  { name: 'pipelined', size: '100k', make: one((f) => pipelinedRequests(f, 100_000)) },
  { name: 'pipelined', size: '400k', make: one((f) => pipelinedRequests(f, 400_000)) },
  { name: 'pipelined', size: '1.6M', full: true, make: one((f) => pipelinedRequests(f, 1_600_000)) },
  { name: 'flows', size: '10k', make: one((f) => neverClosedFlows(f, 10_000)) },
  { name: 'flows', size: '100k', make: one((f) => neverClosedFlows(f, 100_000)) },
  { name: 'flows', size: '250k', full: true, make: one((f) => neverClosedFlows(f, 250_000)) },
  { name: 'holes', size: '10k', make: one((f) => holesAndOverlaps(f, 10_000)) },
  { name: 'holes', size: '100k', make: one((f) => holesAndOverlaps(f, 100_000)) },
  { name: 'holes', size: '1M', full: true, make: one((f) => holesAndOverlaps(f, 1_000_000)) },
  { name: 'pipelined-conns', size: '10k×32', make: one((f) => pipelinedConnections(f, 10_000)) },
  { name: 'pipelined-conns', size: '100k×32', make: one((f) => pipelinedConnections(f, 100_000)) },
  { name: 'large-messages', size: '10k×16KiB', make: one((f) => largeMessagesInProgress(f, 10_000, 16 * 1024)) },
  { name: 'large-messages', size: '2k×256KiB', make: one((f) => largeMessagesInProgress(f, 2_000, 256 * 1024)) },
  { name: 'http-load', size: '20k', make: one((f) => unfinishedHttpLoad(f, 20_000)) },
  { name: 'http-load', size: '100k', make: one((f) => unfinishedHttpLoad(f, 100_000)) },
  {
    name: 'flows+worst-ues', size: `100k+${worstPushes / 1000}k/${worstUes}`,
    make: async (dir) => {
      const a = path.join(dir, 'a.pcap');
      const b = path.join(dir, 'b.pcap');
      neverClosedFlows(a, 100_000);
      await writeUnackedPushes(b, worstPushes, worstUes);
      return [a, b];
    },
  },
];

async function main(argv: string[]): Promise<void> {
  let only: string[] | undefined;
  let maxMemory: string | undefined;
  let full = false;
  let root = os.tmpdir();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') only = argv[++i].split(',');
    else if (argv[i] === '--max-memory') maxMemory = argv[++i];
    else if (argv[i] === '--full') full = true;
    else if (argv[i] === '--dir') root = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  const child = path.join(__dirname, '..', 'test', 'support', 'rss-child.js');
  for (const c of CASES) {
    if (c.full && !full) continue;
    if (only && !only.includes(c.name) && !only.includes(`${c.name}@${c.size}`)) continue;
    const dir = fs.mkdtempSync(path.join(root, 'keyscope-table-'));
    try {
      const files = await c.make(dir);
      const mb = files.reduce((n, f) => n + fs.statSync(f).size, 0) / 1e6;
      const args = [child, 'analyze', '--fail-on', 'never', ...(maxMemory ? ['--max-memory', maxMemory] : []), ...files];
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 30, timeout: 1_800_000 });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const rss = /keyscope-max-rss-kib (\d+)/.exec(r.stderr);
      const frames = /frames (\d+),/.exec(r.stdout);
      const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
      process.stdout.write(
        `${c.name}\t${c.size}\t--max-memory ${maxMemory ?? 'default'}\tframes ${frames?.[1] ?? '?'}\t${mb.toFixed(0)} MB\texit ${r.status}\t` +
          `peak RSS ${rss ? (Number(rss[1]) / 1024).toFixed(0) : '?'} MB\t${s.toFixed(1)} s\tload ${load}` +
          (r.status !== 0 ? `\t${r.stderr.trim().split('\n').slice(-3).join(' | ')}` : '') + '\n',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`budget-table: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
