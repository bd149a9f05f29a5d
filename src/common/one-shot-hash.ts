/**
 * A digest of one input by node:crypto's one-shot `hash()` (Node ≥ 20.12): no Hash object per call, 2–3× faster than
 * createHash().update().digest() for short inputs (issue #14 rounds 5 and 6, docs/performance.md; `Hash.copy()` of a
 * prepared state is slower than either). Older Node 20 releases fall back to createHash. One place for the fallback:
 * Digest's hashes and the MTK room's message digests both come through here.
 */
import * as nodeCrypto from 'node:crypto';

type OneShot = {
  (algorithm: string, data: string | Uint8Array, encoding: 'hex'): string;
  (algorithm: string, data: string | Uint8Array, encoding: 'buffer'): Buffer;
};

const oneShot: OneShot | undefined = typeof nodeCrypto.hash === 'function' ? (nodeCrypto.hash as unknown as OneShot) : undefined;

/** `algorithm` (a node:crypto name) of `data`, as lower-case hex. */
export function hashHex(algorithm: string, data: string | Uint8Array): string {
  return oneShot !== undefined ? oneShot(algorithm, data, 'hex') : nodeCrypto.createHash(algorithm).update(data).digest('hex');
}

/** `algorithm` (a node:crypto name) of `data`, as bytes. */
export function hashBytes(algorithm: string, data: string | Uint8Array): Buffer {
  return oneShot !== undefined ? oneShot(algorithm, data, 'buffer') : nodeCrypto.createHash(algorithm).update(data).digest();
}
