/**
 * `keyscope analyze` through the real CLI (bin/keyscope.js over the compiled dist/): the report, NDJSON records,
 * exit codes, --annotate read back with tshark, escaping of packet text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from '../support/proc';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { capturePath, cliPath } from '../support/repo';
import { tsharkFields } from '../support/tshark';
import { Lab } from '../correlate/lab';

function keyscope(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The options the simulator's expected findings were written for. */
function simArgs(name: string): string[] {
  const e = JSON.parse(fs.readFileSync(capturePath(`${name}.expected.json`), 'utf8')) as {
    analyzerOptions: { ackTimeoutSeconds: number; mikeyAfter200TimeoutSeconds: number; solicitedPullTimeoutSeconds: number };
    pacing: { stormUes: number; stormWindowMs: number };
  };
  const a = [
    capturePath(`${name}.pcap`), '--keys', capturePath(`${name}.keys`),
    '--ack-timeout', String(e.analyzerOptions.ackTimeoutSeconds),
    '--delivery-timeout', String(e.analyzerOptions.mikeyAfter200TimeoutSeconds),
    '--pull-timeout', String(e.analyzerOptions.solicitedPullTimeoutSeconds),
  ];
  if (e.pacing.stormUes >= 2) a.push('--storm-ues', String(e.pacing.stormUes), '--storm-window', String(e.pacing.stormWindowMs / 1000));
  return a;
}

interface Line {
  type: string;
  [k: string]: unknown;
}

function ndjson(s: string): Line[] {
  return s
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Line);
}

