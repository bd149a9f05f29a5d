/** Builders for hand-made packets used by the decode, reassembly and pipeline tests. Not a test file itself. */
import type { CaptureFrame } from '../../src/capture/types';

export function ipv4Bytes(a: string): Buffer {
  return Buffer.from(a.split('.').map((x) => Number(x)));
}

export function ipv6Bytes(a: string): Buffer {
  const out = Buffer.alloc(16);
  let tail: string[] = [];
  let head: string[];
  const dbl = a.indexOf('::');
  if (dbl >= 0) {
    head = a.slice(0, dbl) ? a.slice(0, dbl).split(':') : [];
    tail = a.slice(dbl + 2) ? a.slice(dbl + 2).split(':') : [];
  } else head = a.split(':');
  const words = (parts: string[]): number[] => {
    const w: number[] = [];
    for (const p of parts) {
      if (p.includes('.')) {
        const b = ipv4Bytes(p);
        w.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
      } else w.push(parseInt(p, 16));
    }
    return w;
  };
  const h = words(head);
  const t = words(tail);
  h.forEach((w, i) => out.writeUInt16BE(w, 2 * i));
  t.forEach((w, i) => out.writeUInt16BE(w, 2 * (8 - t.length + i)));
  return out;
}

export function macBytes(m: string): Buffer {
  return Buffer.from(m.split(':').map((x) => parseInt(x, 16)));
}

export function ethernet(type: number, payload: Buffer, opts: { dst?: string; src?: string; tags?: Array<[number, number]> } = {}): Buffer {
  const parts: Buffer[] = [macBytes(opts.dst ?? '00:11:22:33:44:55'), macBytes(opts.src ?? '66:77:88:99:aa:bb')];
  for (const [tpid, vid] of opts.tags ?? []) {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(tpid, 0);
    t.writeUInt16BE(vid, 2);
    parts.push(t);
  }
  const ty = Buffer.alloc(2);
  ty.writeUInt16BE(type, 0);
  parts.push(ty, payload);
  return Buffer.concat(parts);
}

function checksum16(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length & 1) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Ipv4Opts {
  src?: string;
  dst?: string;
  protocol?: number;
  id?: number;
  /** Fragment offset in bytes (multiple of 8). */
  fragOffset?: number;
  mf?: boolean;
  df?: boolean;
  ttl?: number;
  tos?: number;
  options?: Buffer;
  totalLength?: number;
  ihl?: number;
}

