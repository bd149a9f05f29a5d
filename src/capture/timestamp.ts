/**
 * pcapng timestamps are 64-bit tick counts in a per-interface resolution (if_tsresol). A double cannot hold a
 * 64-bit nanosecond count exactly, and BigInt per packet is slow, so the common resolutions (10^-n with n <= 9,
 * 2^-n with n <= 32) are split into seconds + nanoseconds by exact long division in 16-bit steps; anything else
 * falls back to BigInt.
 */

export interface TsResolution {
  /** True for 10^-exponent, false for 2^-exponent. */
  powerOfTen: boolean;
  exponent: number;
  /** Ticks per second (exact when `fast`). */
  unitsPerSecond: number;
  unitsPerSecondBig: bigint;
  /** unitsPerSecond <= 2^32 and nanoseconds derivable without BigInt. */
  fast: boolean;
}

/** Largest exponent accepted in if_tsresol; larger values are treated as malformed. */
export const MAX_TSRESOL_EXPONENT = 63;

export function tsResolution(tsresolByte: number): TsResolution {
  const powerOfTen = (tsresolByte & 0x80) === 0;
  const exponent = tsresolByte & 0x7f;
  const unitsPerSecondBig = powerOfTen ? 10n ** BigInt(exponent) : 1n << BigInt(exponent);
  const unitsPerSecond = Number(unitsPerSecondBig);
  const fast = powerOfTen ? exponent <= 9 : exponent <= 32;
  return { powerOfTen, exponent, unitsPerSecond, unitsPerSecondBig, fast };
}

/** Default pcapng resolution: microseconds. */
export const MICROSECONDS: TsResolution = tsResolution(6);

/** Output slot so the hot path returns two numbers without allocating. */
export interface SecNsec {
  tsSec: number;
  tsNsec: number;
}

const TWO_POW_21 = 2097152;

/**
 * Split the tick count high*2^32 + low into whole seconds and nanoseconds (truncated, as Wireshark does),
 * then add `offsetSeconds` (if_tsoffset). Writes into `out`.
 */
export function ticksToTime(high: number, low: number, res: TsResolution, offsetSeconds: number, out: SecNsec): void {
  if (res.fast) {
    const u = res.unitsPerSecond;
    let hq = Math.floor(high / u);
    let hr = high - hq * u;
    if (hr < 0) {
      hq -= 1;
      hr += u;
    } else if (hr >= u) {
      hq += 1;
      hr -= u;
    }
    if (hq < TWO_POW_21) {
      const a = hr * 65536 + (low >>> 16);
      let aq = Math.floor(a / u);
      let ar = a - aq * u;
      if (ar < 0) {
        aq -= 1;
        ar += u;
      } else if (ar >= u) {
        aq += 1;
        ar -= u;
      }
      const b = ar * 65536 + (low & 0xffff);
      let bq = Math.floor(b / u);
      let rem = b - bq * u;
      if (rem < 0) {
        bq -= 1;
        rem += u;
      } else if (rem >= u) {
        bq += 1;
        rem -= u;
      }
      out.tsSec = hq * 4294967296 + aq * 65536 + bq + offsetSeconds;
      out.tsNsec = remainderToNsec(rem, res);
      return;
    }
  }
  const ticks = (BigInt(high) << 32n) | BigInt(low >>> 0);
  const u = res.unitsPerSecondBig;
  const rem = ticks % u;
  out.tsSec = Number(ticks / u) + offsetSeconds;
  out.tsNsec = Number((rem * 1000000000n) / u);
}

function remainderToNsec(rem: number, res: TsResolution): number {
  if (res.powerOfTen) return rem * 10 ** (9 - res.exponent);
  const e = res.exponent;
  // rem < 2^e; 1e9 = 2^9 * 1953125, so for e >= 9 the product stays below 2^53 and the division is exact.
  if (e <= 9) return Math.floor((rem * 1000000000) / 2 ** e);
  return Math.floor((rem * 1953125) / 2 ** (e - 9));
}

/** Inverse for writers: seconds + nanoseconds to ticks at 10^-9 (returns [high, low]). */
export function nanosecondTicks(tsSec: number, tsNsec: number): [number, number] {
  const ticks = BigInt(tsSec) * 1000000000n + BigInt(tsNsec);
  return [Number((ticks >> 32n) & 0xffffffffn), Number(ticks & 0xffffffffn)];
}
