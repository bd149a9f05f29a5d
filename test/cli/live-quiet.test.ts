/**
 * `keyscope live` when the traffic stops (issue #12): a BM-SC that accepts a connection and never answers an MSK
 * request must not hold back the frames behind that request, text or `--dash`, and `request-unanswered` must show
 * once --pull-timeout has passed on the wall clock, with no frame after it.
 *
 * Network: 127.171.0.0/16 and ports 17171–17183 belong to this file and to live-engine and live-write
 * (no other test uses them), so each capture filter sees only its own traffic. Every child is tied (test/support/proc.ts) and killed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from '../support/proc';
import { cliPath } from '../support/repo';

/** Fails (never hangs) when something does not happen: a guard, not a speed assertion. */
const GUARD_MS = 20_000;
/** The promise of issue #12: a held frame reaches the screen within this much wall-clock time. */
const SHOWN_WITHIN_MS = 1000;
/** --pull-timeout given to keyscope: short, so the finding comes during the test. */
const PULL_TIMEOUT_S = 1.5;
/** UDP datagrams sent after the unanswered request (each is held behind it while the request waits). */
const UDP_FRAMES = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Scenario {
  /** Wall ms when the last UDP datagram was sent. */
  lastSent: number;
  /** Wall ms when the request was written. */
  requested: number;
  close(): void;
}

/**
 * The unanswered-request scenario: a server on `bmsc`:`port` accepts and never answers; the UE (`ue`) sends
 * POST /keymanagement?requesttype=msk-request, then UDP_FRAMES datagrams to a bound socket (no ICMP) on port + 1.
 */
async function unansweredRequest(bmsc: string, ue: string, port: number): Promise<Scenario> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
  });
  await new Promise<void>((resolve) => server.listen(port, bmsc, resolve));
  const receiver = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => receiver.bind(port + 1, bmsc, resolve));
  const sender = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sender.bind(0, ue, resolve));
  const client = net.connect({ host: bmsc, port, localAddress: ue });
  await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
  const close = () => {
    client.destroy();
    for (const s of sockets) s.destroy();
    server.close();
    receiver.close();
    sender.close();
  };
  try {
    const requested = Date.now();
    client.write('POST /keymanagement?requesttype=msk-request HTTP/1.1\r\nHost: bmsc.example\r\nContent-Type: application/xml\r\nContent-Length: 0\r\n\r\n');
    await sleep(100);
    for (let i = 0; i < UDP_FRAMES; i++) {
      await new Promise<void>((resolve, reject) => sender.send(Buffer.from(`after the request ${i}`), port + 1, bmsc, (err) => (err ? reject(err) : resolve())));
      await sleep(10);
    }
    return { requested, lastSent: Date.now(), close };
  } catch (err) {
    close();
    throw err;
  }
}