export function ipv4(o: Ipv4Opts, payload: Buffer): Buffer {
  const opt = o.options ?? Buffer.alloc(0);
  const hl = 20 + opt.length;
  const h = Buffer.alloc(hl);
  h[0] = 0x40 | (o.ihl ?? hl / 4);
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(o.totalLength ?? hl + payload.length, 2);
  h.writeUInt16BE(o.id ?? 0x1234, 4);
  h.writeUInt16BE(((o.fragOffset ?? 0) / 8) | (o.mf ? 0x2000 : 0) | (o.df ? 0x4000 : 0), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.protocol ?? 17;
  ipv4Bytes(o.src ?? '192.0.2.1').copy(h, 12);
  ipv4Bytes(o.dst ?? '198.51.100.2').copy(h, 16);
  opt.copy(h, 20);
  h.writeUInt16BE(checksum16(h), 10);
  return Buffer.concat([h, payload]);
}

export interface Ipv6Opts {
  src?: string;
  dst?: string;
  nextHeader?: number;
  hopLimit?: number;
  payloadLength?: number;
  trafficClass?: number;
}

export function ipv6(o: Ipv6Opts, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE((0x6 << 28) | ((o.trafficClass ?? 0) << 20), 0);
  h.writeUInt16BE(o.payloadLength ?? payload.length, 4);
  h[6] = o.nextHeader ?? 17;
  h[7] = o.hopLimit ?? 64;
  ipv6Bytes(o.src ?? '2001:db8::1').copy(h, 8);
  ipv6Bytes(o.dst ?? '2001:db8::2').copy(h, 24);
  return Buffer.concat([h, payload]);
}

/** A generic IPv6 extension header (hop-by-hop, routing, destination options) of 8 * (1 + extraUnits) bytes. */
export function ipv6Ext(next: number, extraUnits = 0): Buffer {
  const b = Buffer.alloc(8 * (1 + extraUnits));
  b[0] = next;
  b[1] = extraUnits;
  if (extraUnits === 0) {
    b[2] = 1; // PadN option filling the rest
    b[3] = 4;
  }
  return b;
}

export function ipv6Frag(next: number, offset: number, more: boolean, id: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = next;
  b.writeUInt16BE(offset | (more ? 1 : 0), 2);
  b.writeUInt32BE(id >>> 0, 4);
  return b;
}

export function udp(sport: number, dport: number, payload: Buffer, length?: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(length ?? 8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

export interface TcpOpts {
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  options?: Buffer;
  dataOffset?: number;
}

export function tcp(o: TcpOpts, payload: Buffer): Buffer {
  const opt = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + opt.length);
  h.writeUInt16BE(o.sport ?? 40000, 0);
  h.writeUInt16BE(o.dport ?? 80, 2);
  h.writeUInt32BE((o.seq ?? 1000) >>> 0, 4);
  h.writeUInt32BE((o.ack ?? 0) >>> 0, 8);
  h[12] = (o.dataOffset ?? h.length / 4) << 4;
  h[13] = o.flags ?? 0x18;
  h.writeUInt16BE(o.window ?? 65535, 14);
  opt.copy(h, 20);
  return Buffer.concat([h, payload]);
}

export interface GtpOpts {
  teid?: number;
  type?: number;
  seq?: number;
  npdu?: number;
  /** Extension headers as [type, content] where content is 4n-2 bytes (length byte and next type are added). */
  exts?: Array<[number, Buffer]>;
  length?: number;
  flags?: number;
}

export function gtpu(o: GtpOpts, payload: Buffer): Buffer {
  const exts = o.exts ?? [];
  const hasOpt = o.seq !== undefined || o.npdu !== undefined || exts.length > 0;
  const parts: Buffer[] = [];
  const h = Buffer.alloc(8);
  h[0] = o.flags ?? 0x30 | (exts.length > 0 ? 4 : 0) | (o.seq !== undefined ? 2 : 0) | (o.npdu !== undefined ? 1 : 0);
  h[1] = o.type ?? 255;
  h.writeUInt32BE((o.teid ?? 0x11223344) >>> 0, 4);
  parts.push(h);
  if (hasOpt) {
    const opt = Buffer.alloc(4);
    opt.writeUInt16BE(o.seq ?? 0, 0);
    opt[2] = o.npdu ?? 0;
    opt[3] = exts.length > 0 ? exts[0][0] : 0;
    parts.push(opt);
    exts.forEach(([, content], i) => {
      const e = Buffer.alloc(content.length + 2);
      e[0] = e.length / 4;
      content.copy(e, 1);
      e[e.length - 1] = i + 1 < exts.length ? exts[i + 1][0] : 0;
      parts.push(e);
    });
  }
  parts.push(payload);
  const all = Buffer.concat(parts);
  all.writeUInt16BE(o.length ?? all.length - 8, 2);
  return all;
}

export function frame(data: Buffer, opts: { linkType?: number; number?: number; tsSec?: number; tsNsec?: number; originalLength?: number } = {}): CaptureFrame {
  return {
    number: opts.number ?? 1,
    linkType: opts.linkType ?? 1,
    interfaceId: 0,
    tsSec: opts.tsSec ?? 1700000000,
    tsNsec: opts.tsNsec ?? 0,
    capturedLength: data.length,
    originalLength: opts.originalLength ?? data.length,
    data,
    problems: [],
  };
}
