/**
 * `keyscope live --engine tcpdump` and `--engine dumpcap`: frames stamped by the kernel (equal to a parallel tcpdump's
 * stamps, the oracle), the tool's drop counters in the exit summary, the clock named in the output, the tool never
 * outliving keyscope; and the honest "dropped unknown" of the default `cap` engine.
 *
 * Network: 127.171.3.0/24 and ports 17178–17179 and 17182–17183 belong to this file (see live-quiet.test.ts for the rest of
 * 127.171/16). Every child is tied (test/support/proc.ts) and killed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from '../support/proc';
import { startWatched, udpPair as loopbackPair, until as waitFor, type WatchedChild } from '../support/live-child';
import { cliPath } from '../support/repo';
import { tsharkFields } from '../support/tshark';

const GUARD_MS = 20_000;
/** The issue's target: kernel timestamps within 0.1 ms of tcpdump's. */
const TIMESTAMP_TOLERANCE_S = 0.0001;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const start = startWatched;
const until = (what: string, ok: () => boolean, c: WatchedChild) => waitFor(what, ok, c, GUARD_MS);
const udpPair = (host: string, port: number) => loopbackPair(host, port, '127.171.3.2');

/** What differs between the two engines that relay a capture tool. */
interface ToolEngine {
  name: 'tcpdump' | 'dumpcap';
  /** The clock as live names it. */
  clock: RegExp;
  /** What capinfos -t says of the -w file. */
  fileType: RegExp;
  /** The -w file's stamps are microseconds (dumpcap) rather than the kernel's nanoseconds (tcpdump). */
  microseconds: boolean;
  /** Its own port (the filter tells the tests apart) and the marker's port. */
  port: number;
  killPort: number;
}

