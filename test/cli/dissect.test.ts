/**
 * `keyscope dissect --json` against tshark on every bundled capture: frame numbers, timestamps, addresses,
 * ports and lengths, frame by frame. Runs the real CLI (bin/keyscope.js over the compiled dist/).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from '../support/proc';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { capturePath, cliPath, repoRoot } from '../support/repo';
import { tsharkFields } from '../support/tshark';

interface FrameJson {
  frame: number;
  ts: number;
  src: string | null;
  dst: string | null;
  srcPort: number | null;
  dstPort: number | null;
  transport: string | null;
  length: number;
  linkType: number;
  problems: unknown[];
  tunnel?: { teid: number };
}

function dissectJson(file: string, extra: string[] = []): FrameJson[] {
  const out = execFileSync(process.execPath, [cliPath(), 'dissect', '--json', ...extra, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as FrameJson);
}

const captures = fs
  .readdirSync(path.join(repoRoot(), 'captures'))
  .filter((n) => /\.(pcap|pcapng)(\.gz)?$/.test(n))
  .sort();

test('there are bundled captures to check', () => {
  assert.ok(captures.length >= 5, `captures found: ${captures.join(', ')}`);
});

for (const name of captures) {
  test(`dissect --json agrees with tshark on ${name}`, () => {
    const file = capturePath(name);
    const ours = dissectJson(file);
    const theirs = tsharkFields(file, [
      'frame.number', 'frame.time_epoch', 'frame.len', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst',
      'udp.srcport', 'udp.dstport', 'tcp.srcport', 'tcp.dstport', 'gtp.teid',
    ]);
    assert.equal(ours.length, theirs.length, 'frame count');
    for (let i = 0; i < ours.length; i++) {
      const o = ours[i];
      const [num, epoch, len, ipSrc, ipDst, ip6Src, ip6Dst, uSrc, uDst, tSrc, tDst, teid] = theirs[i];
      const where = `${name} frame ${num}`;
      assert.equal(o.frame, Number(num), where);
      assert.ok(Math.abs(o.ts - Number(epoch)) < 1e-6, `${where}: ts ${o.ts} vs ${epoch}`);
      assert.equal(o.length, Number(len), `${where}: length`);
      assert.equal(o.src, ipSrc || ip6Src || null, `${where}: src`);
      assert.equal(o.dst, ipDst || ip6Dst || null, `${where}: dst`);
      const sport = uSrc || tSrc;
      const dport = uDst || tDst;
      assert.equal(o.srcPort, sport ? Number(sport) : null, `${where}: srcPort`);
      assert.equal(o.dstPort, dport ? Number(dport) : null, `${where}: dstPort`);
      assert.equal(o.transport, uSrc ? 'udp' : tSrc ? 'tcp' : null, `${where}: transport`);
      if (teid) assert.equal(o.tunnel?.teid, Number(teid), `${where}: GTP-U TEID`);
    }
  });
}

test('dissect text output names MIKEY and HTTP frames', () => {
  const text = execFileSync(process.execPath, [cliPath(), 'dissect', capturePath('mikey-mbms-kinds.pcap')], { encoding: 'utf8' });
  const lines = text.split('\n');
  assert.match(lines[0], /^\s+1\s+0\.000000\s+127\.0\.0\.1 → 127\.0\.0\.2\s+MIKEY \d+ MSK delivery kd=001-01 msk=0x0001:0x0002 V ctr=7/);
  const http = execFileSync(process.execPath, [cliPath(), 'dissect', capturePath('http-digest-loopback.pcap')], { encoding: 'utf8' });
  assert.match(http, /HTTP \d+ POST \/keymanagement\?requesttype=msk-request/);
  assert.match(http, /HTTP \d+ 401 Unauthorized \[Digest realm=3GPP-bootstrapping@127\.0\.0\.1 nonce=/);
});

test('dissect reads a capture from standard input (-) and prints frames', () => {
  const input = fs.readFileSync(capturePath('cap-lo-udp.pcap'));
  const r = spawnSync(process.execPath, [cliPath(), 'dissect', '-'], { input, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const expected = tsharkFields(capturePath('cap-lo-udp.pcap'), ['frame.number']).length;
  assert.equal(r.stdout.trim().split('\n').length, expected);
});

test('an unusable file is one clear line on stderr and exit code 2', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-'));
  try {
    const bad = path.join(dir, 'not-a-capture.pcap');
    fs.writeFileSync(bad, 'this is not a capture file at all\n');
    for (const file of [bad, path.join(dir, 'missing.pcap')]) {
      const r = spawnSync(process.execPath, [cliPath(), 'dissect', file], { encoding: 'utf8' });
      assert.equal(r.status, 2, `${file}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^keyscope: /);
      assert.equal(r.stdout, '');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a truncated capture keeps its good frames, reports the damage and exits 0', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-'));
  try {
    const whole = fs.readFileSync(capturePath('cap-lo-udp.pcap'));
    const cut = path.join(dir, 'cut.pcap');
    fs.writeFileSync(cut, whole.subarray(0, whole.length - 10));
    const r = spawnSync(process.execPath, [cliPath(), 'dissect', cut], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    const total = tsharkFields(capturePath('cap-lo-udp.pcap'), ['frame.number']).length;
    assert.equal(r.stdout.trim().split('\n').length, total - 1);
    assert.match(r.stderr, /cut\.pcap: .*file ends inside the record/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('hostile text from packets is escaped before it reaches the terminal', () => {
  // an HTTP request line carrying ESC sequences, sent on loopback and captured: build it as a pcap here
  const payload = Buffer.from('GET /\x1b[2J\x1b]0;pwned\x07 HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1');
  const frame = Buffer.alloc(14 + 20 + 20 + payload.length);
  frame.writeUInt16BE(0x0800, 12);
  frame[14] = 0x45;
  frame.writeUInt16BE(40 + payload.length, 16);
  frame[22] = 64;
  frame[23] = 6;
  frame.writeUInt32BE(0x7f000001, 26);
  frame.writeUInt32BE(0x7f000001, 30);
  frame.writeUInt16BE(40000, 34);
  frame.writeUInt16BE(80, 36);
  frame.writeUInt32BE(1000, 38);
  frame[46] = 0x50;
  frame[47] = 0x18;
  payload.copy(frame, 54);
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16);
  hdr.writeUInt32LE(1, 20);
  const rec = Buffer.alloc(16);
  rec.writeUInt32LE(1_700_000_000, 0);
  rec.writeUInt32LE(frame.length, 8);
  rec.writeUInt32LE(frame.length, 12);
  const r = spawnSync(process.execPath, [cliPath(), 'dissect', '-'], { input: Buffer.concat([hdr, rec, frame]), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stdout.includes('\x1b'), `raw ESC in output: ${JSON.stringify(r.stdout)}`);
  assert.ok(!r.stdout.includes('\x07'));
  assert.match(r.stdout, /\\x1b\[2J/);
});

test('dissect - prints each frame while the stream is still open (tcpdump -U -w - | keyscope dissect -)', async () => {
  const { spawn } = await import('../support/proc');
  const whole = fs.readFileSync(capturePath('cap-lo-udp.pcap'));
  // split the classic pcap into its global header and records
  const records: Buffer[] = [];
  for (let off = 24; off + 16 <= whole.length; ) {
    const caplen = whole.readUInt32LE(off + 8);
    records.push(whole.subarray(off, off + 16 + caplen));
    off += 16 + caplen;
  }
  const child = spawn(process.execPath, [cliPath(), 'dissect', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  const waitForLines = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} lines; got ${JSON.stringify(stdout)}`)), 10_000);
      const check = () => {
        if (stdout.split('\n').filter((l) => l.length > 0).length >= n) {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          resolve();
        }
      };
      const onData = (d: Buffer) => {
        stdout += d.toString();
        check();
      };
      child.stdout.on('data', onData);
      check();
    });
  try {
    child.stdin.write(Buffer.concat([whole.subarray(0, 24), records[0]]));
    await waitForLines(1);
    assert.match(stdout, /^\s+1\s+0\.000000\s+127\.0\.0\.1 → 127\.0\.0\.1\s+UDP/);
    child.stdin.write(records[1]);
    await waitForLines(2);
    child.stdin.end(Buffer.concat(records.slice(2)));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
  } finally {
    child.kill();
  }
});
