import { u16 } from './bytes';
import type { Problem } from '../common/problem';
import { decodeProblem } from './problems';
import type { LayerCursor } from './cursor';
import { isVlanTag } from './ethertype';
import type { LinkLayerInfo, VlanTag } from './types';

/** Deeper stacks than this are not seen in practice; a longer chain is garbage or an attempt to make us loop. */
export const MAX_VLAN_TAGS = 8;

/**
 * 802.1Q / 802.1ad tags (0x8100, 0x88a8, 0x9100), stacked. `cur.offset` points just after the EtherType field that
 * announced the first tag. Records the VLAN IDs outermost first and returns the EtherType after the last tag, or -1 when
 * the stack is cut short or too deep (a problem says which).
 */
export function decodeVlanTags(data: Buffer, cur: LayerCursor, link: LinkLayerInfo, problems: Problem[], firstType: number): number {
  let type = firstType;
  let off = cur.offset;
  const vlans: number[] = [];
  const tags: VlanTag[] = [];
  link.vlans = vlans;
  link.vlanTags = tags;
  while (isVlanTag(type)) {
    if (vlans.length >= MAX_VLAN_TAGS) {
      problems.push(decodeProblem('vlan-too-many-tags', `more than ${MAX_VLAN_TAGS} stacked VLAN tags`, off));
      return -1;
    }
    if (off + 4 > cur.end) {
      problems.push(decodeProblem(cur.frameCut ? 'vlan-snaplen-cut' : 'vlan-truncated', 'VLAN tag cut short', off, cur.end - off));
      return -1;
    }
    const tci = u16(data, off);
    const tpid = type;
    vlans.push(tci & 0x0fff);
    type = u16(data, off + 2);
    tags.push({ tpid, tci, etype: type });
    off += 4;
  }
  cur.offset = off;
  return type;
}
