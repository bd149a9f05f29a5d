import { u16, u32 } from './bytes';
import type { Problem } from '../common/problem';
import { decodeProblem } from './problems';
import type { LayerCursor } from './cursor';

export const GTPU_PORT = 2152;
export const GTPU_HEADER_LENGTH = 8;
/** The extension chain is a linked list in the packet; bound the walk. */
export const MAX_GTPU_EXTENSION_HEADERS = 16;

export const GtpMessageType = {
  ECHO_REQUEST: 1,
  ECHO_RESPONSE: 2,
  ERROR_INDICATION: 26,
  SUPPORTED_EXTENSION_HEADERS: 31,
  TUNNEL_STATUS: 253,
  END_MARKER: 254,
  G_PDU: 255,
} as const;

const MESSAGE_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [1, 'Echo Request'],
  [2, 'Echo Response'],
  [26, 'Error Indication'],
  [31, 'Supported Extension Headers Notification'],
  [253, 'Tunnel Status'],
  [254, 'End Marker'],
  [255, 'G-PDU'],
]);

export function gtpMessageName(type: number): string {
  return MESSAGE_NAMES.get(type) ?? `Unknown (${type})`;
}

export interface GtpUHeader {
  version: number;
  /** The flags octet (version, PT, E, S, PN). */
  flags: number;
  messageType: number;
  /** Length field: bytes after the mandatory 8-byte header. */
  length: number;
  teid: number;
  sequence?: number;
  nPduNumber?: number;
  /** Extension header types in chain order. */
  extensionTypes?: number[];
}

/**
 * GTPv1-U header at `cur.offset` (a UDP payload). Returns undefined when this is not GTPv1-U (too short, another version,
 * GTP'), so the caller can treat the datagram as plain UDP. Otherwise the cursor spans the message body after the
 * optional fields and extension headers (the T-PDU of a G-PDU), bounded by the length field; `cur.stopName` is set
 * when the header chain is broken and the body cannot be located.
 */
export function decodeGtpU(data: Buffer, cur: LayerCursor, problems: Problem[]): GtpUHeader | undefined {
  const off = cur.offset;
  const avail = cur.end - off;
  if (avail < GTPU_HEADER_LENGTH) {
    problems.push(decodeProblem(cur.truncated ? 'gtpu-snaplen-cut' : 'gtpu-truncated', 'GTP-U header cut short', off, avail > 0 ? avail : 0));
    return undefined;
  }
  const flags = data[off];
  const version = flags >> 5;
  if (version !== 1) {
    problems.push(decodeProblem('gtpu-bad-version', `GTP version ${version} on the GTP-U port`, off, 1));
    return undefined;
  }
  if ((flags & 0x10) === 0) {
    problems.push(decodeProblem('gtpu-not-gtp', "protocol type 0 (GTP') on the GTP-U port", off, 1));
    return undefined;
  }
  const length = u16(data, off + 2);
  const header: GtpUHeader = { version, flags, messageType: data[off + 1], length, teid: u32(data, off + 4) };

  let msgEnd = off + GTPU_HEADER_LENGTH + length;
  if (msgEnd > cur.end) {
    if (!cur.truncated) {
      problems.push(decodeProblem('gtpu-length-past-end', `GTP-U length ${length} runs past the ${avail - GTPU_HEADER_LENGTH} bytes after the header`, off + 2, 2));
      cur.truncated = true;
    }
    msgEnd = cur.end;
  } else {
    cur.truncated = false;
  }
  cur.end = msgEnd;

  let o = off + GTPU_HEADER_LENGTH;
  if (flags & 0x07) {
    if (o + 4 > msgEnd) {
      problems.push(decodeProblem(cur.truncated ? 'gtpu-snaplen-cut' : 'gtpu-truncated', 'GTP-U optional fields (sequence, N-PDU, next extension) cut short', o, msgEnd - o));
      cur.stopName = 'GTP-U';
      return header;
    }
    if (flags & 0x02) header.sequence = u16(data, o);
    if (flags & 0x01) header.nPduNumber = data[o + 2];
    let nextExt = flags & 0x04 ? data[o + 3] : 0;
    o += 4;
    if (nextExt !== 0) {
      const types: number[] = [];
      header.extensionTypes = types;
      while (nextExt !== 0) {
        if (types.length >= MAX_GTPU_EXTENSION_HEADERS) {
          problems.push(decodeProblem('gtpu-too-many-extensions', `more than ${MAX_GTPU_EXTENSION_HEADERS} GTP-U extension headers`, o));
          cur.stopName = 'GTP-U';
          return header;
        }
        if (o >= msgEnd) {
          problems.push(decodeProblem(cur.truncated ? 'gtpu-snaplen-cut' : 'gtpu-truncated', `GTP-U extension header 0x${nextExt.toString(16)} cut short`, o, 0));
          cur.stopName = 'GTP-U';
          return header;
        }
        const extLen = data[o] * 4;
        if (extLen === 0) {
          problems.push(decodeProblem('gtpu-bad-extension-length', `GTP-U extension header 0x${nextExt.toString(16)} with length 0`, o, 1));
          cur.stopName = 'GTP-U';
          return header;
        }
        if (o + extLen > msgEnd) {
          problems.push(
            decodeProblem(cur.truncated ? 'gtpu-snaplen-cut' : 'gtpu-truncated', `GTP-U extension header 0x${nextExt.toString(16)} (${extLen} bytes) runs past the end`, o, msgEnd - o),
          );
          cur.stopName = 'GTP-U';
          return header;
        }
        types.push(nextExt);
        nextExt = data[o + extLen - 1];
        o += extLen;
      }
    }
  }
  cur.offset = o;
  return header;
}
