/**
 * FNV-1a over a string's UTF-16 code units (32-bit): a fixed function of the string, cheap and the same in every
 * process — for the distinct-UE sketch (src/correlate/distinct.ts, which adds an avalanche) and the shard of a UE
 * address (src/pipeline/shard.ts).
 */

/** The FNV-1a 32-bit offset basis: the usual seed. */
export const FNV1A_OFFSET = 0x811c9dc5;

export function fnv1a32(s: string, seed: number = FNV1A_OFFSET): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
