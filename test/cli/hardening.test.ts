/**
 * Issue #13 (hardening), through the real CLI on real bytes: an output that is an input is refused; a full disk is
 * one line and exit code 2, never a stack; a signal leaves no temporary file; key material never leaks into errors or
 * unmasked output; NDJSON carries no raw control, line-separator or bidi character; a pcap sub-second field past one
 * second does not make spans negative.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { capturePath, cliPath, repoRoot } from '../support/repo';

/** Every spawned run is bounded: spawnSync kills the child when this passes. */
const RUN_TIMEOUT_MS = 60_000;

function keyscope(args: string[], opts: { stdout?: number; cwd?: string; shellPrefix?: string } = {}): SpawnSyncReturns<string> {
  const stdio: ('pipe' | 'ignore' | number)[] = ['ignore', opts.stdout ?? 'pipe', 'pipe'];
  if (opts.shellPrefix !== undefined) {
    // e.g. `ulimit -f 64`: applies to this run only
    return spawnSync('bash', ['-c', `${opts.shellPrefix} && exec "$0" "$@"`, process.execPath, cliPath(), ...args], {
      encoding: 'utf8', stdio, timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 256 << 20, cwd: opts.cwd,
    });
  }
  return spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', stdio, timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 256 << 20, cwd: opts.cwd });
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-hardening-'));
}

/** `analyze` of `file` states a capture span that is a plain non-negative duration. */
function assertSaneSpan(file: string): void {
  const a = keyscope(['analyze', file]);
  const span = /capture \S+ – \S+ \(([^)]*)\)/.exec(a.stdout);
  assert.ok(span, a.stdout);
  assert.match(span[1], /^[0-9.]+ (s|ms)$/, `a sane span: ${span[0]}`);
}

const FAULTS = capturePath('sim-faults.pcap');
const FAULT_KEYS = capturePath('sim-faults.keys');
const BMSC = '127.82.0.1';

/** Hidden temporary files an AtomicFile leaves when interrupted: `.NAME.PID.RANDOM.tmp`. */
const tempFiles = (dir: string) => fs.readdirSync(dir).filter((n) => /^\..*\.tmp$/.test(n));

// ---- 4. an output that is an input is refused, before anything is touched ----

