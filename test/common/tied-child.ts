/**
 * A test that fails on purpose while the simulator's tcpdump runs (started by test/common/tied-process.test.ts in a
 * child `node --test`). It prints tcpdump's pid first, so the parent can tell that tcpdump really ran. With
 * KEYSCOPE_TIED_CHILD_MODE=kill it instead kills itself with SIGKILL, so no code of its own runs at the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTcpdump } from '../../src/sim/capture';

test('fails while tcpdump is capturing', async () => {
  const filter = process.env.KEYSCOPE_TIED_CHILD_FILTER;
  assert.ok(filter, 'KEYSCOPE_TIED_CHILD_FILTER not set');
  await startTcpdump(path.join(os.tmpdir(), `keyscope-tied-child-${process.pid}.pcap`), filter, 60);
  process.stdout.write('TCPDUMP-STARTED\n');
  if (process.env.KEYSCOPE_TIED_CHILD_MODE === 'kill') process.kill(process.pid, 'SIGKILL');
  assert.fail('failing on purpose with tcpdump still running');
});
