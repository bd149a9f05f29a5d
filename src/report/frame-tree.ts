/** `dissect -V`: a protocol tree per frame, shaped like `tshark -V`. */
import { formatEpoch } from '../common/time';
import { escapeText } from '../common/escape';
import type { DissectedFrame } from '../protocols/records';
import { httpTree } from '../protocols/http/output';
import { mikeyTree } from '../protocols/mikey/output';
import { tcpFlagNames } from './frame-text';

const LINK_NAMES: Readonly<Record<string, string>> = {
  eth: 'Ethernet II',
  sll: 'Linux cooked capture v1',
  sll2: 'Linux cooked capture v2',
  null: 'Null/Loopback',
  raw: 'Raw packet data',
};

export function frameTree(f: DissectedFrame): string[] {
  const p = f.packet;
  const out: string[] = [];
  out.push(`Frame ${p.frame}: ${p.length} bytes on wire, ${p.capturedLength} bytes captured`);
  out.push(`    Arrival Time (epoch): ${formatEpoch(p)}`);
  for (const c of f.comments ?? []) out.push(`    Comment: ${escapeText(c)}`);
  const l = p.link;
  let linkLine = LINK_NAMES[l.name] ?? `Link type ${l.linkType}`;
  if (l.srcMac) linkLine += `, Src: ${l.srcMac}, Dst: ${l.dstMac}`;
  out.push(linkLine);
  for (const v of l.vlans ?? []) out.push(`    802.1Q Virtual LAN, ID: ${v & 0xfff}, PRI: ${v >> 13}`);
  if (l.etherType !== undefined) out.push(`    Type: 0x${l.etherType.toString(16).padStart(4, '0')}`);
  if (p.tunnel) {
    const t = p.tunnel;
    out.push(`GTP-U tunnel: ${t.outerSrc}:${t.outerSrcPort} → ${t.outerDst}:${t.outerDstPort}, TEID 0x${t.teid.toString(16).padStart(8, '0')}, message type ${t.messageType}`);
  }
  if (p.ip) {
    const ip = p.ip;
    out.push(`Internet Protocol Version ${ip.version}, Src: ${ip.src}, Dst: ${ip.dst}`);
    out.push(`    Header Length: ${ip.headerLength}, Total Length: ${ip.totalLength}, TTL/Hop Limit: ${ip.ttl}, Protocol: ${ip.protocol}`);
    if (ip.fragment) out.push(`    Fragment: id 0x${ip.fragment.id.toString(16)}, offset ${ip.fragment.offset}, more fragments ${ip.fragment.moreFragments}`);
    if (ip.reassembledFrom) out.push(`    Reassembled from frames: ${ip.reassembledFrom.join(', ')}`);
  }
  const t = p.transport;
  if (t?.kind === 'udp') {
    out.push(`User Datagram Protocol, Src Port: ${t.srcPort}, Dst Port: ${t.dstPort}`);
    out.push(`    Length: ${t.length}, Payload: ${p.payload?.length ?? 0} bytes`);
  } else if (t?.kind === 'tcp') {
    out.push(`Transmission Control Protocol, Src Port: ${t.srcPort}, Dst Port: ${t.dstPort}, Seq: ${t.seq}, Ack: ${t.ack}, Len: ${p.payload?.length ?? 0}`);
    out.push(`    Flags: 0x${t.flags.toString(16).padStart(3, '0')} (${tcpFlagNames(t.flags)}), Window: ${t.window}, Header Length: ${t.headerLength}`);
  }
  for (const h of f.http ?? []) out.push(...httpTree(h.message));
  for (const m of f.mikey ?? []) out.push(...mikeyTree(m.analysis));
  if (f.problems.length > 0) {
    out.push('Expert Info:');
    for (const pr of f.problems) {
      const at = pr.offset !== undefined ? ` @${pr.offset}` : '';
      out.push(`    [${pr.severity}] ${pr.layer}/${pr.code}${at}: ${pr.message}`);
    }
  }
  return out;
}
