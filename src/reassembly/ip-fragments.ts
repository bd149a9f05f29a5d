import type { Problem } from '../common/problem';
import { reassemblyProblem, type IncompleteDatagramCode } from './problems';
import { diffSeconds, type PacketTime } from '../common/time';
import type { IpLayerInfo } from '../decode/types';

export interface IpFragmentOptions {
  /** Seconds of packet time after a datagram's first fragment before it is given up (default 30, like Linux). */
  timeoutSeconds?: number;
  /** Datagrams being reassembled at once; the oldest is given up to make room (default 1024). */
  maxPendingDatagrams?: number;
  /** Fragment bytes held over all pending datagrams; oldest datagrams are given up to stay under it (default 16 MiB). */
  maxBufferedBytes?: number;
  /** Largest reassembled payload accepted (default 65535, the IP length field's limit). */
  maxDatagramBytes?: number;
  /** Distinct pieces held per datagram (default 1024): tiny hostile fragments must not make each insert slow. */
  maxFragmentsPerDatagram?: number;
}

/** One fragment as the decoder hands it over. `data` may be a view into a reused buffer: it is copied when kept. */
export interface IpFragment {
  version: 4 | 6;
  src: string;
  dst: string;
  /** IPv4 protocol, or the IPv6 Fragment header's next header. */
  protocol: number;
  id: number;
  /** Byte offset of `data` within the original datagram's fragmentable part. */
  offset: number;
  moreFragments: boolean;
  data: Buffer;
  frame: number;
  time: PacketTime;
  /** The fragment's own IP record: the first fragment's becomes the reassembled datagram's header. */
  header: IpLayerInfo;
  /** Where `data` starts in the frame, for problem offsets. */
  dataOffset?: number;
}

export interface ReassembledDatagram {
  /** The first fragment's header, `fragment` cleared, lengths of the whole datagram, `reassembledFrom` set. */
  ip: IpLayerInfo;
  /** The reassembled payload (what follows the IP header, or the IPv6 Fragment header). A fresh buffer. */
  payload: Buffer;
  /** Frames that contributed bytes, in datagram-offset order. */
  frames: number[];
}

export type IncompleteReason = 'timeout' | 'evicted' | 'end-of-capture';

/** A datagram given up before all its fragments arrived. */
export interface IncompleteDatagram {
  version: 4 | 6;
  src: string;
  dst: string;
  protocol: number;
  id: number;
  /** Packet time of the first fragment seen. */
  firstSeen: PacketTime;
  /** Frames whose bytes were held, in arrival order. */
  frames: number[];
  receivedBytes: number;
  /** Payload length, once the last fragment (MF = 0) was seen. */
  expectedLength?: number;
  reason: IncompleteReason;
  problem: Problem;
}

interface Piece {
  offset: number;
  data: Buffer;
  frame: number;
}

interface Pending {
  key: string;
  version: 4 | 6;
  src: string;
  dst: string;
  protocol: number;
  id: number;
  firstSeen: PacketTime;
  /** Sorted by offset, never overlapping. */
  pieces: Piece[];
  bytes: number;
  /** Payload length from the fragment without MF; -1 until it arrives. */
  totalLength: number;
  header: IpLayerInfo | undefined;
  frames: number[];
}

function layerOf(v: 4 | 6): 'ipv4' | 'ipv6' {
  return v === 4 ? 'ipv4' : 'ipv6';
}

function describe(p: { version: 4 | 6; src: string; dst: string; protocol: number; id: number }): string {
  return `IPv${p.version} datagram ${p.src} -> ${p.dst} id 0x${p.id.toString(16)} protocol ${p.protocol}`;
}

/**
 * IPv4/IPv6 fragment reassembly keyed by (version, src, dst, protocol, id). Overlaps keep the bytes that arrived first;
 * differing overlapping bytes are a problem. All state is bounded (pending datagrams, held bytes, datagram size) and
 * timeouts run on packet time, so replaying a capture gives the same result as live.
 */
export class IpFragmentReassembler {
  private readonly timeoutSeconds: number;
  private readonly maxPending: number;
  private readonly maxBuffered: number;
  private readonly maxDatagram: number;
  private readonly maxPieces: number;
  /** Insertion order is first-seen order: the first entry is the oldest, for timeouts and eviction. */
  private readonly pending = new Map<string, Pending>();
  private buffered = 0;

  constructor(options: IpFragmentOptions = {}) {
    this.timeoutSeconds = options.timeoutSeconds ?? 30;
    this.maxPending = Math.max(1, options.maxPendingDatagrams ?? 1024);
    this.maxBuffered = Math.max(1, options.maxBufferedBytes ?? 16 * 1024 * 1024);
    this.maxDatagram = options.maxDatagramBytes ?? 65535;
    this.maxPieces = Math.max(1, options.maxFragmentsPerDatagram ?? 1024);
  }

