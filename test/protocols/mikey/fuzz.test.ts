/** Hostile bytes: mutated and truncated real messages never make the decoder or the tracker throw or misbehave. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseKeyFile } from '../../../src/protocols/keys';
import { decodeMikey } from '../../../src/protocols/mikey/decode';
import { encodeMikey } from '../../../src/protocols/mikey/encode';
import { mikeyInfoLine, mikeyToJson } from '../../../src/protocols/mikey/output';
import { mikeyTree } from '../../../src/fields/mikey-fields';
import { MbmsKeyTracker } from '../../../src/protocols/mikey/tracker';
import { allPayloadMessages, mbmsKindsDatagrams, mbmsKindsKeyFile } from './mbms-fixture';

/** Small deterministic PRNG (xorshift32) so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

test('1500 mutated messages: no throw, problems carry offsets inside the message, re-encoding is stable', () => {
  const seeds = [...mbmsKindsDatagrams().map((d) => d.bytes), ...allPayloadMessages().map((m) => m.bytes)];
  const r = rng(0x5eed);
  const tracker = new MbmsKeyTracker(parseKeyFile(mbmsKindsKeyFile()).store, { showKeys: false });
  for (let i = 0; i < 1500; i++) {
    const src = seeds[i % seeds.length];
    const b = Buffer.from(src.subarray(0, Math.floor(r() * (src.length + 1))));
    const flips = 1 + Math.floor(r() * 4);
    for (let j = 0; j < flips && b.length; j++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
    const d = decodeMikey(b);
    for (const p of d.problems) assert.ok(p.offset === undefined || (p.offset >= 0 && p.offset <= b.length), `offset ${p.offset} within ${b.length}`);
    if (d.message) {
      assert.ok(d.message.payloads.length <= 128);
      for (const p of d.message.payloads) assert.ok(p.offset + p.length <= b.length);
      // whatever decoded re-encodes to a prefix of the input's structure without throwing
      encodeMikey(d.message);
    }
    const a = tracker.process(d, { frame: i + 1, time: { tsSec: i, tsNsec: 0 }, src: '127.0.0.1', dst: '127.0.0.2' });
    assert.ok(!a.problems.some((p) => p.code === 'mikey-internal-error'), JSON.stringify(a.problems));
    mikeyInfoLine(a);
    mikeyTree(a);
    JSON.stringify(mikeyToJson(a));
  }
});

test('huge length fields do not allocate: a 10-byte header claiming 255 SRTP entries is reported, not read', () => {
  const d = decodeMikey(Buffer.from('01000000000000 01 ff 00'.replace(/ /g, '') + '00', 'hex'));
  assert.equal(d.message?.payloads.length, 0);
  assert.ok(d.problems.some((p) => p.code === 'mikey-truncated'));
});
