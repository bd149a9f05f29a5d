/**
 * Big-endian reads for the per-packet hot path. Buffer#readUInt16BE re-checks bounds and goes through more calls; every
 * caller here has already checked that the bytes are there, and these tiny functions get inlined.
 */
export function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
