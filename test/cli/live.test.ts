/**
 * `keyscope live` end to end as a child process on loopback (root: CI runs as root): frames printed as they
 * arrive, -w files that tshark reads back frame for frame, a clean end on -c, SIGINT and SIGTERM, one clear line
 * and exit 2 for an unknown interface, a bad filter, no permission and a missing `cap` module.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from '../support/proc';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { CAP_MODULE_ENV } from '../../src/capture/live';
import { capturePath, cliPath } from '../support/repo';
import { tsharkFields } from '../support/tshark';
import { replayableDatagrams } from '../support/live-child';

/** Fails (never hangs) when the child does not get there: a guard, not a speed assertion. */
const GUARD_MS = 20_000;

interface LiveChild {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  waitFor: (what: string, ok: () => boolean) => Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startLive(args: string[], env: NodeJS.ProcessEnv = process.env): LiveChild {
  const child = spawn(process.execPath, [cliPath(), 'live', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  const poke = () => {
    for (const w of waiters.slice()) w();
  };
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    poke();
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    poke();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      // let the pipes drain before the exit is reported
      setImmediate(() => {
        poke();
        resolve({ code, signal });
      });
    });
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), GUARD_MS * 2);
  void exit.then(() => clearTimeout(guard));
  const waitFor = (what: string, ok: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      if (ok()) return resolve();
      const t = setTimeout(() => {
        remove();
        reject(new Error(`gave up waiting for ${what}; stdout: ${out.slice(-500)} stderr: ${err.slice(-500)}`));
      }, GUARD_MS);
      const w = () => {
        if (ok()) {
          clearTimeout(t);
          remove();
          resolve();
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(t);
          remove();
          reject(new Error(`keyscope live ended before ${what}; stdout: ${out.slice(-500)} stderr: ${err.slice(-500)}`));
        }
      };
      const remove = () => {
        const i = waiters.indexOf(w);
        if (i >= 0) waiters.splice(i, 1);
      };
      waiters.push(w);
    });
  return { child, stdout: () => out, stderr: () => err, waitFor, exit };
}

const listening = (c: LiveChild) => c.waitFor('the capture to start', () => /capturing on/.test(c.stderr()));

async function udpSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

function send(s: dgram.Socket, payload: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) => s.send(payload, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-live-'));
}

function lines(s: string): string[] {
  return s.split('\n').filter((l) => l.length > 0);
}

