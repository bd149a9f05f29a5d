/**
 * `keyscope dash` as a person runs it: the real CLI (bin/keyscope.js over the compiled dist/) in a tmux pane, read
 * back with `capture-pane -p`. The header's counters must equal the stats record of `keyscope analyze --json` for the
 * same file and options; `-` reads a pcap stream from standard input (keys from the terminal); q and Ctrl-C end the
 * program with exit code 0; an unreadable capture ends it with exit code 2. Each test uses its own tmux server
 * (a private socket), killed at the end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from '../support/proc';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { capturePath, cliPath, repoRoot } from '../support/repo';

const CAPTURE = capturePath('sim-faults.pcap');
const KEYS = capturePath('sim-faults.keys');
const OPTIONS = ['--keys', KEYS, '--ack-timeout', '0.72', '--delivery-timeout', '0.72', '--pull-timeout', '0.72'];

const socket = `keyscope-dash-test-${process.pid}`;
let tmp: string;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

let paneCount = 0;

/** Start `command` (a shell line) in a new tmux session; its exit code lands in a file. */
function startPane(command: string, cols = 170, rows = 50): { name: string; exitFile: string } {
  const name = `p${++paneCount}`;
  const exitFile = path.join(tmp, `${name}.exit`);
  const line = `cd ${shellQuote(repoRoot())} && ${command}; echo $? > ${shellQuote(exitFile)}; sleep 60`;
  tmux('new-session', '-d', '-s', name, '-x', String(cols), '-y', String(rows), '-e', 'NCURSES_NO_UTF8_ACS=1', '-e', 'TERM=xterm-256color', line);
  return { name, exitFile };
}

function screen(name: string): string {
  return tmux('capture-pane', '-p', '-t', name);
}

async function waitFor<T>(probe: () => T | undefined, what: string, tries = 200): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never saw ${what}`);
}

async function waitScreen(name: string, check: (s: string) => boolean, what: string): Promise<string> {
  let last = '';
  try {
    return await waitFor(() => {
      last = screen(name);
      return check(last) ? last : undefined;
    }, what);
  } catch (err) {
    throw new Error(`${(err as Error).message}; the screen:\n${last}`);
  }
}

async function exitCode(exitFile: string): Promise<number> {
  const text = await waitFor(() => (fs.existsSync(exitFile) && fs.readFileSync(exitFile, 'utf8').trim() !== '' ? fs.readFileSync(exitFile, 'utf8') : undefined), 'the program ending');
  return Number(text.trim());
}

interface StatsJson {
  type: 'stats';
  frames: number;
  transactions: number;
  ues: number;
  ack: { requested: number; acked: number };
  diagnosticsBySeverity: Partial<Record<string, number>>;
  byVerdict: Partial<Record<string, number>>;
}

function analyzeStats(file: string): StatsJson {
  const r = spawnSync(process.execPath, [cliPath(), 'analyze', '--json', '--fail-on', 'never', ...OPTIONS, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.length > 0);
  const stats = JSON.parse(lines[lines.length - 1]) as StatsJson;
  assert.equal(stats.type, 'stats');
  return stats;
}

/** The header's three lines as the numbers they show. */
function header(text: string) {
  const h = text.split('\n').slice(0, 3).join('\n');
  const n = (re: RegExp) => Number(re.exec(h)?.[1] ?? NaN);
  return {
    frames: n(/frames (\d+)/),
    ues: n(/UEs (\d+)/),
    transactions: n(/transactions (\d+)/),
    acked: n(/ACK (\d+)\//),
    requested: n(/ACK \d+\/(\d+)/),
    errors: n(/diagnostics \d+ \([^)]*error (\d+)/),
    warnings: n(/diagnostics \d+ \([^)]*warning (\d+)/),
    failed: n(/transactions \d+ \([^)]*failed (\d+)/),
  };
}

function expected(s: StatsJson) {
  return {
    frames: s.frames,
    ues: s.ues,
    transactions: s.transactions,
    acked: s.ack.acked,
    requested: s.ack.requested,
    errors: s.diagnosticsBySeverity.error ?? 0,
    warnings: s.diagnosticsBySeverity.warning ?? 0,
    failed: s.byVerdict.failed ?? 0,
  };
}

describe('keyscope dash in a terminal (tmux)', () => {
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-dash-'));
  });
  after(() => {
    spawnSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('a capture file: the header shows the numbers of keyscope analyze --json; q quits with 0', async () => {
    const stats = analyzeStats(CAPTURE);
    const cmd = [process.execPath, cliPath(), 'dash', ...OPTIONS, CAPTURE].map(shellQuote).join(' ');
    const p = startPane(cmd);
    const text = await waitScreen(p.name, (s) => / ended\b/.test(s.split('\n')[0] ?? ''), 'the capture fully shown');
    assert.deepEqual(header(text), expected(stats));
    assert.match(text, /ACK rate \(%\) per 1 s, UTC/);
    assert.match(text, /┌─ Transactions \(newest first: \d+ of \d+ kept\)/, 'borders drawn as lines, not ACS letters');
    tmux('send-keys', '-t', p.name, 'q');
    assert.equal(await exitCode(p.exitFile), 0);
  });

  test('- reads a pcap stream on standard input (replayed fast); keys come from the terminal; Ctrl-C quits with 0', async () => {
    const stats = analyzeStats(CAPTURE);
    const cmd = `cat ${shellQuote(CAPTURE)} | ${[process.execPath, cliPath(), 'dash', ...OPTIONS, '--speed', '40', '-'].map(shellQuote).join(' ')}`;
    const p = startPane(cmd);
    const text = await waitScreen(p.name, (s) => / ended\b/.test(s.split('\n')[0] ?? ''), 'the stream fully shown');
    assert.match(text.split('\n')[0], /standard input\s+\[replay ×40\]/);
    assert.deepEqual(header(text), expected(stats));
    tmux('send-keys', '-t', p.name, '?');
    await waitScreen(p.name, (s) => s.includes('Help — any of Esc, q, ? closes'), 'help');
    tmux('send-keys', '-t', p.name, 'Escape');
    await waitScreen(p.name, (s) => !s.includes('Help — any'), 'help closed');
    tmux('send-keys', '-t', p.name, 'C-c');
    assert.equal(await exitCode(p.exitFile), 0);
  });

  test('a file that is not a capture ends the dashboard with exit code 2 and the reason', async () => {
    const bad = path.join(tmp, 'not-a-capture.pcap');
    fs.writeFileSync(bad, 'this is not a capture file at all\n');
    const errFile = path.join(tmp, 'bad.err');
    const cmd = `${[process.execPath, cliPath(), 'dash', bad].map(shellQuote).join(' ')} 2> ${shellQuote(errFile)}`;
    const p = startPane(cmd);
    assert.equal(await exitCode(p.exitFile), 2);
    assert.match(fs.readFileSync(errFile, 'utf8'), /^keyscope dash: .+/);
  });
});

describe('keyscope dash without a terminal', () => {
  test('a missing file is exit code 2; standard output not a terminal is exit code 64', () => {
    const missing = spawnSync(process.execPath, [cliPath(), 'dash', path.join(os.tmpdir(), 'keyscope-no-such-capture.pcap')], { encoding: 'utf8' });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read .*: no such file or directory/);
    const piped = spawnSync(process.execPath, [cliPath(), 'dash', CAPTURE], { encoding: 'utf8' });
    assert.equal(piped.status, 64);
    assert.match(piped.stderr, /standard output is not a terminal/);
    assert.equal(piped.stdout, '', 'no escape sequences written into a pipe');
  });
});
