/**
 * Libraries that only some runs need are loaded by those runs only (issue #14: RSS). Loading the dashboard
 * (blessed, blessed-contrib), Prometheus metrics (prom-client), the display-filter compiler (peggy), the scenario
 * reader (yaml) and the progress bar (cli-progress) at start-up cost ≈ 26 MB of RSS and ≈ 0.15 s of CPU in every
 * process. Each run below is a real `keyscope` process on a bundled capture; a preload hook lists the npm packages
 * in its module cache when it exits. The positive cases prove the hook sees a package when a run does need it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from '../support/proc';
import { capturePath, cliPath } from '../support/repo';

const OPTIONAL_LIBRARIES = ['blessed', 'blessed-contrib', 'prom-client', 'peggy', 'yaml', 'cli-progress'];

/** The npm packages a `keyscope` run with `args` had loaded when it exited, and its exit code. */
function loadedPackages(args: string[]): { packages: Set<string>; status: number | null } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-lazy-'));
  try {
    const out = path.join(dir, 'loaded.json');
    const hook = path.join(dir, 'hook.js');
    fs.writeFileSync(
      hook,
      `process.on('exit', () => {
        const names = Object.keys(require.cache).map((f) => /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(f)).filter(Boolean).map((m) => m[1]);
        require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify([...new Set(names)]));
      });\n`,
    );
    const r = spawnSync(process.execPath, ['-r', hook, cliPath(), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.ok(fs.existsSync(out), `the hook ran: ${r.stderr}`);
    return { packages: new Set(JSON.parse(fs.readFileSync(out, 'utf8')) as string[]), status: r.status };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('analyze, dissect and merge into a pipe load none of the optional libraries', { timeout: 60_000 }, () => {
  for (const args of [
    ['analyze', capturePath('sim-faults.pcap'), '--keys', capturePath('sim-faults.keys')],
    ['analyze', '--json', capturePath('mikey-mbms-kinds.pcap')],
    ['dissect', '-V', capturePath('http-digest-loopback.pcap')],
  ]) {
    const { packages, status } = loadedPackages(args);
    assert.ok(status === 0 || status === 1, `${args.join(' ')}: ran (exit ${status})`);
    assert.ok(packages.has('commander'), `${args.join(' ')}: the hook sees packages`);
    for (const lib of OPTIONAL_LIBRARIES) assert.ok(!packages.has(lib), `${args.join(' ')} loaded ${lib}`);
  }
});

test('the runs that need a library still load it', { timeout: 60_000 }, () => {
  const filtered = loadedPackages(['analyze', '-Y', 'mikey', capturePath('mikey-mbms-kinds.pcap')]);
  assert.ok(filtered.packages.has('peggy'), '-Y compiles the filter with peggy');
  assert.ok(!filtered.packages.has('prom-client'));
  const served = loadedPackages(['analyze', '--metrics', '127.0.0.1:0', capturePath('mikey-mbms-kinds.pcap')]);
  assert.ok(served.packages.has('prom-client'), '--metrics serves prom-client metrics');
  assert.ok(!served.packages.has('blessed'));
});