test('live -c N --json -w: N frames printed as dissect prints them, and tshark reads the same N frames from the file', async () => {
  const dir = tmpDir();
  const receiver = await udpSocket();
  const port = (receiver.address() as AddressInfo).port;
  const sender = await udpSocket();
  const senderPort = (sender.address() as AddressInfo).port;
  const out = path.join(dir, 'out.pcap');
  const N = 7;
  const live = startLive(['-i', 'lo', '-f', `udp dst port ${port}`, '-w', out, '-c', String(N), '--json']);
  try {
    await listening(live);
    const payloads = Array.from({ length: N + 3 }, (_, i) => Buffer.from(`live cli ${i} \x1b[31m`));
    // more than N: -c stops the capture, the rest is not captured
    for (const p of payloads) await send(sender, p, port);
    const { code } = await live.exit;
    assert.equal(code, 0, live.stderr());

    const frames = lines(live.stdout()).map((l) => JSON.parse(l) as { frame: number; ts: number; src: string; dst: string; srcPort: number; dstPort: number; transport: string; length: number; linkType: number });
    assert.equal(frames.length, N);
    frames.forEach((f, i) => {
      assert.equal(f.frame, i + 1);
      assert.equal(f.linkType, 1);
      assert.equal(f.src, '127.0.0.1');
      assert.equal(f.dst, '127.0.0.1');
      assert.equal(f.srcPort, senderPort);
      assert.equal(f.dstPort, port);
      assert.equal(f.transport, 'udp');
      assert.equal(f.length, 14 + 20 + 8 + payloads[i].length);
      if (i > 0) assert.ok(f.ts >= frames[i - 1].ts, 'timestamps do not go back');
    });

    const errLines = lines(live.stderr());
    assert.match(errLines[0], /^keyscope live: capturing on 'lo' \(link type ETHERNET, 1\), filter 'udp dst port \d+'; Ctrl-C to stop$/);
    assert.match(live.stderr(), new RegExp(`keyscope live: ${N} frames, \\d+ bytes in [0-9.]+ s .*capture loss estimate \\(TCP\\): 0 ACKed-but-unseen bytes, 0 gap bytes \\(0\\.00 %\\)`));
    assert.match(live.stderr(), new RegExp(`wrote ${N} frames to `));

    // the oracle: tshark on the -w file
    const theirs = tsharkFields(out, ['frame.number', 'frame.time_epoch', 'frame.len', 'ip.src', 'udp.srcport', 'udp.dstport', 'udp.payload']);
    assert.equal(theirs.length, N);
    theirs.forEach(([num, epoch, len, src, sport, dport, payload], i) => {
      assert.equal(Number(num), i + 1);
      assert.equal(Number(len), frames[i].length);
      assert.equal(src, '127.0.0.1');
      assert.equal(Number(sport), senderPort);
      assert.equal(Number(dport), port);
      assert.equal(payload.replace(/:/g, ''), payloads[i].toString('hex'));
      assert.ok(Math.abs(Number(epoch) - frames[i].ts) < 1e-6, `frame ${i + 1}: ${epoch} vs ${frames[i].ts}`);
    });
    // no temporary file left beside it
    assert.deepEqual(fs.readdirSync(dir), ['out.pcap']);
  } finally {
    live.child.kill('SIGKILL');
    receiver.close();
    sender.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('live text output: one line per frame, as dissect prints it', async () => {
  const receiver = await udpSocket();
  const port = (receiver.address() as AddressInfo).port;
  const sender = await udpSocket();
  const live = startLive(['-i', 'lo', '-f', `udp dst port ${port}`, '-c', '2']);
  try {
    await listening(live);
    await send(sender, Buffer.from('first'), port);
    await send(sender, Buffer.from('second one'), port);
    const { code } = await live.exit;
    assert.equal(code, 0, live.stderr());
    const got = lines(live.stdout());
    assert.equal(got.length, 2);
    assert.match(got[0], new RegExp(`^\\s+1\\s+0\\.000000\\s+127\\.0\\.0\\.1 → 127\\.0\\.0\\.1\\s+UDP 47 \\d+ → ${port} Len=5$`));
    assert.match(got[1], new RegExp(`^\\s+2\\s+\\d+\\.\\d{6}\\s+127\\.0\\.0\\.1 → 127\\.0\\.0\\.1\\s+UDP 52 \\d+ → ${port} Len=10$`));
  } finally {
    live.child.kill('SIGKILL');
    receiver.close();
    sender.close();
  }
});

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  test(`${signal} mid-capture: exit 0, a summary, and a complete -w file`, async () => {
    const dir = tmpDir();
    const receiver = await udpSocket();
    const port = (receiver.address() as AddressInfo).port;
    const sender = await udpSocket();
    const out = path.join(dir, 'stopped.pcap');
    const live = startLive(['-i', 'any', '-f', `udp dst port ${port}`, '-w', out]);
    try {
      await listening(live);
      for (let i = 0; i < 3; i++) await send(sender, Buffer.from(`before ${signal} ${i}`), port);
      // each frame shows when it arrives (the Dissector does not hold the newest one back on a live source)
      await live.waitFor('three frames', () => lines(live.stdout()).length >= 3);
      assert.equal(fs.existsSync(out), true, 'the file is there from the start and grows, as tcpdump -U writes it');
      live.child.kill(signal);
      const { code, signal: died } = await live.exit;
      assert.equal(died, null);
      assert.equal(code, 0, live.stderr());
      assert.equal(lines(live.stdout()).length, 3);
      assert.match(live.stderr(), /keyscope live: 3 frames, \d+ bytes in [0-9.]+ s/);
      assert.match(live.stderr(), /wrote 3 frames to /);
      const theirs = tsharkFields(out, ['frame.number', 'sll.pkttype', 'udp.dstport', 'udp.payload']);
      assert.equal(theirs.length, 3);
      theirs.forEach(([, , dport, payload], i) => {
        assert.equal(Number(dport), port);
        assert.equal(Buffer.from(payload.replace(/:/g, ''), 'hex').toString(), `before ${signal} ${i}`);
      });
      const info = spawnSync('capinfos', ['-l', '-E', out], { encoding: 'utf8' });
      if (info.status === 0) assert.match(info.stdout, /Linux cooked/i);
      assert.deepEqual(fs.readdirSync(dir), ['stopped.pcap']);
    } finally {
      live.child.kill('SIGKILL');
      receiver.close();
      sender.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('an HTTP exchange on lo: the request and response lines appear while the capture runs; Ctrl-C ends it', async () => {
  const server = http.createServer((req, res) => res.end(`hello ${req.url}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const live = startLive(['-i', 'lo', '-f', `tcp port ${port}`]);
  try {
    await listening(live);
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/keymanagement?requesttype=register', agent: false }, (res) => {
          let b = '';
          res.setEncoding('utf8').on('data', (d: string) => (b += d)).on('end', () => resolve(b));
        })
        .on('error', reject);
    });
    assert.equal(body, 'hello /keymanagement?requesttype=register');
    const text = () => live.stdout();
    await live.waitFor('the HTTP response line', () => /HTTP \d+ 200 OK/.test(text()));
    assert.match(text(), /127\.0\.0\.1 → 127\.0\.0\.1\s+HTTP \d+ GET \/keymanagement\?requesttype=register/);
    live.child.kill('SIGINT');
    const { code } = await live.exit;
    assert.equal(code, 0, live.stderr());
    assert.match(live.stderr(), /capture loss estimate \(TCP\): 0 ACKed-but-unseen bytes/);
  } finally {
    live.child.kill('SIGKILL');
    server.close();
  }
});

test('--duration ends the capture cleanly with nothing captured', async () => {
  const live = startLive(['-i', 'lo', '-f', 'udp dst port 9 and udp src port 9', '--duration', '0.3']);
  const { code } = await live.exit;
  assert.equal(code, 0, live.stderr());
  assert.equal(live.stdout(), '');
  assert.match(live.stderr(), /keyscope live: 0 frames, 0 bytes in/);
});

function runLive(args: string[], opts: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {}) {
  return spawnSync(process.execPath, [cliPath(), 'live', ...args], { encoding: 'utf8', timeout: GUARD_MS, ...opts });
}

test('an unknown interface: exit 2 and one clear line', () => {
  const r = runLive(['-i', 'keyscope-nope0']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, /^keyscope live: no such interface: 'keyscope-nope0' \(interfaces: .*lo.*\)\n$/);
});

test('a bad capture filter: exit 2 and one clear line, the filter escaped', () => {
  const r = runLive(['-i', 'lo', '-f', 'udp port']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, /^keyscope live: bad capture filter 'udp port': .*syntax error\n$/);
  const esc = runLive(['-i', 'lo', '-f', 'udp port \x1b[2J\nx']);
  assert.equal(esc.status, 2);
  assert.equal(lines(esc.stderr).length, 1, esc.stderr);
  assert.ok(!esc.stderr.includes('\x1b'), 'no raw ESC reaches the terminal');
  assert.ok(esc.stderr.includes("'udp port \\x1b[2J\\x0ax'"), esc.stderr);
});

test('MIKEY replayed from a bundled capture: live --keys prints what dissect prints for the file', async () => {
  const file = capturePath('mikey-mbms-kinds.pcap');
  const keys = capturePath('mikey-mbms-kinds.keys');
  const dissectLines = (extra: string[]) =>
    lines(spawnSync(process.execPath, [cliPath(), 'dissect', '--keys', keys, ...extra, file], { encoding: 'utf8' }).stdout);
  const expected = dissectLines([]);
  const replay = await replayableDatagrams(file, keys);
  const live = startLive(['-i', 'lo', '-f', replay.filter, '--keys', keys, '-c', String(replay.count)]);
  try {
    await listening(live);
    for (let i = 0; i < replay.count; i++) await replay.send(i);
    const { code } = await live.exit;
    assert.equal(code, 0, live.stderr());
    const got = lines(live.stdout());
    assert.equal(got.length, expected.length);
    // everything but the time column (and the frame length, the same here) agrees
    const strip = (l: string) => l.replace(/^(\s+\d+)\s+\d+\.\d{6}/, '$1');
    assert.deepEqual(got.map(strip), expected.map(strip));
    assert.ok(got.some((l) => l.includes('MSK delivery') && l.includes('[verified]')));
  } finally {
    live.child.kill('SIGKILL');
    replay.close();
  }
});

test('no permission to capture: exit 2 and one clear line', { skip: process.getuid?.() !== 0 && 'needs root to start an unprivileged child' }, () => {
  const r = runLive(['-i', 'lo'], { uid: 65534, gid: 65534 });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, /^keyscope live: no permission to capture on 'lo' \(.*Operation not permitted\): run as root or give node CAP_NET_RAW and CAP_NET_ADMIN\n$/);
});

test('-w into a missing folder: exit 2, nothing captured, nothing written', () => {
  const dir = tmpDir();
  try {
    const r = runLive(['-i', 'lo', '-f', 'udp port 9', '-w', path.join(dir, 'missing', 'x.pcap')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^keyscope live: cannot write .*x\.pcap: no such directory\n$/);
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test(`without the cap module (${CAP_MODULE_ENV} pointing nowhere): how to enable live capture, exit 2; offline dissect unaffected`, () => {
  const env = { ...process.env, [CAP_MODULE_ENV]: path.join(os.tmpdir(), 'keyscope-no-such-cap-module') };
  const r = runLive(['-i', 'lo'], { env });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^keyscope live: the cap module is not installed: live capture needs the optional `cap` module/);
  assert.match(r.stderr, /bash scripts\/install-system-deps\.sh/);
  assert.match(r.stderr, /libpcap-dev yourself and run `npm install`/);
  assert.match(r.stderr, /tcpdump -U -w - -i IFACE \[filter\] \| keyscope dissect -/);

  const d = spawnSync(process.execPath, [cliPath(), 'dissect', '-c', '2', capturePath('mikey-mbms-kinds.pcap')], { encoding: 'utf8', env });
  assert.equal(d.status, 0, d.stderr);
  assert.equal(lines(d.stdout).length, 2);
});

test('usage errors: no interface, a snaplen over 262144 (tcpdump\'s default is accepted), an unknown engine', () => {
  assert.equal(runLive([]).status, 64);
  assert.equal(runLive(['-i', 'lo', '-s', '262145']).status, 64);
  assert.equal(runLive(['-i', 'lo', '--engine', 'pf_ring']).status, 64);
  const ok = runLive(['-i', 'lo', '-f', 'udp dst port 9 and udp src port 9', '-s', '262144', '--duration', '0.2']);
  assert.equal(ok.status, 0, ok.stderr);
});

test('-D lists the interfaces tcpdump -D lists', () => {
  const r = runLive(['-D']);
  assert.equal(r.status, 0, r.stderr);
  const ours = lines(r.stdout).map((l) => /^\d+\.(\S+)/.exec(l)?.[1]);
  assert.ok(ours.includes('lo') && ours.includes('any'), r.stdout);
  assert.match(r.stdout, /^\d+\.lo \[127\.0\.0\.1, ::1; loopback\]$/m);
  const tcpdump = spawnSync('tcpdump', ['-D'], { encoding: 'utf8' });
  assert.equal(tcpdump.status, 0, tcpdump.stderr);
  const theirs = lines(tcpdump.stdout).map((l) => /^\d+\.(\S+)/.exec(l)?.[1]);
  assert.deepEqual([...ours].sort(), [...theirs].sort());
  const missing = runLive(['-D'], { env: { ...process.env, [CAP_MODULE_ENV]: path.join(os.tmpdir(), 'keyscope-no-such-cap-module') } });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /bash scripts\/install-system-deps\.sh/);
});

test('--dash without a terminal on standard output: exit 64, nothing captured', () => {
  const r = runLive(['-i', 'lo', '--dash']);
  assert.equal(r.status, 64);
  assert.match(r.stderr, /^keyscope live: --dash needs a terminal on standard output\n$/);
  assert.equal(r.stdout, '');
});

test('--dash in a terminal (tmux): MIKEY replayed live shows the numbers keyscope analyze finds in the -w file; q quits with 0', async () => {
  const socket = `keyscope-live-dash-${process.pid}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const dir = tmpDir();
  const file = capturePath('mikey-mbms-kinds.pcap');
  const keys = capturePath('mikey-mbms-kinds.keys');
  const out = path.join(dir, 'dash.pcap');
  const errFile = path.join(dir, 'err');
  const exitFile = path.join(dir, 'exit');
  const replay = await replayableDatagrams(file, keys);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  try {
    const cmd = [process.execPath, cliPath(), 'live', '-i', 'lo', '-f', replay.filter, '--keys', keys, '-c', String(replay.count), '-w', out, '--dash'].map(q).join(' ');
    const started = tmux('new-session', '-d', '-s', 'live', '-x', '170', '-y', '50', '-e', 'NCURSES_NO_UTF8_ACS=1', '-e', 'TERM=xterm-256color',
      `${cmd} 2> ${q(errFile)}; echo $? > ${q(exitFile)}; sleep 60`);
    assert.equal(started.status, 0, started.stderr);
    const screen = () => tmux('capture-pane', '-p', '-t', 'live').stdout;
    const waitScreen = async (ok: (s: string) => boolean, what: string) => {
      for (let i = 0; i < GUARD_MS / 50; i++) {
        const s = screen();
        if (ok(s)) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`never saw ${what}:\n${screen()}\n${fs.existsSync(errFile) ? fs.readFileSync(errFile, 'utf8') : ''}`);
    };
    await waitScreen((s) => /live on lo \(udp dst port 2269 and .*\[live\]\s+capturing/.test(s.split('\n')[0]), 'the live header');
    for (let i = 0; i < replay.count; i++) await replay.send(i);
    // -c ends the capture; the dashboard stays, showing the final numbers
    const text = await waitScreen((s) => !/capturing/.test(s.split('\n')[0]) && new RegExp(`frames ${replay.count}\\b`).test(s), 'the capture stopped after -c');
    tmux('send-keys', '-t', 'live', 'q');
    for (let i = 0; i < GUARD_MS / 50 && !(fs.existsSync(exitFile) && fs.readFileSync(exitFile, 'utf8').trim()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(fs.readFileSync(exitFile, 'utf8').trim(), '0', fs.readFileSync(errFile, 'utf8'));
    const err = fs.readFileSync(errFile, 'utf8');
    assert.match(err, new RegExp(`keyscope live: ${replay.count} frames, `));
    assert.match(err, new RegExp(`wrote ${replay.count} frames to `));

    const a = spawnSync(process.execPath, [cliPath(), 'analyze', '--json', '--fail-on', 'never', '--keys', keys, out], { encoding: 'utf8' });
    assert.equal(a.status, 0, a.stderr);
    const stats = JSON.parse(lines(a.stdout).pop() as string) as { type: string; frames: number; transactions: number; ues: number; ack: { requested: number; acked: number } };
    assert.equal(stats.type, 'stats');
    const head = text.split('\n').slice(0, 3).join('\n');
    assert.match(head, new RegExp(`frames ${stats.frames}\\b`));
    assert.match(head, new RegExp(`transactions ${stats.transactions}\\b`));
    assert.match(head, new RegExp(`UEs ${stats.ues}\\b`));
    assert.match(head, new RegExp(`ACK ${stats.ack.acked}/${stats.ack.requested}\\b`));
    assert.ok(stats.ack.requested > 0);
  } finally {
    tmux('kill-server');
    replay.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
