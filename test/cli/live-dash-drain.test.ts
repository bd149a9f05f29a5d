/**
 * `keyscope live --dash` ends like text-mode `live` (issue #12): the first SIGINT stops capturing, the dashboard
 * analyses what was still queued (its header says it is draining), leaves the screen by itself and prints what text
 * mode prints — the findings, the capture summary, the -w file written. The same datagrams are sent to text mode and
 * to the dashboard (in a tmux pane), SIGINT right after the last one: both analyse every datagram sent, make the same
 * findings (--findings-json and the finding lines), and exit 0 by themselves; -w holds every frame.
 *
 * Network: 127.203.0.0/16 (this helper's /16: no other test uses it), UDP to the MIKEY port only, loopback only. Every
 * child is tied (test/support/proc.ts) or runs in a tmux server of the test's own, killed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from '../support/proc';
import { startWatched, until } from '../support/live-child';
import { capturePath, cliPath } from '../support/repo';
import { tsharkFields } from '../support/tshark';
import { PcapWriter } from '../../src/capture/pcap-writer';
import { readCapture } from '../../src/capture/reader';
import type { CaptureFrame } from '../../src/capture/types';

/** Fails (never hangs) when something does not happen: a guard, not a speed assertion. */
const GUARD_MS = 60_000;
const MIKEY_PORT = 2269;
/** The source capture's addresses (127.0.0.N) move to 127.203.0.N. */
const NET = '127.203.0';
const FILTER = `udp dst port ${MIKEY_PORT} and net ${NET.split('.').slice(0, 2).join('.')}.0.0/16`;
/** The MIKEY capture's datagrams sent this many times over on lo. */
const ROUNDS = 100;
/** … and this many times over in the stand-in's stream (a backlog for the analysis at SIGINT). */
const REPLAY_ROUNDS = 400;
/** Datagrams sent per millisecond timer at most (paced: the kernel's capture ring on lo is small, ~1000 packets at -B KERNEL_BUFFER_KIB). */
const BURST = 10;
/** -B for both runs (KiB): on lo one packet takes a 128 KiB slot of it. */
const KERNEL_BUFFER_KIB = 131072;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Traffic {
  count: number;
  keys: string;
  sendAll(): Promise<void>;
  close(): void;
}

/** mikey-mbms-kinds.pcap's MIKEY datagrams, moved into 127.203.0.0/16, with a key file for the moved addresses. */
async function traffic(dir: string): Promise<Traffic> {
  const file = capturePath('mikey-mbms-kinds.pcap');
  const move = (a: string) => a.replace(/^127\.0\.0\./, `${NET}.`);
  const rows = tsharkFields(file, ['ip.src', 'ip.dst', 'udp.payload']).map(([src, dst, hex]) => ({ src: move(src), dst: move(dst), payload: Buffer.from(hex.replace(/:/g, ''), 'hex') }));
  assert.ok(rows.length > 5);
  const keys = path.join(dir, 'moved.keys');
  fs.writeFileSync(keys, fs.readFileSync(capturePath('mikey-mbms-kinds.keys'), 'utf8').replace(/127\.0\.0\./g, `${NET}.`), { mode: 0o600 });
  const sockets = new Map<string, dgram.Socket>();
  const close = () => {
    for (const s of sockets.values()) s.close();
  };
  try {
    for (const a of new Set(rows.flatMap((r) => [r.src, r.dst]))) {
      const s = dgram.createSocket('udp4');
      sockets.set(a, s);
      // bound to the MIKEY port on every address: datagrams are received (no ICMP), and sent from that port
      await new Promise<void>((resolve) => s.bind(MIKEY_PORT, a, resolve));
    }
  } catch (err) {
    close();
    throw err;
  }
  const sendAll = async () => {
    let n = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (const row of rows) {
        const s = sockets.get(row.src) as dgram.Socket;
        await new Promise<void>((resolve, reject) => s.send(row.payload, MIKEY_PORT, row.dst, (e) => (e ? reject(e) : resolve())));
        if (++n % BURST === 0) await sleep(1);
      }
    }
  };
  return { count: rows.length * ROUNDS, keys, sendAll, close };
}

