/**
 * Every named field of keyscope, declared once per protocol layer (Wireshark's `hf_` arrays). Where tshark has a field
 * with the same meaning, it has tshark's name and `-T fields` prints what tshark 4.0 prints (`tshark: 'same'`; the
 * tshark oracle test holds every such field to it). Fields tshark does not have (MBMS meaning of MIKEY, verification
 * results, Digest parameters, problem codes) are keyscope's own.
 */
import type { DissectedFrame } from '../pipeline/dissector';
import type { IpLayerInfo } from '../decode/types';
import { formatValue } from './format';
import { digestLayer, httpLayer } from './http-fields';
import { mikeyLayer } from './mikey-fields';
import type { FieldDef, FieldLayer, FieldType, FieldValue, FrameView } from './types';

import { field, hex, one, same, type Extractor } from './define';

/** `S.NNNNNNNNN` from seconds and nanoseconds (tshark's FT_RELATIVE_TIME text). */
export function secondsText(sec: number, nsec: number): string {
  if (sec < 0 || nsec < 0) {
    let total = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
    const neg = total < 0n;
    if (neg) total = -total;
    return `${neg ? '-' : ''}${total / 1_000_000_000n}.${String(total % 1_000_000_000n).padStart(9, '0')}`;
  }
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

// ---- headers: frame, link, IP, UDP, TCP, GTP-U ---------------------------------------------------------------------

/** One header of a layer in the frame and its tunnel depth (0 outside / carrying a GTP-U tunnel, 1 inside it). */
interface Instance<H> {
  h: H;
  depth: number;
}

/** A field read from one header of its layer; the field's values are those of every header of the layer in the frame. */
interface HeaderField<H> extends Partial<Pick<FieldDef, 'base' | 'hexDigits' | 'tshark' | 'label' | 'json'>> {
  name: string;
  type: FieldType;
  description: string;
  of(h: H, v: FrameView): FieldValue | FieldValue[] | undefined;
  /** The field's values when they are not just those of this layer's headers (tshark's ip.version is in IPv6 too). */
  all?: Extractor;
}

/**
 * A layer whose fields each read one header (IP, UDP, …): the fields' extractors and the `-V` tree blocks both come from
 * the same declarations, so the tree shows exactly the registry's values under the registry's labels.
 */
function headerLayer<H>(name: string, title: string, instances: (v: FrameView) => Instance<H>[], summary: (h: H, v: FrameView) => string,
  fields: HeaderField<H>[]): FieldLayer {
  const list = (f: HeaderField<H>, h: H, v: FrameView): FieldValue[] => {
    const x = f.of(h, v);
    return x === undefined ? [] : Array.isArray(x) ? x : [x];
  };
  const defs: FieldDef[] = fields.map((f) => {
    const { of: _of, all, name: n, type, description, ...more } = f;
    return field(n, type, description, all ?? ((v) => instances(v).flatMap((i) => list(f, i.h, v))), more);
  });
  return {
    name,
    title,
    fields: defs,
    tree: (v) =>
      instances(v).map((i) => ({
        depth: i.depth,
        title: summary(i.h, v),
        lines: fields.flatMap((f, k) => (f.label === undefined ? [] : list(f, i.h, v).map((x) => `    ${f.label}: ${formatValue(defs[k], x)}`))),
      })),
  };
}

const frameLayer = headerLayer<DissectedFrame>('frame', 'Frame', (v) => [{ h: v.frame, depth: -1 }],
  (f) => `Frame ${f.packet.frame}: ${f.packet.length} bytes on wire, ${f.packet.capturedLength} bytes captured`, [
    { name: 'frame', type: 'protocol', description: 'every frame', of: () => true, tshark: 'presence' },
    { name: 'frame.number', type: 'uint', description: 'frame number, from 1', of: (f) => f.packet.frame, ...same, json: 'frame' },
    { name: 'frame.time_epoch', type: 'time', description: 'arrival time, seconds since 1970-01-01 UTC', of: (f) => secondsText(f.packet.tsSec, f.packet.tsNsec), ...same,
      label: 'Arrival Time (epoch)', json: 'ts' },
    { name: 'frame.time_relative', type: 'time', description: 'seconds since the first frame of the capture', of: (_f, v) => v.relativeTime, ...same,
      label: 'Time since reference or first frame' },
    { name: 'frame.len', type: 'uint', description: 'length on the wire (bytes)', of: (f) => f.packet.length, ...same, label: 'Frame Length', json: 'length' },
    { name: 'frame.cap_len', type: 'uint', description: 'bytes captured', of: (f) => f.packet.capturedLength, ...same, label: 'Capture Length', json: 'capturedLength' },
    { name: 'frame.comment', type: 'string', description: 'pcapng packet comment', of: (f) => f.comments ?? [], ...same, label: 'Comment', json: 'comments' },
  ]);

const LINK_NAMES: Readonly<Record<string, string>> = {
  eth: 'Ethernet II',
  sll: 'Linux cooked capture v1',
  sll2: 'Linux cooked capture v2',
  null: 'Null/Loopback',
  raw: 'Raw packet data',
};
type Link = DissectedFrame['packet']['link'];

const ethLayer = headerLayer<Link>('eth', 'Ethernet II', (v) => [{ h: v.frame.packet.link, depth: 0 }], (l) => {
  const name = LINK_NAMES[l.name] ?? `Link type ${l.linkType}`;
  return l.srcMac !== undefined ? `${name}, Src: ${l.srcMac}, Dst: ${l.dstMac ?? ''}` : name;
}, [
  { name: 'eth', type: 'protocol', description: 'Ethernet II link layer', of: (l) => (l.name === 'eth' ? true : undefined), tshark: 'presence' },
  { name: 'eth.dst', type: 'ether', description: 'destination MAC address', of: (l) => (l.name === 'eth' ? l.dstMac : undefined), ...same, label: 'Destination' },
  { name: 'eth.src', type: 'ether', description: 'source MAC address', of: (l) => (l.name === 'eth' ? l.srcMac : undefined), ...same, label: 'Source' },
  { name: 'eth.addr', type: 'ether', description: 'source or destination MAC address', of: (l) => (l.name === 'eth' ? [...one(l.dstMac), ...one(l.srcMac)] : undefined), ...same },
  // with 802.1Q tags tshark's eth.type is the first tag's TPID
  { name: 'eth.type', type: 'uint', description: 'EtherType (the first TPID when VLAN-tagged)', of: (l) => (l.name === 'eth' ? l.vlanTags?.[0]?.tpid ?? l.etherType : undefined),
    ...hex(4), label: 'Type' },
  { name: 'keyscope.link_type', type: 'uint', description: 'pcap link type (DLT/LINKTYPE number)', of: (l) => l.linkType, label: 'Link type', json: 'linkType' },
]);

type Vlan = NonNullable<Link['vlanTags']>[number];
const QINQ_TPID = 0x88a8;
/** The link's tags of one kind: 802.1ad service tags (TPID 0x88a8, tshark's ieee8021ad) or the others (tshark's vlan). */
const vlanTags = (v: FrameView, serviceTags: boolean): Instance<Vlan>[] =>
  (v.frame.packet.link.vlanTags ?? []).filter((t) => (t.tpid === QINQ_TPID) === serviceTags).map((h) => ({ h, depth: 0 }));

const qinqLayer = headerLayer<Vlan>('ieee8021ad', 'IEEE 802.1ad (QinQ service tag)', (v) => vlanTags(v, true),
  (t) => `IEEE 802.1ad, ID: ${t.tci & 0xfff}`, [
    { name: 'ieee8021ad', type: 'protocol', description: 'an 802.1ad service tag (TPID 0x88a8)', of: () => true, tshark: 'presence' },
    { name: 'ieee8021ad.priority', type: 'uint', description: 'priority code point', of: (t) => t.tci >> 13, ...same, label: 'Priority' },
    { name: 'ieee8021ad.dei', type: 'uint', description: 'drop eligible indicator', of: (t) => (t.tci >> 12) & 1, ...same, label: 'DEI' },
    { name: 'ieee8021ad.id', type: 'uint', description: 'service VLAN identifier', of: (t) => t.tci & 0xfff, ...same, label: 'ID' },
  ]);

const vlanLayer = headerLayer<Vlan>('vlan', '802.1Q Virtual LAN', (v) => vlanTags(v, false),
  (t) => `802.1Q Virtual LAN, PRI: ${t.tci >> 13}, DEI: ${(t.tci >> 12) & 1}, ID: ${t.tci & 0xfff}`, [
    { name: 'vlan', type: 'protocol', description: 'an 802.1Q / 802.1ad tag', of: () => true, tshark: 'presence' },
    { name: 'vlan.priority', type: 'uint', description: 'priority code point (PCP)', of: (t) => t.tci >> 13, ...same, label: 'Priority' },
    { name: 'vlan.dei', type: 'bool', description: 'drop eligible indicator', of: (t) => ((t.tci >> 12) & 1) === 1, ...same, label: 'DEI' },
    { name: 'vlan.id', type: 'uint', description: 'VLAN identifier, outermost first', of: (t) => t.tci & 0xfff, ...same, label: 'ID' },
    { name: 'vlan.etype', type: 'uint', description: 'EtherType after the tag', of: (t) => t.etype, ...hex(4), label: 'Type' },
  ]);

type Ip = IpLayerInfo;
/** IP headers of the frame, outermost first: the one carrying a GTP-U tunnel (when unwrapped), then the packet's. */
function ipHeaders(v: FrameView, version: 4 | 6): Instance<Ip>[] {
  const p = v.frame.packet;
  const out: Instance<Ip>[] = [];
  const outer = p.tunnel?.outerIp;
  const unwrapped = outer !== undefined && outer !== p.ip;
  if (unwrapped && outer.version === version) out.push({ h: outer, depth: 0 });
  if (p.ip && p.ip.version === version) out.push({ h: p.ip, depth: unwrapped ? 1 : 0 });
  return out;
}
/** Every IP header of the frame, outermost first, both versions. */
function allIpHeaders(v: FrameView): Ip[] {
  const p = v.frame.packet;
  const outer = p.tunnel?.outerIp;
  return [...(outer !== undefined && outer !== p.ip ? [outer] : []), ...(p.ip ? [p.ip] : [])];
}
/** The header as sent in this frame: on a reassembled datagram, the fragment that completed it (what tshark shows). */
const wire = (ip: Ip): Ip => ip.frameHeader ?? ip;
const ipSummary = (ip: Ip) => `Internet Protocol Version ${ip.version}, Src: ${ip.src}, Dst: ${ip.dst}`;

const ipLayer = headerLayer<Ip>('ip', 'Internet Protocol version 4', (v) => ipHeaders(v, 4), ipSummary, [
  { name: 'ip', type: 'protocol', description: 'IPv4 (outer and inner of a GTP-U tunnel)', of: () => true, tshark: 'presence' },
  { name: 'ip.version', type: 'uint', description: 'IP version of every IPv4 and IPv6 header (tshark\'s IPv6 has it too)', of: (ip) => ip.version, ...same,
    label: 'Version', json: 'ip.version', all: (v) => allIpHeaders(v).map((ip) => ip.version) },
  { name: 'ip.hdr_len', type: 'uint', description: 'header length (bytes)', of: (ip) => wire(ip).headerLength, ...same, label: 'Header Length' },
  { name: 'ip.dsfield.dscp', type: 'uint', description: 'differentiated services codepoint', of: (ip) => wire(ip).dscp, ...same, label: 'Differentiated Services Codepoint' },
  { name: 'ip.len', type: 'uint', description: 'total length (bytes) of the header in this frame', of: (ip) => wire(ip).totalLength, ...same, label: 'Total Length' },
  { name: 'ip.id', type: 'uint', description: 'identification', of: (ip) => wire(ip).id, ...hex(4), label: 'Identification', json: 'ip.fragment.id' },
  { name: 'ip.flags', type: 'uint', description: 'flags, the top 3 bits (0x02 DF, 0x01 MF)', of: (ip) => wire(ip).flags, ...hex(2), label: 'Flags' },
  { name: 'ip.flags.df', type: 'bool', description: "don't fragment", of: (ip) => (wire(ip).flags === undefined ? undefined : ((wire(ip).flags ?? 0) & 2) !== 0), ...same, label: "Don't fragment" },
  { name: 'ip.flags.mf', type: 'bool', description: 'more fragments', of: (ip) => (wire(ip).flags === undefined ? undefined : ((wire(ip).flags ?? 0) & 1) !== 0), ...same, label: 'More fragments', json: 'ip.fragment.moreFragments' },
  { name: 'ip.frag_offset', type: 'uint', description: 'fragment offset, in units of 8 bytes', of: (ip) => {
    const o = wire(ip).fragOffset;
    return o === undefined ? undefined : o / 8;
  }, ...same, label: 'Fragment Offset' },
  { name: 'ip.ttl', type: 'uint', description: 'time to live', of: (ip) => wire(ip).ttl, ...same, label: 'Time to Live', json: 'ip[version=4].ttl' },
  { name: 'ip.proto', type: 'uint', description: 'protocol of the payload (6 TCP, 17 UDP)', of: (ip) => ip.protocol, ...same, label: 'Protocol', json: 'ip[version=4].protocol' },
  { name: 'ip.src', type: 'ipv4', description: 'source address', of: (ip) => ip.src, ...same, label: 'Source Address' },
  { name: 'ip.dst', type: 'ipv4', description: 'destination address', of: (ip) => ip.dst, ...same, label: 'Destination Address' },
  { name: 'ip.addr', type: 'ipv4', description: 'source or destination address', of: (ip) => [ip.src, ip.dst], ...same },
  { name: 'keyscope.reassembled_from', type: 'framenum', description: 'frames whose IP fragments make up the datagram completed in this frame',
    of: (ip) => ip.reassembledFrom, label: 'Reassembled from frame', json: 'ip.reassembledFrom' },
]);

const ipv6Layer = headerLayer<Ip>('ipv6', 'Internet Protocol version 6', (v) => ipHeaders(v, 6), ipSummary, [
  { name: 'ipv6', type: 'protocol', description: 'IPv6 (outer and inner of a GTP-U tunnel)', of: () => true, tshark: 'presence' },
  { name: 'ipv6.version', type: 'uint', description: 'IP version (6)', of: (ip) => ip.version, ...same, label: 'Version' },
  { name: 'ipv6.tclass', type: 'uint', description: 'traffic class', of: (ip) => wire(ip).trafficClass, ...hex(8), label: 'Traffic Class' },
  { name: 'ipv6.flow', type: 'uint', description: 'flow label', of: (ip) => wire(ip).flowLabel, ...hex(6), label: 'Flow Label' },
  { name: 'ipv6.plen', type: 'uint', description: 'payload length (bytes)', of: (ip) => wire(ip).totalLength - 40, ...same, label: 'Payload Length' },
  { name: 'ipv6.nxt', type: 'uint', description: 'next header of the fixed header (before extension headers)', of: (ip) => wire(ip).nextHeader, ...same, label: 'Next Header' },
  { name: 'ipv6.hlim', type: 'uint', description: 'hop limit', of: (ip) => wire(ip).ttl, ...same, label: 'Hop Limit', json: 'ip[version=6].ttl' },
  { name: 'ipv6.src', type: 'ipv6', description: 'source address', of: (ip) => ip.src, ...same, label: 'Source Address' },
  { name: 'ipv6.dst', type: 'ipv6', description: 'destination address', of: (ip) => ip.dst, ...same, label: 'Destination Address' },
  { name: 'ipv6.addr', type: 'ipv6', description: 'source or destination address', of: (ip) => [ip.src, ip.dst], ...same },
  { name: 'keyscope.ipv6.upper_proto', type: 'uint', description: 'protocol of the payload after the extension headers', of: (ip) => ip.protocol, label: 'Upper-layer protocol', json: 'ip[version=6].protocol' },
]);

type Udp = Extract<NonNullable<DissectedFrame['packet']['transport']>, { kind: 'udp' }>;
type Tcp = Extract<NonNullable<DissectedFrame['packet']['transport']>, { kind: 'tcp' }>;
/** UDP headers of the frame, outermost first (the datagram carrying a GTP-U tunnel, then the inner one). */
function udpHeaders(v: FrameView): Instance<Udp>[] {
  const p = v.frame.packet;
  const out: Instance<Udp>[] = [];
  const outer = p.tunnel?.outerUdp;
  const unwrapped = outer !== undefined && outer !== p.transport;
  if (unwrapped) out.push({ h: outer, depth: 0 });
  if (p.transport?.kind === 'udp') out.push({ h: p.transport, depth: unwrapped ? 1 : 0 });
  return out;
}
const payloadLength = (v: FrameView) => v.frame.packet.payload?.length ?? 0;

const udpLayer = headerLayer<Udp>('udp', 'User Datagram Protocol', udpHeaders, (u) => `User Datagram Protocol, Src Port: ${u.srcPort}, Dst Port: ${u.dstPort}`, [
  { name: 'udp', type: 'protocol', description: 'UDP', of: () => true, tshark: 'presence' },
  { name: 'udp.srcport', type: 'uint', description: 'source port', of: (u) => u.srcPort, ...same, label: 'Source Port' },
  { name: 'udp.dstport', type: 'uint', description: 'destination port', of: (u) => u.dstPort, ...same, label: 'Destination Port' },
  { name: 'udp.port', type: 'uint', description: 'source or destination port', of: (u) => [u.srcPort, u.dstPort], ...same },
  { name: 'udp.length', type: 'uint', description: 'length from the UDP header (header and payload)', of: (u) => u.length, ...same, label: 'Length', json: 'udp.length' },
  { name: 'udp.stream', type: 'uint', description: 'UDP conversation index, from 0 in order of appearance',
    of: (u, v) => (u === v.frame.packet.transport ? v.udpStream : v.outerUdpStream), ...same, label: 'Stream index' },
  { name: 'keyscope.payload_length', type: 'uint', description: 'transport payload bytes captured (innermost UDP or TCP)',
    of: (u, v) => (u === v.frame.packet.transport ? payloadLength(v) : undefined), label: 'Payload length', json: 'udp.payloadLength' },
]);

const tcpFlag = (bit: number) => (t: Tcp): FieldValue => (t.flags & bit) !== 0;
const tcpLayer = headerLayer<Tcp>('tcp', 'Transmission Control Protocol', (v) => {
  const t = v.frame.packet.transport;
  return t?.kind === 'tcp' ? [{ h: t, depth: v.frame.packet.tunnel?.outerIp !== undefined && v.frame.packet.tunnel.outerIp !== v.frame.packet.ip ? 1 : 0 }] : [];
}, (t, v) => `Transmission Control Protocol, Src Port: ${t.srcPort}, Dst Port: ${t.dstPort}, Seq: ${v.tcpSeq ?? t.seq}, Ack: ${v.tcpAck ?? t.ack}, Len: ${payloadLength(v)}`, [
  { name: 'tcp', type: 'protocol', description: 'TCP', of: () => true, tshark: 'presence' },
  { name: 'tcp.srcport', type: 'uint', description: 'source port', of: (t) => t.srcPort, ...same, label: 'Source Port' },
  { name: 'tcp.dstport', type: 'uint', description: 'destination port', of: (t) => t.dstPort, ...same, label: 'Destination Port' },
  { name: 'tcp.port', type: 'uint', description: 'source or destination port', of: (t) => [t.srcPort, t.dstPort], ...same },
  { name: 'tcp.stream', type: 'uint', description: 'TCP connection index, from 0 in order of appearance', of: (_t, v) => v.tcpStream, ...same, label: 'Stream index' },
  { name: 'tcp.len', type: 'uint', description: 'segment payload length (bytes)', of: (t, v) => {
    const ip = v.frame.packet.ip;
    if (!ip) return undefined;
    // what the headers claim, as tshark counts it, also when the capture cut the payload short
    if (ip.version === 4 && !ip.reassembledFrom) return Math.max(0, ip.totalLength - ip.headerLength - t.headerLength);
    return payloadLength(v);
  }, ...same, label: 'TCP Segment Len' },
  { name: 'tcp.seq', type: 'uint', description: 'sequence number relative to the direction\'s initial one (as tshark)', of: (_t, v) => v.tcpSeq, ...same, label: 'Sequence Number' },
  { name: 'tcp.seq_raw', type: 'uint', description: 'sequence number as sent', of: (t) => t.seq, ...same, label: 'Sequence Number (raw)', json: 'tcp.seq' },
  { name: 'tcp.ack', type: 'uint', description: 'acknowledgment number relative to the other direction\'s initial sequence number', of: (_t, v) => v.tcpAck, ...same, label: 'Acknowledgment Number' },
  { name: 'tcp.ack_raw', type: 'uint', description: 'acknowledgment number as sent', of: (t) => t.ack, ...same, label: 'Acknowledgment number (raw)', json: 'tcp.ack' },
  { name: 'tcp.hdr_len', type: 'uint', description: 'header length (bytes)', of: (t) => t.headerLength, ...same, label: 'Header Length' },
  { name: 'tcp.flags', type: 'uint', description: 'flag bits (FIN 0x001 … NS 0x100)', of: (t) => t.flags, ...hex(4), label: 'Flags', json: 'tcp.flags' },
  { name: 'tcp.flags.syn', type: 'bool', description: 'SYN flag', of: tcpFlag(0x02), ...same, label: 'Syn' },
  { name: 'tcp.flags.ack', type: 'bool', description: 'ACK flag', of: tcpFlag(0x10), ...same, label: 'Acknowledgment' },
  { name: 'tcp.flags.fin', type: 'bool', description: 'FIN flag', of: tcpFlag(0x01), ...same, label: 'Fin' },
  { name: 'tcp.flags.reset', type: 'bool', description: 'RST flag', of: tcpFlag(0x04), ...same, label: 'Reset' },
  { name: 'tcp.flags.push', type: 'bool', description: 'PSH flag', of: tcpFlag(0x08), ...same, label: 'Push' },
  { name: 'tcp.window_size_value', type: 'uint', description: 'window as sent (before scaling)', of: (t) => t.window, ...same, label: 'Window', json: 'tcp.window' },
  { name: 'keyscope.tcp.payload_length', type: 'uint', description: 'segment payload bytes captured', of: (_t, v) => payloadLength(v), label: 'Payload length', json: 'tcp.payloadLength' },
]);

type Tunnel = NonNullable<DissectedFrame['packet']['tunnel']>;
const gtpLayer = headerLayer<Tunnel>('gtp', 'GPRS Tunneling Protocol (GTP-U)', (v) => (v.frame.packet.tunnel ? [{ h: v.frame.packet.tunnel, depth: 0 }] : []),
  (t) => `GPRS Tunneling Protocol, TEID: 0x${t.teid.toString(16).padStart(8, '0')}`, [
    { name: 'gtp', type: 'protocol', description: 'GTP-U (the innermost tunnel when nested)', of: () => true, tshark: 'presence' },
    { name: 'gtp.flags', type: 'uint', description: 'flags octet (version, PT, E, S, PN)', of: (t) => t.flags, ...hex(2), label: 'Flags' },
    { name: 'gtp.message', type: 'uint', description: 'message type (0xff G-PDU, 0x01 Echo Request, …)', of: (t) => t.messageType, ...hex(2), label: 'Message Type', json: 'tunnel.messageType' },
    { name: 'gtp.length', type: 'uint', description: 'length field (bytes after the 8-byte header)', of: (t) => t.length, ...same, label: 'Length' },
    { name: 'gtp.teid', type: 'uint', description: 'tunnel endpoint identifier', of: (t) => t.teid, ...hex(8), label: 'TEID', json: 'tunnel.teid' },
    { name: 'gtp.seq_number', type: 'uint', description: 'sequence number (S flag)', of: (t) => t.sequence, ...hex(4), label: 'Sequence number', json: 'tunnel.sequence' },
    { name: 'keyscope.gtp.depth', type: 'uint', description: 'GTP-U encapsulations when GTP-U was carried in GTP-U (2 or more)', of: (t) => t.depth, label: 'Tunnel depth', json: 'tunnel.depth' },
  ]);

// ---- keyscope -------------------------------------------------------------------------------------------------------

const keyscopeLayer: FieldLayer = {
  name: 'keyscope',
  title: 'keyscope expert info (the problems of the frame, docs/problem-codes.md)',
  fields: [
    field('keyscope.problem', 'string', 'problem code, one per problem of the frame (e.g. mikey-mac-invalid)', (v) => v.frame.problems.map((p) => p.code), { json: 'problems.code' }),
    field('keyscope.problem.severity', 'string', 'problem severity: error, warning, note, chat', (v) => v.frame.problems.map((p) => p.severity), { json: 'problems.severity' }),
    field('keyscope.problem.layer', 'string', 'layer that found the problem (ipv4, tcp, http, mikey, …)', (v) => v.frame.problems.map((p) => p.layer), { json: 'problems.layer' }),
    field('keyscope.problem.message', 'string', 'problem text', (v) => v.frame.problems.map((p) => p.message), { json: 'problems.message' }),
  ],
};

export const FIELD_LAYERS: readonly FieldLayer[] = [frameLayer, ethLayer, qinqLayer, vlanLayer, ipLayer, ipv6Layer, udpLayer, tcpLayer, gtpLayer, httpLayer, digestLayer, mikeyLayer, keyscopeLayer];

const BY_NAME: ReadonlyMap<string, FieldDef> = new Map(FIELD_LAYERS.flatMap((l) => l.fields.map((f) => [f.name, f] as const)));

export function lookupField(name: string): FieldDef | undefined {
  return BY_NAME.get(name);
}

export function allFields(): FieldDef[] {
  return FIELD_LAYERS.flatMap((l) => l.fields);
}

export type { DissectedFrame };
export { ntpText } from './mikey-fields';
