/**
 * Seeded randomness for the simulator. Every entity draws from its own stream (seed ‖ label), so the values a UE or
 * the BM-SC draws do not depend on how the event loop interleaved the entities: the same seed gives the same nonces,
 * RANDs, keys and B-TIDs whatever the timing. SHA-256 in counter mode: plenty fast for a lab, and trivially portable.
 */
import { createHash } from 'node:crypto';

export class SeededStream {
  private counter = 0;
  private pool = Buffer.alloc(0);

  constructor(readonly seed: number, readonly label: string) {}

  /** A sub-stream whose values do not depend on how much of this one was used. */
  child(label: string): SeededStream {
    return new SeededStream(this.seed, `${this.label}/${label}`);
  }

  bytes(n: number): Buffer {
    while (this.pool.length < n) {
      const block = createHash('sha256').update(`keyscope-sim\0${this.seed}\0${this.label}\0${this.counter++}`).digest();
      this.pool = Buffer.concat([this.pool, block]);
    }
    const out = this.pool.subarray(0, n);
    this.pool = this.pool.subarray(n);
    return Buffer.from(out);
  }

  uint32(): number {
    return this.bytes(4).readUInt32BE(0);
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.uint32() / 0x1_0000_0000;
  }

  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  hex(n: number): string {
    return this.bytes(n).toString('hex');
  }
}
