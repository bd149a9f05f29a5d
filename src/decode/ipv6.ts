import { u16, u32 } from './bytes';
import type { Problem } from '../common/problem';
import { decodeProblem } from './problems';
import { formatIpv6 } from './address';
import type { LayerCursor } from './cursor';
import { IpProtocol } from './ipproto';
import type { IpLayerInfo } from './types';

export const IPV6_HEADER_LENGTH = 40;
/** Real packets carry a handful of extension headers; a longer chain is garbage or built to make us walk. */
export const MAX_IPV6_EXTENSION_HEADERS = 16;

/**
 * IPv6 header at `cur.offset`, then its extension header chain. Returns the record (protocol = the upper layer after the
 * chain), or undefined when the fixed header is not there. On return the cursor spans the upper-layer payload (or, for a
 * fragment, the fragment's data), trimmed to the payload length; `cur.stopName` is set when nothing decodable follows
 * (ESP, No Next Header, a broken chain).
 */
export function decodeIpv6(data: Buffer, cur: LayerCursor, problems: Problem[], snapCut: boolean): IpLayerInfo | undefined {
  const off = cur.offset;
  const avail = cur.end - off;
  if (avail < IPV6_HEADER_LENGTH) {
    problems.push(decodeProblem(snapCut ? 'ipv6-snaplen-cut' : 'ipv6-truncated', 'IPv6 header cut short', off, avail > 0 ? avail : 0));
    return undefined;
  }
  const vtc = u32(data, off);
  if (vtc >>> 28 !== 6) {
    problems.push(decodeProblem('ipv6-bad-version', `IP version ${vtc >>> 28} where IPv6 was expected`, off, 1));
    return undefined;
  }
  const payloadLength = u16(data, off + 4);
  const nextHeader = data[off + 6];
  const info: IpLayerInfo = {
    version: 6,
    src: formatIpv6(data, off + 8),
    dst: formatIpv6(data, off + 24),
    protocol: nextHeader,
    ttl: data[off + 7],
    totalLength: IPV6_HEADER_LENGTH + payloadLength,
    headerLength: IPV6_HEADER_LENGTH,
    dscp: (vtc >>> 22) & 0x3f,
    nextHeader,
    trafficClass: (vtc >>> 20) & 0xff,
    flowLabel: vtc & 0xfffff,
  };

  cur.offset = off + IPV6_HEADER_LENGTH;
  if (payloadLength === 0 && nextHeader === IpProtocol.HOP_BY_HOP) {
    // jumbogram (RFC 2675): the real length is in a hop-by-hop option; take what was captured
    problems.push(decodeProblem('ipv6-jumbogram', 'payload length 0 with hop-by-hop options (jumbogram?): using the captured length', off + 4, 2));
    info.totalLength = avail;
  } else if (IPV6_HEADER_LENGTH + payloadLength > avail) {
    cur.truncated = true;
    problems.push(
      snapCut
        ? decodeProblem('ipv6-snaplen-cut', `IPv6 payload length ${payloadLength}, ${avail - IPV6_HEADER_LENGTH} bytes captured (snapshot length)`, off + 4, 2)
        : decodeProblem('ipv6-length-past-end', `IPv6 payload length ${payloadLength} runs past the ${avail - IPV6_HEADER_LENGTH} bytes in the frame`, off + 4, 2),
    );
  } else {
    cur.end = off + IPV6_HEADER_LENGTH + payloadLength;
  }

  walkIpv6Extensions(data, cur, info, problems, nextHeader, true);
  return info;
}

/**
 * Walks extension headers from `cur.offset`, starting with header type `next`. Sets `info.protocol` to the upper-layer
 * protocol, adds the walked bytes to `info.headerLength`, and on a Fragment header (that really fragments) sets
 * `info.fragment` and stops with the cursor on the fragment data. Also used on a reassembled payload, whose fragmentable
 * part may start with more extension headers (`atStart` false).
 */
export function walkIpv6Extensions(data: Buffer, cur: LayerCursor, info: IpLayerInfo, problems: Problem[], next: number, atStart: boolean): void {
  let o = cur.offset;
  const end = cur.end;
  let count = 0;
  for (;;) {
    if (next === IpProtocol.ESP) {
      cur.stopName = 'ESP';
      break;
    }
    if (next === IpProtocol.NO_NEXT_HEADER) {
      cur.stopName = 'IPv6 no next header';
      break;
    }
    const isGeneric = next === IpProtocol.HOP_BY_HOP || next === IpProtocol.ROUTING || next === IpProtocol.DESTINATION_OPTIONS;
    if (!isGeneric && next !== IpProtocol.FRAGMENT && next !== IpProtocol.AH) break;

    if (count >= MAX_IPV6_EXTENSION_HEADERS) {
      problems.push(decodeProblem('ipv6-too-many-extension-headers', `more than ${MAX_IPV6_EXTENSION_HEADERS} extension headers`, o));
      cur.stopName = 'IPv6';
      break;
    }
    if (next === IpProtocol.HOP_BY_HOP && !(atStart && count === 0)) {
      problems.push(decodeProblem('ipv6-hop-by-hop-not-first', 'hop-by-hop options header not directly after the IPv6 header', o));
    }
    const minLen = next === IpProtocol.FRAGMENT ? 8 : 2;
    if (o + minLen > end) {
      problems.push(decodeProblem(cur.truncated ? 'ipv6-extension-snaplen-cut' : 'ipv6-extension-truncated', `IPv6 extension header ${next} cut short`, o, end - o));
      cur.stopName = 'IPv6';
      break;
    }
    const following = data[o];
    if (next === IpProtocol.FRAGMENT) {
      const offField = u16(data, o + 2);
      const fragOffset = offField & 0xfff8;
      const more = (offField & 1) !== 0;
      const id = u32(data, o + 4);
      o += 8;
      count++;
      next = following;
      // an atomic fragment (offset 0, no more) is the whole packet: go on as if there were no fragment header
      if (fragOffset !== 0 || more) {
        info.fragment = { id, offset: fragOffset, moreFragments: more };
        break;
      }
      continue;
    }
    const len = next === IpProtocol.AH ? (data[o + 1] + 2) * 4 : (data[o + 1] + 1) * 8;
    if (o + len > end) {
      problems.push(decodeProblem(cur.truncated ? 'ipv6-extension-snaplen-cut' : 'ipv6-extension-truncated', `IPv6 extension header ${next} (${len} bytes) runs past the end`, o, end - o));
      cur.stopName = 'IPv6';
      break;
    }
    o += len;
    count++;
    next = following;
  }
  info.headerLength += o - cur.offset;
  info.protocol = next;
  cur.offset = o;
}
