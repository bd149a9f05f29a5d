/**
 * `keyscope live` with the capture process's disk spool (issue #12), end to end, without a network: a stand-in for
 * tcpdump (KEYSCOPE_TCPDUMP) streams a capture as fast as the pipe takes it, keyscope's capture process relays it
 * through a memory queue of 20 packets and the spool behind it. Every frame is analysed, in order: live's findings
 * equal analyze's of the same capture and of the -w file the capture process wrote; the end says what went through the
 * spool. A backlog far larger than the analysis takes in a few seconds: text mode's status line says how far behind it
 * is; a first SIGINT drains the spool, a second one leaves at once and counts what was not analysed.
 * Every child is tied or killed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from '../support/proc';
import { startWatched, until as waitFor } from '../support/live-child';
import { capturePath, cliPath } from '../support/repo';

const GUARD_MS = 60_000;
const FAULT_OPTIONS = ['--keys', capturePath('sim-faults.keys'), '--ack-timeout', '0.72', '--delivery-timeout', '0.72', '--pull-timeout', '0.72', '--storm-ues', '5', '--storm-window', '0.05'];

/**
 * A stand-in for tcpdump: writes `capture`'s header and then its records `rounds` times over (as fast as the pipe
 * takes them), then waits; SIGINT ends it.
 */
function standIn(dir: string, capture: string, rounds: number): string {
  const program = path.join(dir, 'fake-tcpdump');
  fs.writeFileSync(program, `#!${process.execPath}
process.on('SIGINT', () => process.exit(0));
const data = require('node:fs').readFileSync(${JSON.stringify(capture)});
const parts = [data.subarray(0, 24)];
for (let i = 0; i < ${rounds}; i++) parts.push(data.subarray(24));
process.stdout.write(Buffer.concat(parts), () => setInterval(() => {}, 1000));
`, { mode: 0o755 });
  return program;
}

/** Start `keyscope live --engine tcpdump` on the stand-in (the child inherits it through the environment). */
function startLive(program: string, args: string[]): ReturnType<typeof startWatched> {
  const before = process.env.KEYSCOPE_TCPDUMP;
  process.env.KEYSCOPE_TCPDUMP = program;
  try {
    return startWatched(process.execPath, [cliPath(), 'live', '-i', 'fake0', '--engine', 'tcpdump', ...args]);
  } finally {
    if (before === undefined) delete process.env.KEYSCOPE_TCPDUMP;
    else process.env.KEYSCOPE_TCPDUMP = before;
  }
}

/** Diagnostics of NDJSON records as comparable lines: code, UE, frames, caveat (times: the end-of-capture ones differ by design). */
function diagnostics(ndjson: string): string[] {
  return ndjson
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.type === 'diagnostic')
    .map((r) => `${String(r.code)} ${String(r.ue)} [${String(r.frames)}]${r.possibleCaptureLoss ? ' caveat' : ''}`)
    .sort();
}

test('a memory queue of 20 packets: every frame reaches the analysis through the spool, in order; findings equal analyze\'s of the capture and of -w', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-live-spool-'));
  const capture = capturePath('sim-faults.pcap');
  const out = path.join(dir, 'findings.ndjson');
  const written = path.join(dir, 'written.pcap');
  const spoolDir = path.join(dir, 'spool');
  fs.mkdirSync(spoolDir);
  const live = startLive(standIn(dir, capture, 1), ['--capture-queue', '20', '--spool-dir', spoolDir, '-w', written, '--findings-json', out, '-T', 'fields', '-e', 'frame.number', ...FAULT_OPTIONS]);
  try {
    await waitFor('keyscope to capture', () => /capturing on/.test(live.err()), live, GUARD_MS);
    const frames = Number(/(\d+)\s*$/.exec(spawnSync('capinfos', ['-c', '-M', capture], { encoding: 'utf8' }).stdout)?.[1]);
    await waitFor('every frame analysed', () => live.out().trim().split('\n').length >= frames, live, GUARD_MS);
    // quiet long enough for the pacer to let the last deadlines expire, as analyze does at the end of the file
    await new Promise((r) => setTimeout(r, 1500));
    live.child.kill('SIGINT');
    assert.equal(await live.exit, 0, live.err());
    assert.deepEqual(live.out().trim().split('\n').map(Number), Array.from({ length: frames }, (_, i) => i + 1), 'every frame, in capture order');
    const m = /capture queue: (\d+) frames went through the disk spool \(peak ([\d.]+) MB\), 0 dropped \(spool full\), (\d+) analysed/.exec(live.err());
    assert.ok(m, live.err());
    assert.ok(Number(m[1]) > 0, 'frames went through the spool');
    assert.equal(Number(m[3]), frames);
    assert.match(live.err(), new RegExp(`wrote ${frames} frames to `));
    const analyze = (file: string) => spawnSync(process.execPath, [cliPath(), 'analyze', '--json', ...FAULT_OPTIONS, file], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout;
    const want = diagnostics(analyze(capture));
    assert.ok(want.length > 5, `${want.length} findings in the faults capture`);
    assert.deepEqual(diagnostics(fs.readFileSync(out, 'utf8')), want, "live's findings = analyze's of the capture");
    assert.deepEqual(diagnostics(analyze(written)), want, "analyze of the -w file the capture process wrote = analyze's of the capture");
    assert.deepEqual(fs.readdirSync(spoolDir), [], 'no spool file left');
  } finally {
    live.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a large backlog: text mode says how far behind it is; the first SIGINT drains, a second leaves at once counting what was not analysed', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-live-spool-'));
  const capture = capturePath('sim-faults.pcap');
  // ~860 k frames: the analysis takes many seconds, the stand-in a fraction of one. The backlog must outlast the first
  // status line (5 s) by a wide margin: at 400 rounds a run analysing ≈ 97 k frames/s had only 19 k frames left then,
  // and drained them before the second SIGINT came
  const rounds = 700;
  const spoolDir = path.join(dir, 'spool');
  fs.mkdirSync(spoolDir);
  const live = startLive(standIn(dir, capture, rounds), ['--capture-queue', '20', '--spool-dir', spoolDir, '-T', 'fields', '-e', 'frame.number', '-w', path.join(dir, 'w.pcap'), ...FAULT_OPTIONS]);
  try {
    await waitFor('the status line', () => /keyscope live: behind: \d+ frames, [\d.]+ MB spooled, [\d.]+ s \(analysed \d+; the capture goes on\)/.test(live.err()), live, GUARD_MS);
    live.child.kill('SIGINT');
    // long enough for the first signal to be handled on its own, short against the backlog
    await new Promise((r) => setTimeout(r, 100));
    const at = Date.now();
    live.child.kill('SIGINT');
    assert.equal(await live.exit, 0, live.err());
    assert.ok(Date.now() - at < 15_000, `the second SIGINT leaves at once (${Date.now() - at} ms)`);
    const total = 1229 * rounds;
    const analysed = Number(/keyscope live: (\d+) packets captured, /.exec(live.err())?.[1]);
    const left = Number(/, (\d+) more captured \(and in -w\) but not analysed/.exec(live.err())?.[1]);
    assert.ok(left > 0, live.err().split('\n').filter((l) => !/^keyscope live: (note|warning|error) /.test(l)).join('\n'));
    assert.equal(analysed + left, total, 'analysed + not analysed = captured');
    assert.match(live.err(), new RegExp(`wrote ${total} frames to `));
    assert.deepEqual(fs.readdirSync(spoolDir), [], 'no spool file left');
  } finally {
    live.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
