import { NextLayer } from './cursor';

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  IPV6: 0x86dd,
  QINQ: 0x88a8,
  /** Pre-standard 802.1ad outer tag still used by some switches. */
  QINQ_OLD: 0x9100,
} as const;

const NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [0x0800, 'IPv4'],
  [0x0806, 'ARP'],
  [0x0842, 'Wake-on-LAN'],
  [0x22f0, 'AVTP'],
  [0x22f3, 'TRILL'],
  [0x6003, 'DECnet'],
  [0x8035, 'RARP'],
  [0x809b, 'AppleTalk'],
  [0x80f3, 'AARP'],
  [0x8100, '802.1Q'],
  [0x8137, 'IPX'],
  [0x8808, 'Ethernet flow control'],
  [0x8809, 'Slow protocols (LACP)'],
  [0x86dd, 'IPv6'],
  [0x8847, 'MPLS'],
  [0x8848, 'MPLS multicast'],
  [0x8863, 'PPPoE discovery'],
  [0x8864, 'PPPoE session'],
  [0x888e, 'EAPOL'],
  [0x8892, 'PROFINET'],
  [0x889a, 'HyperSCSI'],
  [0x88a2, 'ATA over Ethernet'],
  [0x88a4, 'EtherCAT'],
  [0x88a8, '802.1ad'],
  [0x88b8, 'GOOSE'],
  [0x88cc, 'LLDP'],
  [0x88e1, 'HomePlug'],
  [0x88e3, 'MRP'],
  [0x88e5, 'MACsec'],
  [0x88e7, 'PBB'],
  [0x88f7, 'PTP'],
  [0x8902, 'CFM'],
  [0x8906, 'FCoE'],
  [0x8914, 'FIP'],
  [0x8915, 'RoCE'],
  [0x891d, 'TTE'],
  [0x892f, 'HSR'],
  [0x9000, 'Loopback'],
  [0x9100, '802.1ad'],
]);

/** Name of an EtherType for the one-line summary; unknown values as `EtherType 0x1234`, never dropped. */
export function etherTypeName(type: number): string {
  const n = NAMES.get(type);
  if (n !== undefined) return n;
  return 'EtherType 0x' + type.toString(16).padStart(4, '0');
}

export function isVlanTag(type: number): boolean {
  return type === EtherType.VLAN || type === EtherType.QINQ || type === EtherType.QINQ_OLD;
}

export function etherTypeToNext(type: number): NextLayer {
  return type === EtherType.IPV4 ? NextLayer.IPV4 : type === EtherType.IPV6 ? NextLayer.IPV6 : NextLayer.NONE;
}
