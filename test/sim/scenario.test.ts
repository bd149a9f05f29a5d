/** Scenario files (JSON and YAML, defaults, errors), the seeded streams, and the fault table in src/sim/README.md. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { GROUP_FAULTS, loadScenarioFile, parseScenarioText, ScenarioError, scenarioAddresses, UE_FAULTS, UE_FAULT_NAMES } from '../../src/sim/scenario';
import { SeededStream } from '../../src/sim/prng';
import { Timers } from '../../src/sim/common';
import { buildIdentities } from '../../src/sim/run';
import { repoRoot } from '../support/repo';

test('scenario files: YAML and JSON, defaults, and named errors', () => {
  const y = parseScenarioText('name: y\nues:\n  - { count: 2, faults: [dropped-ack] }\n');
  const j = parseScenarioText('{"name":"y","ues":[{"count":2,"faults":["dropped-ack"]}]}');
  assert.deepEqual(y, j);
  assert.equal(y.bmsc.digestAlgorithm, 'MD5');
  assert.equal(y.services.length, 2);
  assert.throws(() => parseScenarioText('ues: [{ faults: [melted] }]'), (e: Error) => e instanceof ScenarioError && /unknown fault "melted"/.test(e.message));
  assert.throws(() => parseScenarioText('network: 10.0.0.0/16'), ScenarioError);
  assert.throws(() => parseScenarioText('network: 127.1.0.0/8'), ScenarioError);
  assert.throws(() => parseScenarioText('ues: [{ count: 100000 }]'), ScenarioError);
  assert.throws(() => parseScenarioText('bmsc: { digestAlgorithm: SHA-1 }'), ScenarioError);
  assert.throws(() => parseScenarioText('{ bad yaml'), ScenarioError);
});

test('seeded streams: same seed and label give the same bytes, whatever else was drawn', () => {
  const a = new SeededStream(1, 'x');
  const b = new SeededStream(1, 'x');
  b.child('other').bytes(100);
  assert.deepEqual(a.bytes(50), b.bytes(50));
  assert.notDeepEqual(new SeededStream(1, 'x').bytes(16), new SeededStream(2, 'x').bytes(16));
  for (let i = 0; i < 1000; i++) {
    const n = a.int(3, 7);
    assert.ok(n >= 3 && n <= 7);
  }
});

test('identities: seeded B-TIDs and NAF keys, addresses in the /16, faults from rates drawn with the seed', () => {
  const sc = parseScenarioText('network: 127.50.0.0/16\nues: [{ count: 3, faults: [dropped-ack] }, { count: 200 }]\nrates: { delayed-ack: 0.5 }\n');
  const addrs = scenarioAddresses(sc);
  const ids = buildIdentities(sc, 9, addrs);
  assert.deepEqual(buildIdentities(sc, 9, addrs).map((u) => u.btid), ids.map((u) => u.btid));
  assert.equal(new Set(ids.map((u) => u.btid)).size, 203);
  assert.equal(ids[0].address, '127.50.0.10');
  assert.equal(ids[202].address, '127.50.0.212');
  assert.equal(ids[0].altAddress, '127.50.128.10');
  assert.ok(ids.every((u) => /^[A-Za-z0-9+/]{22}==@bsf\.mnc001\.mcc001\.pub\.3gppnetwork\.org$/.test(u.btid) && u.nafKey.length === 32));
  assert.deepEqual([...ids[0].faults], ['dropped-ack']);
  const delayed = ids.slice(3).filter((u) => u.faults.has('delayed-ack')).length;
  assert.ok(delayed > 60 && delayed < 140, String(delayed));
  assert.notDeepEqual(buildIdentities(sc, 10, addrs).map((u) => u.btid), ids.map((u) => u.btid));
});

test('src/sim/README.md lists every fault with the diagnostics it must provoke', () => {
  const readme = readFileSync(path.join(repoRoot(), 'src', 'sim', 'README.md'), 'utf8');
  for (const f of UE_FAULT_NAMES) {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${f}\` |`));
    assert.ok(row, f);
    for (const c of UE_FAULTS[f].expect) assert.ok(row.includes(`\`${c}\``), `${f}: ${c}`);
  }
  for (const f of Object.keys(GROUP_FAULTS)) assert.ok(readme.includes(`| \`${f}\` (groupFaults) |`), f);
});

test('scenarios/*.yaml parse, each on its own /16 and port so any two can run at once', () => {
  const dir = path.join(repoRoot(), 'scenarios');
  const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));
  assert.ok(files.length >= 4);
  const scs = files.map((f) => loadScenarioFile(path.join(dir, f)));
  assert.equal(new Set(scs.map((s) => s.network)).size, scs.length);
  assert.equal(new Set(scs.map((s) => s.httpPort)).size, scs.length);
  const load = scs.find((s) => s.name === 'load');
  assert.ok(load?.load && load.ues[0].count === 1000 && load.durationSeconds <= 120);
  assert.equal(scs.find((s) => s.name === 'variants')?.bmsc.digestAlgorithm, 'SHA-256');
});

test('Timers: close() cancels callbacks and wakes every pending sleep', async () => {
  const timers = new Timers();
  let fired = false;
  timers.after(10_000, () => (fired = true));
  const slept = timers.sleep(10_000).then(() => 'woke');
  timers.close();
  assert.equal(await Promise.race([slept, new Promise((r) => setTimeout(() => r('hung'), 1000))]), 'woke');
  assert.equal(fired, false);
  assert.equal(await Promise.race([timers.sleep(10_000).then(() => 'immediate'), new Promise((r) => setTimeout(() => r('hung'), 1000))]), 'immediate');
});