test('export -w and analyze --annotate refuse their own input: same name, symlink, hard link, --keys file', () => {
  const dir = tempDir();
  try {
    const cap = path.join(dir, 'in.pcap');
    fs.copyFileSync(FAULTS, cap);
    const keys = path.join(dir, 'k.keys');
    fs.copyFileSync(FAULT_KEYS, keys);
    fs.chmodSync(keys, 0o600);
    fs.symlinkSync('in.pcap', path.join(dir, 'link.pcap'));
    fs.linkSync(cap, path.join(dir, 'hard.pcap'));
    const original = fs.readFileSync(cap);
    const originalKeys = fs.readFileSync(keys);
    const runs = [
      ['export', 'in.pcap', '-w', 'in.pcap', '--ue', BMSC],
      ['export', 'in.pcap', '-w', './link.pcap', '--ue', BMSC],
      ['export', 'link.pcap', '-w', 'hard.pcap', '--ue', BMSC],
      ['export', '-r', 'in.pcap', '-w', path.join(dir, 'in.pcap'), '--ue', BMSC],
      ['export', 'in.pcap', '--keys', 'k.keys', '-w', 'k.keys', '--ue', BMSC],
      ['analyze', 'in.pcap', '--annotate', 'in.pcap'],
      ['analyze', 'in.pcap', '--annotate', 'hard.pcap'],
      ['analyze', 'in.pcap', '--keys', 'k.keys', '--annotate', 'k.keys'],
      ['live', '-i', 'lo', '--keys', 'k.keys', '-w', 'k.keys'],
    ];
    for (const args of runs) {
      const r = keyscope(args, { cwd: dir });
      const what = args.join(' ');
      assert.equal(r.status, 64, `${what}: ${r.stderr}`);
      assert.equal(r.stdout, '', what);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
      assert.match(lines[0], /^keyscope (export|analyze|live): (-w|--annotate) \S+ is the (input capture|--keys file) \S+ \(the same file\); refusing to overwrite an input$/);
    }
    assert.ok(fs.readFileSync(cap).equals(original), 'the capture is untouched');
    assert.ok(fs.readFileSync(keys).equals(originalKeys), 'the key file is untouched');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['hard.pcap', 'in.pcap', 'k.keys', 'link.pcap'], 'no temporary file was made');
    // a different output still works
    const ok = keyscope(['export', 'in.pcap', '-w', 'out.pcap', '--ue', BMSC], { cwd: dir });
    assert.equal(ok.status, 0, ok.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sim refuses outputs that are its scenario file or each other', () => {
  const dir = tempDir();
  try {
    const scenario = path.join(dir, 'clean.yaml');
    const src = fs.readdirSync(path.join(repoRoot(), 'scenarios')).find((n) => /\.(ya?ml|json)$/.test(n));
    assert.ok(src);
    fs.copyFileSync(path.join(repoRoot(), 'scenarios', src), scenario);
    const before = fs.readFileSync(scenario);
    for (const args of [
      ['sim', 'clean.yaml', '--keys-out', 'clean.yaml'],
      ['sim', 'clean.yaml', '--keys-out', 'k', '--expected-out', './k'],
    ]) {
      const r = keyscope(args, { cwd: dir });
      assert.equal(r.status, 64, r.stderr);
      assert.match(r.stderr, /^keyscope sim: --(keys|expected)-out \S+ (is the scenario file \S+ \(the same file\)|and --keys-out k are the same file)/);
    }
    assert.ok(fs.readFileSync(scenario).equals(before));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- 5. a full disk is one line and exit code 2 ----

test('standard output on a full disk (/dev/full): one line, exit 2, for every command that prints', () => {
  const full = fs.openSync('/dev/full', 'w');
  try {
    for (const args of [
      ['dissect', FAULTS],
      ['dissect', '--json', FAULTS],
      ['dissect', '-V', FAULTS],
      ['analyze', FAULTS],
      ['analyze', '--json', FAULTS],
      ['--help'],
      ['dissect', '--help'],
    ]) {
      const r = keyscope(args, { stdout: full });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, 'keyscope: cannot write standard output: no space left on device\n', args.join(' '));
    }
  } finally {
    fs.closeSync(full);
  }
  // a reader that goes away (EPIPE) is still a quiet end, not an error
  const head = spawnSync('bash', ['-c', `"$0" "$1" dissect "$2" | head -1 >/dev/null; echo "\${PIPESTATUS[0]}"`, process.execPath, cliPath(), FAULTS], {
    encoding: 'utf8', timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL',
  });
  assert.equal(head.stdout.trim(), '0', head.stderr);
  assert.equal(head.stderr, '');
});

/**
 * EIO: standard output is a terminal whose other end is gone (a pty with its master closed, as after a dropped ssh
 * session): every write fails with EIO. Node cannot open a pty itself, so python3's os.openpty makes one
 * (scripts/install-system-deps.sh installs python3 when it is missing).
 */
test('standard output on a terminal that went away (EIO): one line, exit 2', () => {
  const script = [
    'import os, subprocess, sys',
    'master, slave = os.openpty()',
    'os.close(master)',
    'p = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, timeout=60)',
    'sys.stdout.write("%d\\n%s" % (p.returncode, p.stderr.decode()))',
  ].join('\n');
  for (const args of [['dissect', FAULTS], ['analyze', '--json', FAULTS]]) {
    const r = spawnSync('python3', ['-c', script, process.execPath, cliPath(), ...args], { encoding: 'utf8', timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '2\nkeyscope: cannot write standard output: input/output error\n', args.join(' '));
  }
});

/** A run whose writes fail: `-w`/`--annotate` into a file-size limit (EFBIG), or a tiny tmpfs (ENOSPC) when root. */
function assertWriteFailure(dir: string, shellPrefix: string | undefined, reason: RegExp): void {
  const runs: [string[], string][] = [
    [['export', FAULTS, '-w', path.join(dir, 'e.pcap'), '--ue', BMSC], 'export'],
    [['analyze', FAULTS, '--annotate', path.join(dir, 'a.pcapng')], 'analyze'],
  ];
  for (const [args, cmd] of runs) {
    const r = keyscope(args, { shellPrefix });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    const errLines = r.stderr.split('\n').filter((l) => l.startsWith(`keyscope ${cmd}: cannot write`));
    assert.equal(errLines.length, 1, r.stderr);
    assert.match(errLines[0], reason);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(fs.readdirSync(dir), [], 'no partial output, no temporary file');
  }
}

test('write errors on output files (file too large): one line, exit 2, nothing left behind', () => {
  const dir = tempDir();
  try {
    // 64 blocks of 1 KiB: sim-faults' exports are several times larger
    assertWriteFailure(dir, 'ulimit -f 64', /^keyscope (export|analyze): cannot write \S+: file too large; nothing written$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('write errors on output files (no space left on a 64 KiB tmpfs): one line, exit 2, nothing left behind', (t) => {
  const dir = tempDir();
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { timeout: RUN_TIMEOUT_MS }).status === 0;
  try {
    if (!mounted) {
      t.skip('cannot mount a tmpfs here (needs root); the file-size-limit test covers the same path');
      return;
    }
    assertWriteFailure(dir, undefined, /^keyscope (export|analyze): cannot write \S+: no space left on device; nothing written$/);
  } finally {
    if (mounted) spawnSync('umount', [dir], { timeout: RUN_TIMEOUT_MS });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- 7. a signal leaves no temporary file ----

/** A capture big enough that writing it takes a while: sim-faults' records repeated. */
function bigCapture(file: string, copies: number): void {
  const src = fs.readFileSync(FAULTS);
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, src.subarray(0, 24));
    for (let i = 0; i < copies; i++) fs.writeSync(fd, src.subarray(24));
  } finally {
    fs.closeSync(fd);
  }
}

async function interruptWhileWriting(dir: string, args: string[], signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, [cliPath(), ...args], { cwd: dir, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  try {
    // wait until the temporary file exists and has data in it: the run is writing
    for (;;) {
      const tmp = tempFiles(dir);
      if (tmp.length > 0 && fs.statSync(path.join(dir, tmp[0]), { throwIfNoEntry: false })?.size) break;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`ended before writing: ${stderr}`);
      if (Date.now() > deadline) throw new Error('no temporary file appeared');
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill(signal);
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('did not end after the signal')), RUN_TIMEOUT_MS).unref());
    const end = await Promise.race([exited, timeout]);
    return { ...end, stderr };
  } finally {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

test('SIGINT, SIGTERM and SIGHUP while export/--annotate write: no temporary file, no target, ended by the signal', async () => {
  const dir = tempDir();
  try {
    const big = path.join(dir, 'big.pcap');
    bigCapture(big, 150);
    const cases: [string[], NodeJS.Signals][] = [
      [['analyze', 'big.pcap', '--annotate', 'out.pcapng'], 'SIGINT'],
      [['analyze', 'big.pcap', '--annotate', 'out.pcapng'], 'SIGTERM'],
      [['export', 'big.pcap', '-w', 'out.pcap', '--ue', BMSC], 'SIGINT'],
      [['export', 'big.pcap', '-w', 'out.pcap', '--ue', BMSC], 'SIGHUP'],
    ];
    for (const [args, sig] of cases) {
      const r = await interruptWhileWriting(dir, args, sig);
      // ended by the signal itself, so a shell sees 128 + its number (130, 143, 129)
      assert.equal(r.signal, sig, `${args.join(' ')}: exit ${r.code} ${r.stderr}`);
      assert.deepEqual(tempFiles(dir), [], `${args.join(' ')} ${sig}`);
      assert.deepEqual(fs.readdirSync(dir), ['big.pcap'], 'and no partial target');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- 8. key material never leaks ----

const TEK_HEX = 'd8f4c7bc057f41fa549be883a780a56f'; // the NULL-encrypted key of mikey-mbms-kinds.pcap's MSK delivery

test('a NULL-encrypted KEMAC is masked in -V and --json unless --show-keys', () => {
  const cap = capturePath('mikey-mbms-kinds.pcap');
  for (const mode of ['-V', '--json']) {
    const r = keyscope(['dissect', mode, cap]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes(TEK_HEX), `${mode} shows the key`);
    assert.ok(!r.stdout.includes(TEK_HEX.slice(0, 16)), `${mode} shows part of the key`);
    assert.match(r.stdout, /\[hidden, 16 bytes\]/);
    assert.match(r.stdout, /\[hidden, 26 bytes\]/, 'the NULL key data block, which holds the key in clear');
    const shown = keyscope(['dissect', mode, '--show-keys', cap]);
    assert.ok(shown.stdout.includes(TEK_HEX), `${mode} --show-keys shows it`);
  }
});

test('a bad key line is named by its number, never quoted; an open key file is warned about', () => {
  const dir = tempDir();
  try {
    const secret = '933cee10e2c6f0a1b3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718300g';
    const bad = path.join(dir, 'bad.keys');
    fs.writeFileSync(bad, `# a comment\nnaf btid@bsf ${secret}\n`, { mode: 0o600 });
    const r = keyscope(['dissect', '--keys', bad, FAULTS]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /line 2: naf key is not hex \(a character that is not a hex digit at position 64 of 64\)/);
    assert.ok(!r.stderr.includes(secret.slice(0, 8)), r.stderr);

    const open = path.join(dir, 'open.keys');
    fs.copyFileSync(FAULT_KEYS, open);
    fs.chmodSync(open, 0o644);
    const warned = keyscope(['dissect', '-c', '1', '--keys', open, FAULTS]);
    assert.equal(warned.status, 0, warned.stderr);
    assert.equal(warned.stderr, `keyscope: warning: key file ${open} is accessible by others (mode 0644); chmod 600 it\n`);
    fs.chmodSync(open, 0o600);
    const quiet = keyscope(['dissect', '-c', '1', '--keys', open, FAULTS]);
    assert.equal(quiet.status, 0);
    assert.equal(quiet.stderr, '');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- 9. NDJSON is inert; bad pcap timestamps keep spans sane ----

/** Characters that must never appear raw in JSON text (C0 is escaped by JSON.stringify itself). */
const RAW_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

test('dissect --json: C1, DEL, line separators and bidi controls from packets are \\u escapes', () => {
  const dir = tempDir();
  try {
    const bytes = Buffer.from(fs.readFileSync(capturePath('http-digest-loopback.pcap')));
    const ua = Buffer.from('MBMSAgent; Release-6 3gpp-gba');
    const first = bytes.indexOf(ua);
    const second = bytes.indexOf(ua, first + 1);
    assert.ok(first > 0 && second > first);
    // not valid UTF-8, so read as ISO-8859-1: CSI (0x9b), NEL (0x85), DEL, ESC, SOH
    const latin = Buffer.concat([Buffer.from([0x58, 0x9b, 0x32, 0x4a, 0x85, 0x7f, 0x1b, 0x01]), Buffer.from('x'.repeat(ua.length - 8))]);
    // valid UTF-8: LINE SEPARATOR, PARAGRAPH SEPARATOR, RIGHT-TO-LEFT OVERRIDE, LEFT-TO-RIGHT ISOLATE, POP DIRECTIONAL ISOLATE
    const uniChars = '\u2028\u2029\u202e\u2066\u2069';
    const uni = Buffer.concat([Buffer.from(uniChars, 'utf8'), Buffer.from('y'.repeat(ua.length - 15))]);
    latin.copy(bytes, first);
    uni.copy(bytes, second);
    const file = path.join(dir, 'controls.pcap');
    fs.writeFileSync(file, bytes);

    const r = keyscope(['dissect', '--json', file]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    assert.doesNotMatch(r.stdout.replace(/\n/g, ''), RAW_UNSAFE);
    const values = lines.flatMap((l) => {
      const o = JSON.parse(l) as { http?: { headers?: { name: string; value: string }[] } | { headers?: { name: string; value: string }[] }[] };
      const hs = Array.isArray(o.http) ? o.http : o.http ? [o.http] : [];
      return hs.flatMap((h) => (h.headers ?? []).filter((x) => x.name === 'User-Agent').map((x) => x.value));
    });
    // the same strings come back when parsed: escaped, not dropped
    assert.ok(values.includes(latin.toString('latin1')), JSON.stringify(values));
    assert.ok(values.includes(uni.toString('utf8')), JSON.stringify(values));
    assert.match(r.stdout, /X\\u009b2J\\u0085\\u007f\\u001b\\u0001/);
    assert.match(r.stdout, /\\u2028\\u2029\\u202e\\u2066\\u2069/);

    // analyze --json is the same writer
    const a = keyscope(['analyze', '--json', file]);
    assert.doesNotMatch(a.stdout.replace(/\n/g, ''), RAW_UNSAFE);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a pcap sub-second field of a second or more: a problem with the file offset, and no negative span', () => {
  const dir = tempDir();
  try {
    // a µs capture whose first record says 0xffffffff µs: carried, that is 4294 s after the frames that follow
    const bytes = Buffer.from(fs.readFileSync(capturePath('cap-lo-udp.pcap')));
    assert.equal(bytes.readUInt32LE(0), 0xa1b2c3d4);
    const sec = bytes.readUInt32LE(24);
    bytes.writeUInt32LE(0xffffffff, 28);
    // every later record one second later, so the true order is known
    for (let off = 24 + 16 + bytes.readUInt32LE(24 + 8); off < bytes.length; off += 16 + bytes.readUInt32LE(off + 8)) bytes.writeUInt32LE(sec + 1, off);
    const file = path.join(dir, 'badfrac.pcap');
    fs.writeFileSync(file, bytes);

    const v = keyscope(['dissect', '-V', '-c', '1', file]);
    assert.match(v.stdout, /pcap\/pcap-bad-timestamp @4: sub-second timestamp field 4294967295 is one second or more \(record at file offset 24\)/);
    assert.match(v.stdout, new RegExp(`Arrival Time \\(epoch\\): ${sec}\\.999999000`));

    assertSaneSpan(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a nanosecond pcap whose sub-second field is 10⁹ or more: a problem with the file offset, clamped, no negative span', () => {
  const dir = tempDir();
  try {
    // the same capture rewritten as a nanosecond pcap (magic a1b23c4d, every fraction × 1000)
    const bytes = Buffer.from(fs.readFileSync(capturePath('cap-lo-udp.pcap')));
    assert.equal(bytes.readUInt32LE(0), 0xa1b2c3d4);
    bytes.writeUInt32LE(0xa1b23c4d, 0);
    const offsets: number[] = [];
    for (let off = 24; off + 16 <= bytes.length; off += 16 + bytes.readUInt32LE(off + 8)) offsets.push(off);
    assert.ok(offsets.length >= 3, 'a few records');
    for (const off of offsets) bytes.writeUInt32LE(bytes.readUInt32LE(off + 4) * 1000, off + 4);
    const sec = bytes.readUInt32LE(24);
    // the first record exactly 10⁹ ns (the boundary), the second the largest field; the rest one second later
    bytes.writeUInt32LE(1_000_000_000, 28);
    bytes.writeUInt32LE(sec, offsets[1]);
    bytes.writeUInt32LE(0xffffffff, offsets[1] + 4);
    for (const off of offsets.slice(2)) bytes.writeUInt32LE(sec + 1, off);
    const file = path.join(dir, 'badfrac-ns.pcap');
    fs.writeFileSync(file, bytes);

    const v = keyscope(['dissect', '-V', '-c', '2', file]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /pcap\/pcap-bad-timestamp @4: sub-second timestamp field 1000000000 is one second or more \(record at file offset 24\)/);
    assert.match(v.stdout, new RegExp(`sub-second timestamp field 4294967295 is one second or more \\(record at file offset ${offsets[1]}\\)`));
    // clamped to the last nanosecond of the second the record names, not carried
    assert.equal(v.stdout.split(`Arrival Time (epoch): ${sec}.999999999`).length - 1, 2, v.stdout);

    const j = keyscope(['dissect', '--json', file]);
    const ts = j.stdout.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { ts: number }).ts);
    for (let i = 1; i < ts.length; i++) assert.ok(ts[i] >= ts[i - 1], `frame ${i + 1} before frame ${i}: ${ts[i]} < ${ts[i - 1]}`);

    assertSaneSpan(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
