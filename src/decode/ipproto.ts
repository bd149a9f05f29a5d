export const IpProtocol = {
  HOP_BY_HOP: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ROUTING: 43,
  FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NO_NEXT_HEADER: 59,
  DESTINATION_OPTIONS: 60,
} as const;

const NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [0, 'IPv6 hop-by-hop'],
  [1, 'ICMP'],
  [2, 'IGMP'],
  [4, 'IPv4-in-IP'],
  [6, 'TCP'],
  [8, 'EGP'],
  [17, 'UDP'],
  [33, 'DCCP'],
  [41, 'IPv6-in-IP'],
  [43, 'IPv6 routing'],
  [44, 'IPv6 fragment'],
  [46, 'RSVP'],
  [47, 'GRE'],
  [50, 'ESP'],
  [51, 'AH'],
  [58, 'ICMPv6'],
  [59, 'IPv6 no next header'],
  [60, 'IPv6 destination options'],
  [88, 'EIGRP'],
  [89, 'OSPF'],
  [103, 'PIM'],
  [112, 'VRRP'],
  [115, 'L2TP'],
  [132, 'SCTP'],
  [135, 'Mobility header'],
  [136, 'UDP-Lite'],
  [137, 'MPLS-in-IP'],
]);

/** Name of an IP protocol number; unknown ones as `IP protocol N`. */
export function ipProtocolName(p: number): string {
  return NAMES.get(p) ?? `IP protocol ${p}`;
}
