/** Test helpers for the TCP reassembler: a recording handler and a builder for DecodedPacket records. */
import type { Problem } from '../../src/common/problem';
import type { PacketTime } from '../../src/common/time';
import type { DecodedPacket, TunnelInfo } from '../../src/decode/types';
import type {
  StreamChunk,
  StreamDirection,
  StreamGap,
  TcpCloseReason,
  TcpConnectionInfo,
  TcpStreamHandler,
} from '../../src/reassembly/types';

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

export type Event =
  | { kind: 'open'; conn: number }
  | { kind: 'data'; conn: number; dir: StreamDirection; offset: number; text: string; frame: number; frames: number[] }
  | { kind: 'gap'; conn: number; dir: StreamDirection; offset: number; length: number; frame: number }
  | { kind: 'end'; conn: number; dir: StreamDirection; reason: TcpCloseReason; time: PacketTime }
  | { kind: 'problem'; conn: number; frame: number; problem: Problem };

/** Records every callback; streams are kept as copies (chunk data is only valid during the callback). */
export class Recorder implements TcpStreamHandler {
  readonly events: Event[] = [];
  readonly conns = new Map<number, TcpConnectionInfo>();
  private readonly bytes = new Map<string, Buffer[]>();
  readonly chunks: StreamChunk[] = [];

  open(conn: TcpConnectionInfo): void {
    this.conns.set(conn.id, conn);
    this.events.push({ kind: 'open', conn: conn.id });
  }
  data(conn: TcpConnectionInfo, dir: StreamDirection, chunk: StreamChunk): void {
    const k = `${conn.id}/${dir}`;
    const list = this.bytes.get(k) ?? [];
    list.push(Buffer.from(chunk.data));
    this.bytes.set(k, list);
    this.chunks.push(chunk);
    this.events.push({
      kind: 'data',
      conn: conn.id,
      dir,
      offset: chunk.streamOffset,
      text: chunk.data.toString('latin1'),
      frame: chunk.frame,
      frames: chunk.frames,
    });
  }
  gap(conn: TcpConnectionInfo, dir: StreamDirection, gap: StreamGap): void {
    this.events.push({ kind: 'gap', conn: conn.id, dir, offset: gap.streamOffset, length: gap.length, frame: gap.frame });
  }
  end(conn: TcpConnectionInfo, dir: StreamDirection, reason: TcpCloseReason, time: PacketTime): void {
    this.events.push({ kind: 'end', conn: conn.id, dir, reason, time });
  }
  problem(conn: TcpConnectionInfo, frame: number, p: Problem): void {
    this.events.push({ kind: 'problem', conn: conn.id, frame, problem: p });
  }

  stream(conn: number, dir: StreamDirection): Buffer {
    return Buffer.concat(this.bytes.get(`${conn}/${dir}`) ?? []);
  }
  text(conn: number, dir: StreamDirection): string {
    return this.stream(conn, dir).toString('latin1');
  }
  of<K extends Event['kind']>(kind: K): Extract<Event, { kind: K }>[] {
    return this.events.filter((e): e is Extract<Event, { kind: K }> => e.kind === kind);
  }
  problemCodes(): string[] {
    return this.of('problem').map((e) => e.problem.code);
  }
}

export interface Endpoint {
  addr: string;
  port: number;
}

export interface SegmentSpec {
  seq: number;
  ack?: number;
  flags?: number;
  data?: string | Buffer;
  tunnel?: TunnelInfo;
  /** Packet time in seconds (default: frame number / 1000). */
  time?: number;
}

/** Builds DecodedPacket records for one 4-tuple with running frame numbers. */
export class PacketMaker {
  frame = 0;

  constructor(
    readonly client: Endpoint = { addr: '10.0.0.1', port: 40000 },
    readonly server: Endpoint = { addr: '10.0.0.2', port: 80 },
  ) {}

  /** A segment from the client (c) or the server (s). */
  c(spec: SegmentSpec): DecodedPacket {
    return this.make(this.client, this.server, spec);
  }
  s(spec: SegmentSpec): DecodedPacket {
    return this.make(this.server, this.client, spec);
  }

  make(from: Endpoint, to: Endpoint, spec: SegmentSpec): DecodedPacket {
    const frame = ++this.frame;
    const payload = spec.data === undefined ? undefined : typeof spec.data === 'string' ? Buffer.from(spec.data, 'latin1') : spec.data;
    const time = spec.time ?? frame / 1000;
    const tsSec = Math.floor(time);
    const headerLen = 20;
    const p: DecodedPacket = {
      frame,
      tsSec,
      tsNsec: Math.round((time - tsSec) * 1e9),
      length: 54 + (payload?.length ?? 0),
      capturedLength: 54 + (payload?.length ?? 0),
      link: { linkType: 1, name: 'eth', etherType: 0x0800 },
      ip: { version: 4, src: from.addr, dst: to.addr, protocol: 6, ttl: 64, totalLength: 40 + (payload?.length ?? 0), headerLength: 20 },
      transport: {
        kind: 'tcp',
        srcPort: from.port,
        dstPort: to.port,
        seq: spec.seq >>> 0,
        ack: (spec.ack ?? 0) >>> 0,
        flags: spec.flags ?? (ACK | (payload !== undefined ? PSH : 0)),
        window: 65535,
        headerLength: headerLen,
      },
      problems: [],
    };
    if (payload !== undefined) p.payload = payload;
    if (spec.tunnel !== undefined) p.tunnel = spec.tunnel;
    return p;
  }
}

/** Deterministic PRNG (mulberry32) for shuffles. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], random: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
