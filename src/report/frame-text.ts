/**
 * One line per frame, shaped like tshark's default output: number, relative time, source, destination,
 * protocol, length, info. Everything taken from packets is escaped by the dissectors that produce the info text.
 */
import type { PacketTime } from '../common/time';
import type { DissectedFrame } from '../protocols/records';
import { httpInfoLine } from '../protocols/http/output';
import { mikeyInfoLine } from '../protocols/mikey/output';

const TCP_FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [0x02, 'SYN'], [0x01, 'FIN'], [0x04, 'RST'], [0x08, 'PSH'], [0x10, 'ACK'], [0x20, 'URG'], [0x40, 'ECE'], [0x80, 'CWR'], [0x100, 'NS'],
];

export function tcpFlagNames(flags: number): string {
  const names: string[] = [];
  for (const [bit, name] of TCP_FLAG_NAMES) if (flags & bit) names.push(name);
  return names.join(', ') || '<None>';
}

export function relativeSeconds(first: PacketTime, t: PacketTime): string {
  let sec = t.tsSec - first.tsSec;
  let nsec = t.tsNsec - first.tsNsec;
  if (nsec < 0) {
    nsec += 1e9;
    sec -= 1;
  }
  const sign = sec < 0 ? '-' : '';
  if (sec < 0) {
    // negative relative time: time went backwards in the capture
    const total = -(sec * 1e9 + nsec);
    sec = Math.floor(total / 1e9);
    nsec = total - sec * 1e9;
  }
  return `${sign}${sec}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}`;
}

export function frameAddresses(f: DissectedFrame): { src: string; dst: string } {
  const p = f.packet;
  if (p.ip) return { src: p.ip.src, dst: p.ip.dst };
  if (p.link.srcMac && p.link.dstMac) return { src: p.link.srcMac, dst: p.link.dstMac };
  return { src: '', dst: '' };
}

/** The highest protocol found in the frame, for the Protocol column. */
export function frameProtocol(f: DissectedFrame): string {
  if (f.mikey) return 'MIKEY';
  if (f.http && f.http.length > 0) return 'HTTP';
  const p = f.packet;
  if (p.transport) return p.transport.kind === 'udp' ? 'UDP' : 'TCP';
  if (p.ip?.fragment) return p.ip.version === 4 ? 'IPv4' : 'IPv6';
  if (p.ip) return p.ip.version === 4 ? 'IPv4' : 'IPv6';
  return p.protocolName ?? p.link.name.toUpperCase();
}

/** TCP sequence and acknowledgment numbers to show: relative ones (as tshark) when the caller tracked them. */
export interface SeqAck {
  tcpSeq?: number;
  tcpAck?: number;
}

function transportInfo(f: DissectedFrame, rel: SeqAck = {}): string {
  const p = f.packet;
  const t = p.transport;
  if (!t) {
    if (p.ip?.fragment) return `Fragmented IP protocol (proto=${p.ip.protocol}, off=${p.ip.fragment.offset}, ID=${p.ip.fragment.id.toString(16).padStart(4, '0')})`;
    if (p.ip) return `IP protocol ${p.ip.protocol}`;
    return p.protocolName ?? '';
  }
  const len = p.payload ? p.payload.length : 0;
  if (t.kind === 'udp') return `${t.srcPort} → ${t.dstPort} Len=${Math.max(0, t.length - 8)}`;
  return `${t.srcPort} → ${t.dstPort} [${tcpFlagNames(t.flags)}] Seq=${rel.tcpSeq ?? t.seq} Ack=${rel.tcpAck ?? t.ack} Win=${t.window} Len=${len}`;
}

export function frameInfo(f: DissectedFrame, rel?: SeqAck): string {
  const parts: string[] = [];
  if (f.http) for (const h of f.http) parts.push(httpInfoLine(h.message));
  if (f.mikey) for (const m of f.mikey) parts.push(mikeyInfoLine(m.analysis));
  if (parts.length === 0) parts.push(transportInfo(f, rel));
  let info = parts.join(', ');
  if (f.packet.tunnel) info = `[GTP-U TEID 0x${f.packet.tunnel.teid.toString(16).padStart(8, '0')}] ` + info;
  if (f.problems.some((p) => p.severity === 'error')) info += ' [Malformed]';
  return info;
}

export function frameLine(f: DissectedFrame, first: PacketTime, rel?: SeqAck): string {
  const { src, dst } = frameAddresses(f);
  return (
    String(f.packet.frame).padStart(5) +
    ' ' +
    relativeSeconds(first, f.packet).padStart(11) +
    ' ' +
    src.padStart(12) +
    ' → ' +
    dst.padEnd(12) +
    ' ' +
    frameProtocol(f) +
    ' ' +
    f.packet.length +
    ' ' +
    frameInfo(f, rel)
  );
}
