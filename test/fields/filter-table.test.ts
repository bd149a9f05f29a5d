/**
 * `-Y` and `-T fields` on keyscope's own fields (tshark has no MBMS meaning, verification results or problem codes), as
 * table tests on the bundled captures and their key files, through the real CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from '../support/proc';
import { capturePath, cliPath } from '../support/repo';

function run(args: string[]) {
  return spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

function frames(capture: string, filter: string, keys?: string): number[] {
  const args = ['dissect', '-Y', filter, '-T', 'fields', '-e', 'frame.number', capturePath(capture)];
  if (keys) args.push('--keys', capturePath(keys));
  const r = run(args);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

const KINDS = 'mikey-mbms-kinds.pcap';
const KINDS_KEYS = 'mikey-mbms-kinds.keys';
const DIGEST = 'http-digest-loopback.pcap';
const DIGEST_KEYS = 'http-digest-loopback.keys';

/** [capture, key file or '', filter, frames]. */
const TABLE: [string, string, string, number[]][] = [
  [KINDS, '', 'mikey.mbms.kind == "msk-delivery"', [1, 3, 9, 11]],
  [KINDS, '', 'mikey.mbms.kind in {"mtk-delivery", "error"}', [4, 5, 6, 12]],
  [KINDS, '', 'mikey.mbms.kind != "msk-delivery" && mikey.mbms.kind != "mtk-delivery"', [2, 7, 8, 10, 12]],
  [KINDS, '', 'mikey.counter >= 3', [1, 2, 3, 7, 11, 12]],
  [KINDS, '', '3 <= mikey.counter', [1, 2, 3, 7, 11, 12]],
  [KINDS, '', 'mikey.counter in {1..2}', [4, 5, 6, 8, 9, 10]],
  [KINDS, '', 'mikey.mbms.msk_id == 0x00010002', [1, 4, 6]],
  [KINDS, '', 'mikey.mbms.msk_id == 65538', [1, 4, 6]],
  [KINDS, '', 'mikey.mbms.key_group == 3', [3, 5]],
  [KINDS, '', 'mikey.mbms.mtk_id > 1', [6]],
  [KINDS, '', 'mikey.mbms.key_domain == "001-01" && !mikey.mbms.mtk_id', [1, 3, 7, 8, 9, 11]],
  [KINDS, '', 'mikey.mbms.key_domain_id == 00:f1:10', [1, 3, 4, 5, 6, 7, 8, 9, 11]],
  [KINDS, '', 'mikey.mbms.idr contains "RkY2"', [1, 2, 3, 7]],
  [KINDS, '', 'mikey.mbms.idr matches "^qjj"', [8, 9, 10, 11]],
  [KINDS, '', 'mikey.mbms.idr matches "(?-i)^qjj"', []],
  [KINDS, '', 'mikey.verified', []],
  [KINDS, KINDS_KEYS, 'mikey.verified == 1', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]],
  [KINDS, KINDS_KEYS, 'mikey.verified_with == "muk"', [1, 3, 7, 8, 9, 11]],
  [KINDS, KINDS_KEYS, 'mikey.answers_frame == 9', [10]],
  [KINDS, '', 'mikey.carrier == "udp" && ip.dst == 127.0.0.0/30 && mikey.v', [2, 10]],
  [KINDS, '', 'keyscope.problem == "mikey-null-encryption"', [11]],
  [KINDS, '', 'keyscope.problem.severity in {"error" "warning"} || mikey.mbms.kind == error', [11, 12]],
  [DIGEST, DIGEST_KEYS, 'digest.verified == 0', [22, 82]],
  [DIGEST, DIGEST_KEYS, 'keyscope.problem == "digest-mismatch"', [22, 82]],
  [DIGEST, DIGEST_KEYS, 'digest.username == "alice" && digest.nc == 1', [34, 38, 54, 70, 82]],
  [DIGEST, '', 'digest.verified', []],
  [DIGEST, '', 'digest.realm == "keyscope lab" && digest.credentials', [70, 82]],
];

for (const [capture, keys, filter, expected] of TABLE) {
  test(`-Y on keyscope fields: ${capture}${keys ? ' + keys' : ''}: ${filter}`, { timeout: 60_000 }, () => {
    assert.deepEqual(frames(capture, filter, keys || undefined), expected);
  });
}

