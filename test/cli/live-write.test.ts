/**
 * `keyscope live -w` as tcpdump -U / dumpcap write: the file on disk is a valid capture holding every frame up to
 * the last flush even after `kill -9`, pcap or pcapng, and dumpcap's ring buffer (`-b filesize:KB`, `-b duration:S`,
 * `-b files:N`) with its naming. Oracles: tshark and capinfos read the files back.
 *
 * Network: 127.171.2.0/24 and ports 17175–17177 belong to this file (see live-quiet.test.ts for the rest of
 * 127.171/16). Every child is tied (test/support/proc.ts) and killed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LIVE_FILE_FLUSH_MS } from '../../src/capture/live-file';
import { spawnSync } from '../support/proc';
import { startWatched, udpPair as loopbackPair, until as waitFor, type WatchedChild } from '../support/live-child';
import { cliPath } from '../support/repo';
import { tsharkFields } from '../support/tshark';

const GUARD_MS = 20_000;
const HOST = '127.171.2.1';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const startLive = (args: string[]): WatchedChild => startWatched(process.execPath, [cliPath(), 'live', '-i', 'lo', ...args]);
const until = (what: string, ok: () => boolean, live: WatchedChild) => waitFor(what, ok, live, GUARD_MS);
const udpPair = (port: number) => loopbackPair(HOST, port, '127.171.2.2');

const udpLines = (s: string) => s.split('\n').filter((l) => / UDP \d+ /.test(l)).length;

for (const name of ['killed.pcap', 'killed.pcapng']) {
  test(`kill -9 mid-capture: ${name} reads back (tshark) with every frame captured before the last flush`, { timeout: 60_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-live-write-'));
    const file = path.join(dir, name);
    const udp = await udpPair(17175);
    const live = startLive(['-f', `udp and host ${HOST} and port 17175`, '-w', file]);
    try {
      await until('the capture to start', () => /capturing on/.test(live.err()), live);
      const payloads = Array.from({ length: 12 }, (_, i) => Buffer.from(`kept through kill -9 #${i}`));
      for (const p of payloads) await udp.send(p);
      await until('every frame printed', () => udpLines(live.out()) === payloads.length, live);
      // the frames are in keyscope; after one flush interval (and some slack) they are in the file
      await sleep(LIVE_FILE_FLUSH_MS * 2 + 200);
      live.child.kill('SIGKILL');
      await live.exit;
      assert.deepEqual(fs.readdirSync(dir), [name], 'no temporary file beside it');
      const info = spawnSync('capinfos', ['-t', '-c', file], { encoding: 'utf8' });
      assert.equal(info.status, 0, info.stderr);
      assert.match(info.stdout, name.endsWith('.pcapng') ? /File type:\s+Wireshark\/\.\.\. - pcapng/ : /File type:\s+Wireshark\/tcpdump\/\.\.\. - pcap/);
      assert.match(info.stdout, new RegExp(`Number of packets:\\s+${payloads.length}\\b`));
      const theirs = tsharkFields(file, ['udp.payload']);
      assert.deepEqual(
        theirs.map(([hex]) => Buffer.from(hex.replace(/:/g, ''), 'hex').toString()),
        payloads.map((p) => p.toString()),
      );
    } finally {
      live.child.kill('SIGKILL');
      udp.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** Ring files of `stem` in `dir`, by number, checked against dumpcap's naming. */
function ringFiles(dir: string, stem: string, ext: string): string[] {
  const names = fs.readdirSync(dir).sort();
  const re = new RegExp(`^${stem}_(\\d{5})_(\\d{14})${ext.replace('.', '\\.')}$`);
  for (const n of names) assert.match(n, re, `dumpcap's ring naming: ${names.join(', ')}`);
  return names;
}

