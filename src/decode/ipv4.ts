import { u16 } from './bytes';
import type { Problem } from '../common/problem';
import { decodeProblem } from './problems';
import { formatIpv4 } from './address';
import type { LayerCursor } from './cursor';
import type { IpLayerInfo } from './types';

export const IPV4_MIN_HEADER_LENGTH = 20;

/**
 * IPv4 header at `cur.offset`. Returns the record, or undefined when not even the fixed header is there (or it is not
 * version 4). On return the cursor spans the payload, trimmed to the total length (Ethernet padding falls away) and
 * `cur.truncated` set when the total length runs past the captured bytes. When the payload cannot be located (bad IHL,
 * bad total length, options cut short) `cur.stopName` is set and nothing further should be decoded.
 *
 * `snapCut` says the frame was cut by the snapshot length, which makes a short payload a capture artefact (a note)
 * rather than a malformed packet (an error).
 */
export function decodeIpv4(data: Buffer, cur: LayerCursor, problems: Problem[], snapCut: boolean): IpLayerInfo | undefined {
  const off = cur.offset;
  const avail = cur.end - off;
  if (avail < IPV4_MIN_HEADER_LENGTH) {
    problems.push(decodeProblem(snapCut ? 'ipv4-snaplen-cut' : 'ipv4-truncated', 'IPv4 header cut short', off, avail > 0 ? avail : 0));
    return undefined;
  }
  const vihl = data[off];
  if (vihl >> 4 !== 4) {
    problems.push(decodeProblem('ipv4-bad-version', `IP version ${vihl >> 4} where IPv4 was expected`, off, 1));
    return undefined;
  }
  const headerLength = (vihl & 0x0f) * 4;
  const tos = data[off + 1];
  let totalLength = u16(data, off + 2);
  const id = u16(data, off + 4);
  const flagsOffset = u16(data, off + 6);
  const info: IpLayerInfo = {
    version: 4,
    src: formatIpv4(data, off + 12),
    dst: formatIpv4(data, off + 16),
    protocol: data[off + 9],
    ttl: data[off + 8],
    totalLength,
    headerLength,
    dscp: tos >> 2,
    id,
    flags: flagsOffset >> 13,
    fragOffset: (flagsOffset & 0x1fff) * 8,
  };

  if (headerLength < IPV4_MIN_HEADER_LENGTH) {
    problems.push(decodeProblem('ipv4-bad-ihl', `header length ${headerLength} is less than 20`, off, 1));
    cur.stopName = 'IPv4';
    return info;
  }
  if (headerLength > avail) {
    problems.push(
      decodeProblem(snapCut ? 'ipv4-snaplen-cut' : 'ipv4-truncated', `IPv4 options cut short (header length ${headerLength}, ${avail} bytes captured)`, off, avail),
    );
    cur.stopName = 'IPv4';
    return info;
  }
  if (totalLength === 0) {
    // A sender with TCP segmentation offload hands the capture a packet whose length the NIC fills in later.
    problems.push(decodeProblem('ipv4-zero-total-length', 'total length 0 (segmentation offload?): using the captured length', off + 2, 2));
    totalLength = avail;
    info.totalLength = totalLength;
  } else if (totalLength < headerLength) {
    problems.push(decodeProblem('ipv4-bad-total-length', `total length ${totalLength} is less than the header length ${headerLength}`, off + 2, 2));
    cur.stopName = 'IPv4';
    return info;
  }

  cur.offset = off + headerLength;
  if (totalLength > avail) {
    cur.truncated = true;
    problems.push(
      snapCut
        ? decodeProblem('ipv4-snaplen-cut', `IPv4 total length ${totalLength}, ${avail} bytes captured (snapshot length)`, off + 2, 2)
        : decodeProblem('ipv4-length-past-end', `IPv4 total length ${totalLength} runs past the ${avail} bytes in the frame`, off + 2, 2),
    );
  } else {
    cur.end = off + totalLength;
  }

  if (flagsOffset & 0x8000) problems.push(decodeProblem('ipv4-reserved-flag', 'reserved flag bit set', off + 6, 1));
  const fragOffset = (flagsOffset & 0x1fff) * 8;
  const more = (flagsOffset & 0x2000) !== 0;
  if (more || fragOffset !== 0) info.fragment = { id, offset: fragOffset, moreFragments: more };
  return info;
}