const liveArgs = (keys: string, out: string, findings: string) => ['live', '-i', 'lo', '-f', FILTER, '-B', String(KERNEL_BUFFER_KIB), '--keys', keys, '-w', out, '--findings-json', findings];

/** Two long lists of lines alike; else the first difference (assert's own diff of thousands of lines takes minutes). */
function sameLines(got: readonly string[], want: readonly string[], what: string): void {
  const i = got.findIndex((l, n) => l !== want[n]);
  if (i >= 0 || got.length !== want.length) {
    const at = i >= 0 ? i : Math.min(got.length, want.length);
    assert.fail(`${what}: ${got.length} lines, ${want.length} wanted; first difference at ${at}:\n got  ${got[at] ?? '(none)'}\n want ${want[at] ?? '(none)'}`);
  }
}

/** Diagnostics of a --findings-json file as comparable lines: code, UE, frames (times are arrival stamps: they differ run to run). */
function diagnostics(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.type === 'diagnostic')
    .map((r) => `${String(r.code)} ${String(r.ue)} [${String(r.frames)}]`)
    .sort();
}

/** What both modes print at the end: frames analysed, packets captured, findings lines (without their times), -w. */
function ending(err: string): { analysed: number; captured: number; findings: string[]; wrote: number; notAnalysed: boolean } {
  return {
    analysed: Number(/keyscope live: (\d+) frames, \d+ bytes in/.exec(err)?.[1] ?? -1),
    captured: Number(/keyscope live: (\d+) packets captured, /.exec(err)?.[1] ?? -1),
    findings: err.split('\n').filter((l) => /^keyscope live: (error|warning|note) /.test(l)).sort(),
    wrote: Number(/keyscope live: wrote (\d+) frames to /.exec(err)?.[1] ?? -1),
    notAnalysed: /but not analysed/.test(err),
  };
}

function frameCount(file: string): number {
  return Number(/(\d+)\s*$/.exec(spawnSync('capinfos', ['-c', '-M', file], { encoding: 'utf8' }).stdout)?.[1] ?? -1);
}

/** Wait until the -w file (flushed as it grows) holds `count` frames: the capture has them all. */
async function capturedAll(file: string, count: number): Promise<void> {
  const end = Date.now() + GUARD_MS;
  let n = -1;
  while ((n = fs.existsSync(file) ? frameCount(file) : -1) < count) {
    if (Date.now() > end) throw new Error(`${file} holds ${n} of the ${count} frames sent`);
    await sleep(50);
  }
}

/** The dashboard in a tmux pane of the test's own server: its pid (from the shell it replaces), screen, exit code. */
class DashPane {
  private readonly pidFile: string;
  private readonly exitFile: string;
  readonly errFile: string;

  constructor(private readonly tmux: (...args: string[]) => { status: number | null; stdout: string; stderr: string }, dir: string, private readonly name: string, args: string[], env: Record<string, string> = {}) {
    this.errFile = path.join(dir, `${name}.err`);
    this.pidFile = path.join(dir, `${name}.pid`);
    this.exitFile = path.join(dir, `${name}.exit`);
    const script = path.join(dir, `${name}.sh`);
    const exports = Object.entries(env).map(([k, v]) => `export ${k}=${q(v)}\n`).join('');
    fs.writeFileSync(script, `${exports}echo $$ > ${q(this.pidFile)}\nexec ${[process.execPath, cliPath(), ...args].map(q).join(' ')} 2> ${q(this.errFile)}\n`);
    const started = tmux('new-session', '-d', '-s', name, '-x', '170', '-y', '50', '-e', 'TERM=xterm-256color', `sh ${q(script)}; echo $? > ${q(this.exitFile)}; sleep 120`);
    assert.equal(started.status, 0, started.stderr);
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', this.name).stdout;
  }

  header(): string {
    return this.screen().split('\n')[0] ?? '';
  }

  err(): string {
    return fs.existsSync(this.errFile) ? fs.readFileSync(this.errFile, 'utf8') : '';
  }

  get pid(): number {
    return Number(fs.readFileSync(this.pidFile, 'utf8').trim());
  }

  exitCode(): string | undefined {
    const t = fs.existsSync(this.exitFile) ? fs.readFileSync(this.exitFile, 'utf8').trim() : '';
    return t === '' ? undefined : t;
  }

