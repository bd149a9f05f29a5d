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
import type { FieldDef, FieldLayer, FieldType, FieldValue, FrameView, TsharkRelation } from './types';

type Extractor = (v: FrameView) => FieldValue[];

function field(name: string, type: FieldType, description: string, values: Extractor, more: Partial<Pick<FieldDef, 'base' | 'hexDigits' | 'tshark'>> = {}): FieldDef {
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

// ---- frame, link ----------------------------------------------------------------------------------------------------

const frameLayer: FieldLayer = {
  name: 'frame',
  title: 'Frame',
  fields: [
    field('frame', 'protocol', 'every frame', () => [true], { tshark: 'presence' }),
    field('frame.number', 'uint', 'frame number, from 1', (v) => [v.frame.packet.frame], same),
    field('frame.len', 'uint', 'length on the wire (bytes)', (v) => [v.frame.packet.length], same),
    field('frame.cap_len', 'uint', 'bytes captured', (v) => [v.frame.packet.capturedLength], same),
    field('frame.time_epoch', 'time', 'arrival time, seconds since 1970-01-01 UTC', (v) => [secondsText(v.frame.packet.tsSec, v.frame.packet.tsNsec)], same),
    field('frame.time_relative', 'time', 'seconds since the first frame of the capture', (v) => [v.relativeTime], same),
    field('frame.comment', 'string', 'pcapng packet comment', (v) => v.frame.comments ?? [], same),
  ],
};

const ethLayer: FieldLayer = {
  name: 'eth',
  title: 'Ethernet II',
  fields: [
    field('eth', 'protocol', 'Ethernet II link layer', (v) => present(v.frame.packet.link.name === 'eth'), { tshark: 'presence' }),
    field('eth.src', 'ether', 'source MAC address', (v) => (v.frame.packet.link.name === 'eth' ? one(v.frame.packet.link.srcMac) : []), same),
    field('eth.dst', 'ether', 'destination MAC address', (v) => (v.frame.packet.link.name === 'eth' ? one(v.frame.packet.link.dstMac) : []), same),
    field('eth.addr', 'ether', 'source or destination MAC address', (v) => {
      const l = v.frame.packet.link;
      return l.name === 'eth' ? [...one(l.dstMac), ...one(l.srcMac)] : [];
    }, same),
    // with 802.1Q tags tshark's eth.type is the tag's TPID; keyscope keeps only the inner EtherType, so it is left out then
    field('eth.type', 'uint', 'EtherType (untagged frames)', (v) => {
      const l = v.frame.packet.link;
      return l.name === 'eth' && !l.vlans ? one(l.etherType) : [];
    }, hex(4)),
    field('vlan.id', 'uint', '802.1Q VLAN identifier, outermost first', (v) => (v.frame.packet.link.vlans ?? []).map((t) => t & 0xfff), same),
  ],
};

// ---- IP, UDP, TCP ---------------------------------------------------------------------------------------------------

/** IP layers of the frame, outermost first: the GTP-U tunnel's outer addresses, then the (inner) packet's. */
function ipAddresses(v: FrameView, version: 4 | 6): { src: string; dst: string }[] {
  const p = v.frame.packet;
  const out: { src: string; dst: string }[] = [];
  const t = p.tunnel;
  if (t && p.ip && (t.outerSrc.includes(':') ? 6 : 4) === version) out.push({ src: t.outerSrc, dst: t.outerDst });
  if (p.ip && p.ip.version === version) out.push({ src: p.ip.src, dst: p.ip.dst });
  return out;
}

function ipv4(v: FrameView) {
  const ip = v.frame.packet.ip;
  return ip && ip.version === 4 ? ip : undefined;
}
function ipv6(v: FrameView) {
  const ip = v.frame.packet.ip;
  return ip && ip.version === 6 ? ip : undefined;
}

const ipLayer: FieldLayer = {
  name: 'ip',
  title: 'Internet Protocol version 4',
  fields: [
    field('ip', 'protocol', 'IPv4 (outer and inner of a GTP-U tunnel)', (v) => ipAddresses(v, 4).map(() => true), { tshark: 'presence' }),
    field('ip.version', 'uint', 'IP version (4)', (v) => one(ipv4(v)?.version), same),
    field('ip.hdr_len', 'uint', 'header length (bytes)', (v) => one(ipv4(v)?.headerLength), same),
    field('ip.len', 'uint', 'total length (bytes)', (v) => one(ipv4(v)?.totalLength), same),
    field('ip.ttl', 'uint', 'time to live', (v) => one(ipv4(v)?.ttl), same),
    field('ip.proto', 'uint', 'protocol of the payload (6 TCP, 17 UDP)', (v) => one(ipv4(v)?.protocol), same),
    field('ip.src', 'ipv4', 'source address', (v) => ipAddresses(v, 4).map((a) => a.src), same),
    field('ip.dst', 'ipv4', 'destination address', (v) => ipAddresses(v, 4).map((a) => a.dst), same),
    field('ip.addr', 'ipv4', 'source or destination address', (v) => ipAddresses(v, 4).flatMap((a) => [a.src, a.dst]), same),
  ],
};

const ipv6Layer: FieldLayer = {
  name: 'ipv6',
  title: 'Internet Protocol version 6',
  fields: [
    field('ipv6', 'protocol', 'IPv6 (outer and inner of a GTP-U tunnel)', (v) => ipAddresses(v, 6).map(() => true), { tshark: 'presence' }),
    field('ipv6.plen', 'uint', 'payload length (bytes)', (v) => one(ipv6(v) ? (ipv6(v)?.totalLength ?? 40) - 40 : undefined), same),
    field('ipv6.nxt', 'uint', 'next header after the extension headers', (v) => one(ipv6(v)?.protocol)),
    field('ipv6.hlim', 'uint', 'hop limit', (v) => one(ipv6(v)?.ttl), same),
    field('ipv6.src', 'ipv6', 'source address', (v) => ipAddresses(v, 6).map((a) => a.src), same),
    field('ipv6.dst', 'ipv6', 'destination address', (v) => ipAddresses(v, 6).map((a) => a.dst), same),
    field('ipv6.addr', 'ipv6', 'source or destination address', (v) => ipAddresses(v, 6).flatMap((a) => [a.src, a.dst]), same),
  ],
};

/** UDP ports of the frame, outermost first (a GTP-U tunnel's outer datagram, then the inner one). */
function udpPorts(v: FrameView): { src: number; dst: number }[] {
  const p = v.frame.packet;
  const out: { src: number; dst: number }[] = [];
  if (p.tunnel && p.transport) out.push({ src: p.tunnel.outerSrcPort, dst: p.tunnel.outerDstPort });
  if (p.transport?.kind === 'udp') out.push({ src: p.transport.srcPort, dst: p.transport.dstPort });
  return out;
}
function udp(v: FrameView) {
  const t = v.frame.packet.transport;
  return t?.kind === 'udp' ? t : undefined;
}
function tcp(v: FrameView) {
  const t = v.frame.packet.transport;
  return t?.kind === 'tcp' ? t : undefined;
}
const tcpFlag = (bit: number) => (v: FrameView): FieldValue[] => {
  const t = tcp(v);
  return t ? [(t.flags & bit) !== 0] : [];
};

const udpLayer: FieldLayer = {
  name: 'udp',
  title: 'User Datagram Protocol',
  fields: [
    field('udp', 'protocol', 'UDP', (v) => udpPorts(v).map(() => true), { tshark: 'presence' }),
    field('udp.srcport', 'uint', 'source port', (v) => udpPorts(v).map((p) => p.src), same),
    field('udp.dstport', 'uint', 'destination port', (v) => udpPorts(v).map((p) => p.dst), same),
    field('udp.port', 'uint', 'source or destination port', (v) => udpPorts(v).flatMap((p) => [p.src, p.dst]), same),
    field('udp.length', 'uint', 'length from the UDP header (header and payload)', (v) => one(udp(v)?.length), same),
    field('udp.stream', 'uint', 'UDP conversation index, from 0 in order of appearance', (v) => one(v.udpStream), same),
  ],
};

const tcpLayer: FieldLayer = {
  name: 'tcp',
  title: 'Transmission Control Protocol',
  fields: [
    field('tcp', 'protocol', 'TCP', (v) => present(tcp(v) !== undefined), { tshark: 'presence' }),
    field('tcp.srcport', 'uint', 'source port', (v) => one(tcp(v)?.srcPort), same),
    field('tcp.dstport', 'uint', 'destination port', (v) => one(tcp(v)?.dstPort), same),
    field('tcp.port', 'uint', 'source or destination port', (v) => {
      const t = tcp(v);
      return t ? [t.srcPort, t.dstPort] : [];
    }, same),
    field('tcp.stream', 'uint', 'TCP connection index, from 0 in order of appearance', (v) => one(v.tcpStream), same),
    field('tcp.seq_raw', 'uint', 'sequence number as sent', (v) => one(tcp(v)?.seq), same),
    field('tcp.ack_raw', 'uint', 'acknowledgment number as sent', (v) => one(tcp(v)?.ack), same),
    field('tcp.hdr_len', 'uint', 'header length (bytes)', (v) => one(tcp(v)?.headerLength), same),
    field('tcp.flags', 'uint', 'flag bits (FIN 0x001 … NS 0x100)', (v) => one(tcp(v)?.flags), hex(4)),
    field('tcp.flags.syn', 'bool', 'SYN flag', tcpFlag(0x02), same),
    field('tcp.flags.ack', 'bool', 'ACK flag', tcpFlag(0x10), same),
    field('tcp.flags.fin', 'bool', 'FIN flag', tcpFlag(0x01), same),
    field('tcp.flags.reset', 'bool', 'RST flag', tcpFlag(0x04), same),
    field('tcp.flags.push', 'bool', 'PSH flag', tcpFlag(0x08), same),
    field('tcp.window_size_value', 'uint', 'window as sent (before scaling)', (v) => one(tcp(v)?.window), same),
    field('tcp.len', 'uint', 'segment payload length (bytes)', (v) => {
      const p = v.frame.packet;
      const t = tcp(v);
      if (!t || !p.ip) return [];
      // what the headers claim, as tshark counts it, also when the capture cut the payload short
      if (p.ip.version === 4 && !p.ip.reassembledFrom) return [Math.max(0, p.ip.totalLength - p.ip.headerLength - t.headerLength)];
      return [p.payload?.length ?? 0];
    }, same),
  ],
};

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
    field('http', 'protocol', 'an HTTP message ends in this frame', (v) => httpMessages(v).map(() => true), { tshark: 'presence' }),
    field('http.request', 'bool', 'the message is a request', (v) => requests(v).map(() => true), same),
    field('http.response', 'bool', 'the message is a response', (v) => responses(v).map(() => true), same),
    field('http.request.method', 'string', 'request method', (v) => requests(v).flatMap((m) => one(m.method)), same),
    field('http.request.uri', 'string', 'request target as sent', (v) => requests(v).flatMap((m) => one(m.uri)), same),
    field('http.request.version', 'string', 'HTTP version of a request', (v) => requests(v).map((m) => m.version), same),
    field('http.response.version', 'string', 'HTTP version of a response', (v) => responses(v).map((m) => m.version), same),
    field('http.response.code', 'uint', 'status code', (v) => responses(v).flatMap((m) => one(m.status)), same),
    field('http.response.phrase', 'string', 'reason phrase', (v) => responses(v).flatMap((m) => one(m.reason)), same),
    field('http.host', 'string', 'Host header', header('host'), same),
    field('http.user_agent', 'string', 'User-Agent header', header('user-agent'), same),
    field('http.server', 'string', 'Server header', header('server'), same),
    field('http.content_type', 'string', 'Content-Type header', header('content-type'), same),
    field('http.content_length_header', 'string', 'Content-Length header as sent', header('content-length'), same),
    field('http.connection', 'string', 'Connection header', header('connection'), same),
    field('http.location', 'string', 'Location header', header('location'), same),
    field('http.authorization', 'string', 'Authorization header', header('authorization'), same),
    field('http.www_authenticate', 'string', 'WWW-Authenticate header', header('www-authenticate'), same),
    field('http.request_in', 'framenum', 'for a response: the frame that completed its request', (v) => responses(v).flatMap((m) => one(m.request?.lastFrame)), same),
    field('http.body_length', 'uint', 'body bytes after removing chunked coding', (v) => httpMessages(v).map((m) => m.bodyLength)),
    field('http.complete', 'bool', 'false when the message was cut (gap, end of stream)', (v) => httpMessages(v).map((m) => m.complete)),
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
      (v) => httpMessages(v).filter(hasDigest).flatMap((m) => one(m.verified))),
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
    field('mikey', 'protocol', 'a MIKEY message (UDP, or an application/mikey HTTP body)', (v) => analyses(v).map(() => true), { tshark: 'presence' }),
    field('mikey.hdr', 'none', 'common header', (v) => messages(v).map(() => true), same),
    field('mikey.version', 'uint', 'version (1)', hdr('version'), same),
    field('mikey.type', 'uint', 'data type (0 PSK init, 1 PSK verification, …)', hdr('dataType'), same),
    field('mikey.v.set', 'bool', 'V flag of the header: a verification message is requested', hdr('v'), same),
    field('mikey.prf_func', 'uint', 'PRF function', hdr('prf'), same),
    field('mikey.csb_id', 'uint', 'CSB ID', hdr('csbId'), hex(8)),
    field('mikey.cs_count', 'uint', 'number of crypto sessions', hdr('csCount'), same),
    field('mikey.cs_id_map_type', 'uint', 'CS ID map type', hdr('csIdMapType'), same),
    field('mikey.next_payload', 'uint', 'next payload codes, header first, in wire order', (v) =>
      messages(v).flatMap((m) => [m.header.nextPayload, ...m.payloads.filter((p) => p.type !== 4).map((p) => p.nextPayload)]), same),
    field('mikey.kemac', 'none', 'KEMAC payload', (v) => payloads(v, 1).map(() => true), same),
    field('mikey.kemac.encr_alg', 'uint', 'KEMAC encryption algorithm', (v) => payloads(v, 1).map((p) => p.encrAlg), same),
    field('mikey.kemac.key_data_len', 'uint', 'KEMAC encrypted key data length', (v) => payloads(v, 1).map((p) => p.encrData.length), same),
    field('mikey.kemac.mac_alg', 'uint', 'KEMAC MAC algorithm', (v) => payloads(v, 1).map((p) => p.macAlg), same),
    field('mikey.kemac.mac', 'bytes', 'KEMAC MAC', (v) => payloads(v, 1).filter((p) => p.mac.length > 0).map((p) => p.mac), same),
    field('mikey.t', 'none', 'timestamp payload', (v) => payloads(v, 5).map(() => true), same),
    field('mikey.t.ts_type', 'uint', 'timestamp type (0 NTP-UTC, 1 NTP, 2 COUNTER)', (v) => payloads(v, 5, 13).map((p) => p.tsType), same),
    field('mikey.id', 'none', 'ID payload', (v) => payloads(v, 6).map(() => true), same),
    field('mikey.idr', 'none', 'IDR payload', (v) => payloads(v, 14).map(() => true), same),
    field('mikey.id.role', 'uint', 'IDR role (1 initiator, 2 responder, …)', (v) => payloads(v, 6, 14).flatMap((p) => one(p.role)), same),
    field('mikey.id.type', 'uint', 'ID type (0 NAI, 1 URI, …)', (v) => payloads(v, 6, 14).map((p) => p.idType), same),
    field('mikey.id.len', 'uint', 'ID length', (v) => payloads(v, 6, 14).map((p) => p.data.length), same),
    field('mikey.v', 'none', 'verification (V) payload', (v) => payloads(v, 9).map(() => true), same),
    field('mikey.v.auth_alg', 'uint', 'verification MAC algorithm', (v) => payloads(v, 9).map((p) => p.authAlg), same),
    field('mikey.v.ver_data', 'bytes', 'verification MAC', (v) => payloads(v, 9).filter((p) => p.mac.length > 0).map((p) => p.mac), same),
    field('mikey.sp', 'none', 'security policy payload', (v) => payloads(v, 10).map(() => true), same),
    field('mikey.sp.no', 'uint', 'security policy number', (v) => payloads(v, 10).map((p) => p.policyNo), same),
    field('mikey.sp.proto_type', 'uint', 'security policy protocol type', (v) => payloads(v, 10).map((p) => p.protType), same),
    field('mikey.rand', 'none', 'RAND payload', (v) => payloads(v, 11).map(() => true), same),
    field('mikey.rand.len', 'uint', 'RAND length', (v) => payloads(v, 11, 15).map((p) => p.rand.length), same),
    field('mikey.rand.data', 'bytes', 'RAND', (v) => payloads(v, 11, 15).map((p) => p.rand), same),
    field('mikey.err', 'none', 'error payload', (v) => payloads(v, 12).map(() => true), same),
    field('mikey.err.no', 'uint', 'error number', (v) => payloads(v, 12).map((p) => p.errorNo), same),
    field('mikey.ext', 'none', 'general extension payload', (v) => payloads(v, 21).map(() => true), same),
    field('mikey.ext.type', 'uint', 'extension type (3 = Key ID, RFC 4563)', (v) => payloads(v, 21).map((p) => p.extType), same),
    field('mikey.ext.len', 'uint', 'extension data length', (v) => payloads(v, 21).map((p) => p.data.length), same),
    field('mikey.ext.data', 'bytes', 'extension data (not SDP IDs)', (v) => payloads(v, 21).filter((p) => p.extType !== 1).map((p) => p.data), same),
    // tshark 4.0 shows only the first key data sub-payload of a KEMAC; so does this field, to keep the same meaning
    field('mikey.key', 'none', 'first key data sub-payload of a KEMAC, when read in clear (NULL encryption)', (v) => payloads(v, 1).flatMap((p) => (p.keys ?? []).slice(0, 1)).map(() => true), same),
    field('mikey.counter', 'uint', 'replay counter (timestamp payload of type COUNTER)', (v) => payloads(v, 5, 13).filter((p) => p.type === 5).flatMap((p) => one(p.counter))),
    field('mikey.mbms.kind', 'string', 'MBMS message kind: msk-delivery, mtk-delivery, verification, solicited-pull-trigger, error, other', (v) => mbms(v).map((i) => i.kind)),
    field('mikey.mbms.id_encoding', 'string', 'MBMS identifier encoding: published, seed (draft), none', (v) => mbms(v).map((i) => i.idEncoding)),
    field('mikey.mbms.key_domain', 'string', 'Key Domain ID as MCC-MNC (e.g. 001-01)', (v) => mbms(v).flatMap((i) => one(i.keyDomain))),
    field('mikey.mbms.key_domain_id', 'bytes', 'Key Domain ID bytes', (v) => mbms(v).flatMap((i) => (i.keyDomainId !== undefined ? [Buffer.from(i.keyDomainId, 'hex')] : []))),
    field('mikey.mbms.msk_id', 'uint', 'MSK ID (Key Group << 16 | Key Number)', (v) => mbms(v).flatMap((i) => one(i.mskId)), { base: 'hex', hexDigits: 8 }),
    field('mikey.mbms.key_group', 'uint', 'MSK Key Group', (v) => mbms(v).flatMap((i) => one(i.keyGroup)), { base: 'hex', hexDigits: 4 }),
    field('mikey.mbms.key_number', 'uint', 'MSK Key Number', (v) => mbms(v).flatMap((i) => one(i.keyNumber)), { base: 'hex', hexDigits: 4 }),
    field('mikey.mbms.mtk_id', 'uint', 'MTK ID', (v) => mbms(v).flatMap((i) => one(i.mtkId))),
    field('mikey.mbms.idi', 'string', "initiator's identity (BM-SC)", (v) => mbms(v).flatMap((i) => one(i.idi))),
    field('mikey.mbms.idr', 'string', "responder's identity (the UE's B-TID)", (v) => mbms(v).flatMap((i) => one(i.idr))),
    field('mikey.verified', 'bool', 'MAC checked with a known key: true = valid, false = invalid (absent: no key)', (v) => analyses(v).flatMap((a) => one(a.verified))),
    field('mikey.verified_with', 'string', 'which key verified the MAC: muk, previous-muk, msk, delivery-keys', (v) => analyses(v).flatMap((a) => one(a.verifiedWith))),
    field('mikey.answers_frame', 'framenum', 'for a verification message (ACK): the frame of the delivery it answers', (v) => analyses(v).flatMap((a) => one(a.answersFrame))),
    field('mikey.carrier', 'string', 'how the message came: udp, or http (an application/mikey body)', (v) => (v.frame.mikey ?? []).map((m) => m.carrier)),
  ],
};