const ENGINES: ToolEngine[] = [
  { name: 'tcpdump', clock: /the kernel's, nanoseconds/, fileType: /nanosecond pcap/, microseconds: false, port: 17178, killPort: 17179 },
  { name: 'dumpcap', clock: /the kernel's, microseconds \(dumpcap's/, fileType: /(?<!nanosecond )pcap/, microseconds: true, port: 17182, killPort: 17183 },
];

for (const engine of ENGINES) {
  test(`--engine ${engine.name}: frame times equal a parallel tcpdump's within 0.1 ms; its drop counter and the kernel clock in the summary`, { timeout: 60_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-live-engine-'));
    const filter = `udp and host 127.171.3.1 and port ${engine.port}`;
    const oracleFile = path.join(dir, 'oracle.pcap');
    const ours = path.join(dir, 'ours.pcap');
    const udp = await udpPair('127.171.3.1', engine.port);
    const oracle = start('tcpdump', ['-U', '--immediate-mode', '-n', '-i', 'lo', '--time-stamp-precision', 'nano', '-w', oracleFile, filter]);
    const N = 25;
    const live = start(process.execPath, [cliPath(), 'live', '-i', 'lo', '--engine', engine.name, '-B', '4096', '-f', filter, '-c', String(N), '--json', '-w', ours]);
    try {
      await until('tcpdump (oracle) to listen', () => /listening on/.test(oracle.err()), oracle);
      // the clock line follows the capturing line: wait for it, not only for the first
      await until('keyscope to capture', () => /capturing on[^]*timestamps:/.test(live.err()), live);
      assert.match(live.err(), new RegExp(`keyscope live: timestamps: ${engine.clock.source}.*\\(engine ${engine.name}\\)`));
      for (let i = 0; i < N; i++) {
        await udp.send(Buffer.from(`engine ${engine.name} ${i}`));
        await sleep(5);
      }
      assert.equal(await live.exit, 0, live.err());
      // the oracle writes each packet as it comes (-U, --immediate-mode): give it a moment, then stop it cleanly
      await sleep(500);
      oracle.child.kill('SIGINT');
      await oracle.exit;

      const frames = live.out().split('\n').filter((l) => l).map((l) => JSON.parse(l) as { ts: number; frame: number });
      assert.equal(frames.length, N);
      const theirs = tsharkFields(oracleFile, ['frame.time_epoch', 'udp.payload']);
      assert.equal(theirs.length, N);
      const file = tsharkFields(ours, ['frame.time_epoch', 'udp.payload']);
      assert.equal(file.length, N);
      for (let i = 0; i < N; i++) {
        assert.equal(Buffer.from(theirs[i][1].replace(/:/g, ''), 'hex').toString(), `engine ${engine.name} ${i}`);
        assert.equal(file[i][1], theirs[i][1]);
        const kernel = Number(theirs[i][0]);
        assert.ok(Math.abs(frames[i].ts - kernel) < TIMESTAMP_TOLERANCE_S, `frame ${i + 1}: keyscope ${frames[i].ts}, tcpdump ${kernel}`);
        // the -w file has the kernel's stamps to the digit: tcpdump's nanoseconds, dumpcap's microseconds (the kernel's
        // nanoseconds cut, as libpcap does); compared as text, since a double cannot hold nanoseconds at this size
        assert.equal(file[i][0], engine.microseconds ? `${theirs[i][0].slice(0, -3)}000` : theirs[i][0], `frame ${i + 1} in -w`);
      }
      const info = spawnSync('capinfos', ['-t', ours], { encoding: 'utf8' });
      assert.match(info.stdout, engine.fileType);
      assert.match(
        live.err(),
        new RegExp(`keyscope live: ${N} packets captured, (?:0 dropped by keyscope's capture queue [^,]*, )?\\d+ dropped \\(${engine.name}'s kernel and interface counters\\), loss estimate 0\\.00 % .*; timestamps: ${engine.clock.source}`),
      );
    } finally {
      live.child.kill('SIGKILL');
      oracle.child.kill('SIGKILL');
      udp.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`--engine ${engine.name}: ${engine.name} does not outlive a keyscope killed with SIGKILL`, { timeout: 60_000 }, async () => {
    // a filter no other process has on its command line, to find this tool among all processes
    const marker = `udp and host 127.171.3.1 and port ${engine.killPort} and udp[0:2] != ${process.pid % 60000}`;
    const live = start(process.execPath, [cliPath(), 'live', '-i', 'lo', '--engine', engine.name, '-f', marker]);
    const tools = () =>
      spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((l) => l.includes(engine.name) && l.includes(marker) && !l.includes('keyscope.js') && !l.includes('live-drain-child.js'));
    // the tool runs under keyscope's capture process (which relays its stream through its queue and spool): neither survives
    const relays = () =>
      spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((l) => l.includes('live-drain-child.js') && l.includes(marker));
    try {
      await until('the capture to start', () => /capturing on/.test(live.err()), live);
      assert.equal(tools().length, 1, `one ${engine.name} runs for the capture`);
      assert.equal(relays().length, 1, 'one capture process relays it');
      live.child.kill('SIGKILL');
      await live.exit;
      const end = Date.now() + GUARD_MS;
      while ((tools().length > 0 || relays().length > 0) && Date.now() < end) await sleep(50);
      assert.deepEqual(tools(), []);
      assert.deepEqual(relays(), []);
    } finally {
      live.child.kill('SIGKILL');
    }
  });

  test(`--engine ${engine.name}: an unknown interface and a bad filter end with one clear line and exit 2`, () => {
    const run = (args: string[]) => spawnSync(process.execPath, [cliPath(), 'live', '--engine', engine.name, ...args], { encoding: 'utf8', timeout: GUARD_MS });
    const iface = run(['-i', 'keyscope-nope0']);
    assert.equal(iface.status, 2);
    assert.match(iface.stderr, /^keyscope live: no such interface: 'keyscope-nope0'\n$/);
    const bad = run(['-i', 'lo', '-f', 'udp port']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^keyscope live: bad capture filter 'udp port': .*syntax error.*\n$/);
  });
}

test('the cap engine says it cannot count drops, and which clock stamped the frames', { timeout: 30_000 }, () => {
  const r = spawnSync(process.execPath, [cliPath(), 'live', '-i', 'lo', '-f', 'udp dst port 9 and udp src port 9', '--duration', '0.2'], { encoding: 'utf8', timeout: GUARD_MS });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /keyscope live: timestamps: arrival in keyscope's capture process, microseconds .*\(engine cap\)/);
  // lo's 64 KiB MTU: the immediate-mode ring's slots are 128 KiB, and live says what that means (src/capture/ring-estimate.ts)
  if (fs.readFileSync('/sys/class/net/lo/mtu', 'utf8').trim() === '65536') {
    assert.match(r.stderr, /keyscope live: note: the kernel's capture ring holds only about 256 packets here \(immediate mode gives each packet a 128 KiB slot for the 65536-byte MTU, in a 32768 KiB buffer\).*--engine dumpcap .*--engine tcpdump with a -s just above the largest frame/);
  }
  assert.match(r.stderr, /keyscope live: 0 packets captured, 0 dropped by keyscope's capture queue \(the analysis fell behind and the spool was full\), dropped by the kernel unknown \(the cap engine has no kernel drop counter; --engine tcpdump or dumpcap reports the kernel's\), loss estimate 0\.00 % of TCP payload/);
});
