/**
 * Field-by-field agreement with tshark 4.0 on real captures: every mikey.* field tshark shows for a frame must be
 * produced by our decoder with the same values in the same order, and every field we produce must be shown by tshark.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { decodeMikey } from '../../../src/protocols/mikey/decode';
import { mbmsKindsDatagrams, repoRoot } from './mbms-fixture';
import { udpDatagrams } from './pcap-walk';
import { normalise, tsharkFieldValues, tsharkMikeyFields, tsharkView } from './tshark-view';


for (const name of ['mikey-mbms-kinds.pcap', 'mikey-all-payloads.pcap']) {
  test(`${name}: every tshark mikey.* field agrees with our decoder, frame by frame`, () => {
    const file = path.join(repoRoot(), 'captures', name);
    const fields = tsharkMikeyFields();
    assert.ok(fields.length >= 75, `tshark lists ${fields.length} mikey fields`);
    const types = new Map(fields.map((f) => [f.name, f.type]));
    const theirs = tsharkFieldValues(file, fields);
    const datagrams = udpDatagrams(file);
    assert.ok(datagrams.length >= 5);
    const compared = new Set<string>();
    for (const d of datagrams) {
      const r = decodeMikey(d.payload);
      assert.ok(r.message, `frame ${d.frame} decodes`);
      const structural = new Set(['mikey-truncated', 'mikey-overlong-payload', 'mikey-unknown-payload', 'mikey-next-payload-loop', 'mikey-trailing-data']);
      assert.deepEqual(r.problems.filter((p) => structural.has(p.code)), [], `frame ${d.frame} is well formed`);
      const ours = tsharkView(r.message);
      const t = theirs.get(d.frame);
      assert.ok(t, `tshark saw frame ${d.frame}`);
      for (const [field, values] of t) {
        const type = types.get(field) ?? 'FT_BYTES';
        assert.ok(ours.has(field), `frame ${d.frame}: tshark shows ${field}=${values.join(',')} which we do not produce`);
        assert.deepEqual(ours.get(field)?.map((v) => normalise(type, v)), values.map((v) => normalise(type, v)), `frame ${d.frame} ${field}`);
        compared.add(field);
      }
      for (const field of ours.keys())
        assert.ok(t.has(field), `frame ${d.frame}: we produce ${field}=${ours.get(field)?.join(',')} that tshark does not show`);
    }
    assert.ok(compared.size >= 20, `compared ${compared.size} distinct fields: ${[...compared].join(' ')}`);
  });
}

test('mikey-transport-variants.pcap: MIKEY on UDP 4000 and in application/mikey HTTP bodies agrees with tshark', () => {
  const file = path.join(repoRoot(), 'captures', 'mikey-transport-variants.pcap');
  const fields = tsharkMikeyFields();
  const types = new Map(fields.map((f) => [f.name, f.type]));
  const theirs = tsharkFieldValues(file, fields, ['-d', 'udp.port==4000,mikey', '-o', 'tcp.reassemble_out_of_order:TRUE']);
  const [delivery, ack] = mbmsKindsDatagrams();
  const udp = udpDatagrams(file);
  assert.deepEqual(udp.map((d) => [d.dstPort, d.payload.toString('hex')]), [[4000, delivery.bytes.toString('hex')], [4000, ack.bytes.toString('hex')]]);
  const mikeyFrames = [...theirs.entries()].filter(([, v]) => v.has('mikey.version')).map(([f]) => f);
  assert.equal(mikeyFrames.length, 4, 'two datagrams and two HTTP bodies');
  const expected = [delivery.bytes, ack.bytes, delivery.bytes, ack.bytes];
  mikeyFrames.forEach((frame, i) => {
    const ours = tsharkView(decodeMikey(expected[i]).message!);
    const t = theirs.get(frame)!;
    assert.deepEqual([...t.keys()].sort(), [...ours.keys()].sort(), `frame ${frame} fields`);
    for (const [field, values] of t) assert.deepEqual(ours.get(field)?.map((v) => normalise(types.get(field)!, v)), values.map((v) => normalise(types.get(field)!, v)), `frame ${frame} ${field}`);
  });
});
