/**
 * The tshark oracle for the field registry: on every bundled capture, `keyscope dissect -T fields -e F` prints, for every
 * field that tshark also has (`tshark: 'same'`), exactly what `tshark -T fields -e F` prints, frame by frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { capturePath, repoRoot } from '../support/repo';
import { allFields } from '../../src/fields/registry';
import { fieldDiffs } from './oracle';

export const captures = fs
  .readdirSync(path.join(repoRoot(), 'captures'))
  .filter((n) => /\.(pcap|pcapng)(\.gz)?$/.test(n))
  .sort();

const shared = allFields().filter((f) => f.tshark === 'same').map((f) => f.name);

test('the registry has the tshark fields the issue names', () => {
  for (const f of ['frame.number', 'ip.src', 'udp.dstport', 'tcp.stream', 'http.request.uri', 'http.response.code', 'mikey.type', 'mikey.csb_id', 'mikey.v'])
    assert.ok(shared.includes(f), f);
});

for (const name of captures) {
  test(`-T fields equals tshark on every shared field: ${name}`, { timeout: 120_000 }, () => {
    const { frames, diffs } = fieldDiffs(capturePath(name), shared);
    assert.equal(frames[0], frames[1], 'frame count');
    assert.deepEqual(diffs.slice(0, 20), []);
  });
}
