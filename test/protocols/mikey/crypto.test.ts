import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  aesCm, aesCmIv, aesKeyUnwrap, aesKeyWrap, computeMac, deriveMessageKeys, kemacDecrypt, kemacEncrypt, messageKeyLabel,
  mikeyPrf, timestampAs64,
} from '../../../src/protocols/mikey/crypto';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('AES key wrap: RFC 3394 §4.1 (128-bit KEK, 128-bit key data)', () => {
  const kek = hex('000102030405060708090A0B0C0D0E0F');
  const data = hex('00112233445566778899AABBCCDDEEFF');
  const wrapped = hex('1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5');
  assert.deepEqual(aesKeyWrap(kek, data), wrapped);
  assert.deepEqual(aesKeyUnwrap(kek, wrapped), data);
});

test('AES key unwrap never throws: wrong KEK, bad lengths, wrong KEK size give null', () => {
  const wrapped = hex('1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5');
  assert.equal(aesKeyUnwrap(hex('000102030405060708090A0B0C0D0E0E'), wrapped), null);
  assert.equal(aesKeyUnwrap(hex('000102030405060708090A0B0C0D0E0F'), wrapped.subarray(0, 20)), null);
  assert.equal(aesKeyUnwrap(hex('000102030405060708090A0B0C0D0E0F'), wrapped.subarray(0, 16)), null);
  assert.equal(aesKeyUnwrap(hex('0001'), wrapped), null);
});

// Expected values computed independently with Python's hmac/hashlib, straight from RFC 3830 §4.1.2–4.1.4:
//   P(s,label,m) = HMAC(s, A1‖label) ‖ … with A0 = label, Ai = HMAC(s, Ai-1); PRF = XOR over 256-bit chunks of inkey;
//   label = constant ‖ 0xFF ‖ CSB ID ‖ RAND.
const PSK16 = Buffer.from(Array.from({ length: 16 }, (_, i) => i));
const PSK40 = Buffer.from(Array.from({ length: 40 }, (_, i) => i));
const RAND = Buffer.from(Array.from({ length: 16 }, (_, i) => 0x10 + i));
const CSB = 0x12345678;

test('MIKEY-1 PRF and message key derivation: independent check (one chunk)', () => {
  const k = deriveMessageKeys(PSK16, CSB, RAND);
  assert.equal(k.encrKey.toString('hex'), '0697b39199cbd53c48367cfe440f6bb7');
  assert.equal(k.authKey.toString('hex'), '6538a34bbd327059cc3372f26c5f476b5f182ccc');
  assert.equal(k.saltKey.toString('hex'), '507ce0a043d2435185e5b2d41100');
});

test('MIKEY-1 PRF: inkey of 320 bits is split into two chunks and XORed; outputs over 160 bits chain blocks', () => {
  assert.equal(mikeyPrf(PSK40, messageKeyLabel(0x150533e1, CSB, RAND), 128).toString('hex'), '8b8b3bf860408e4ac54ce359cd512af1');
  assert.equal(mikeyPrf(PSK40, messageKeyLabel(0x2d22ac75, CSB, RAND), 256).toString('hex'),
    '401374f916c313d5950fb7346c462529236224d7b9b07e17353446bbc853e8a4');
  const k = deriveMessageKeys(PSK40, CSB, RAND, 1, 2);
  assert.equal(k.authKey.length, 32, 'HMAC-SHA-256 gets a 256-bit authentication key');
});

test('AES-CM IV: (S XOR (0x0000 ‖ CSB ID ‖ T)) ‖ 0x0000 with a 32-bit counter in the low half of T', () => {
  const salt = hex('507ce0a043d2435185e5b2d41100');
  assert.deepEqual(timestampAs64(hex('00000007')), hex('0000000000000007'));
  assert.equal(aesCmIv(salt, CSB, hex('00000007')).toString('hex'), '507cf29415aa435185e5b2d411070000');
  // an 8-byte NTP timestamp enters as is
  assert.equal(aesCmIv(Buffer.alloc(14), 0, hex('0102030405060708')).toString('hex'), '00000000000001020304050607080000');
});

test('AES-CM is its own inverse and matches AES-128 in counter mode over the IV', () => {
  const key = hex('2b7e151628aed2a6abf7158809cf4f3c');
  const iv = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
  // NIST SP 800-38A F.5.1 CTR-AES128.Encrypt, first block
  assert.equal(aesCm(key, iv, hex('6bc1bee22e409f96e93d7e117393172a')).toString('hex'), '874d6191b620e3261bef6864990db6ce');
  const k = deriveMessageKeys(PSK16, CSB, RAND);
  const plain = hex('000201000010' + '11'.repeat(16));
  const enc = kemacEncrypt(1, k, CSB, hex('00000007'), plain);
  assert.ok(enc);
  assert.deepEqual(kemacDecrypt(1, k, CSB, hex('00000007'), enc), plain);
  assert.notDeepEqual(kemacDecrypt(1, k, CSB, hex('00000008'), enc), plain, 'the counter enters the IV');
});

test('MACs: HMAC-SHA-1-160 and HMAC-SHA-256-256; NULL is empty; unknown is null', () => {
  assert.equal(computeMac(1, Buffer.from('key'), Buffer.from('The quick brown fox jumps over the lazy dog'))?.toString('hex'),
    'de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9');
  assert.equal(computeMac(2, Buffer.from('key'), Buffer.from('The quick brown fox '), Buffer.from('jumps over the lazy dog'))?.toString('hex'),
    'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  assert.equal(computeMac(0, Buffer.from('k'))?.length, 0);
  assert.equal(computeMac(9, Buffer.from('k')), null);
});
