import type { Problem } from '../common/problem';
import { decodeProblem } from './problems';
import { NextLayer, type LayerCursor } from './cursor';
import { EtherType } from './ethertype';
import type { LinkLayerInfo } from './types';

/** AF_INET is 2 everywhere; AF_INET6 differs by OS: Linux 10, OpenBSD/NetBSD 24, FreeBSD 28, macOS/iOS 30. */
const AF_INET = 2;
function isAfInet6(af: number): boolean {
  return af === 10 || af === 24 || af === 28 || af === 30;
}

/**
 * BSD loopback: LINKTYPE_NULL (0) carries the address family in the capturing host's byte order, which the file does
 * not record, so both orders are tried (a family is a small number; the wrong order makes it huge).
 * LINKTYPE_LOOP (108, OpenBSD) is always big-endian.
 */
export function decodeLoopback(data: Buffer, cur: LayerCursor, link: LinkLayerInfo, problems: Problem[], bigEndianOnly: boolean): void {
  const off = cur.offset;
  if (off + 4 > cur.end) {
    problems.push(decodeProblem(cur.frameCut ? 'null-snaplen-cut' : 'null-truncated', 'loopback header cut short', off, cur.end - off));
    cur.stopName = 'Loopback';
    return;
  }
  let af = data.readUInt32BE(off);
  if (!bigEndianOnly && af > 0xffff) af = data.readUInt32LE(off);
  cur.offset = off + 4;
  if (af === AF_INET) {
    link.etherType = EtherType.IPV4;
    cur.next = NextLayer.IPV4;
  } else if (isAfInet6(af)) {
    link.etherType = EtherType.IPV6;
    cur.next = NextLayer.IPV6;
  } else {
    problems.push(decodeProblem('null-unknown-family', `unknown loopback address family ${af}`, off, 4));
    cur.stopName = `Loopback family ${af}`;
  }
}