  async waitFor(what: string, ok: () => boolean): Promise<void> {
    const end = Date.now() + GUARD_MS;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`gave up waiting for ${what}\n${this.screen()}\n${this.err()}`);
      await sleep(20);
    }
  }

  /** SIGINT, then wait until it has exited by itself; whether the header said it was draining meanwhile. */
  async interrupt(): Promise<{ exit: string; sawDraining: boolean; ms: number }> {
    const at = Date.now();
    process.kill(this.pid, 'SIGINT');
    let sawDraining = false;
    await this.waitFor('the dashboard to exit by itself', () => {
      if (!sawDraining && /draining/.test(this.header())) sawDraining = true;
      return this.exitCode() !== undefined;
    });
    return { exit: this.exitCode() as string, sawDraining, ms: Date.now() - at };
  }
}

/** A stand-in for tcpdump (KEYSCOPE_TCPDUMP): writes `capture` as its pcap stream at once (blocking until the pipe took it all), then waits; SIGINT ends it. */
function standIn(dir: string, capture: string): string {
  const program = path.join(dir, 'fake-tcpdump');
  fs.writeFileSync(program, `#!${process.execPath}
process.on('SIGINT', () => process.exit(0));
const fs = require('node:fs');
const data = fs.readFileSync(${JSON.stringify(capture)});
for (let off = 0; off < data.length; ) {
  try { off += fs.writeSync(1, data, off); } catch (e) { if (e.code !== 'EAGAIN') throw e; }
}
setInterval(() => {}, 1000);
`, { mode: 0o755 });
  return program;
}

function analyzeDiagnostics(file: string, keys: string): string[] {
  const a = spawnSync(process.execPath, [cliPath(), 'analyze', '--json', '--fail-on', 'never', '--keys', keys, file], { encoding: 'utf8' });
  assert.equal(a.status, 0, a.stderr);
  const out = path.join(path.dirname(file), `${path.basename(file)}.analyze.ndjson`);
  fs.writeFileSync(out, a.stdout);
  return diagnostics(out);
}

