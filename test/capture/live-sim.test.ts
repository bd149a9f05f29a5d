/**
 * Live capture of a simulator run on loopback, with tcpdump capturing the same traffic as the oracle: the live
 * source delivers every frame tcpdump writes, byte for byte and in the same order, and the Dissector,
 * given the run's key file, says the same about every frame whichever source fed it (times aside) — MIKEY MACs
 * and Digest responses verified. Root (CI runs as root).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openLiveCapture } from '../../src/capture/live';
import { estimateCaptureLoss } from '../../src/capture/live-stats';
import { readCapture } from '../../src/capture/reader';
import type { CaptureFrame } from '../../src/capture/types';
import { Dissector, type DissectedFrame } from '../../src/pipeline/dissector';
import { loadKeyFile } from '../../src/protocols/keys';
import { frameJson } from '../../src/report/frame-json';
import { startTcpdump } from '../../src/sim/capture';
import { runScenario } from '../../src/sim/run';
import { loadScenarioFile, scenarioAddresses } from '../../src/sim/scenario';
import { repoRoot } from '../support/repo';

const GUARD_MS = 20_000;

function dissectAll(frames: CaptureFrame[], keysFile: string): Record<string, unknown>[] {
  const out: DissectedFrame[] = [];
  const d = new Dissector((f) => out.push(f), { keys: loadKeyFile(keysFile) });
  for (const f of frames) d.frame(f);
  d.finish();
  return out.map((f) => {
    const j = frameJson(f);
    delete j.ts;
    return j;
  });
}

test('a simulator run captured live: the same frames as tcpdump, dissected the same, keys verified', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-live-sim-'));
  // a /16 and port of its own, so the run does not meet the bundled-capture recordings or other tests
  const scenario = { ...loadScenarioFile(path.join(repoRoot(), 'scenarios', 'clean.yaml')), network: '127.164.0.0/16', httpPort: 18464 };
  const filter = scenarioAddresses(scenario).filter;
  const oracleFile = path.join(dir, 'tcpdump.pcap');
  const tcpdump = await startTcpdump(oracleFile, filter, 90);
  const live: CaptureFrame[] = [];
  let capture;
  try {
    capture = openLiveCapture({ device: 'lo', filter });
    capture.onFrame((f) => live.push(f));
    const result = await runScenario(scenario);
    assert.equal(result.timedOut, false);
    const keysFile = path.join(dir, 'run.keys');
    fs.writeFileSync(keysFile, result.keyFile);
    await tcpdump.stop();

    const oracle: CaptureFrame[] = [];
    const summary = await readCapture(oracleFile, (f) => oracle.push({ ...f, data: Buffer.from(f.data) }));
    assert.equal(summary.fatal, undefined);
    assert.ok(oracle.length > 50, `tcpdump saw ${oracle.length} frames`);
    // tcpdump has stopped, so everything was sent: wait for the live side to have handled as many frames
    const c = capture;
    await new Promise<void>((resolve, reject) => {
      if (live.length >= oracle.length) return resolve();
      const guard = setTimeout(() => reject(new Error(`live capture has ${live.length} of ${oracle.length} frames`)), GUARD_MS);
      const off = c.onFrame(() => {
        if (live.length >= oracle.length) {
          clearTimeout(guard);
          off();
          resolve();
        }
      });
    });
    capture.stop();

    // tcpdump, stopped by SIGINT, may leave the last few packets of its ring unwritten; the live side, stopped
    // later, has them too: every frame tcpdump wrote must be there, identical and in the same order
    assert.ok(live.length >= oracle.length);
    assert.ok(live.length - oracle.length < 20, `live ${live.length}, tcpdump ${oracle.length}`);
    for (let i = 0; i < oracle.length; i++) {
      assert.equal(live[i].linkType, oracle[i].linkType);
      assert.equal(live[i].originalLength, oracle[i].originalLength, `frame ${i + 1}: length`);
      assert.ok(live[i].data.equals(oracle[i].data), `frame ${i + 1}: bytes differ`);
      // tcpdump's kernel timestamps and the live arrival stamps agree to well within a second
      assert.ok(Math.abs(live[i].tsSec + live[i].tsNsec / 1e9 - (oracle[i].tsSec + oracle[i].tsNsec / 1e9)) < 1, `frame ${i + 1}: time`);
    }

    const fromLive = dissectAll(live.slice(0, oracle.length), keysFile);
    const fromFile = dissectAll(oracle, keysFile);
    assert.deepEqual(fromLive, fromFile);
    const mikey = fromLive.filter((f) => f.mikey);
    assert.ok(mikey.length > 10, `MIKEY frames: ${mikey.length}`);
    assert.ok(
      mikey.every((f) => JSON.stringify(f.mikey).includes('"verified":true')),
      'every MIKEY message of a clean run verifies with the run\'s keys',
    );
    assert.ok(fromLive.some((f) => JSON.stringify(f.http ?? null).includes('Digest')), 'Digest requests seen');

    const d = new Dissector(() => undefined);
    for (const f of live) d.frame(f);
    d.finish();
    assert.equal(estimateCaptureLoss(d.tcpStats).lostBytes, 0);
  } finally {
    capture?.stop();
    await tcpdump.abort().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
