/**
 * Every named field of keyscope, declared once per protocol layer (Wireshark's `hf_` arrays). Where tshark has a field
 * with the same meaning, it has tshark's name and `-T fields` prints what tshark 4.0 prints (`tshark: 'same'`; the
 * tshark oracle test holds every such field to it). Fields tshark does not have (MBMS meaning of MIKEY, verification
 * results, Digest parameters, problem codes) are keyscope's own.
 */
import type { DissectedFrame } from '../pipeline/dissector';
import type { HttpMessage } from '../protocols/http/types';
import { authInfoView, digestChallengeView, digestCredentialsView, isDigest } from '../protocols/http/auth';
import type { MikeyAnalysis } from '../protocols/mikey/tracker';
import type { MikeyMessage, MikeyPayload } from '../protocols/mikey/types';
import type { IpLayerInfo } from '../decode/types';
import { formatValue } from './format';
import type { FieldDef, FieldLayer, FieldType, FieldValue, FrameView, TsharkRelation } from './types';

type Extractor = (v: FrameView) => FieldValue[];

function field(name: string, type: FieldType, description: string, values: Extractor, more: Partial<Pick<FieldDef, 'base' | 'hexDigits' | 'tshark' | 'label' | 'json'>> = {}): FieldDef {
  return { name, type, description, values, ...more };
}
const same: { tshark: TsharkRelation } = { tshark: 'same' };
const hex = (digits: number): Partial<FieldDef> => ({ base: 'hex', hexDigits: digits, tshark: 'same' });
const one = <T extends FieldValue>(x: T | undefined | null): FieldValue[] => (x === undefined || x === null ? [] : [x]);
const present = (b: boolean): FieldValue[] => (b ? [true] : []);

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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Seconds between the NTP era (1900) and the Unix epoch. */
const NTP_UNIX_OFFSET = 2_208_988_800;