  get pendingDatagrams(): number {
    return this.pending.size;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Adds a fragment. Returns the datagram when this fragment filled its last hole, else undefined. Findings about this
   * fragment (overlaps, conflicts, budget) and about datagrams given up to make room are pushed to `problems`.
   */
  add(frag: IpFragment, problems: Problem[]): ReassembledDatagram | undefined {
    const layer = layerOf(frag.version);
    const len = frag.data.length;
    const start = frag.offset;
    const end = start + len;
    const at = frag.dataOffset;

    if (end > this.maxDatagram) {
      problems.push(reassemblyProblem.as(layer, 'ip-fragment-too-large', `fragment at offset ${start} (${len} bytes) ends past ${this.maxDatagram} bytes: dropped`, at, len));
      return undefined;
    }
    if (len === 0 && frag.moreFragments) {
      problems.push(reassemblyProblem.as(layer, 'ip-fragment-empty', 'empty fragment with more fragments to follow: ignored', at, 0));
      return undefined;
    }
    if (frag.moreFragments && (len & 7) !== 0) {
      problems.push(reassemblyProblem.as(layer, 'ip-fragment-unaligned', `fragment length ${len} is not a multiple of 8 but more fragments follow`, at, len));
    }

    const key = frag.version + '|' + frag.src + '|' + frag.dst + '|' + frag.protocol + '|' + frag.id;
    let p = this.pending.get(key);
    if (p === undefined) {
      while (this.pending.size >= this.maxPending) {
        const oldest = this.pending.values().next().value as Pending;
        this.giveUp(oldest, problems, 'too many datagrams being reassembled');
      }
      p = {
        key,
        version: frag.version,
        src: frag.src,
        dst: frag.dst,
        protocol: frag.protocol,
        id: frag.id,
        firstSeen: { tsSec: frag.time.tsSec, tsNsec: frag.time.tsNsec },
        pieces: [],
        bytes: 0,
        totalLength: -1,
        header: undefined,
        frames: [],
      };
      this.pending.set(key, p);
    }

    // the end of the datagram: first one wins, data past it conflicts
    if (p.totalLength >= 0 && (end > p.totalLength || (!frag.moreFragments && end !== p.totalLength))) {
      problems.push(
        reassemblyProblem.as(layer, 'ip-fragment-length-conflict', `fragment ending at ${end} conflicts with the datagram length ${p.totalLength} already seen: ignored`, at, len),
      );
      return undefined;
    }
    if (!frag.moreFragments) {
      const last = p.pieces.length > 0 ? p.pieces[p.pieces.length - 1] : undefined;
      if (last !== undefined && last.offset + last.data.length > end) {
        problems.push(reassemblyProblem.as(layer, 'ip-fragment-length-conflict', `last fragment ends at ${end} but bytes up to ${last.offset + last.data.length} were already seen: ignored`, at, len));
        return undefined;
      }
    }

    // find the holes this fragment fills; compare the bytes it shares with earlier fragments
    let pos = start;
    let overlapped = false;
    let conflict = false;
    let newBytes = 0;
    const holes: number[] = [];
    for (let i = 0; i < p.pieces.length && pos < end; i++) {
      const piece = p.pieces[i];
      const pEnd = piece.offset + piece.data.length;
      if (pEnd <= pos) continue;
      if (piece.offset >= end) break;
      if (piece.offset > pos) {
        holes.push(pos, piece.offset);
        newBytes += piece.offset - pos;
        pos = piece.offset;
      }
      const oEnd = pEnd < end ? pEnd : end;
      overlapped = true;
      if (!conflict && frag.data.compare(piece.data, pos - piece.offset, oEnd - piece.offset, pos - start, oEnd - start) !== 0) conflict = true;
      pos = oEnd;
    }
    if (pos < end) {
      holes.push(pos, end);
      newBytes += end - pos;
    }

    if (conflict) {
      problems.push(reassemblyProblem.as(layer, 'ip-fragment-overlap-conflict', `fragment at offset ${start} overlaps earlier fragments with different bytes: the earlier bytes are kept`, at, len));
    } else if (overlapped) {
      if (newBytes === 0) problems.push(reassemblyProblem.as(layer, 'ip-fragment-duplicate', `duplicate fragment at offset ${start}`, at, len));
      else problems.push(reassemblyProblem.as(layer, 'ip-fragment-overlap', `fragment at offset ${start} overlaps earlier fragments (same bytes)`, at, len));
    }

    if (newBytes > 0) {
      if (p.pieces.length + holes.length / 2 > this.maxPieces) {
        this.drop(p);
        problems.push(reassemblyProblem.as(layer, 'ip-fragment-too-many', `more than ${this.maxPieces} fragments: ${describe(p)} given up`, at, len));
        return undefined;
      }
      while (this.buffered + newBytes > this.maxBuffered) {
        // give up the oldest other datagrams first; the current one goes only if it alone is over the budget
        let victim: Pending | undefined;
        for (const q of this.pending.values()) {
          if (q !== p) {
            victim = q;
            break;
          }
        }
        if (victim === undefined) break;
        this.giveUp(victim, problems, 'fragment memory budget exceeded');
      }
      if (this.buffered + newBytes > this.maxBuffered) {
        this.drop(p);
        problems.push(reassemblyProblem.as(layer, 'ip-fragment-budget-exceeded', `fragment memory budget of ${this.maxBuffered} bytes exceeded: ${describe(p)} given up`, at, len));
        return undefined;
      }
      for (let h = 0; h < holes.length; h += 2) {
        const hs = holes[h];
        const he = holes[h + 1];
        const piece: Piece = { offset: hs, data: Buffer.from(frag.data.subarray(hs - start, he - start)), frame: frag.frame };
        let i = p.pieces.length;
        while (i > 0 && p.pieces[i - 1].offset > hs) i--;
        p.pieces.splice(i, 0, piece);
      }
      p.bytes += newBytes;
      this.buffered += newBytes;
      if (p.frames.length === 0 || p.frames[p.frames.length - 1] !== frag.frame) p.frames.push(frag.frame);
    }
    if (start === 0 && p.header === undefined) p.header = frag.header;
    if (!frag.moreFragments) p.totalLength = end;

    if (p.totalLength >= 0 && p.bytes === p.totalLength && p.header !== undefined) return this.complete(p);
    return undefined;
  }

  /** Gives up datagrams whose first fragment is more than the timeout older than `now`; a problem for each. */
  expire(now: PacketTime, problems: Problem[]): IncompleteDatagram[] {
    const out: IncompleteDatagram[] = [];
    for (const p of this.pending.values()) {
      if (diffSeconds(p.firstSeen, now) <= this.timeoutSeconds) break;
      const d = this.incomplete(p, 'timeout', 'ip-fragment-timeout', `incomplete ${describe(p)} timed out after ${this.timeoutSeconds} s`);
      this.drop(p);
      problems.push(d.problem);
      out.push(d);
    }
    return out;
  }

  /** End of capture: every datagram still pending is incomplete. */
  flush(): IncompleteDatagram[] {
    const out: IncompleteDatagram[] = [];
    for (const p of this.pending.values()) out.push(this.incomplete(p, 'end-of-capture', 'ip-fragment-incomplete', `incomplete ${describe(p)} at end of capture`));
    this.pending.clear();
    this.buffered = 0;
    return out;
  }

  private complete(p: Pending): ReassembledDatagram {
    const h = p.header as IpLayerInfo;
    const payload = Buffer.allocUnsafe(p.totalLength);
    const seen = new Set<number>();
    const frames: number[] = [];
    for (const piece of p.pieces) {
      piece.data.copy(payload, piece.offset);
      if (!seen.has(piece.frame)) {
        seen.add(piece.frame);
        frames.push(piece.frame);
      }
    }
    this.drop(p);
    const ip: IpLayerInfo = {
      version: h.version,
      src: h.src,
      dst: h.dst,
      protocol: h.protocol,
      ttl: h.ttl,
      totalLength: h.headerLength + p.totalLength,
      headerLength: h.headerLength,
      reassembledFrom: frames,
    };
    if (h.dscp !== undefined) ip.dscp = h.dscp;
    return { ip, payload, frames };
  }

  private drop(p: Pending): void {
    this.pending.delete(p.key);
    this.buffered -= p.bytes;
  }

  private giveUp(victim: Pending, problems: Problem[], why: string): void {
    const d = this.incomplete(victim, 'evicted', 'ip-fragment-evicted', `${why}: incomplete ${describe(victim)} given up`);
    this.drop(victim);
    problems.push(d.problem);
  }

  private incomplete(p: Pending, reason: IncompleteReason, code: IncompleteDatagramCode, what: string): IncompleteDatagram {
    const expected = p.totalLength >= 0 ? ` of ${p.totalLength}` : '';
    const shown = p.frames.length > 10 ? p.frames.slice(0, 10).join(', ') + ', …' : p.frames.join(', ');
    const message = `${what} (${p.bytes}${expected} bytes from frames ${p.frames.length > 0 ? shown : 'none'})`;
    const d: IncompleteDatagram = {
      version: p.version,
      src: p.src,
      dst: p.dst,
      protocol: p.protocol,
      id: p.id,
      firstSeen: p.firstSeen,
      frames: p.frames.slice(),
      receivedBytes: p.bytes,
      reason,
      problem: reassemblyProblem.as(layerOf(p.version), code, message),
    };
    if (p.totalLength >= 0) d.expectedLength = p.totalLength;
    return d;
  }
}
