import type { Problem } from '../common/problem';
import type { PacketTime } from '../common/time';

export interface LinkLayerInfo {
  linkType: number;
  /** Short name shown in output: `eth`, `sll`, `sll2`, `null`, `raw`. */
  name: string;
  srcMac?: string;
  dstMac?: string;
  /** 802.1Q / 802.1ad tags, outermost first. */
  vlans?: number[];
  /** The same tags in full, outermost first: TPID (0x8100, 0x88a8, …), TCI (priority, DEI, ID) and the EtherType after the tag. */
  vlanTags?: VlanTag[];
  /** EtherType (or SLL protocol, or AF family mapped to an EtherType) of the network layer. */
  etherType?: number;
  /** SLL/SLL2 packet type and interface index where present. */
  sllPacketType?: number;
  sllInterfaceIndex?: number;
}

export interface VlanTag {
  tpid: number;
  tci: number;
  etype: number;
}

export interface FragmentInfo {
  /** IPv4 identification or IPv6 fragment identification. */
  id: number;
  /** Offset in bytes of this fragment's payload within the original datagram. */
  offset: number;
  moreFragments: boolean;
}

export interface IpLayerInfo {
  version: 4 | 6;
  src: string;
  dst: string;
  /** Upper-layer protocol (after IPv6 extension headers). */
  protocol: number;
  ttl: number;
  /** Total length claimed by the header (IPv4 total length, IPv6 40 + payload length). */
  totalLength: number;
  headerLength: number;
  /** Set when this packet is a fragment; cleared on the record made from a reassembled datagram. */
  fragment?: FragmentInfo;
  /** Set on the record made from a reassembled datagram: the frame numbers of all its fragments. */
  reassembledFrom?: number[];
  dscp?: number;
  /** IPv4: identification, flags (the top 3 bits of the flags/offset word: 0x4 DF, 0x2 MF) and fragment offset in bytes. */
  id?: number;
  flags?: number;
  fragOffset?: number;
  /** IPv6: Next Header of the fixed header (before any extension header), traffic class and flow label. */
  nextHeader?: number;
  trafficClass?: number;
  flowLabel?: number;
  /** On the record of a reassembled datagram: the header of the fragment in this frame (the one that completed it). */
  frameHeader?: IpLayerInfo;
}

export interface UdpInfo {
  kind: 'udp';
  srcPort: number;
  dstPort: number;
  length: number;
  checksum: number;
}

export interface TcpInfo {
  kind: 'tcp';
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Flag bits as in the header byte 13 (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE, CWR) plus NS as 0x100. */
  flags: number;
  window: number;
  headerLength: number;
  /** Window scale option from a SYN, if present. */
  windowScale?: number;
  mss?: number;
  /** SACK-permitted option seen (SYN). */
  sackPermitted?: boolean;
  /** Timestamp option values (RFC 7323), if present. */
  tsVal?: number;
  tsEcr?: number;
}

export type TransportInfo = UdpInfo | TcpInfo;

/** GTP-U tunnel that carried the inner packet (outer addresses and TEID). */
export interface TunnelInfo {
  kind: 'gtp-u';
  outerSrc: string;
  outerDst: string;
  outerSrcPort: number;
  outerDstPort: number;
  teid: number;
  messageType: number;
  /** Set when the outer IP datagram that carried the tunnel was reassembled from fragments: their frame numbers. */
  outerReassembledFrom?: number[];
  /** GTP-U flags octet (version, PT, E, S, PN) and length field. */
  flags?: number;
  length?: number;
  /** The outer IP and UDP headers that carried the tunnel (the same objects as `ip`/`transport` when the message was not unwrapped). */
  outerIp?: IpLayerInfo;
  outerUdp?: UdpInfo;
  /** GTP-U sequence number, when the S flag is set. */
  sequence?: number;
  /**
   * Number of GTP-U encapsulations when GTP-U was carried inside GTP-U (2 or more); this record describes the innermost
   * one, the tunnel that carried the packet in `ip`.
   */
  depth?: number;
}

/** One frame decoded down to the transport payload. The record the reassembly and protocol stages consume. */
export interface DecodedPacket extends PacketTime {
  frame: number;
  /** Original length of the frame on the wire. */
  length: number;
  capturedLength: number;
  link: LinkLayerInfo;
  /** The innermost IP layer (inside GTP-U when tunnelled). */
  ip?: IpLayerInfo;
  tunnel?: TunnelInfo;
  transport?: TransportInfo;
  /**
   * Transport payload bytes (UDP datagram payload, TCP segment payload), trimmed to what was captured.
   * May be a view into a reused buffer: copy anything that must outlive the synchronous handling of this packet.
   */
  payload?: Buffer;
  /** True when the payload is shorter than the headers claim (snaplen cut or malformed lengths). */
  payloadTruncated?: boolean;
  /**
   * Set for non-IP frames (ARP, LLDP, ...) so the one-line summary can name them; also when decoding stopped at the
   * network layer or above without a transport: `IPv4 fragment`, `IPv6 fragment`, `ICMP`, `ESP`, `GTP-U Echo Request`.
   */
  protocolName?: string;
  problems: Problem[];
}
