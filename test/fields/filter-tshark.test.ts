/**
 * `-Y` against tshark's `-2 -Y` on the same bundled captures: for each operator, the frames keyscope selects are the frames
 * tshark selects. Only fields both have are used here; keyscope-only fields are in filter-table.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from '../support/proc';
import { capturePath, cliPath } from '../support/repo';
import { keyscopeFrames, tsharkFrames } from './oracle';

/** [operator being shown, capture, filter]. Each filter selects some frames but not all (checked), so it is a real test. */
const CASES: [string, string, string][] = [
  ['presence', 'sim-variants.pcap', 'mikey'],
  ['presence', 'sim-variants.pcap', 'http.request'],
  ['presence', 'mikey-all-payloads.pcap', 'mikey.v'],
  ['presence', 'mikey-mbms-kinds.pcap', 'mikey.rand'],
  ['== number', 'mikey-mbms-kinds.pcap', 'mikey.type == 1'],
  ['== hex number', 'mikey-mbms-kinds.pcap', 'mikey.csb_id == 0x5a17c0de'],
  ['== octal-free decimal', 'sim-variants.pcap', 'tcp.flags == 0x0012'],
  ['== address', 'sim-variants.pcap', 'ip.src == 127.83.0.11'],
  ['== string', 'sim-faults.pcap', 'http.response.phrase == "Unauthorized"'],
  ['== unquoted word', 'http-digest-curl-variants.pcap', 'http.request.method == GET'],
  ['== bytes', 'mikey-mbms-kinds.pcap', 'mikey.rand.data == c7:76:3b:50:61:e3:72:d8:23:73:42:e1:b1:ab:7a:f7'],
  ['== bytes without separators', 'mikey-mbms-kinds.pcap', 'mikey.rand.data == c7763b5061e372d8237342e1b1ab7af7'],
  ['== bool', 'sim-variants.pcap', 'tcp.flags.syn == 1'],
  ['== MAC', 'cap-lo-http.pcap', 'eth.src == 00:00:00:00:00:00 && tcp.len > 0'],
  ['!= (all occurrences differ)', 'sim-variants.pcap', 'ip.addr != 127.83.0.11'],
  ['!= number', 'sim-faults.pcap', 'http.response.code != 200'],
  ['~= (any occurrence differs)', 'sim-variants.pcap', 'ip.src ~= 127.83.0.1'],
  ['=== (all occurrences equal)', 'sim-variants.pcap', 'eth.addr === 00:00:00:00:00:00 && tcp.len > 0'],
  ['<', 'sim-variants.pcap', 'frame.len < 100'],
  ['<=', 'mikey-mbms-kinds.pcap', 'mikey.ext.len <= 11'],
  ['>', 'sim-variants.pcap', 'tcp.len > 200'],
  ['>=', 'sim-variants.pcap', 'tcp.stream >= 5'],
  ['> time', 'sim-variants.pcap', 'frame.time_relative > 0.5'],
  ['word operators', 'sim-variants.pcap', 'tcp.len gt 0 and not tcp.srcport eq 18283 or udp.length ge 200'],
  ['contains string', 'sim-variants.pcap', 'http.request.uri contains "msk"'],
  ['contains in a header', 'http-digest-curl-variants.pcap', 'http.authorization contains "SHA-256"'],
  ['contains bytes', 'mikey-mbms-kinds.pcap', 'mikey.ext.data contains 00:01:00:02'],
  ['matches', 'http-digest-curl-variants.pcap', 'http.request.uri matches "^/sha(256|512)"'],
  ['matches is case-insensitive', 'sim-faults.pcap', 'http.response.phrase matches "unauth"'],
  ['&& || ! ( )', 'sim-variants.pcap', '(tcp.flags.syn == 1 || tcp.flags.fin == 1) && !(tcp.srcport == 18283)'],
  ['! without parentheses', 'sim-variants.pcap', '!tcp && !mikey.v'],
  // tshark 4.0 wants commas between set elements; keyscope also takes the older whitespace form (filter-table.test.ts)
  ['in { }', 'sim-variants.pcap', 'ip.dst in {127.83.0.12, 127.83.0.13}'],
  ['in { } with commas', 'sim-faults.pcap', 'http.response.code in {200, 401}'],
  ['in { } with a range', 'sim-variants.pcap', 'frame.number in {1..5, 9, 20..22}'],
  ['not in { }', 'sim-variants.pcap', 'tcp.stream not in {0..3}'],
  ['CIDR', 'sim-variants.pcap', 'ip.addr == 127.83.0.12/31'],
  ['CIDR !=', 'sim-variants.pcap', 'ip.addr != 127.83.0.10/31'],
  ['field against field', 'sim-variants.pcap', 'tcp.srcport > tcp.dstport'],
  ['absent field: comparison false', 'sim-variants.pcap', 'http.response.code != 1 || udp.srcport == 2269'],
];

for (const [what, capture, filter] of CASES) {
  test(`-Y ${what}: ${capture} ${filter}`, { timeout: 120_000 }, () => {
    const file = capturePath(capture);
    const theirs = tsharkFrames(file, filter);
    const total = Number(execFileSync('capinfos', ['-c', '-M', '-T', '-r', file], { encoding: 'utf8' }).trim().split('\t').pop());
    assert.ok(theirs.length > 0 && theirs.length < total, `the case selects some frames but not all (${theirs.length} of ${total})`);
    assert.deepEqual(keyscopeFrames(file, filter), theirs);
  });
}

test('a syntax error is the reason, the filter and a caret under the place; exit code 64', { timeout: 60_000 }, () => {
  const r = spawnSync(process.execPath, [cliPath(), 'dissect', '-Y', 'mikey.counter >> 3', capturePath('mikey-mbms-kinds.pcap')], { encoding: 'utf8' });
  assert.equal(r.status, 64);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^keyscope dissect: display filter: Expected .* but ">" found\.$/);
  assert.equal(lines[1], '    mikey.counter >> 3');
  assert.equal(lines[2].indexOf('^'), lines[1].indexOf('>>') + 1);
});

test('an unknown field is named, with the caret under it', { timeout: 60_000 }, () => {
  const r = spawnSync(process.execPath, [cliPath(), 'dissect', '-Y', 'udp && ip.srcx == 1.2.3.4', capturePath('mikey-mbms-kinds.pcap')], { encoding: 'utf8' });
  assert.equal(r.status, 64);
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines[0], /"ip\.srcx" is neither a field nor a protocol name/);
  assert.equal(lines[2].indexOf('^'), lines[1].indexOf('ip.srcx'));
});
