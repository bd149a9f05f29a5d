/** Packet time as integer seconds + nanoseconds: a double cannot hold epoch nanoseconds exactly. */
export interface PacketTime {
  tsSec: number;
  tsNsec: number;
}

/** Epoch seconds as a fractional number (for JSON), to the precision a double allows. */
export function toEpochSeconds(t: PacketTime): number {
  return t.tsSec + t.tsNsec / 1e9;
}

/** Fixed 9-digit decimal string, exact. */
export function formatEpoch(t: PacketTime, digits = 9): string {
  const frac = String(t.tsNsec).padStart(9, '0').slice(0, digits);
  return digits > 0 ? `${t.tsSec}.${frac}` : String(t.tsSec);
}

/** b - a in seconds (fractional). */
export function diffSeconds(a: PacketTime, b: PacketTime): number {
  return b.tsSec - a.tsSec + (b.tsNsec - a.tsNsec) / 1e9;
}

/** Compare two packet times: negative when a is earlier. */
export function compareTime(a: PacketTime, b: PacketTime): number {
  return a.tsSec !== b.tsSec ? a.tsSec - b.tsSec : a.tsNsec - b.tsNsec;
}
