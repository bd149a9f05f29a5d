/** `dissect --json`: one NDJSON object per frame. Names are part of the public interface (issue 2–4). */
import { toEpochSeconds } from '../common/time';
import type { Problem } from '../common/problem';
import type { DissectedFrame } from '../protocols/records';
import { httpToJson } from '../protocols/http/output';
import { mikeyToJson } from '../protocols/mikey/output';
import { frameAddresses } from './frame-text';

function problemJson(p: Problem): Record<string, unknown> {
  const o: Record<string, unknown> = { code: p.code, severity: p.severity, layer: p.layer, message: p.message };
  if (p.offset !== undefined) o.offset = p.offset;
  if (p.length !== undefined) o.length = p.length;
  return o;
}

export function frameJson(f: DissectedFrame): Record<string, unknown> {
  const p = f.packet;
  const { src, dst } = frameAddresses(f);
  const o: Record<string, unknown> = {
    frame: p.frame,
    ts: toEpochSeconds(p),
    linkType: p.link.linkType,
    src: src || null,
    dst: dst || null,
    srcPort: p.transport ? p.transport.srcPort : null,
    dstPort: p.transport ? p.transport.dstPort : null,
    transport: p.transport ? p.transport.kind : null,
    length: p.length,
    capturedLength: p.capturedLength,
  };
  if (p.link.vlans) o.vlans = p.link.vlans;
  if (p.ip) {
    const ip: Record<string, unknown> = { version: p.ip.version, protocol: p.ip.protocol, ttl: p.ip.ttl };
    if (p.ip.fragment) ip.fragment = p.ip.fragment;
    if (p.ip.reassembledFrom) ip.reassembledFrom = p.ip.reassembledFrom;
    o.ip = ip;
  }
  if (p.transport?.kind === 'tcp') {
    const t = p.transport;
    o.tcp = { seq: t.seq, ack: t.ack, flags: t.flags, window: t.window, payloadLength: p.payload ? p.payload.length : 0 };
  } else if (p.transport?.kind === 'udp') {
    o.udp = { length: p.transport.length, payloadLength: p.payload ? p.payload.length : 0 };
  }
  if (p.tunnel) {
    // the outer headers are objects of their own (the registry's outer ip.*/udp.* fields read them), not part of the JSON
    const { outerIp: _ip, outerUdp: _udp, flags: _flags, length: _length, ...tunnel } = p.tunnel;
    o.tunnel = tunnel;
  }
  if (p.protocolName && !p.transport) o.protocol = p.protocolName;
  if (f.comments) o.comments = f.comments;
  if (f.http) o.http = f.http.length === 1 ? httpToJson(f.http[0].message) : f.http.map((h) => httpToJson(h.message));
  if (f.mikey) {
    const views = f.mikey.map((m) => ({ carrier: m.carrier, ...mikeyToJson(m.analysis) }));
    o.mikey = views.length === 1 ? views[0] : views;
  }
  o.problems = f.problems.map(problemJson);
  return o;
}
