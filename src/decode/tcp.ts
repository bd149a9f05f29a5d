import { u16, u32 } from './bytes';
import type { Problem } from '../common/problem';
import { decodeProblem } from './problems';
import type { LayerCursor } from './cursor';
import type { TcpInfo } from './types';

export const TCP_MIN_HEADER_LENGTH = 20;

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
  NS: 0x100,
} as const;

const TCPOPT_EOL = 0;
const TCPOPT_NOP = 1;
const TCPOPT_MSS = 2;
const TCPOPT_WSCALE = 3;
const TCPOPT_SACK_PERM = 4;
const TCPOPT_SACK = 5;
const TCPOPT_TIMESTAMP = 8;

/**
 * TCP header at `cur.offset`. Returns undefined when the fixed header is missing; a record without a usable payload
 * (`cur.stopName` set) when the data offset is bad. On return the cursor spans the segment payload.
 */
export function decodeTcp(data: Buffer, cur: LayerCursor, problems: Problem[]): TcpInfo | undefined {
  const off = cur.offset;
  const avail = cur.end - off;
  if (avail < TCP_MIN_HEADER_LENGTH) {
    problems.push(decodeProblem(cur.truncated ? 'tcp-snaplen-cut' : 'tcp-truncated', 'TCP header cut short', off, avail > 0 ? avail : 0));
    return undefined;
  }
  const headerLength = (data[off + 12] >> 4) * 4;
  const info: TcpInfo = {
    kind: 'tcp',
    srcPort: u16(data, off),
    dstPort: u16(data, off + 2),
    seq: u32(data, off + 4),
    ack: u32(data, off + 8),
    flags: data[off + 13] | ((data[off + 12] & 1) << 8),
    window: u16(data, off + 14),
    headerLength,
  };
  if (headerLength < TCP_MIN_HEADER_LENGTH) {
    problems.push(decodeProblem('tcp-bad-data-offset', `TCP header length ${headerLength} is less than 20`, off + 12, 1));
    cur.stopName = 'TCP';
    return info;
  }
  if (headerLength > avail) {
    problems.push(
      cur.truncated
        ? decodeProblem('tcp-snaplen-cut', `TCP options cut short (header length ${headerLength}, ${avail} bytes captured)`, off + 12, 1)
        : decodeProblem('tcp-bad-data-offset', `TCP header length ${headerLength} runs past the ${avail} bytes of the segment`, off + 12, 1),
    );
    cur.stopName = 'TCP';
    return info;
  }
  if (headerLength > TCP_MIN_HEADER_LENGTH) decodeTcpOptions(data, off + TCP_MIN_HEADER_LENGTH, off + headerLength, info, problems);
  cur.offset = off + headerLength;
  return info;
}

/** Reads the options the reassembly stage cares about; stops at the first malformed one with a problem. */
function decodeTcpOptions(data: Buffer, start: number, end: number, info: TcpInfo, problems: Problem[]): void {
  let o = start;
  while (o < end) {
    const kind = data[o];
    if (kind === TCPOPT_EOL) return;
    if (kind === TCPOPT_NOP) {
      o++;
      continue;
    }
    if (o + 2 > end) {
      problems.push(decodeProblem('tcp-bad-option', `TCP option ${kind} has no length byte`, o, end - o));
      return;
    }
    const len = data[o + 1];
    if (len < 2 || o + len > end) {
      problems.push(decodeProblem('tcp-bad-option', `TCP option ${kind} has bad length ${len}`, o + 1, 1));
      return;
    }
    switch (kind) {
      case TCPOPT_MSS:
        if (len === 4) info.mss = u16(data, o + 2);
        else problems.push(decodeProblem('tcp-bad-option', `MSS option length ${len}, expected 4`, o + 1, 1));
        break;
      case TCPOPT_WSCALE:
        if (len === 3) {
          const shift = data[o + 2];
          if (shift > 14) problems.push(decodeProblem('tcp-window-scale-too-large', `window scale shift ${shift} is more than 14`, o + 2, 1));
          info.windowScale = shift > 14 ? 14 : shift;
        } else problems.push(decodeProblem('tcp-bad-option', `window scale option length ${len}, expected 3`, o + 1, 1));
        break;
      case TCPOPT_SACK_PERM:
        if (len === 2) info.sackPermitted = true;
        else problems.push(decodeProblem('tcp-bad-option', `SACK-permitted option length ${len}, expected 2`, o + 1, 1));
        break;
      case TCPOPT_SACK:
        if ((len - 2) % 8 !== 0) problems.push(decodeProblem('tcp-bad-option', `SACK option length ${len} is not 2 + 8n`, o + 1, 1));
        break;
      case TCPOPT_TIMESTAMP:
        if (len === 10) {
          info.tsVal = u32(data, o + 2);
          info.tsEcr = u32(data, o + 6);
        } else problems.push(decodeProblem('tcp-bad-option', `timestamp option length ${len}, expected 10`, o + 1, 1));
        break;
      default:
        break;
    }
    o += len;
  }
}