test('-Y keeps the two passes: an HTTP response is selected by its request\'s fields only through http.request_in', { timeout: 60_000 }, () => {
  // frame 8 completes the request that 10 answers; filtering hides 8 but 10 still knows it
  assert.deepEqual(frames(DIGEST, 'http.request_in == 8'), [10]);
});

test('-T fields: header, quoting, separator, aggregator and occurrence options', { timeout: 60_000 }, () => {
  const base = ['dissect', capturePath(KINDS), '-Y', 'frame.number <= 2', '-T', 'fields', '-e', 'frame.number', '-e', 'mikey.mbms.kind', '-e', 'ip.addr'];
  assert.equal(run(base).stdout, '1\tmsk-delivery\t127.0.0.1,127.0.0.2\n2\tverification\t127.0.0.2,127.0.0.1\n');
  assert.equal(run([...base, '-E', 'header=y', '-E', 'separator=,', '-E', 'quote=d', '-E', 'aggregator=/s']).stdout,
    '"frame.number","mikey.mbms.kind","ip.addr"\n"1","msk-delivery","127.0.0.1 127.0.0.2"\n"2","verification","127.0.0.2 127.0.0.1"\n');
  assert.equal(run([...base, '-E', 'occurrence=l']).stdout, '1\tmsk-delivery\t127.0.0.2\n2\tverification\t127.0.0.1\n');
});

test('-T json is --json', { timeout: 60_000 }, () => {
  const a = run(['dissect', '-T', 'json', capturePath(KINDS)]);
  const b = run(['dissect', '--json', capturePath(KINDS)]);
  assert.equal(a.status, 0);
  assert.equal(a.stdout, b.stdout);
  assert.ok(a.stdout.length > 0);
});

test('-Y with --json and -V prints only the selected frames', { timeout: 60_000 }, () => {
  const j = run(['dissect', '--json', '-Y', 'mikey.mbms.kind == "mtk-delivery"', capturePath(KINDS)]);
  assert.deepEqual(j.stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { frame: number }).frame), [4, 5, 6]);
  const v = run(['dissect', '-V', '-Y', 'frame.number == 12', capturePath(KINDS)]);
  assert.match(v.stdout, /^Frame 12: /);
  assert.doesNotMatch(v.stdout, /^Frame 11: /m);
});

/** [arguments, what stderr says, where the caret goes (substring of the filter) or undefined]. */
const USAGE: [string[], RegExp, string | undefined][] = [
  [['-Y', 'mikey.counter == "x"'], /"x" is not a whole number/, '"x"'],
  [['-Y', 'mikey.mbms.kind matches "("'], /bad regular expression/, '"("'],
  [['-Y', 'mikey && ip.src == 300.1.1.1'], /not an IPv4 address/, '300.1.1.1'],
  [['-Y', 'mikey.v == 1'], /has no value to compare/, '1'],
  [['-Y', 'tcp.port in {}'], /empty set/, undefined],
  [['-Y', '(mikey'], /Expected/, undefined],
  [['-Y', ''], /empty display filter/, undefined],
  [['-e', 'frame.number'], /-e needs -T fields/, undefined],
  [['-T', 'fields'], /needs at least one -e/, undefined],
  [['-T', 'fields', '-e', 'nosuch.field'], /no such field/, undefined],
  [['-T', 'fields', '-e', 'frame.number', '-E', 'quote=x'], /quote= takes d, s or n/, undefined],
];

for (const [args, message, caret] of USAGE) {
  test(`usage error, exit 64: ${args.join(' ')}`, { timeout: 60_000 }, () => {
    const r = run(['dissect', capturePath(KINDS), ...args]);
    assert.equal(r.status, 64, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, message);
    if (caret !== undefined) {
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines[2].indexOf('^'), lines[1].indexOf(caret), r.stderr);
    }
  });
}

test('keyscope --version and -v: keyscope, Node.js and libpcap versions', { timeout: 60_000 }, () => {
  for (const flag of ['--version', '-v']) {
    const r = run([flag]);
    assert.equal(r.status, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^keyscope \d+\.\d+\.\d+$/);
    assert.equal(lines[1], `Node.js ${process.version}`);
    // libpcap is installed on this machine and CI (cap is an optional dependency that builds against it)
    const ldconfig = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' });
    const sys = /libpcap\.so\.\d+.*=> (\S+)/.exec(ldconfig);
    assert.match(lines[2], sys ? /^libpcap \d+\.\d+\.\d+$/ : /^libpcap /);
  }
});
