import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  deriveMrk, digestPasswordFromNaf, KeyFileParseError, KeyStore, loadKeyFile, MAX_LEARNED_MSKS, parseKeyFile,
} from '../../src/protocols/keys';

const NAF = Buffer.from(Array.from({ length: 32 }, (_, i) => i));

test('MRK = HMAC-SHA-256(Ks_NAF, 0x01 ‖ "mbms-mrk" ‖ 0x00 0x08), password = base64(MRK) (checked with Python hmac)', () => {
  assert.equal(deriveMrk(NAF).toString('hex'), '96404969f502440305f7da54c58d513452e111d8fdac531eaf4403ac780db495');
  assert.equal(digestPasswordFromNaf(NAF), 'lkBJafUCRAMF99pUxY1RNFLhEdj9rFMer0QDrHgNtJU=');
});

test('parse every entry kind, comments and blank lines', () => {
  const text = [
    '# keys',
    '',
    `naf btid1@bsf.example ${NAF.toString('hex')}`,
    '  muk 10.0.0.7 00112233445566778899aabbccddeeff   ',
    'muk btid2@bsf.example 0xAABBCCDDEEFF00112233445566778899',
    'digest alice  my pass  word ',
    'msk 00f110 00010002 0102030405060708090a0b0c0d0e0f10',
    'msk 00F110 0003 ffffffffffffffffffffffffffffffff',
  ].join('\r\n');
  const { store, errors } = parseKeyFile(text);
  assert.deepEqual(errors, []);
  assert.equal(store.size, 6);
  assert.equal(store.naf.get('btid1@bsf.example')?.line, 3);
  assert.equal(store.muk.get('10.0.0.7')?.key.toString('hex'), '00112233445566778899aabbccddeeff');
  assert.equal(store.mukFor('btid2@bsf.example')?.key.toString('hex'), 'aabbccddeeff00112233445566778899');
  assert.deepEqual(store.mukFor('btid1@bsf.example')?.key, NAF, 'GBA_ME: the MUK is Ks_NAF');
  assert.equal(store.digestPasswordFor('alice'), 'my pass  word', 'rest of the line, inner spaces kept');
  assert.equal(store.digestPasswordFor('btid1@bsf.example'), 'lkBJafUCRAMF99pUxY1RNFLhEdj9rFMer0QDrHgNtJU=');
  assert.equal(store.digestPasswordFor('nobody'), undefined);
  assert.equal(store.mskFor('00f110', '00010002')?.key.toString('hex'), '0102030405060708090a0b0c0d0e0f10');
  assert.equal(store.mskFor('00F110', '0003')?.line, 8);
});

test('every bad line is an error with its line number; good lines still load', () => {
  const text = [
    'naf onlyone',
    'muk x 0g',
    'digest useronly',
    'msk 00f1 00010002 00',
    'msk 00f110 000100 00',
    'msk 00f110 00010002 zz',
    'key btid 00',
    `naf ok ${NAF.toString('hex')}`,
    'naf a b c',
  ].join('\n');
  const { store, errors } = parseKeyFile(text);
  assert.deepEqual(errors.map((e) => e.line), [1, 2, 3, 4, 5, 6, 7, 9]);
  assert.match(errors[6].message, /unknown entry/);
  assert.doesNotMatch(errors[6].message, /key btid/, 'the line itself is not quoted');
  assert.ok(store.naf.has('ok'));
});

test('a bad key is described, never quoted: not one digit of it reaches the message', () => {
  // 63 good hex digits and one typo: echoing it would give away all but 4 bits of the key
  const almost = `${NAF.toString('hex').slice(0, 62)}0g`;
  const lines = [`naf btid@bsf ${almost}`, `muk 127.0.0.9 ${NAF.toString('hex').slice(1)}`, `msk 00f110 00010002 ${almost}`, `msk 0x${almost.slice(0, 6)}z 00010002 00`, `${almost} btid`];
  const { errors } = parseKeyFile(lines.join('\n'));
  assert.deepEqual(errors.map((e) => e.line), [1, 2, 3, 4, 5]);
  assert.match(errors[0].message, /naf key is not hex \(a character that is not a hex digit at position 64 of 64\)/);
  assert.match(errors[1].message, /muk key is not hex \(an odd number of hex digits \(63\)\)/);
  for (const e of errors) {
    // no run of 4 or more hex digits from the line (the field counts in the messages are short decimals)
    assert.doesNotMatch(e.message, /[0-9a-f]{4,}/i, e.message);
  }
});

test('loadKeyFile reads a file and throws KeyFileParseError naming the lines', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-keys-'));
  try {
    const good = path.join(dir, 'good.keys');
    fs.writeFileSync(good, `naf b ${NAF.toString('hex')}\n`);
    assert.equal(loadKeyFile(good).naf.size, 1);
    const bad = path.join(dir, 'bad.keys');
    fs.writeFileSync(bad, '# ok\nwhat is this\n');
    assert.throws(() => loadKeyFile(bad), (e: unknown) => e instanceof KeyFileParseError && e.errors[0].line === 2 && /line 2/.test(e.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('learned MSKs never override the key file and are bounded', () => {
  const store = new KeyStore();
  store.msk.set('00f110:00010002', { key: Buffer.alloc(16, 1), source: 'msk', line: 1 });
  store.learnMsk('00f110', '00010002', Buffer.alloc(16, 2), 5);
  assert.equal(store.mskFor('00f110', '00010002')?.source, 'msk');
  for (let i = 0; i < MAX_LEARNED_MSKS; i++) assert.ok(store.learnMsk('00f110', i.toString(16).padStart(8, '0') + 'x', Buffer.alloc(1)));
  assert.equal(store.learnMsk('00f110', 'ffffffff', Buffer.alloc(1)), false);
});