async function until<T>(what: string, probe: () => T | undefined, detail: () => string): Promise<T> {
  const end = Date.now() + GUARD_MS;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}\n${detail()}`);
    await sleep(20);
  }
}

/** The text-mode scenario with one engine: its own /24 of 127.171 and port pair (net.1, port and port + 1). */
async function textModeScenario(engine: string[], net: string, port: number): Promise<void> {
  const child = spawn(
    process.execPath,
    [cliPath(), 'live', '-i', 'lo', ...engine, '-f', `net ${net}.0/24 and (tcp port ${port} or udp port ${port + 1})`, '--pull-timeout', String(PULL_TIMEOUT_S)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const detail = () => `stdout:\n${out}\nstderr:\n${err}`;
  let sc: Scenario | undefined;
  try {
    await until('the capture to start', () => (/capturing on/.test(err) ? true : undefined), detail);
    sc = await unansweredRequest(`${net}.1`, `${net}.2`, port);
    const udpLines = () => out.split('\n').filter((l) => new RegExp(` UDP \\d+ \\d+ → ${port + 1} `).test(l)).length;
    const shownAt = await until('every UDP frame behind the request', () => (udpLines() === UDP_FRAMES ? Date.now() : undefined), detail);
    assert.ok(shownAt - sc.lastSent < SHOWN_WITHIN_MS, `the last frame showed ${shownAt - sc.lastSent} ms after it was sent\n${detail()}`);
    assert.match(out, /HTTP \d+ POST \/keymanagement\?requesttype=msk-request/);
    // no frame follows: only the capture's clock can reveal the missing response
    const foundAt = await until('request-unanswered', () => (/request-unanswered/.test(err) ? Date.now() : undefined), detail);
    const waited = (foundAt - sc.requested) / 1000;
    assert.ok(waited >= PULL_TIMEOUT_S - 0.05, `found after ${waited} s, before the ${PULL_TIMEOUT_S} s pull timeout`);
    assert.ok(waited < PULL_TIMEOUT_S + SHOWN_WITHIN_MS / 1000, `found ${waited} s after the request`);
    const ue = `${net}.2`.replace(/\./g, '\\.');
    assert.match(err, new RegExp(`keyscope live: error request-unanswered \\[T\\d+ ue ${ue}\\] frames \\d+: POST /keymanagement\\?requesttype=msk-request from ${ue} got no response within ${PULL_TIMEOUT_S} s`));
    assert.equal(child.exitCode, null, 'still capturing');
  } finally {
    sc?.close();
    child.kill('SIGKILL');
  }
}

test('text mode: the frames behind an unanswered request print within 1 s; request-unanswered follows the pull timeout on the wall clock', { timeout: 60_000 }, async () => {
  await textModeScenario([], '127.171.0', 17171);
});

// dumpcap hands frames over up to its 250 ms read timeout late (no immediate mode): the promise still holds
test('--engine dumpcap, text mode: the frames behind an unanswered request print within 1 s; request-unanswered on the wall clock', { timeout: 60_000 }, async () => {
  await textModeScenario(['--engine', 'dumpcap'], '127.171.4', 17180);
});

test('--dash: the frame counter includes the frames behind an unanswered request within 1 s; request-unanswered shows while capturing', { timeout: 60_000 }, async () => {
  const socket = `keyscope-live-quiet-${process.pid}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-live-quiet-'));
  const errFile = path.join(dir, 'err');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  let sc: Scenario | undefined;
  try {
    const cmd = [process.execPath, cliPath(), 'live', '-i', 'lo', '-f', 'net 127.171.0.0/16 and (tcp port 17173 or udp port 17174)', '--pull-timeout', String(PULL_TIMEOUT_S), '--dash']
      .map(q)
      .join(' ');
    const started = tmux('new-session', '-d', '-s', 'quiet', '-x', '170', '-y', '50', '-e', 'NCURSES_NO_UTF8_ACS=1', '-e', 'TERM=xterm-256color', `${cmd} 2> ${q(errFile)}; sleep 60`);
    assert.equal(started.status, 0, started.stderr);
    const screen = () => tmux('capture-pane', '-p', '-t', 'quiet').stdout;
    const detail = () => `${screen()}\n${fs.existsSync(errFile) ? fs.readFileSync(errFile, 'utf8') : ''}`;
    await until('the live header', () => (/\[live\]\s+capturing/.test(screen().split('\n')[0]) ? true : undefined), detail);
    // the header says which clock stamped the frames
    assert.match(screen().split('\n')[0], /, cap stamps: arrival in the capture process, µs\s+\[live\]/);
    sc = await unansweredRequest('127.171.1.1', '127.171.1.2', 17173);
    // SYN, SYN-ACK, ACK, the request, the datagrams: at least this many frames once nothing is held back
    const atLeast = 4 + UDP_FRAMES;
    const frames = () => Number(/frames (\d+)/.exec(screen().split('\n').slice(0, 3).join('\n'))?.[1] ?? -1);
    const shownAt = await until(`frames ≥ ${atLeast} in the header`, () => (frames() >= atLeast ? Date.now() : undefined), detail);
    assert.ok(shownAt - sc.lastSent < SHOWN_WITHIN_MS, `the counter reached ${atLeast} ${shownAt - sc.lastSent} ms after the last frame was sent\n${detail()}`);
    const waiting = screen();
    // before its pull timeout the request's transaction is open: the header counts it instead of leaving it out
    if (!waiting.includes('request-unanswered')) assert.match(waiting.split('\n').slice(0, 3).join('\n'), /transactions 1 \([^)]*open 1\)/);
    const text = await until('request-unanswered on the screen', () => {
      const s = screen();
      return s.includes('request-unanswered') ? s : undefined;
    }, detail);
    const foundAt = Date.now();
    assert.ok((foundAt - sc.requested) / 1000 >= PULL_TIMEOUT_S - 0.05);
    assert.match(text.split('\n')[0], /capturing/, 'found while capturing');
    const line = text.split('\n').find((l) => l.includes('request-unanswered')) as string;
    assert.match(line, /127\.171\.1\.2/);
  } finally {
    sc?.close();
    tmux('kill-server');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