/** An NTP timestamp as tshark prints an FT_ABSOLUTE_TIME in UTC (`Nov  7, 2023 11:44:50.500000000 UTC`). */
export function ntpText(seconds: number, fraction: number): string {
  const d = new Date((seconds - NTP_UNIX_OFFSET) * 1000);
  const nsec = Math.floor((fraction * 1e9) / 2 ** 32);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')}, ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${String(nsec).padStart(9, '0')} UTC`;
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
const inner = (v: FrameView, ip: Ip) => ip === v.frame.packet.ip;

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

// ---- HTTP, Digest ---------------------------------------------------------------------------------------------------

function httpMessages(v: FrameView): HttpMessage[] {
  return (v.frame.http ?? []).map((h) => h.message);
}
const requests = (v: FrameView) => httpMessages(v).filter((m) => m.kind === 'request');
const responses = (v: FrameView) => httpMessages(v).filter((m) => m.kind === 'response');
const header = (name: string) => (v: FrameView): FieldValue[] =>
  httpMessages(v).flatMap((m) => m.headers.filter((h) => h.name.toLowerCase() === name).map((h) => h.value));

const httpLayer: FieldLayer = {
  name: 'http',
  title: 'Hypertext Transfer Protocol (on the frame that completes each message)',
  fields: [
    field('http', 'protocol', 'an HTTP message ends in this frame', (v) => httpMessages(v).map(() => true), { tshark: 'presence', json: 'http' }),
    field('http.request', 'bool', 'the message is a request', (v) => requests(v).map(() => true), { ...same, json: 'http[kind=request]' }),
    field('http.response', 'bool', 'the message is a response', (v) => responses(v).map(() => true), { ...same, json: 'http[kind=response]' }),
    field('http.request.method', 'string', 'request method', (v) => requests(v).flatMap((m) => one(m.method)), { ...same, json: 'http.method' }),
    field('http.request.uri', 'string', 'request target as sent', (v) => requests(v).flatMap((m) => one(m.uri)), { ...same, json: 'http.uri' }),
    field('http.request.version', 'string', 'HTTP version of a request', (v) => requests(v).map((m) => m.version), { ...same, json: 'http[kind=request].version' }),
    field('http.response.version', 'string', 'HTTP version of a response', (v) => responses(v).map((m) => m.version), { ...same, json: 'http[kind=response].version' }),
    field('http.response.code', 'uint', 'status code', (v) => responses(v).flatMap((m) => one(m.status)), { ...same, json: 'http.status' }),
    field('http.response.phrase', 'string', 'reason phrase', (v) => responses(v).flatMap((m) => one(m.reason)), { ...same, json: 'http.reason' }),
    field('http.host', 'string', 'Host header', header('host'), { ...same, json: 'http.headers[name=host].value' }),
    field('http.user_agent', 'string', 'User-Agent header', header('user-agent'), { ...same, json: 'http.headers[name=user-agent].value' }),
    field('http.server', 'string', 'Server header', header('server'), { ...same, json: 'http.headers[name=server].value' }),
    field('http.content_type', 'string', 'Content-Type header', header('content-type'), { ...same, json: 'http.headers[name=content-type].value' }),
    field('http.content_length_header', 'string', 'Content-Length header as sent', header('content-length'), { ...same, json: 'http.headers[name=content-length].value' }),
    field('http.connection', 'string', 'Connection header', header('connection'), { ...same, json: 'http.headers[name=connection].value' }),
    field('http.location', 'string', 'Location header', header('location'), { ...same, json: 'http.headers[name=location].value' }),
    field('http.authorization', 'string', 'Authorization header', header('authorization'), { ...same, json: 'http.headers[name=authorization].value' }),
    field('http.www_authenticate', 'string', 'WWW-Authenticate header', header('www-authenticate'), { ...same, json: 'http.headers[name=www-authenticate].value' }),
    field('http.request_in', 'framenum', 'for a response: the frame that completed its request', (v) => responses(v).flatMap((m) => one(m.request?.lastFrame)), same),
    field('http.body_length', 'uint', 'body bytes after removing chunked coding', (v) => httpMessages(v).map((m) => m.bodyLength), { json: 'http.body.length' }),
    field('http.complete', 'bool', 'false when the message was cut (gap, end of stream)', (v) => httpMessages(v).map((m) => m.complete), { json: 'http.complete' }),
  ],
};

function digestCredentials(v: FrameView) {
  return httpMessages(v).flatMap((m) => (m.auth?.credentials ?? []).filter(isDigest).map((c) => digestCredentialsView(c)));
}
function digestChallenges(v: FrameView) {
  return httpMessages(v).flatMap((m) => (m.auth?.challenges ?? []).filter(isDigest).map((c) => digestChallengeView(c)));
}
function digestInfo(v: FrameView) {
  return httpMessages(v).flatMap((m) => (m.auth?.info ?? []).map((i) => authInfoView(i)));
}
const hasDigest = (m: HttpMessage) => (m.auth?.credentials ?? []).some(isDigest) || (m.auth?.challenges ?? []).some(isDigest) || (m.auth?.info.length ?? 0) > 0;

const digestLayer: FieldLayer = {
  name: 'digest',
  title: 'HTTP Digest authentication (RFC 7616) in HTTP headers',
  fields: [
    field('digest', 'protocol', 'a Digest challenge, credentials or Authentication-Info', (v) => httpMessages(v).filter(hasDigest).map(() => true)),
    field('digest.challenge', 'none', 'a WWW-Authenticate / Proxy-Authenticate Digest challenge', (v) => digestChallenges(v).map(() => true)),
    field('digest.credentials', 'none', 'Authorization / Proxy-Authorization Digest credentials', (v) => digestCredentials(v).map(() => true)),
    field('digest.username', 'string', 'user name (the B-TID in TS 33.246), `username*` decoded', (v) => digestCredentials(v).flatMap((c) => one(c.username))),
    field('digest.realm', 'string', 'realm, of a challenge or of credentials', (v) => [...digestChallenges(v), ...digestCredentials(v)].flatMap((c) => one(c.realm))),
    field('digest.nonce', 'string', 'nonce, of a challenge or of credentials', (v) => [...digestChallenges(v), ...digestCredentials(v)].flatMap((c) => one(c.nonce))),
    field('digest.algorithm', 'string', 'algorithm, of a challenge or of credentials', (v) => [...digestChallenges(v), ...digestCredentials(v)].flatMap((c) => one(c.algorithm))),
    field('digest.opaque', 'string', 'opaque, of a challenge or of credentials', (v) => [...digestChallenges(v), ...digestCredentials(v)].flatMap((c) => one(c.opaque))),
    field('digest.qop', 'string', 'qop: each option of a challenge, the chosen one of credentials', (v) => [
      ...digestChallenges(v).flatMap((c) => c.qop ?? []),
      ...digestCredentials(v).flatMap((c) => one(c.qop)),
    ]),
    field('digest.stale', 'bool', 'stale flag of a challenge', (v) => digestChallenges(v).flatMap((c) => one(c.stale))),
    field('digest.uri', 'string', 'uri of credentials', (v) => digestCredentials(v).flatMap((c) => one(c.uri))),
    field('digest.response', 'string', 'response (request-digest) of credentials', (v) => digestCredentials(v).flatMap((c) => one(c.response))),
    field('digest.cnonce', 'string', 'client nonce of credentials', (v) => digestCredentials(v).flatMap((c) => one(c.cnonce))),
    field('digest.nc', 'uint', 'nonce count of credentials (when 8 hex digits)', (v) => digestCredentials(v).flatMap((c) => one(c.ncValue))),
    field('digest.rspauth', 'string', 'rspauth of Authentication-Info', (v) => digestInfo(v).flatMap((i) => one(i.rspauth))),
    field('digest.nextnonce', 'string', 'nextnonce of Authentication-Info', (v) => digestInfo(v).flatMap((i) => one(i.nextnonce))),
    field('digest.verified', 'bool', 'Digest values checked with a known password: true = all match, false = a mismatch (absent: no password)',
      (v) => httpMessages(v).filter(hasDigest).flatMap((m) => one(m.verified)), { json: 'http.digest.verified' }),
  ],
};

// ---- MIKEY ----------------------------------------------------------------------------------------------------------

function analyses(v: FrameView): MikeyAnalysis[] {
  return (v.frame.mikey ?? []).map((m) => m.analysis);
}
function messages(v: FrameView): MikeyMessage[] {
  return analyses(v).flatMap((a) => (a.message ? [a.message] : []));
}
/** Payloads of the given types in every MIKEY message of the frame, in wire order. */
function payloads<T extends MikeyPayload['type']>(v: FrameView, ...types: T[]): Extract<MikeyPayload, { type: T }>[] {
  return messages(v).flatMap((m) => m.payloads.filter((p): p is Extract<MikeyPayload, { type: T }> => (types as number[]).includes(p.type)));
}
const mbms = (v: FrameView) => analyses(v).flatMap((a) => (a.mbms ? [a.mbms] : []));
const hdr = <K extends keyof MikeyMessage['header']>(k: K) => (v: FrameView): FieldValue[] => messages(v).map((m) => m.header[k] as unknown as FieldValue);

const mikeyLayer: FieldLayer = {
  name: 'mikey',
  title: 'Multimedia Internet KEYing (RFC 3830) and its MBMS use (TS 33.246)',
  fields: [
    field('mikey', 'protocol', 'a MIKEY message (UDP, or an application/mikey HTTP body)', (v) => analyses(v).map(() => true), { tshark: 'presence', json: 'mikey' }),
    field('mikey.hdr', 'none', 'common header', (v) => messages(v).map(() => true), same),
    field('mikey.version', 'uint', 'version (1)', hdr('version'), { ...same, json: 'mikey.version' }),
    field('mikey.type', 'uint', 'data type (0 PSK init, 1 PSK verification, …)', hdr('dataType'), { ...same, json: 'mikey.dataType' }),
    field('mikey.v.set', 'bool', 'V flag of the header: a verification message is requested', hdr('v'), { ...same, json: 'mikey.v' }),
    field('mikey.prf_func', 'uint', 'PRF function', hdr('prf'), { ...same, json: 'mikey.prf' }),
    field('mikey.csb_id', 'uint', 'CSB ID', hdr('csbId'), { ...hex(8), json: 'mikey.csbId' }),
    field('mikey.cs_count', 'uint', 'number of crypto sessions', hdr('csCount'), { ...same, json: 'mikey.csCount' }),
    field('mikey.cs_id_map_type', 'uint', 'CS ID map type', hdr('csIdMapType'), { ...same, json: 'mikey.csIdMapType' }),
    field('mikey.next_payload', 'uint', 'next payload codes, header first, in wire order', (v) =>
      messages(v).flatMap((m) => [m.header.nextPayload, ...m.payloads.filter((p) => p.type !== 4).map((p) => p.nextPayload)]), same),
    field('mikey.srtp_id', 'none', 'SRTP ID entry of the header (CS ID map type 0)', (v) => messages(v).flatMap((m) => (m.header.srtpIds ?? []).map(() => true)), { ...same, json: 'mikey.srtpIds' }),
    field('mikey.srtp_id.policy_no', 'uint', 'SRTP ID entry: policy number', (v) => messages(v).flatMap((m) => (m.header.srtpIds ?? []).map((s) => s.policyNo)), { ...same, json: 'mikey.srtpIds.policyNo' }),
    field('mikey.srtp_id.ssrc', 'uint', 'SRTP ID entry: SSRC', (v) => messages(v).flatMap((m) => (m.header.srtpIds ?? []).map((s) => s.ssrc)), { ...hex(8), json: 'mikey.srtpIds.ssrc' }),
    field('mikey.srtp_id.roc', 'uint', 'SRTP ID entry: rollover counter', (v) => messages(v).flatMap((m) => (m.header.srtpIds ?? []).map((s) => s.roc)), { ...hex(8), json: 'mikey.srtpIds.roc' }),
    field('mikey.kemac', 'none', 'KEMAC payload', (v) => payloads(v, 1).map(() => true), { ...same, json: 'mikey.payloads[type=1]' }),
    field('mikey.kemac.encr_alg', 'uint', 'KEMAC encryption algorithm', (v) => payloads(v, 1).map((p) => p.encrAlg), { ...same, json: 'mikey.payloads[type=1].encrAlg' }),
    field('mikey.kemac.key_data_len', 'uint', 'KEMAC encrypted key data length', (v) => payloads(v, 1).map((p) => p.encrData.length), same),
    field('mikey.kemac.mac_alg', 'uint', 'KEMAC MAC algorithm', (v) => payloads(v, 1).map((p) => p.macAlg), { ...same, json: 'mikey.payloads[type=1].macAlg' }),
    field('mikey.kemac.mac', 'bytes', 'KEMAC MAC', (v) => payloads(v, 1).filter((p) => p.mac.length > 0).map((p) => p.mac), { ...same, json: 'mikey.payloads[type=1].mac' }),
    field('mikey.t', 'none', 'timestamp payload', (v) => payloads(v, 5).map(() => true), { ...same, json: 'mikey.payloads[type=5]' }),
    field('mikey.t.ntp', 'string', 'NTP timestamp (NTP-UTC, NTP) as tshark shows it: `Nov  7, 2023 11:44:50.500000000 UTC`',
      (v) => payloads(v, 5, 13).flatMap((p) => (p.ntpSeconds !== undefined ? [ntpText(p.ntpSeconds, p.ntpFraction ?? 0)] : [])), same),
    field('mikey.t.ts_type', 'uint', 'timestamp type (0 NTP-UTC, 1 NTP, 2 COUNTER)', (v) => payloads(v, 5, 13).map((p) => p.tsType), { ...same, json: 'mikey.payloads[type=5|13].tsType' }),
    field('mikey.id', 'none', 'ID payload', (v) => payloads(v, 6).map(() => true), { ...same, json: 'mikey.payloads[type=6]' }),
    field('mikey.idr', 'none', 'IDR payload', (v) => payloads(v, 14).map(() => true), { ...same, json: 'mikey.payloads[type=14]' }),
    field('mikey.id.role', 'uint', 'IDR role (1 initiator, 2 responder, …)', (v) => payloads(v, 6, 14).flatMap((p) => one(p.role)), { ...same, json: 'mikey.payloads[type=6|14].role' }),
    field('mikey.id.type', 'uint', 'ID type (0 NAI, 1 URI, …)', (v) => payloads(v, 6, 14).map((p) => p.idType), { ...same, json: 'mikey.payloads[type=6|14].idType' }),
    field('mikey.id.len', 'uint', 'ID length', (v) => payloads(v, 6, 14).map((p) => p.data.length), same),
    field('mikey.v', 'none', 'verification (V) payload', (v) => payloads(v, 9).map(() => true), { ...same, json: 'mikey.payloads[type=9]' }),
    field('mikey.v.auth_alg', 'uint', 'verification MAC algorithm', (v) => payloads(v, 9).map((p) => p.authAlg), { ...same, json: 'mikey.payloads[type=9].authAlg' }),
    field('mikey.v.ver_data', 'bytes', 'verification MAC', (v) => payloads(v, 9).filter((p) => p.mac.length > 0).map((p) => p.mac), { ...same, json: 'mikey.payloads[type=9].mac' }),
    field('mikey.sp', 'none', 'security policy payload', (v) => payloads(v, 10).map(() => true), { ...same, json: 'mikey.payloads[type=10]' }),
    field('mikey.pke', 'none', 'envelope data (PKE) payload', (v) => payloads(v, 2).map(() => true), { ...same, json: 'mikey.payloads[type=2]' }),
    field('mikey.pke.c', 'uint', 'PKE cache indicator', (v) => payloads(v, 2).map((p) => p.c), { ...same, json: 'mikey.payloads[type=2].c' }),
    field('mikey.pke.len', 'uint', 'PKE data length', (v) => payloads(v, 2).map((p) => p.data.length), same),
    field('mikey.dh', 'none', 'DH data payload', (v) => payloads(v, 3).map(() => true), { ...same, json: 'mikey.payloads[type=3]' }),
    field('mikey.dh.group', 'uint', 'DH group', (v) => payloads(v, 3).map((p) => p.group), { ...same, json: 'mikey.payloads[type=3].group' }),
    field('mikey.dh.kv', 'uint', 'DH key validity type', (v) => payloads(v, 3).map((p) => p.kv), { ...same, json: 'mikey.payloads[type=3].kv' }),
    field('mikey.sign', 'none', 'signature payload', (v) => payloads(v, 4).map(() => true), { ...same, json: 'mikey.payloads[type=4]' }),
    field('mikey.sign.type', 'uint', 'signature type', (v) => payloads(v, 4).map((p) => p.signType), { ...same, json: 'mikey.payloads[type=4].signType' }),
    field('mikey.sign.len', 'uint', 'signature length', (v) => payloads(v, 4).map((p) => p.signature.length), same),
    field('mikey.cert', 'none', 'certificate payload', (v) => payloads(v, 7).map(() => true), { ...same, json: 'mikey.payloads[type=7]' }),
    field('mikey.cert.type', 'uint', 'certificate type', (v) => payloads(v, 7).map((p) => p.certType), { ...same, json: 'mikey.payloads[type=7].certType' }),
    field('mikey.cert.len', 'uint', 'certificate length', (v) => payloads(v, 7).map((p) => p.data.length), same),
    field('mikey.chash', 'none', 'CHASH payload', (v) => payloads(v, 8).map(() => true), { ...same, json: 'mikey.payloads[type=8]' }),
    field('mikey.sp.no', 'uint', 'security policy number', (v) => payloads(v, 10).map((p) => p.policyNo), { ...same, json: 'mikey.payloads[type=10].policyNo' }),
    field('mikey.sp.proto_type', 'uint', 'security policy protocol type', (v) => payloads(v, 10).map((p) => p.protType), { ...same, json: 'mikey.payloads[type=10].protType' }),
    field('mikey.sp.param.type', 'uint', 'security policy parameter type', (v) => payloads(v, 10).flatMap((p) => p.params.map((x) => x.paramType)), { ...same, json: 'mikey.payloads[type=10].params.paramType' }),
    field('mikey.sp.param.len', 'uint', 'security policy parameter length', (v) => payloads(v, 10).flatMap((p) => p.params.map((x) => x.value.length)), same),
    field('mikey.rand', 'none', 'RAND payload', (v) => payloads(v, 11).map(() => true), { ...same, json: 'mikey.payloads[type=11]' }),
    field('mikey.rand.len', 'uint', 'RAND length', (v) => payloads(v, 11, 15).map((p) => p.rand.length), same),
    field('mikey.rand.data', 'bytes', 'RAND', (v) => payloads(v, 11, 15).map((p) => p.rand), { ...same, json: 'mikey.payloads[type=11|15].rand' }),
    field('mikey.err', 'none', 'error payload', (v) => payloads(v, 12).map(() => true), { ...same, json: 'mikey.payloads[type=12]' }),
    field('mikey.err.no', 'uint', 'error number', (v) => payloads(v, 12).map((p) => p.errorNo), { ...same, json: 'mikey.payloads[type=12].errorNo' }),
    field('mikey.ext', 'none', 'general extension payload', (v) => payloads(v, 21).map(() => true), { ...same, json: 'mikey.payloads[type=21]' }),
    field('mikey.ext.type', 'uint', 'extension type (3 = Key ID, RFC 4563)', (v) => payloads(v, 21).map((p) => p.extType), { ...same, json: 'mikey.payloads[type=21].extType' }),
    field('mikey.ext.len', 'uint', 'extension data length', (v) => payloads(v, 21).map((p) => p.data.length), same),
    field('mikey.ext.data', 'bytes', 'extension data (not SDP IDs)', (v) => payloads(v, 21).filter((p) => p.extType !== 1).map((p) => p.data), same),
    // tshark 4.0 shows only the first key data sub-payload of a KEMAC; so does this field, to keep the same meaning
    field('mikey.key', 'none', 'first key data sub-payload of a KEMAC, when read in clear (NULL encryption)', (v) => payloads(v, 1).flatMap((p) => (p.keys ?? []).slice(0, 1)).map(() => true), same),
    field('mikey.key.type', 'uint', 'type of that key data sub-payload (0 TGK, 2 TEK, …)', (v) => payloads(v, 1).flatMap((p) => (p.keys ?? []).slice(0, 1)).map((k) => k.keyType), same),
    field('mikey.key.kv', 'uint', 'key validity type of that key data sub-payload', (v) => payloads(v, 1).flatMap((p) => (p.keys ?? []).slice(0, 1)).map((k) => k.kv), same),
    field('mikey.key.data.len', 'uint', 'key length of that key data sub-payload', (v) => payloads(v, 1).flatMap((p) => (p.keys ?? []).slice(0, 1)).map((k) => k.key.length), same),
    field('mikey.sakke', 'none', 'SAKKE payload', (v) => payloads(v, 26).map(() => true), { ...same, json: 'mikey.payloads[type=26]' }),
    field('mikey.sakke.params', 'uint', 'SAKKE parameter set', (v) => payloads(v, 26).map((p) => p.params), { ...same, json: 'mikey.payloads[type=26].params' }),
    field('mikey.sakke.idscheme', 'uint', 'SAKKE identifier scheme', (v) => payloads(v, 26).map((p) => p.idScheme), { ...same, json: 'mikey.payloads[type=26].idScheme' }),
    field('mikey.sakke.len', 'uint', 'SAKKE data length', (v) => payloads(v, 26).map((p) => p.data.length), same),
    field('mikey.counter', 'uint', 'replay counter (timestamp payload of type COUNTER)', (v) => payloads(v, 5, 13).filter((p) => p.type === 5).flatMap((p) => one(p.counter)), { json: 'mikey.payloads[type=5].counter' }),
    field('mikey.mbms.kind', 'string', 'MBMS message kind: msk-delivery, mtk-delivery, verification, solicited-pull-trigger, error, other', (v) => mbms(v).map((i) => i.kind), { json: 'mikey.mbms.kind' }),
    field('mikey.mbms.id_encoding', 'string', 'MBMS identifier encoding: published, seed (draft), none', (v) => mbms(v).map((i) => i.idEncoding), { json: 'mikey.mbms.idEncoding' }),
    field('mikey.mbms.key_domain', 'string', 'Key Domain ID as MCC-MNC (e.g. 001-01)', (v) => mbms(v).flatMap((i) => one(i.keyDomain)), { json: 'mikey.mbms.keyDomain' }),
    field('mikey.mbms.key_domain_id', 'bytes', 'Key Domain ID bytes', (v) => mbms(v).flatMap((i) => (i.keyDomainId !== undefined ? [Buffer.from(i.keyDomainId, 'hex')] : [])), { json: 'mikey.mbms.keyDomainId' }),
    field('mikey.mbms.msk_id', 'uint', 'MSK ID (Key Group << 16 | Key Number)', (v) => mbms(v).flatMap((i) => one(i.mskId)), { base: 'hex', hexDigits: 8, json: 'mikey.mbms.mskId' }),
    field('mikey.mbms.key_group', 'uint', 'MSK Key Group', (v) => mbms(v).flatMap((i) => one(i.keyGroup)), { base: 'hex', hexDigits: 4, json: 'mikey.mbms.keyGroup' }),
    field('mikey.mbms.key_number', 'uint', 'MSK Key Number', (v) => mbms(v).flatMap((i) => one(i.keyNumber)), { base: 'hex', hexDigits: 4, json: 'mikey.mbms.keyNumber' }),
    field('mikey.mbms.mtk_id', 'uint', 'MTK ID', (v) => mbms(v).flatMap((i) => one(i.mtkId)), { json: 'mikey.mbms.mtkId' }),
    field('mikey.mbms.idi', 'string', "initiator's identity (BM-SC)", (v) => mbms(v).flatMap((i) => one(i.idi)), { json: 'mikey.mbms.idi' }),
    field('mikey.mbms.idr', 'string', "responder's identity (the UE's B-TID)", (v) => mbms(v).flatMap((i) => one(i.idr)), { json: 'mikey.mbms.idr' }),
    field('mikey.verified', 'bool', 'MAC checked with a known key: true = valid, false = invalid (absent: no key)', (v) => analyses(v).flatMap((a) => one(a.verified)), { json: 'mikey.mbms.verified' }),
    field('mikey.verified_with', 'string', 'which key verified the MAC: muk, previous-muk, msk, delivery-keys', (v) => analyses(v).flatMap((a) => one(a.verifiedWith)), { json: 'mikey.mbms.verifiedWith' }),
    field('mikey.answers_frame', 'framenum', 'for a verification message (ACK): the frame of the delivery it answers', (v) => analyses(v).flatMap((a) => one(a.answersFrame)), { json: 'mikey.mbms.answersFrame' }),
    field('mikey.carrier', 'string', 'how the message came: udp, or http (an application/mikey body)', (v) => (v.frame.mikey ?? []).map((m) => m.carrier), { json: 'mikey.carrier' }),
  ],
};

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
