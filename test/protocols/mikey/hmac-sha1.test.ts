import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { hmacSha1 } from '../../../src/protocols/mikey/hmac-sha1';

test('HMAC-SHA-1: RFC 2202 test cases 1, 2 and 6 (key longer than a block)', () => {
  assert.equal(hmacSha1(Buffer.alloc(20, 0x0b), [Buffer.from('Hi There')]).toString('hex'), 'b617318655057264e28bc0b6fb378c8ef146be00');
  assert.equal(hmacSha1(Buffer.from('Jefe'), [Buffer.from('what do ya want for nothing?')]).toString('hex'), 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
  assert.equal(
    hmacSha1(Buffer.alloc(80, 0xaa), [Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First')]).toString('hex'),
    'aa4ae5e15272d00e95705637ce8a3b55ed402112',
  );
});

test('HMAC-SHA-1 equals node:crypto for every key and message length around the block edges, in parts', () => {
  for (const keyLen of [0, 1, 16, 20, 32, 63, 64, 65, 100]) {
    const key = randomBytes(keyLen);
    for (let len = 0; len <= 200; len++) {
      const msg = randomBytes(len);
      const want = createHmac('sha1', key).update(msg).digest();
      assert.deepEqual(hmacSha1(key, [msg]), want, `key ${keyLen} message ${len}`);
      // the same input split in three parts (unaligned to blocks), and again from the key's cached pad states
      const a = Math.floor(len / 3);
      const b = Math.floor((2 * len) / 3);
      assert.deepEqual(hmacSha1(key, [msg.subarray(0, a), msg.subarray(a, b), msg.subarray(b)]), want, `key ${keyLen} message ${len} in parts`);
    }
  }
});

test('HMAC-SHA-1: many keys (past the pad-state cache) still give node:crypto\'s answers', () => {
  const msg = randomBytes(45);
  for (let i = 0; i < 600; i++) {
    const key = randomBytes(20);
    assert.deepEqual(hmacSha1(key, [msg]), createHmac('sha1', key).update(msg).digest());
  }
});
