/**
 * `npm run captures`: records the bundled simulator captures (as root: tcpdump on lo) into captures/:
 * sim-<name>.pcap, sim-<name>.keys and sim-<name>.expected.json for each scenario in scenarios/ named below.
 *   node dist/src/sim/record-captures.js [--out DIR] [name…]
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { simulate } from './record';
import { loadScenarioFile } from './scenario';

export const BUNDLED_SCENARIOS = ['clean', 'faults', 'variants'] as const;

function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
}

export async function recordBundledCaptures(outDir: string, names: readonly string[] = BUNDLED_SCENARIOS): Promise<void> {
  const root = repoRoot();
  for (const name of names) {
    const file = path.join(root, 'scenarios', `${name}.yaml`);
    const sc = loadScenarioFile(file);
    const base = path.join(outDir, `sim-${name}`);
    const r = await simulate(sc, {
      capture: `${base}.pcap`, keysOut: `${base}.keys`, expectedOut: `${base}.expected.json`,
      command: `keyscope sim scenarios/${name}.yaml --capture captures/sim-${name}.pcap --keys-out captures/sim-${name}.keys --expected-out captures/sim-${name}.expected.json`,
    });
    if (r.timedOut) throw new Error(`scenario ${name} hit its duration bound`);
    process.stdout.write(`sim-${name}: ${r.ues.length} UEs, ${r.bmsc.mskMessages} MSK + ${r.bmsc.mtkMessages} MTK messages, ${r.bmsc.acksVerified} ACKs verified, ${r.wallSeconds.toFixed(1)} s\n`);
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--out');
  const out = i >= 0 ? args.splice(i, 2)[1] : path.join(repoRoot(), 'captures');
  const names = args.length > 0 ? args : BUNDLED_SCENARIOS;
  recordBundledCaptures(out, names).catch((e: Error) => {
    process.stderr.write(`record-captures: ${e.message}\n`);
    process.exit(1);
  });
}
