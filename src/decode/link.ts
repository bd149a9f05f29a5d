import type { Problem } from '../common/problem';
import { decodeProblem } from './problems';
import { LinkType } from '../capture/types';
import { NextLayer, type LayerCursor } from './cursor';
import { EtherType } from './ethertype';
import { decodeEthernet } from './ethernet';
import { decodeLoopback } from './loopback';
import { decodeSll, decodeSll2 } from './sll';
import type { LinkLayerInfo } from './types';

/** LINKTYPE_LOOP: OpenBSD loopback, the NULL header in network byte order. */
export const LINKTYPE_LOOP = 108;

const LINK_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [LinkType.NULL, 'null'],
  [LinkType.ETHERNET, 'eth'],
  [LinkType.RAW, 'raw'],
  [LINKTYPE_LOOP, 'loop'],
  [LinkType.LINUX_SLL, 'sll'],
  [LinkType.IPV4, 'raw'],
  [LinkType.IPV6, 'raw'],
  [LinkType.LINUX_SLL2, 'sll2'],
]);

/** True for the link types `decodeLink` understands. */
export function isSupportedLinkType(linkType: number): boolean {
  return LINK_NAMES.has(linkType);
}

/**
 * Decodes the link layer of a frame whose bytes are `data[cur.offset, cur.end)`. Returns the link record; the cursor says
 * what follows (IPv4, IPv6, IP by version nibble) or, with `next` NONE, names what the chain stopped at.
 * An unknown link type is a problem, not an exception.
 */
export function decodeLink(linkType: number, data: Buffer, cur: LayerCursor, problems: Problem[]): LinkLayerInfo {
  if (linkType === LinkType.ETHERNET) {
    const eth: LinkLayerInfo = { linkType, name: 'eth' };
    decodeEthernet(data, cur, eth, problems);
    return eth;
  }
  const link: LinkLayerInfo = { linkType, name: LINK_NAMES.get(linkType) ?? 'unknown' };
  switch (linkType) {
    case LinkType.LINUX_SLL:
      decodeSll(data, cur, link, problems);
      break;
    case LinkType.LINUX_SLL2:
      decodeSll2(data, cur, link, problems);
      break;
    case LinkType.NULL:
      decodeLoopback(data, cur, link, problems, false);
      break;
    case LINKTYPE_LOOP:
      decodeLoopback(data, cur, link, problems, true);
      break;
    case LinkType.RAW:
      cur.next = NextLayer.IP_BY_VERSION;
      break;
    case LinkType.IPV4:
      link.etherType = EtherType.IPV4;
      cur.next = NextLayer.IPV4;
      break;
    case LinkType.IPV6:
      link.etherType = EtherType.IPV6;
      cur.next = NextLayer.IPV6;
      break;
    default:
      problems.push(decodeProblem('link-unsupported-type', `link type ${linkType} is not decoded`));
      cur.stopName = `Link type ${linkType}`;
  }
  return link;
}
