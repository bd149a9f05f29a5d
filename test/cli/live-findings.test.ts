/**
 * `keyscope live --findings-json FILE`: live's own findings, machine-readable (what `bench --live` compares with
 * analyze of the oracle's capture, issue #12). The capture comes from a stand-in for tcpdump (KEYSCOPE_TCPDUMP) that
 * streams the simulator's faults capture as fast as the pipe takes it, then stays quiet until SIGINT: live is behind
 * its engine the whole time (a backlog stamped in the past), so its findings are those of the same file analysed with
 * analyze's only if its clock stays with the frames (PipedCapture.paced) and no frame is lost before its
 * handlers are registered — same codes, UEs, frames, times and caveats. No file at all when the run fails. No network; every child is tied and killed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from '../support/proc';
import { startWatched, until as waitFor } from '../support/live-child';
import { capturePath, cliPath } from '../support/repo';
import { correlatorOptionsFor } from '../support/expected-findings';
import { readCapture } from '../../src/capture/reader';
import { Analyzer } from '../../src/pipeline/analyzer';
import { loadKeyFile } from '../../src/protocols/keys';
import { diagnosticJson } from '../../src/report/analyze-json';
import type { ExpectedFindings } from '../../src/sim/run';

const GUARD_MS = 30_000;

/** The options the faults capture's expected findings were written for (captures/sim-faults.expected.json). */
const FAULT_OPTIONS = ['--keys', capturePath('sim-faults.keys'), '--ack-timeout', '0.72', '--delivery-timeout', '0.72', '--pull-timeout', '0.72', '--storm-ues', '5', '--storm-window', '0.05'];

function standIn(dir: string, capture: string): string {
  const program = path.join(dir, 'fake-tcpdump');
  fs.writeFileSync(program, `#!${process.execPath}
process.on('SIGINT', () => process.exit(0));
process.stdout.write(require('node:fs').readFileSync(${JSON.stringify(capture)}), () => setInterval(() => {}, 1000));
`, { mode: 0o755 });
  return program;
}

/**
 * Diagnostics as comparable lines (code, UE, frames, time to the µs, caveat). Findings made when the capture ended
 * (at or after its last frame: a UE left keyless) carry the time live stopped, which a file does not know: no time for them.
 */
function diagnostics(records: Array<Record<string, unknown>>, lastFrame: number): string[] {
  return records
    .filter((r) => r.type === 'diagnostic')
    .map((r) => {
      const ts = Number(r.ts);
      return `${String(r.code)} ${String(r.ue)} [${String(r.frames)}] ${ts >= lastFrame - 1e-6 ? 'at the end' : ts.toFixed(6)}${r.possibleCaptureLoss ? ' caveat' : ''}`;
    })
    .sort();
}

const parse = (ndjson: string) => ndjson.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

/**
 * The findings of the capture as `analyze` makes them, with the analyzer options live was given: live holds its
 * findings longer (tcpdump's counters come a stats interval late) but decides the caveat as analyze does.
 */
async function expected(capture: string): Promise<{ records: Array<Record<string, unknown>>; lastFrame: number }> {
  const e = JSON.parse(fs.readFileSync(capture.replace(/\.pcap$/, '.expected.json'), 'utf8')) as ExpectedFindings;
  const records: Array<Record<string, unknown>> = [];
  const a = new Analyzer({ diagnostic: (d) => records.push(diagnosticJson(d)) }, {
    dissector: { keys: loadKeyFile(capture.replace(/\.pcap$/, '.keys')) },
    correlator: correlatorOptionsFor(e),
  });
  let lastFrame = 0;
  await readCapture(capture, (f) => {
    lastFrame = f.tsSec + f.tsNsec / 1e9;
    a.frame({ ...f, data: Buffer.from(f.data) });
  });
  a.finish();
  return { records, lastFrame };
}

test('live --findings-json: the findings of a backlog streamed from the engine equal analyze\'s of the same capture', { timeout: 90_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-live-findings-'));
  const capture = capturePath('sim-faults.pcap');
  const out = path.join(dir, 'findings.ndjson');
  // the child inherits the stand-in through the environment
  const before = process.env.KEYSCOPE_TCPDUMP;
  process.env.KEYSCOPE_TCPDUMP = standIn(dir, capture);
  const live = startWatched(process.execPath, [cliPath(), 'live', '-i', 'fake0', '--engine', 'tcpdump', '--findings-json', out, '-T', 'fields', '-e', 'frame.number', ...FAULT_OPTIONS]);
  if (before === undefined) delete process.env.KEYSCOPE_TCPDUMP;
  else process.env.KEYSCOPE_TCPDUMP = before;
  try {
    await waitFor('keyscope to capture', () => /capturing on/.test(live.err()), live, GUARD_MS);
    const frames = Number(/(\d+)\s*$/.exec(spawnSync('capinfos', ['-c', '-M', capture], { encoding: 'utf8' }).stdout)?.[1]);
    assert.ok(frames > 0);
    // every frame analysed (one number a line), then quiet long enough for the pacer to let the last deadlines expire
    await waitFor('the capture to be read', () => live.out().trim().split('\n').length >= frames, live, GUARD_MS);
    await new Promise((r) => setTimeout(r, 1500));
    live.child.kill('SIGINT');
    assert.equal(await live.exit, 0, live.err());
    const { records, lastFrame } = await expected(capture);
    const want = diagnostics(records, lastFrame);
    assert.ok(want.length > 5, `${want.length} findings in the faults capture`);
    assert.ok(want.some((w) => w.endsWith('caveat')) && want.some((w) => !w.endsWith('caveat')));
    assert.deepEqual(diagnostics(parse(fs.readFileSync(out, 'utf8')), lastFrame), want);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
  } finally {
    live.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('live --findings-json: no file when the capture cannot start, or --dash has no terminal', { timeout: 60_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-live-findings-'));
  try {
    const out = path.join(dir, 'findings.ndjson');
    // --dash takes --findings-json too (test/cli/live-dash-drain.test.ts); without a terminal it is a usage error
    const dash = spawnSync(process.execPath, [cliPath(), 'live', '-i', 'lo', '--dash', '--findings-json', out], { encoding: 'utf8' });
    assert.equal(dash.status, 64, dash.stderr);
    assert.match(dash.stderr, /--dash needs a terminal/);
    const bad = spawnSync(process.execPath, [cliPath(), 'live', '-i', 'no-such-iface0', '--engine', 'tcpdump', '--findings-json', out], {
      encoding: 'utf8', env: { ...process.env, KEYSCOPE_TCPDUMP: '/nonexistent/tcpdump' },
    });
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing written');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
