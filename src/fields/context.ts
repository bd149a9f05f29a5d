/**
 * What some fields need from the frames before the current one: tcp.stream / udp.stream (conversation indexes in order of
 * appearance, as tshark numbers them) and frame.time_relative (from the first frame of the capture). Every dissected frame
 * must be observed in capture order, also those a display filter will hide, as tshark's two passes see every frame.
 */
import type { DissectedFrame } from '../pipeline/dissector';
import { OldestKeys } from '../common/oldest-key';
import { pipelineBudgetFromMemory } from '../pipeline/memory-budget';
import { secondsText } from './registry';
import type { FrameView } from './types';

/**
 * Conversations remembered at most, TCP and UDP each (default: the default memory budget's, src/pipeline/memory-budget.ts
 * maxConversations); past it the least recently seen is forgotten and gets a new index if seen again.
 */
export const DEFAULT_MAX_CONVERSATIONS = pipelineBudgetFromMemory().maxConversations;

interface TcpConversation {
  index: number;
  /** Sequence number of the SYN that opened it: a SYN with another one on the same ports is a new connection. */
  synSeq?: number;
  /** Initial sequence number of each direction: [from the lower endpoint, from the higher] (tshark's base_seq). */
  base: [number | undefined, number | undefined];
}

export class FieldContext {
  private first: { tsSec: number; tsNsec: number } | undefined;
  private readonly tcp = new Map<string, TcpConversation>();
  private readonly udp = new Map<string, number>();
  private readonly oldestTcp = new OldestKeys(this.tcp);
  private readonly oldestUdp = new OldestKeys(this.udp);
  private nextTcp = 0;
  private nextUdp = 0;

  constructor(private readonly maxConversations = DEFAULT_MAX_CONVERSATIONS) {}

  /** The view of `f` that field extractors read. Call once per frame, in capture order. */
  observe(f: DissectedFrame): FrameView {
    const p = f.packet;
    this.first ??= { tsSec: p.tsSec, tsNsec: p.tsNsec };
    let sec = p.tsSec - this.first.tsSec;
    let nsec = p.tsNsec - this.first.tsNsec;
    if (nsec < 0 && sec > 0) {
      nsec += 1_000_000_000;
      sec -= 1;
    }
    const view: FrameView = { frame: f, relativeTime: secondsText(sec, nsec) };
    const tun = p.tunnel;
    // tshark numbers the outer datagram's conversation first
    if (tun?.outerIp !== undefined && tun.outerUdp !== undefined && tun.outerIp !== p.ip) {
      view.outerUdpStream = this.udpIndex(tun.outerIp.src, tun.outerUdp.srcPort, tun.outerIp.dst, tun.outerUdp.dstPort);
    }
    const t = p.transport;
    if (t && p.ip) {
      const a = `${p.ip.src}|${t.srcPort}`;
      const b = `${p.ip.dst}|${t.dstPort}`;
      const key = a < b ? `${a}|${b}` : `${b}|${a}`;
      if (t.kind === 'tcp') {
        const c = this.tcpConversation(key, t.flags, t.seq);
        view.tcpStream = c.index;
        this.relative(view, c, a < b ? 0 : 1, t.flags, t.seq, t.ack);
      } else {
        view.udpStream = this.udpIndex(p.ip.src, t.srcPort, p.ip.dst, t.dstPort);
      }
    }
    return view;
  }

  /**
   * tcp.seq / tcp.ack as tshark computes them: each direction's base is the sequence number of its SYN, or one less than
   * the first sequence number seen without a SYN; an ACK seen before the other direction's first segment sets that base
   * to one less than the acknowledged number.
   */
  private relative(view: FrameView, c: TcpConversation, dir: 0 | 1, flags: number, seq: number, ack: number): void {
    const SYN = 0x02;
    const ACK = 0x10;
    const other = dir === 0 ? 1 : 0;
    let base = c.base[dir];
    if (base === undefined) {
      base = (flags & SYN ? seq : seq - 1) >>> 0;
      c.base[dir] = base;
    }
    if (flags & ACK && c.base[other] === undefined) c.base[other] = (ack - 1) >>> 0;
    view.tcpSeq = (seq - base) >>> 0;
    const back = c.base[other];
    view.tcpAck = flags & ACK && back !== undefined ? (ack - back) >>> 0 : ack;
  }

  private tcpConversation(key: string, flags: number, seq: number): TcpConversation {
    const SYN = 0x02;
    const ACK = 0x10;
    let c = this.tcp.get(key);
    const opening = (flags & (SYN | ACK)) === SYN;
    if (c === undefined || (opening && c.synSeq !== undefined && c.synSeq !== seq)) {
      c = { index: this.nextTcp++, base: [undefined, undefined] };
      this.remember(this.tcp, key, c);
    } else this.touch(this.tcp, key, c);
    if (opening) c.synSeq = seq;
    return c;
  }

  private udpIndex(src: string, srcPort: number, dst: string, dstPort: number): number {
    const a = `${src}|${srcPort}`;
    const b = `${dst}|${dstPort}`;
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    let i = this.udp.get(key);
    if (i === undefined) {
      i = this.nextUdp++;
      this.remember(this.udp, key, i);
    } else this.touch(this.udp, key, i);
    return i;
  }

  /** A conversation seen again becomes the most recently seen (the least recently seen is forgotten first). */
  private touch<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    (map === this.tcp ? this.oldestTcp : this.oldestUdp).trim(this.maxConversations);
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    (map === this.tcp ? this.oldestTcp : this.oldestUdp).trim(this.maxConversations);
  }
}