test('live --dash on lo: SIGINT after the traffic, every frame captured is analysed, exits by itself, findings as analyze of its -w', { timeout: 240_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-dash-drain-'));
  const socket = `keyscope-dash-drain-${process.pid}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  let tr: Traffic | undefined;
  try {
    tr = await traffic(dir);
    const out = path.join(dir, 'dash.pcap');
    const findings = path.join(dir, 'dash.ndjson');
    const pane = new DashPane(tmux, dir, 'lo', [...liveArgs(tr.keys, out, findings), '--dash']);
    await pane.waitFor('the live header', () => /\[live\]\s+capturing/.test(pane.header()));
    await tr.sendAll();
    // SIGINT once the capture has taken the datagrams from the kernel (its -w file, flushed every 0.5 s, holds them;
    // a stop closes the kernel's ring): what the analysis has not taken yet is what drains
    await capturedAll(out, tr.count);
    const r = await pane.interrupt();
    assert.equal(r.exit, '0', pane.err());
    const got = ending(pane.err());
    const written = frameCount(out);
    assert.ok(written >= tr.count, `${written} frames in -w`);
    assert.equal(got.captured, written, pane.err());
    assert.equal(got.analysed, written, `every frame captured analysed\n${pane.err()}`);
    assert.equal(got.notAnalysed, false, pane.err());
    assert.equal(got.wrote, written, pane.err());
    assert.ok(got.findings.length > 0, 'the finding lines, as text mode prints them');
    sameLines(diagnostics(findings), analyzeDiagnostics(out, tr.keys), 'live --dash --findings-json as analyze of its -w file');
    t.diagnostic(`exited ${r.ms} ms after SIGINT; draining shown: ${r.sawDraining}`);
  } finally {
    tr?.close();
    tmux('kill-server');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('live --dash and text mode on the same replay (a tcpdump stand-in streaming a backlog): SIGINT while frames are queued, the same frames analysed, findings and summary', { timeout: 240_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-dash-drain-'));
  const socket = `keyscope-dash-drain-${process.pid}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  try {
    // the replay: the MIKEY capture's datagrams REPLAY_ROUNDS times over, as one pcap stream (no network)
    const capture = path.join(dir, 'replay.pcap');
    const keys = path.join(dir, 'replay.keys');
    fs.copyFileSync(capturePath('mikey-mbms-kinds.keys'), keys);
    fs.chmodSync(keys, 0o600);
    const count = await repeatCapture(capturePath('mikey-mbms-kinds.pcap'), capture, REPLAY_ROUNDS);
    const env = { KEYSCOPE_TCPDUMP: standIn(dir, capture) };
    const args = (name: string) => ['live', '-i', 'fake0', '--engine', 'tcpdump', '--keys', keys, '-w', path.join(dir, `${name}.pcap`), '--findings-json', path.join(dir, `${name}.ndjson`)];

    const before = process.env.KEYSCOPE_TCPDUMP;
    process.env.KEYSCOPE_TCPDUMP = env.KEYSCOPE_TCPDUMP;
    const text = startWatched(process.execPath, [cliPath(), ...args('text'), '-T', 'fields', '-e', 'frame.number']);
    if (before === undefined) delete process.env.KEYSCOPE_TCPDUMP;
    else process.env.KEYSCOPE_TCPDUMP = before;
    try {
      await until('text mode to analyse a first frame', () => text.out().length > 0, text, GUARD_MS);
      text.child.kill('SIGINT');
      assert.equal(await text.exit, 0, text.err());
    } finally {
      text.child.kill('SIGKILL');
    }
    const want = ending(text.err());
    assert.equal(want.analysed, count, text.err());
    assert.equal(want.notAnalysed, false, text.err());

    const pane = new DashPane(tmux, dir, 'dash', [...args('dash'), '--dash'], env);
    // SIGINT as soon as the dashboard shows a first frame: the rest of the stream is still queued in the pipe
    await pane.waitFor('a first frame on the dashboard', () => /frames [1-9]/.test(pane.screen().split('\n').slice(0, 3).join('\n')));
    const r = await pane.interrupt();
    assert.equal(r.exit, '0', pane.err());
    const got = ending(pane.err());
    assert.equal(got.analysed, count, `every frame of the replay analysed\n${pane.err()}`);
    assert.equal(got.captured, want.captured);
    assert.equal(got.notAnalysed, false, pane.err());
    sameLines(got.findings, want.findings, 'the finding lines text mode prints');
    sameLines(diagnostics(path.join(dir, 'dash.ndjson')), diagnostics(path.join(dir, 'text.ndjson')), '--findings-json as text mode\'s');
    assert.equal(got.wrote, count);
    assert.equal(frameCount(path.join(dir, 'dash.pcap')), count, '-w holds every frame');
    t.diagnostic(`exited ${r.ms} ms after SIGINT; draining shown: ${r.sawDraining}`);
  } finally {
    tmux('kill-server');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * `input`'s frames `rounds` times over into `output` (pcap, times moved on so they keep rising); the frame count. The
 * replay starts an hour after the wall clock: live's clock then stays with the frames (PipedCapture.paced never runs
 * behind the newest frame), so no deadline expires on the wall clock and both runs see the same packet time.
 */
async function repeatCapture(input: string, output: string, rounds: number): Promise<number> {
  const frames: CaptureFrame[] = [];
  await readCapture(input, (f) => frames.push({ ...f, data: Buffer.from(f.data) }));
  const first = frames[0];
  const last = frames[frames.length - 1];
  const span = (last.tsSec - first.tsSec) * 1e9 + (last.tsNsec - first.tsNsec) + 1e6;
  const shift = BigInt(Date.now() + 3_600_000) * 1_000_000n - (BigInt(first.tsSec) * 1_000_000_000n + BigInt(first.tsNsec));
  const w = new PcapWriter(output, { linkType: first.linkType, nanosecond: true });
  for (let r = 0; r < rounds; r++) {
    for (const f of frames) {
      const ns = BigInt(f.tsSec) * 1_000_000_000n + BigInt(f.tsNsec) + BigInt(Math.round(span * r)) + shift;
      w.write({ ...f, tsSec: Number(ns / 1_000_000_000n), tsNsec: Number(ns % 1_000_000_000n) });
    }
  }
  w.commit();
  return frames.length * rounds;
}