test('-b filesize:2 -b files:3: files switch at 2 kB, only the newest 3 are kept, numbered as dumpcap numbers them', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-live-ring-'));
  const udp = await udpPair(17176);
  const live = startLive(['-f', `udp and host ${HOST} and port 17176`, '-w', path.join(dir, 'ring.pcapng'), '-b', 'filesize:2', '-b', 'files:3']);
  try {
    await until('the capture to start', () => /capturing on/.test(live.err()), live);
    const N = 40;
    for (let i = 0; i < N; i++) await udp.send(Buffer.alloc(300, 0x41 + (i % 26)));
    await until('every frame printed', () => udpLines(live.out()) === N, live);
    live.child.kill('SIGINT');
    assert.equal(await live.exit, 0, live.err());
    const names = ringFiles(dir, 'ring', '.pcapng');
    assert.equal(names.length, 3, names.join(', '));
    // 40 frames of ~380 bytes on the wire: ~6 per 2 kB file, so more than 3 files were written and the oldest went
    const numbers = names.map((n) => Number(/_(\d{5})_/.exec(n)?.[1]));
    assert.ok(numbers[0] > 1, `the oldest files were deleted: ${names.join(', ')}`);
    assert.deepEqual(numbers, [numbers[0], numbers[0] + 1, numbers[0] + 2]);
    let total = 0;
    for (const [i, n] of names.entries()) {
      const f = path.join(dir, n);
      const frames = tsharkFields(f, ['frame.number']).length;
      total += frames;
      const size = fs.statSync(f).size;
      // a file switches once it has reached 2 kB: at most one frame beyond it
      assert.ok(size < 2000 + 400, `${n}: ${size} bytes`);
      if (i < names.length - 1) assert.ok(size >= 2000, `${n} was switched before it was full: ${size} bytes`);
      assert.ok(frames > 0);
    }
    assert.match(live.err(), new RegExp(`wrote ${N} frames to 3 ring buffer files, the newest .*${names[2]}`));
    assert.ok(total < N);
  } finally {
    live.child.kill('SIGKILL');
    udp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('-b duration:1: a new file every second, also while the capture is quiet; every frame in exactly one file', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-live-ring-'));
  const udp = await udpPair(17177);
  const live = startLive(['-f', `udp and host ${HOST} and port 17177`, '-w', path.join(dir, 'timed.pcap'), '-b', 'duration:1']);
  try {
    await until('the capture to start', () => /capturing on/.test(live.err()), live);
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < 2500) {
      await udp.send(Buffer.from(`timed ${sent++}`));
      await sleep(100);
    }
    await until('every frame printed', () => udpLines(live.out()) === sent, live);
    // quiet: the file switches anyway
    await sleep(1300);
    live.child.kill('SIGINT');
    assert.equal(await live.exit, 0, live.err());
    const names = ringFiles(dir, 'timed', '.pcap');
    assert.ok(names.length >= 4, names.join(', '));
    const payloads: string[] = [];
    for (const n of names) {
      const rows = tsharkFields(path.join(dir, n), ['frame.time_epoch', 'udp.payload']);
      for (const [, hex] of rows) payloads.push(Buffer.from(hex.replace(/:/g, ''), 'hex').toString());
      if (rows.length > 1) {
        const span = Number(rows[rows.length - 1][0]) - Number(rows[0][0]);
        assert.ok(span < 1.2, `${n} spans ${span} s`);
      }
    }
    assert.deepEqual(payloads, Array.from({ length: sent }, (_, i) => `timed ${i}`));
    // the last file(s) opened while quiet hold no frame but are valid captures
    const last = spawnSync('capinfos', ['-c', path.join(dir, names[names.length - 1])], { encoding: 'utf8' });
    assert.equal(last.status, 0, last.stderr);
  } finally {
    live.child.kill('SIGKILL');
    udp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('-b usage errors: without -w, without a switch condition, an unknown condition', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [cliPath(), 'live', '-i', 'lo', ...args], { encoding: 'utf8', timeout: GUARD_MS });
  assert.equal(run(['-b', 'files:3']).status, 64);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-live-ring-'));
  try {
    const r = run(['-w', path.join(dir, 'x.pcap'), '-b', 'files:3']);
    assert.equal(r.status, 64);
    assert.match(r.stderr, /needs -b filesize:KB or -b duration:S/);
    assert.equal(run(['-w', path.join(dir, 'x.pcap'), '-b', 'packets:3']).status, 64);
    // the capture process's queue and spool are cap's and tcpdump's, not cap-inline's; not a positive integer is refused too
    const q = run(['-w', path.join(dir, 'x.pcap'), '--engine', 'cap-inline', '--capture-queue', '5']);
    assert.equal(q.status, 64);
    assert.match(q.stderr, /--capture-queue is the capture process's/);
    assert.match(run(['--engine', 'cap-inline', '--spool-size', '5']).stderr, /--spool-size is the capture process's/);
    assert.equal(run(['--capture-queue', '0']).status, 64);
    assert.equal(run(['--spool-size', '-1']).status, 64);
    const spool = run(['--spool-dir', path.join(dir, 'nope')]);
    assert.equal(spool.status, 2);
    assert.match(spool.stderr, /^keyscope live: cannot spool in .*nope: .*\n$/);
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
