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
  /** Fast path: nanoseconds = rem * nsecMultiplier / nsecDivisor (floored), both exact in a double. */
  nsecMultiplier: number;
  nsecDivisor: number;
}

/** Largest exponent accepted in if_tsresol; larger values are treated as malformed. */
export const MAX_TSRESOL_EXPONENT = 63;

export function tsResolution(tsresolByte: number): TsResolution {
  const powerOfTen = (tsresolByte & 0x80) === 0;
  const exponent = tsresolByte & 0x7f;
  const unitsPerSecondBig = powerOfTen ? 10n ** BigInt(exponent) : 1n << BigInt(exponent);
  const unitsPerSecond = Number(unitsPerSecondBig);
  const fast = powerOfTen ? exponent <= 9 : exponent <= 32;
  let nsecMultiplier = 1;
  let nsecDivisor = 1;
  if (fast) {
    if (powerOfTen) nsecMultiplier = 10 ** (9 - exponent);
    else if (exponent <= 9) {
      nsecMultiplier = 1000000000;
      nsecDivisor = 2 ** exponent;
    } else {
      // rem < 2^e; 1e9 = 2^9 * 1953125, so the product stays below 2^53 and the division is exact.
      nsecMultiplier = 1953125;
      nsecDivisor = 2 ** (exponent - 9);
    }
  }
  return { powerOfTen, exponent, unitsPerSecond, unitsPerSecondBig, fast, nsecMultiplier, nsecDivisor };
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
  return res.nsecDivisor === 1 ? rem * res.nsecMultiplier : Math.floor((rem * res.nsecMultiplier) / res.nsecDivisor);
}

/**
 * Per-interface converter for the packet hot path. The high 32 bits of a tick count change rarely (every
 * ~4.3 s at nanosecond resolution), so their share of seconds and remainder is computed once per change and
 * each packet costs a single division.
 */
export class TickConverter {
  private lastHigh = -1;
  private baseSec = 0;
  private baseRem = 0;
  private readonly exactBase: boolean;
  private readonly scratch: SecNsec = { tsSec: 0, tsNsec: 0 };

  constructor(
    readonly resolution: TsResolution,
    readonly offsetSeconds: number,
  ) {
    this.exactBase = resolution.fast;
  }

  convert(high: number, low: number, out: SecNsec): void {
    if (!this.exactBase) {
      ticksToTime(high, low, this.resolution, this.offsetSeconds, out);
      return;
    }
    if (high !== this.lastHigh) {
      ticksToTime(high, 0, this.resolution, 0, this.scratch);
      if (this.scratch.tsSec >= 2 ** 53) {
        ticksToTime(high, low, this.resolution, this.offsetSeconds, out);
        return;
      }
      this.lastHigh = high;
      this.baseSec = this.scratch.tsSec + this.offsetSeconds;
      // remainder of high*2^32 in ticks, recovered from the nanoseconds would lose precision: recompute exactly
      this.baseRem = Number(((BigInt(high) << 32n) % this.resolution.unitsPerSecondBig));
    }
    const u = this.resolution.unitsPerSecond;
    const r = this.baseRem + low; // < 2^32 + 2^32, exact
    let q = Math.floor(r / u);
    let rem = r - q * u;
    if (rem < 0) {
      q -= 1;
      rem += u;
    } else if (rem >= u) {
      q += 1;
      rem -= u;
    }
    out.tsSec = this.baseSec + q;
    out.tsNsec = remainderToNsec(rem, this.resolution);
  }
}

/** Inverse for writers: seconds + nanoseconds to ticks at 10^-9 (returns [high, low]). */
export function nanosecondTicks(tsSec: number, tsNsec: number): [number, number] {
  const ticks = BigInt(tsSec) * 1000000000n + BigInt(tsNsec);
  return [Number((ticks >> 32n) & 0xffffffffn), Number(ticks & 0xffffffffn)];
}
