/**
 * Expert info, in the manner of Wireshark: a malformed or suspicious field becomes a Problem
 * and decoding goes on. Dissectors return these; they never throw on packet content.
 */
export type Severity = 'error' | 'warning' | 'note' | 'chat';

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { chat: 0, note: 1, warning: 2, error: 3 };

export interface Problem {
  /** Stable machine-readable code, e.g. `ipv4-bad-ihl`, `mikey-truncated`. Every code is documented in docs/problem-codes.md (a test keeps that true). */
  code: string;
  severity: Severity;
  /** One line for a person. Any text taken from a packet must already be escaped (see escape.ts). */
  message: string;
  /** Which layer found it: `pcap`, `pcapng`, `eth`, `ipv4`, `tcp`, `http`, `mikey`, ... */
  layer: string;
  /**
   * Byte offset of the offending field. For link/network/transport layers it is counted from the start of the
   * frame; for application PDUs (an HTTP message, a MIKEY message) from the start of that PDU.
   */
  offset?: number;
  length?: number;
}

export function problem(
  layer: string,
  code: string,
  severity: Severity,
  message: string,
  offset?: number,
  length?: number,
): Problem {
  const p: Problem = { code, severity, message, layer };
  if (offset !== undefined) p.offset = offset;
  if (length !== undefined) p.length = length;
  return p;
}
