/**
 * The real capture of every MBMS kind (captures/mikey-mbms-kinds.pcap), read in capture order through MbmsKeyTracker:
 * with the keys file every MAC verifies and every key decrypts; with wrong keys every MAC-bearing message says so.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseKeyFile } from '../../../src/protocols/keys';
import { decodeMikey } from '../../../src/protocols/mikey/decode';
import { mikeyInfoLine, mikeyToJson } from '../../../src/protocols/mikey/output';
import { mikeyTree } from '../../../src/fields/mikey-fields';
import { MbmsKeyTracker, type MikeyAnalysis } from '../../../src/protocols/mikey/tracker';
import { mbmsKindsDatagrams, repoRoot, wrongKeyFile } from './mbms-fixture';
import { udpDatagrams } from './pcap-walk';

const root = repoRoot();
const capture = path.join(root, 'captures/mikey-mbms-kinds.pcap');

function run(keysText: string | null, showKeys = true): MikeyAnalysis[] {
  const store = keysText === null ? null : parseKeyFile(keysText).store;
  const tracker = new MbmsKeyTracker(store, { showKeys });
  return udpDatagrams(capture).map((d) =>
    tracker.process(d.payload, { frame: d.frame, time: { tsSec: d.tsSec, tsNsec: d.tsNsec }, src: d.src, dst: d.dst }));
}

test('the capture holds exactly the fixture messages, from and to the fixture addresses', () => {
  const fx = mbmsKindsDatagrams();
  const got = udpDatagrams(capture);
  assert.equal(got.length, fx.length);
  got.forEach((d, i) => {
    assert.equal(d.dstPort, 2269);
    assert.equal(d.src, fx[i].src);
    assert.equal(d.dst, fx[i].dst);
    assert.deepEqual(d.payload, fx[i].bytes, `frame ${d.frame} bytes`);
  });
});

test('with the keys file: every kind classified, every MAC verifies, every key decrypts', () => {
  const keys = fs.readFileSync(path.join(root, 'captures/mikey-mbms-kinds.keys'), 'utf8');
  const fx = mbmsKindsDatagrams();
  const res = run(keys);
  res.forEach((a, i) => {
    const f = fx[i];
    assert.equal(a.mbms?.kind, f.kind, `frame ${a.frame} kind`);
    const macBearing = f.kind !== 'error';
    if (macBearing) assert.equal(a.verified, true, `frame ${a.frame} (${f.description}) verified; problems ${JSON.stringify(a.problems)}`);
    else assert.equal(a.verified, null);
    if (f.key) {
      assert.equal(a.keys?.length, 1, `frame ${a.frame} delivered one key`);
      assert.equal(a.keys?.[0].key, f.key.toString('hex'), `frame ${a.frame} key`);
      if (f.salt) assert.equal(a.keys?.[0].salt, f.salt.toString('hex'));
    }
    const bad = a.problems.filter((p) => ['mikey-mac-invalid', 'mikey-no-key', 'mikey-no-rand', 'mikey-decrypt-failed'].includes(p.code));
    assert.deepEqual(bad, [], `frame ${a.frame} findings`);
  });
  // what the frames say beyond the MAC
  assert.equal(res[0].keys?.[0].validFrom, 0);
  assert.equal(res[0].keys?.[0].validTo, 100);
  assert.equal(res[1].answersFrame, 1);
  assert.equal(res[9].answersFrame, 9);
  assert.equal(res[7].verifiedWith, 'muk');
  assert.equal(res[4].keySource, 'msk line 4');
  assert.match(res[3].keySource ?? '', /^learned in frame 1$/);
  assert.deepEqual(res[10].problems.map((p) => p.code), ['mikey-null-encryption']);
  assert.equal(res[8].message?.payloads.find((p) => p.type === 1 && p.encrAlg === 2) !== undefined, true, 'frame 9 uses AES-KW');
});

test('with every key wrong: every MAC-bearing message says mac-invalid, nothing decrypts, nothing throws', () => {
  const fx = mbmsKindsDatagrams();
  const res = run(wrongKeyFile());
  res.forEach((a, i) => {
    if (fx[i].kind === 'error') return;
    assert.equal(a.verified, false, `frame ${a.frame} (${fx[i].description})`);
    assert.ok(a.problems.some((p) => p.code === 'mikey-mac-invalid' && p.severity === 'error' && typeof p.offset === 'number'), `frame ${a.frame} mac-invalid`);
    assert.equal(a.keys, undefined, `frame ${a.frame} no key`);
  });
});

test('with a key file that lacks the keys: verified is null and each key-protected message says no-key', () => {
  const fx = mbmsKindsDatagrams();
  const res = run('naf unrelated-btid@bsf.example 000102030405060708090a0b0c0d0e0f\n');
  res.forEach((a, i) => {
    assert.equal(a.verified, null);
    if (fx[i].kind !== 'error') assert.ok(a.problems.some((p) => p.code === 'mikey-no-key'), `frame ${a.frame} no-key`);
  });
});

test('without any key file: verified is null and no message is flagged for it', () => {
  for (const a of run(null)) {
    assert.equal(a.verified, null);
    assert.ok(!a.problems.some((p) => p.code === 'mikey-no-key'), `frame ${a.frame}`);
  }
});

test('keys are masked unless showKeys', () => {
  const keys = fs.readFileSync(path.join(root, 'captures/mikey-mbms-kinds.keys'), 'utf8');
  const res = run(keys, false);
  assert.equal(res[0].keys?.[0].key, '[hidden, 16 bytes]');
  const text = JSON.stringify(res.map((a) => mikeyToJson(a))) + res.flatMap((a) => mikeyTree(a)).join('\n');
  for (const d of mbmsKindsDatagrams()) if (d.key && d.kind !== 'msk-delivery') assert.ok(!text.includes(d.key.toString('hex')), 'no decrypted MTK in output');
});

test('info lines, tree and JSON for the capture', () => {
  const keys = fs.readFileSync(path.join(root, 'captures/mikey-mbms-kinds.keys'), 'utf8');
  const res = run(keys);
  assert.deepEqual(res.map((a) => mikeyInfoLine(a)), [
    'MSK delivery kd=001-01 msk=0x0001:0x0002 V ctr=7 [verified]',
    'MSK verification (ACK) ctr=7 idr=RkY2RkQ3QkQ=@bsf.mnc001.mcc001.pub.3gppnetwork.org answers #1 [verified]',
    'MSK delivery kd=001-01 msk=0x0003:0x0001 ctr=8 [verified]',
    'MTK delivery kd=001-01 msk=0x0001:0x0002 mtk=1 ctr=1 [verified]',
    'MTK delivery kd=001-01 msk=0x0003:0x0001 mtk=1 ctr=1 [verified]',
    'MTK delivery kd=001-01 msk=0x0001:0x0002 mtk=2 ctr=2 [verified]',
    'Solicited-pull trigger kd=001-01 msk=0x0001:0x0000 ctr=9 [verified]',
    'Solicited-pull trigger kd=001-01 msk=0x0001:0x0000 ctr=1 [verified]',
    'MSK delivery kd=001-01 msk=0x0001:0x0003 V ctr=2 [verified]',
    'MSK verification (ACK) ctr=2 idr=QjJCMkIyQjI=@bsf.mnc001.mcc001.pub.3gppnetwork.org answers #9 [verified]',
    'MSK delivery kd=001-01 msk=0x0001:0x0003 ctr=3 [verified]',
    'MIKEY error: MAC algorithm not supported ctr=3',
  ]);
  const j = mikeyToJson(res[3]) as Record<string, unknown>;
  for (const k of ['version', 'dataType', 'v', 'prf', 'csbId', 'csCount', 'csIdMapType', 'payloads', 'mbms']) assert.ok(k in j, k);
  assert.equal(j.csbId, 0x0badcafe);
  assert.deepEqual((j.payloads as { type: number }[]).map((p) => p.type), [5, 21, 1]);
  const mb = j.mbms as Record<string, unknown>;
  assert.deepEqual(
    { kind: mb.kind, keyDomainId: mb.keyDomainId, mskId: mb.mskId, keyGroup: mb.keyGroup, keyNumber: mb.keyNumber, mtkId: mb.mtkId, counter: mb.counter, idi: mb.idi, idr: mb.idr, verified: mb.verified },
    { kind: 'mtk-delivery', keyDomainId: '00f110', mskId: 0x00010002, keyGroup: 1, keyNumber: 2, mtkId: 1, counter: 1, idi: null, idr: null, verified: true },
  );
  const tree = mikeyTree(res[0]);
  assert.ok(tree.includes('        MBMS Key Domain ID: 00f110'), tree.join('\n'));
  assert.ok(tree.includes('        Key Domain: 001-01'), tree.join('\n'));
  for (const l of ['        [MAC verified: yes]', '        [Verified with: muk]', '        [Key source: naf line 2]']) assert.ok(tree.includes(l), l);
  // decoding alone (no tracker) gives the same JSON minus verification
  const plain = decodeMikey(udpDatagrams(capture)[0].payload);
  assert.equal(mikeyToJson({ message: plain.message, mbms: null })?.csbId, 0x5a17c0de);
});
