import { u16 } from './bytes';
import type { Problem } from '../common/problem';
import { decodeProblem } from './problems';
import type { LayerCursor } from './cursor';
import type { UdpInfo } from './types';

export const UDP_HEADER_LENGTH = 8;

/**
 * UDP header at `cur.offset`; `ipPayloadLength` is how many bytes the IP layer says the datagram has (more than the
 * cursor spans when the capture was cut). Returns undefined when the header itself is missing. On return the cursor
 * spans the payload: trimmed to the UDP length when that is consistent, `cur.truncated` when bytes are missing.
 */
export function decodeUdp(data: Buffer, cur: LayerCursor, ipPayloadLength: number, problems: Problem[]): UdpInfo | undefined {
  const off = cur.offset;
  const avail = cur.end - off;
  if (avail < UDP_HEADER_LENGTH) {
    problems.push(decodeProblem(cur.truncated ? 'udp-snaplen-cut' : 'udp-truncated', 'UDP header cut short', off, avail > 0 ? avail : 0));
    return undefined;
  }
  const length = u16(data, off + 4);
  const info: UdpInfo = {
    kind: 'udp',
    srcPort: u16(data, off),
    dstPort: u16(data, off + 2),
    length,
    checksum: u16(data, off + 6),
  };
  cur.offset = off + UDP_HEADER_LENGTH;
  if (length < UDP_HEADER_LENGTH) {
    problems.push(decodeProblem('udp-bad-length', `UDP length ${length} is less than 8`, off + 4, 2));
  } else if (length > ipPayloadLength) {
    problems.push(decodeProblem('udp-length-past-ip-payload', `UDP length ${length} is more than the IP payload length ${ipPayloadLength}`, off + 4, 2));
  } else {
    if (length < ipPayloadLength) {
      problems.push(decodeProblem('udp-length-short', `UDP length ${length} is less than the IP payload length ${ipPayloadLength}`, off + 4, 2));
    }
    if (length <= avail) {
      cur.end = off + length;
      cur.truncated = false;
    }
  }
  return info;
}
