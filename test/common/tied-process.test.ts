/**
 * No process a test or the simulator starts outlives it: the simulator's tcpdump (src/sim/capture.ts, through
 * src/common/tied-process.ts) is started by a test that then fails on purpose — or is killed outright — in a child
 * `node --test`; afterwards no tcpdump with that test's filter is left. Root (tcpdump on lo).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from '../support/proc';

const CHILD_TIMEOUT_MS = 60_000;
/** How long a killed group may take to disappear from the process table. */
const REAP_WAIT_MS = 2000;

function tcpdumpsWith(filter: string): string[] {
  const r = spawnSync('pgrep', ['-a', '-f', filter], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.includes('tcpdump'));
}

async function runFailingChild(mode: 'fail' | 'kill', port: number): Promise<void> {
  // a filter no other test uses, so pgrep finds only this run's tcpdump
  const filter = `udp and dst host 127.251.0.1 and port ${port}`;
  assert.deepEqual(tcpdumpsWith(filter), [], 'no tcpdump before the run');
  const child = path.join(__dirname, 'tied-child.js');
  // without the runner's own context variable, so the child `node --test` reports as a top-level run (TAP)
  const env: NodeJS.ProcessEnv = { ...process.env, KEYSCOPE_TIED_CHILD_FILTER: filter, KEYSCOPE_TIED_CHILD_MODE: mode };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, ['--test', '--test-force-exit', child], { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, env });
  assert.match(r.stdout, /TCPDUMP-STARTED/, `the child started tcpdump: ${r.stdout}\n${r.stderr}`);
  if (mode === 'fail') {
    assert.equal(r.status, 1, 'the child test failed');
    assert.match(r.stdout, /failing on purpose/);
  } else {
    // node --test reports the killed file as a failure
    assert.notEqual(r.status, 0);
  }
  const deadline = Date.now() + REAP_WAIT_MS;
  let left = tcpdumpsWith(filter);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 100));
    left = tcpdumpsWith(filter);
  }
  assert.deepEqual(left, [], 'tcpdump outlived the failed test');
}

test('a test that fails while the simulator\'s tcpdump runs leaves no tcpdump behind', { timeout: CHILD_TIMEOUT_MS + 10_000 }, async () => {
  await runFailingChild('fail', 39101);
});

test('a test process killed with SIGKILL while tcpdump runs leaves no tcpdump behind (parent-death signal)', { timeout: CHILD_TIMEOUT_MS + 10_000 }, async () => {
  await runFailingChild('kill', 39102);
});