// ---- keyscope -------------------------------------------------------------------------------------------------------

const keyscopeLayer: FieldLayer = {
  name: 'keyscope',
  title: 'keyscope expert info (the problems of the frame, docs/problem-codes.md)',
  fields: [
    field('keyscope.problem', 'string', 'problem code, one per problem of the frame (e.g. mikey-mac-invalid)', (v) => v.frame.problems.map((p) => p.code)),
    field('keyscope.problem.severity', 'string', 'problem severity: error, warning, note, chat', (v) => v.frame.problems.map((p) => p.severity)),
    field('keyscope.problem.layer', 'string', 'layer that found the problem (ipv4, tcp, http, mikey, …)', (v) => v.frame.problems.map((p) => p.layer)),
    field('keyscope.problem.message', 'string', 'problem text', (v) => v.frame.problems.map((p) => p.message)),
  ],
};

export const FIELD_LAYERS: readonly FieldLayer[] = [frameLayer, ethLayer, ipLayer, ipv6Layer, udpLayer, tcpLayer, httpLayer, digestLayer, mikeyLayer, keyscopeLayer];

const BY_NAME: ReadonlyMap<string, FieldDef> = new Map(FIELD_LAYERS.flatMap((l) => l.fields.map((f) => [f.name, f] as const)));

export function lookupField(name: string): FieldDef | undefined {
  return BY_NAME.get(name);
}

export function allFields(): FieldDef[] {
  return FIELD_LAYERS.flatMap((l) => l.fields);
}

export type { DissectedFrame };
