/**
 * `keyscope export` through the real CLI: exactly the frames of one transaction or one UE, byte for byte, readable by
 * tshark; pcapng when link types differ; nothing written when nothing matches or the output cannot be made.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from '../support/proc';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { capturePath, cliPath } from '../support/repo';
import { tsharkFields } from '../support/tshark';

function keyscope(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const FAULTS = capturePath('sim-faults.pcap');
const KEYS = ['--keys', capturePath('sim-faults.keys')];

function transactions(): { id: string; ue: string; procedure: string; frames: number[]; diagnostics: string[] }[] {
  const r = keyscope(['analyze', '--json', FAULTS, ...KEYS]);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{"type":"transaction"'))
    .map((l) => JSON.parse(l) as { id: string; ue: string; procedure: string; frames: number[]; diagnostics: string[] });
}

/** Bytes and times of frames as tshark sees them. */
function frameView(file: string, filter?: string): string[][] {
  return tsharkFields(file, ['frame.time_epoch', 'frame.len', 'frame.cap_len', 'frame.protocols'], filter ? ['-Y', filter] : []);
}

test('--transaction: exactly its frames, as tshark reads them', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-export-'));
  try {
    const pull = transactions().find((t) => t.procedure === 'pull' && t.frames.length > 4);
    assert.ok(pull);
    const out = path.join(dir, 'tx.pcap');
    const r = keyscope(['export', FAULTS, ...KEYS, '-w', out, '--transaction', pull.id]);
    assert.equal(r.status, 0, r.stderr);
    const filter = pull.frames.map((n) => `frame.number==${n}`).join(' || ');
    assert.deepEqual(frameView(out), frameView(FAULTS, filter));
    // the exported exchange still dissects: the MSK request and the MIKEY delivery are there
    const protos = tsharkFields(out, ['frame.protocols']).map((x) => x[0]);
    assert.ok(protos.some((p) => p.endsWith(':http') || p.includes(':http:')), protos.join(' '));
    assert.ok(protos.some((p) => p.includes('mikey')), protos.join(' '));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--ue: every frame to or from the UE and nothing else', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-export-'));
  try {
    const e = JSON.parse(fs.readFileSync(capturePath('sim-faults.expected.json'), 'utf8')) as { clean: string[] };
    const ue = e.clean[0];
    const out = path.join(dir, 'ue.pcap');
    const r = keyscope(['export', FAULTS, ...KEYS, '-w', out, '--ue', ue]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(frameView(out), frameView(FAULTS, `ip.addr==${ue}`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('frames of several link types go to pcapng', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-export-'));
  try {
    const src = capturePath('cap-merged-eth-sll2.pcapng');
    const out = path.join(dir, 'merged.pcap');
    const r = keyscope(['export', src, '-w', out, '--ue', '127.0.0.1']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(out).readUInt32LE(0), 0x0a0d0d0a, 'a pcapng Section Header Block');
    assert.deepEqual(
      tsharkFields(out, ['frame.time_epoch', 'frame.len', 'frame.encap_type']),
      tsharkFields(src, ['frame.time_epoch', 'frame.len', 'frame.encap_type'], ['-Y', 'ip.addr==127.0.0.1']),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('nothing matched, bad output path, usage errors: no file left behind', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-export-'));
  try {
    const out = path.join(dir, 'none.pcap');
    const r = keyscope(['export', FAULTS, '-w', out, '--transaction', 'T999999']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not found/);
    assert.equal(keyscope(['export', FAULTS, '-w', out, '--ue', '192.0.2.99']).status, 1);
    assert.equal(keyscope(['export', FAULTS, '-w', path.join(dir, 'no', 'such', 'dir.pcap'), '--transaction', 'T1']).status, 2);
    assert.equal(keyscope(['export', FAULTS, '-w', out]).status, 64);
    assert.equal(keyscope(['export', FAULTS, '-w', out, '--transaction', 'T1', '--ue', '127.82.0.10']).status, 64);
    assert.equal(keyscope(['export', path.join(dir, 'missing.pcap'), '-w', out, '--transaction', 'T1']).status, 2);
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