test('clean capture: report with statistics, no diagnostics, exit 0', () => {
  const r = keyscope(['analyze', ...simArgs('sim-clean')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^== Summary ==/);
  assert.match(r.stdout, /diagnostics 0/);
  assert.match(r.stdout, /ACK rate: 9\/9 \(100\.0 %\)/);
  assert.match(r.stdout, /== Diagnostics ==\n {2}none/);
  assert.match(r.stdout, /none: every transaction ok/);
  assert.match(r.stdout, /MIKEY → ACK {14}n=9 /);
});

test('faults capture: exit 1 at the default --fail-on error, 0 with --fail-on never; every expected code in the report', () => {
  const e = JSON.parse(fs.readFileSync(capturePath('sim-faults.expected.json'), 'utf8')) as { codes: string[] };
  const r = keyscope(['analyze', ...simArgs('sim-faults')]);
  assert.equal(r.status, 1, r.stderr);
  for (const c of e.codes) assert.ok(r.stdout.includes(` ${c} `), `${c} in the report`);
  assert.match(r.stdout, /== Worst transactions ==\n {2}T\d+ /);
  assert.match(r.stdout, /error \(\d+\):\n {4}\S+ +\[T\d+ ue 127\.82\.0\.\d+\] frames \d+/);
  assert.equal(keyscope(['analyze', '--fail-on', 'never', ...simArgs('sim-faults')]).status, 0);
});

test('--json: NDJSON transaction, diagnostic, anomaly and a final stats record', () => {
  const r = keyscope(['analyze', '--json', ...simArgs('sim-faults')]);
  assert.equal(r.status, 1, r.stderr);
  const lines = ndjson(r.stdout);
  assert.equal(lines[lines.length - 1].type, 'stats');
  assert.equal(lines[0].type, 'header');
  assert.deepEqual([...new Set(lines.map((l) => l.type))].sort(), ['anomaly', 'diagnostic', 'header', 'stats', 'transaction', 'ue']);
  for (const l of lines) assert.equal(l.capture, 'sim-faults.pcap');
  const txIds = new Set(lines.filter((l) => l.type === 'transaction').map((l) => l.id));
  for (const d of lines.filter((l) => l.type === 'diagnostic')) {
    // possibleCaptureLoss only on findings near a span of suspected loss (the faults capture's MSK counter jump)
    assert.deepEqual(Object.keys(d).filter((k) => k !== 'possibleCaptureLoss').sort(), ['capture', 'code', 'frames', 'message', 'severity', 'transaction', 'ts', 'type', 'ue'].sort());
    assert.ok(Array.isArray(d.frames) && (d.frames as number[]).length > 0);
    if (d.transaction !== null) assert.ok(txIds.has(d.transaction), `diagnostic names transaction ${String(d.transaction)}`);
  }
  const stats = lines[lines.length - 1] as Line & { transactions: number; ack: { requested: number; acked: number } };
  assert.equal(stats.transactions, txIds.size);
  assert.equal(stats.ack.requested, 74);
  assert.equal(stats.ack.acked, 71);
});

test('--fail-on warning: a capture with only warnings fails at warning, passes at error', () => {
  const lab = new Lab();
  const m = lab.msk(0x0101, 1);
  lab.mtk(1, m, 2, 10);
  lab.mtk(1.1, m, 1, 11); // the MTK ID goes back: a warning
  const out = lab.write('warnings');
  try {
    assert.equal(keyscope(['analyze', out.pcap]).status, 0);
    const w = keyscope(['analyze', '--fail-on', 'warning', out.pcap]);
    assert.equal(w.status, 1);
    assert.match(w.stdout, /mtk-id-not-increasing/);
  } finally {
    fs.rmSync(out.dir, { recursive: true, force: true });
  }
});

test('unreadable capture: exit 2; usage errors: 64', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-analyze-'));
  try {
    assert.equal(keyscope(['analyze', path.join(dir, 'missing.pcap')]).status, 2);
    const junk = path.join(dir, 'junk.pcap');
    fs.writeFileSync(junk, 'this is not a capture at all');
    const r = keyscope(['analyze', junk]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^keyscope: /);
    assert.equal(keyscope(['analyze']).status, 64);
    assert.equal(keyscope(['analyze', '--fail-on', 'sometimes', junk]).status, 64);
    assert.equal(keyscope(['analyze', '-', '--annotate', path.join(dir, 'x.pcapng')]).status, 64);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--annotate: every finding is a packet comment on its frames, read back with tshark; old comments kept', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-annotate-'));
  try {
    const out = path.join(dir, 'annotated.pcapng');
    const r = keyscope(['analyze', '--json', '--annotate', out, ...simArgs('sim-faults')]);
    assert.equal(r.status, 1, r.stderr);
    const want = new Map<number, string[]>();
    for (const d of ndjson(r.stdout).filter((l) => l.type === 'diagnostic')) {
      const who = [d.transaction, d.ue !== null ? `ue ${String(d.ue)}` : undefined].filter((x) => x !== null && x !== undefined).join(' ');
      const text = `keyscope ${String(d.severity)}: ${String(d.code)}${who ? ` [${who}]` : ''}: ${String(d.message)}`;
      for (const f of d.frames as number[]) want.set(f, [...(want.get(f) ?? []), text]);
    }
    // tshark's own reading: frame.comment, one value per comment
    const rows = execFileSync('tshark', ['-n', '-r', out, '-Y', 'frame.comment', '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=\u0001', '-e', 'frame.number', '-e', 'frame.comment'], { encoding: 'utf8', maxBuffer: 64 << 20 })
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => l.split('\t'));
    const got = new Map(rows.map(([n, c]) => [Number(n), c.split('\u0001')]));
    assert.deepEqual([...got.keys()].sort((a, b) => a - b), [...want.keys()].sort((a, b) => a - b));
    for (const [f, texts] of want) assert.deepEqual(got.get(f), texts, `frame ${f}`);
    // the same packets, same count and times
    const orig = tsharkFields(capturePath('sim-faults.pcap'), ['frame.number', 'frame.time_epoch', 'frame.len']);
    const ann = tsharkFields(out, ['frame.number', 'frame.time_epoch', 'frame.len']);
    assert.deepEqual(ann, orig);
    // existing comments survive
    const out2 = path.join(dir, 'comments.pcapng');
    assert.equal(keyscope(['analyze', capturePath('cap-lo-udp-comments.pcapng'), '--annotate', out2]).status, 0);
    const before = tsharkFields(capturePath('cap-lo-udp-comments.pcapng'), ['frame.number', 'frame.comment'], ['-Y', 'frame.comment']);
    const after = tsharkFields(out2, ['frame.number', 'frame.comment'], ['-Y', 'frame.comment']);
    assert.deepEqual(after, before);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('packet text is escaped in the report', () => {
  const lab = new Lab();
  const u = lab.ue(1, { wrongPassword: true, btid: 'evil\u001b[31m@bsf.example' });
  lab.register(u, 1);
  const out = lab.write('escape', [u]);
  try {
    const r = keyscope(['analyze', out.pcap]);
    assert.equal(r.status, 1);
    assert.ok(!r.stdout.includes('\u001b'), 'no raw ESC on the terminal');
    assert.match(r.stdout, /credentials-rejected .*evil\\x1b\[31m@bsf\.example/);
  } finally {
    fs.rmSync(out.dir, { recursive: true, force: true });
  }
});
