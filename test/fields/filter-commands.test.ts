/**
 * `-Y` beyond dissect: `export` writes the matching frames (and the segments their HTTP messages came from, as
 * tshark -2 -Y -w does); `analyze` correlates only the matching frames. tshark reads the written files back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from '../support/proc';
import { capturePath, cliPath } from '../support/repo';

function run(args: string[]) {
  return spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

function tsharkCount(file: string, filter: string): number {
  const out = execFileSync('tshark', ['-n', '-2', '-r', file, '-o', 'tcp.reassemble_out_of_order:TRUE', '-Y', filter, '-T', 'fields', '-e', 'frame.number'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.split('\n').filter(Boolean).length;
}

function tmpFile(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-filter-')), name);
}

test('export -Y writes exactly the matching frames', { timeout: 120_000 }, () => {
  const src = capturePath('sim-variants.pcap');
  const out = tmpFile('mikey.pcap');
  try {
    const r = run(['export', src, '-Y', 'mikey && udp', '-w', out]);
    assert.equal(r.status, 0, r.stderr);
    const want = tsharkCount(src, 'mikey && udp');
    assert.equal(tsharkCount(out, 'frame'), want);
    assert.equal(tsharkCount(out, 'mikey && udp'), want);
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
});

test('export -Y on an HTTP field keeps the segments the messages were reassembled from', { timeout: 120_000 }, () => {
  const src = capturePath('http-digest-curl-variants.pcap');
  const out = tmpFile('req.pcap');
  try {
    const r = run(['export', src, '-Y', 'http.request.method == "POST"', '-w', out]);
    assert.equal(r.status, 0, r.stderr);
    // every POST is still a whole POST when tshark reads the exported file
    assert.equal(tsharkCount(out, 'http.request.method == "POST"'), tsharkCount(src, 'http.request.method == "POST"'));
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
});

test('export --ue with -Y writes the UE\'s frames that match; a filter matching nothing writes nothing (exit 1)', { timeout: 120_000 }, () => {
  const src = capturePath('sim-variants.pcap');
  const out = tmpFile('ue.pcap');
  try {
    const r = run(['export', src, '--ue', '127.83.0.12', '-Y', 'udp', '-w', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(tsharkCount(out, 'frame'), tsharkCount(src, 'udp && ip.addr == 127.83.0.12'));
    const none = run(['export', src, '-Y', 'mikey.counter > 1000000', '-w', out + '2']);
    assert.equal(none.status, 1);
    assert.equal(fs.existsSync(out + '2'), false);
    const bad = run(['export', src, '-Y', 'mikey ==', '-w', out + '3']);
    assert.equal(bad.status, 64);
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
});

test('analyze -Y correlates only the matching frames: one UE\'s transactions', { timeout: 120_000 }, () => {
  const src = capturePath('sim-variants.pcap');
  const keys = capturePath('sim-variants.keys');
  const ues = (args: string[]) => {
    const r = run(['analyze', '--json', '--fail-on', 'never', src, '--keys', keys, ...args]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; ue?: string }).filter((o) => o.type === 'transaction').map((o) => o.ue);
  };
  const all = ues([]);
  const one = ues(['-Y', 'ip.addr == 127.83.0.12']);
  assert.equal(one.length, all.filter((u) => u === '127.83.0.12').length);
  assert.ok(one.length > 0 && one.every((u) => u === '127.83.0.12'));
  assert.equal(run(['analyze', src, '-Y', 'ip.addr == 127.83.0.300']).status, 64);
});
