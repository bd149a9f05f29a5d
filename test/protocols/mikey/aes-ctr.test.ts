/**
 * AES-CTR in JS (src/protocols/mikey/aes-ctr.ts): NIST SP 800-38A's CTR vectors (F.5.1 AES-128, F.5.5 AES-256), and
 * node:crypto's aes-*-ctr for random keys, counter blocks (with carries across the counter's words) and lengths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { aesCtr } from '../../../src/protocols/mikey/aes-ctr';
import { aesCm } from '../../../src/protocols/mikey/crypto';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const COUNTER = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
const PLAIN = hex(`6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
  30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710`);

test('SP 800-38A F.5.1 CTR-AES128 and F.5.5 CTR-AES256', () => {
  const k128 = hex('2b7e151628aed2a6abf7158809cf4f3c');
  const c128 = hex(`874d6191b620e3261bef6864990db6ce 9806f66b7970fdff8617187bb9fffdff
    5ae4df3edbd5d35e5b4f09020db03eab 1e031dda2fbe03d1792170a0f3009cee`);
  const k256 = hex('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4');
  const c256 = hex(`601ec313775789a5b7a7f504bbf3d228 f443e3ca4d62b59aca84e990cacaf5c5
    2b0930daa23de94ce87017ba2d84988d dfc9c58db67aada613c2dd08457941a6`);
  assert.equal(aesCtr(k128, COUNTER, PLAIN).toString('hex'), c128.toString('hex'));
  assert.equal(aesCtr(k128, COUNTER, c128).toString('hex'), PLAIN.toString('hex'));
  assert.equal(aesCtr(k256, COUNTER, PLAIN).toString('hex'), c256.toString('hex'));
  assert.equal(aesCm(k256, COUNTER, PLAIN).toString('hex'), c256.toString('hex'));
});

test('the same bytes as node:crypto for random keys, counter blocks and lengths', { timeout: 60_000 }, () => {
  for (let n = 0; n < 2000; n++) {
    const key = randomBytes(n % 2 === 0 ? 16 : 32);
    const iv = randomBytes(16);
    // counters about to carry out of their last, last two and last three words, and the whole block wrapping
    if (n % 5 === 1) iv.fill(0xff, 12);
    if (n % 5 === 2) iv.fill(0xff, 8);
    if (n % 5 === 3) iv.fill(0xff, 4);
    if (n % 5 === 4) iv.fill(0xff);
    const data = randomBytes(n % 131);
    const c = createCipheriv(key.length === 32 ? 'aes-256-ctr' : 'aes-128-ctr', key, iv);
    const want = Buffer.concat([c.update(data), c.final()]);
    assert.equal(aesCtr(key, iv, data).toString('hex'), want.toString('hex'), `case ${n}`);
  }
});

test('a key that is not 16 or 32 bytes, or a counter block that is not 16, is refused', () => {
  assert.throws(() => aesCtr(Buffer.alloc(24), Buffer.alloc(16), Buffer.alloc(4)), RangeError);
  assert.throws(() => aesCtr(Buffer.alloc(16), Buffer.alloc(8), Buffer.alloc(4)), RangeError);
});
