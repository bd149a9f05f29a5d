/**
 * Distinct counts in fixed memory: a HyperLogLog sketch (Flajolet et al. 2007) of 2^12 one-byte registers (4 KB,
 * standard error ≈ 1.6 %). Deterministic: the hash is a fixed function of the string (FNV-1a, two seeds, each
 * finished with the murmur3 avalanche), so a capture always gives the same estimate. Used for the UE count once
 * the UE table has forgotten a UE: a forgotten UE that returns is a new table entry but not a new UE.
 */

import { FNV1A_OFFSET, fnv1a32 } from '../common/fnv';

/** log2 of the number of registers. */
const P = 12;
const M = 1 << P;
/** Bias correction for m ≥ 128 (the paper's α_m). */
const ALPHA = 0.7213 / (1 + 1.079 / M);

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function fnv1a(s: string, seed: number): number {
  return fmix32(fnv1a32(s, seed));
}

export class DistinctSketch {
  private readonly registers = new Uint8Array(M);

  add(key: string): void {
    const h1 = fnv1a(key, FNV1A_OFFSET);
    const h2 = fnv1a(key, 0x5bd1e995);
    const i = h1 >>> (32 - P);
    // the rank comes from 32 other bits: with the P index bits, 44 bits of hash, far beyond any UE count
    const rank = Math.clz32(h2) + 1;
    if (rank > this.registers[i]) this.registers[i] = rank;
  }

  /** The registers as base64 (5 464 characters), for `analyze --json`: sketches of several captures merge. */
  toBase64(): string {
    return Buffer.from(this.registers.buffer, this.registers.byteOffset, this.registers.byteLength).toString('base64');
  }

  /** A sketch from toBase64's text, or undefined when it is not one (wrong length). */
  static fromBase64(text: string): DistinctSketch | undefined {
    const b = Buffer.from(text, 'base64');
    if (b.length !== M) return undefined;
    const s = new DistinctSketch();
    s.registers.set(b);
    return s;
  }

  /** Union: afterwards this sketch estimates the distinct keys added to either (register-wise maximum). */
  merge(other: DistinctSketch): void {
    for (let i = 0; i < M; i++) if (other.registers[i] > this.registers[i]) this.registers[i] = other.registers[i];
  }

  /** The estimated number of distinct keys added. */
  estimate(): number {
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < M; i++) {
      sum += 2 ** -this.registers[i];
      if (this.registers[i] === 0) zeros++;
    }
    const e = (ALPHA * M * M) / sum;
    // small range: linear counting is the better estimate while many registers are still empty
    if (e <= 2.5 * M && zeros > 0) return M * Math.log(M / zeros);
    return e;
  }
}
