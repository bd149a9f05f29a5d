import { u16 } from './bytes';
import type { Problem } from '../common/problem';
import { decodeProblem } from './problems';
import { formatMac } from './address';
import { NextLayer, type LayerCursor } from './cursor';
import { etherTypeName, etherTypeToNext, isVlanTag } from './ethertype';
import type { LinkLayerInfo } from './types';
import { decodeVlanTags } from './vlan';

export const ETHERNET_HEADER_LENGTH = 14;

/**
 * Ethernet II (and 802.3 with LLC/SNAP), with 802.1Q/802.1ad tags. Fills `link` and leaves the cursor on the network
 * layer; any trailer or padding stays inside `cur.end` for the IP layer to trim with its own length field.
 */
export function decodeEthernet(data: Buffer, cur: LayerCursor, link: LinkLayerInfo, problems: Problem[]): void {
  const off = cur.offset;
  if (off + ETHERNET_HEADER_LENGTH > cur.end) {
    problems.push(decodeProblem(cur.frameCut ? 'eth-snaplen-cut' : 'eth-truncated', 'Ethernet header cut short', off, cur.end - off));
    cur.stopName = 'Ethernet';
    return;
  }
  link.dstMac = formatMac(data, off);
  link.srcMac = formatMac(data, off + 6);
  let type = u16(data, off + 12);
  cur.offset = off + ETHERNET_HEADER_LENGTH;

  if (type <= 1500) {
    // 802.3 length field: only LLC/SNAP with an EtherType inside leads anywhere we decode
    const llc = cur.offset;
    if (llc + 8 <= cur.end && data[llc] === 0xaa && data[llc + 1] === 0xaa && data[llc + 2] === 0x03) {
      type = u16(data, llc + 6);
      cur.offset = llc + 8;
    } else {
      cur.stopName = '802.3 LLC';
      return;
    }
  } else if (type < 0x0600) {
    problems.push(decodeProblem('eth-bad-type', `type/length field ${type} is neither a length nor an EtherType`, off + 12, 2));
    cur.stopName = 'Ethernet';
    return;
  }

  continueWithEtherType(data, cur, link, problems, type);
}

/**
 * After a link header that names its payload by EtherType (Ethernet II, Linux cooked SLL/SLL2): VLAN tags if any,
 * then the network layer to decode next.
 */
export function continueWithEtherType(data: Buffer, cur: LayerCursor, link: LinkLayerInfo, problems: Problem[], etherType: number): void {
  let type = etherType;
  if (isVlanTag(type)) {
    type = decodeVlanTags(data, cur, link, problems, type);
    if (type < 0) {
      cur.stopName = '802.1Q';
      return;
    }
  }
  link.etherType = type;
  cur.next = etherTypeToNext(type);
  if (cur.next === NextLayer.NONE) cur.stopName = etherTypeName(type);
}
