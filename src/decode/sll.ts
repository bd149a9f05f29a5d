import { u16, u32 } from './bytes';
import type { Problem } from '../common/problem';
import { decodeProblem } from './problems';
import { formatHexColons, formatMac } from './address';
import type { LayerCursor } from './cursor';
import type { LinkLayerInfo } from './types';
import { continueWithEtherType } from './ethernet';

export const SLL_HEADER_LENGTH = 16;
export const SLL2_HEADER_LENGTH = 20;

/** ARPHRD_* values whose SLL protocol field is not an EtherType. */
const ARPHRD_NETLINK = 824;

const SLL_PACKET_TYPES = ['to us', 'broadcast', 'multicast', 'to another host', 'sent by us'];

export function sllPacketTypeName(t: number): string {
  return t < SLL_PACKET_TYPES.length ? SLL_PACKET_TYPES[t] : `unknown (${t})`;
}

function sllProtocol(data: Buffer, cur: LayerCursor, link: LinkLayerInfo, problems: Problem[], hatype: number, proto: number): void {
  if (hatype === ARPHRD_NETLINK) {
    cur.stopName = 'Netlink';
    return;
  }
  if (proto < 0x0600) {
    // Linux uses small values for frames with no EtherType: 0x0001 Novell 802.3, 0x0004 802.2 LLC, 0x000c CAN, ...
    cur.stopName = proto === 0x0004 ? '802.2 LLC' : proto === 0x000c || proto === 0x000d ? 'CAN' : `Linux protocol 0x${proto.toString(16).padStart(4, '0')}`;
    return;
  }
  continueWithEtherType(data, cur, link, problems, proto);
}

function sllAddress(data: Buffer, off: number, addrLen: number, link: LinkLayerInfo): void {
  const n = addrLen > 8 ? 8 : addrLen;
  if (n === 6) link.srcMac = formatMac(data, off);
  else if (n > 0) link.srcMac = formatHexColons(data, off, n);
}

/** Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 113): 16-byte header, the address is the sender's. */
export function decodeSll(data: Buffer, cur: LayerCursor, link: LinkLayerInfo, problems: Problem[]): void {
  const off = cur.offset;
  if (off + SLL_HEADER_LENGTH > cur.end) {
    problems.push(decodeProblem(cur.frameCut ? 'sll-snaplen-cut' : 'sll-truncated', 'Linux cooked (SLL) header cut short', off, cur.end - off));
    cur.stopName = 'SLL';
    return;
  }
  link.sllPacketType = u16(data, off);
  const hatype = u16(data, off + 2);
  const addrLen = u16(data, off + 4);
  sllAddress(data, off + 6, addrLen, link);
  const proto = u16(data, off + 14);
  cur.offset = off + SLL_HEADER_LENGTH;
  sllProtocol(data, cur, link, problems, hatype, proto);
}

/** Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 276): 20-byte header with the interface index. */
export function decodeSll2(data: Buffer, cur: LayerCursor, link: LinkLayerInfo, problems: Problem[]): void {
  const off = cur.offset;
  if (off + SLL2_HEADER_LENGTH > cur.end) {
    problems.push(decodeProblem(cur.frameCut ? 'sll2-snaplen-cut' : 'sll2-truncated', 'Linux cooked (SLL2) header cut short', off, cur.end - off));
    cur.stopName = 'SLL2';
    return;
  }
  const proto = u16(data, off);
  link.sllInterfaceIndex = u32(data, off + 4);
  const hatype = u16(data, off + 8);
  link.sllPacketType = data[off + 10];
  sllAddress(data, off + 12, data[off + 11], link);
  cur.offset = off + SLL2_HEADER_LENGTH;
  sllProtocol(data, cur, link, problems, hatype, proto);
}
