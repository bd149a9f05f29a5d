/**
 * The tshark oracle on the paths the bundled recordings lack (test/fields/tunnel-capture.ts writes the capture): MIKEY
 * and HTTP/TCP inside GTP-U (IPv4 and IPv6 inside), over IPv6 with and without an extension header, behind 802.1Q and
 * 802.1ad tags, and in IPv4 fragments. Every field both have prints the same; `-Y` selects the same frames.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allFields } from '../../src/fields/registry';
import { fieldDiffs, keyscopeFrames, tsharkFrames } from './oracle';
import { writeTunnelCapture } from './tunnel-capture';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-tunnels-'));
const file = path.join(dir, 'tunnels.pcap');
const total = writeTunnelCapture(file);
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const shared = allFields().filter((f) => f.tshark === 'same').map((f) => f.name);

test('-T fields equals tshark on every shared field through GTP-U, IPv6, VLAN tags and IP fragments', { timeout: 120_000 }, () => {
  const { frames, diffs } = fieldDiffs(file, shared);
  assert.deepEqual(frames, [total, total]);
  assert.deepEqual(diffs.slice(0, 20), []);
});

test('the capture has what it is for: each path shows up in tshark', { timeout: 60_000 }, () => {
  for (const f of ['gtp && mikey', 'gtp && http', 'gtp && ipv6', 'ipv6 && tcp', 'ipv6.nxt == 0', 'vlan && mikey', 'ieee8021ad', 'ip.flags.mf == 1', 'ip.frag_offset > 0 && mikey'])
    assert.ok(tsharkFrames(file, f).length > 0, f);
});

/** [what, filter]; each selects some frames but not all (checked). */
const CASES: [string, string][] = [
  ['== hex number (TEID)', 'gtp.teid == 0x22'],
  ['== GTP message type', 'gtp.message == 0x01'],
  ['presence through a tunnel', 'gtp && mikey'],
  ['outer and inner addresses both match', 'ip.src == 127.180.0.2 && ip.src == 127.180.1.1'],
  ['CIDR on inner addresses, not tunnelled', 'ip.addr == 127.180.1.0/24 && !gtp'],
  ['IPv6 address literal', 'ipv6.addr == ::1 && tcp.flags.syn == 1'],
  ['IPv6 next header', 'ipv6.nxt == 0'],
  ['!= on the flow label and traffic class', 'ipv6.flow == 0 && ipv6.tclass != 0'],
  ['IPv6 inside GTP-U', 'gtp && ipv6'],
  ['VLAN id', 'vlan.id == 20'],
  ['>= on the VLAN priority', 'vlan.priority >= 5'],
  ['802.1ad service tag', 'ieee8021ad.id == 10'],
  ['VLAN EtherType', 'vlan.etype == 0x0800'],
  ['more fragments', 'ip.flags.mf == 1'],
  ['fragment offset >', 'ip.frag_offset > 6'],
  ['IP identification', 'ip.id == 0x4242'],
  ["don't fragment", 'ip.flags.df == 1'],
  ['udp.stream of the outer datagram', 'udp.stream == 0'],
  ['relative sequence numbers', 'tcp.seq == 1 && tcp.ack == 1'],
  ['raw sequence numbers', 'tcp.seq_raw > 4000000000'],
  ['in { } on relative acks', 'tcp.ack in {80, 85}'],
  ['contains through a tunnel', 'http.request.uri contains "msk"'],
  ['MIKEY type in a set over IPv6', 'mikey.type in {0, 1} && ipv6'],
  ['matches on a header', 'http.user_agent matches "^keyscope"'],
];

for (const [what, filter] of CASES) {
  test(`-Y ${what}: ${filter}`, { timeout: 60_000 }, () => {
    const theirs = tsharkFrames(file, filter);
    assert.ok(theirs.length > 0 && theirs.length < total, `the case selects some frames but not all (${theirs.length} of ${total})`);
    assert.deepEqual(keyscopeFrames(file, filter), theirs);
  });
}
