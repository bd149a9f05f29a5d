/**
 * TCP stream reassembly: per connection and direction, ordered byte streams with reported gaps.
 *
 * Design notes (why, not what):
 * - Sequence numbers are compared with serial arithmetic relative to the next expected sequence number of the
 *   direction, and mapped to a stream offset that is a plain JS number, so wrap-around at 2^32 and streams longer than
 *   4 GiB both work.
 * - In-order data (the common case) is handed to the consumer as the packet's own payload view: no copy. Only
 *   out-of-order data is copied, because the decoder's buffer is reused after the packet. `StreamChunk.data` is valid
 *   only during the `data` callback: copy what must outlive it.
 * - Unlike tshark (whose out-of-order reassembly is off by default), segments after a hole are held until the hole is
 *   filled, so a reordered request is still seen as one stream.
 * - A hole becomes a gap (the stream goes on after it) when the peer has ACKed past it and the bytes still have not
 *   appeared once the reordering window has passed (the peer had the bytes: the capture lost them; counted as
 *   ACKed-unseen, the capture-loss estimate), when held data for the direction exceeds its limit, when the memory
 *   budget forces it, or when the connection ends (RST, eviction, timeout, end of capture). The ACK alone is not
 *   proof of loss: a capture merged from two taps, or from several kernel queues (`-i any`, multi-queue NICs), can
 *   write a peer's ACK before the data it acknowledges, so bytes ACKed before they were seen are awaited for
 *   `reorderWindowSeconds` of packet time (as tshark with `tcp.reassemble_out_of_order` does, without its unbounded
 *   wait) and, when they come, delivered as if they had come in order and not counted as lost. Meanwhile the ACKing
 *   side's own later stream events are deferred (copied, under the memory budgets), because that side sent them after
 *   receiving the awaited bytes: the consumer still sees a request before its response. A FIN beyond a hole
 *   only marks where the direction will end: the missing segment may merely be late, and the peer's ACK of the FIN
 *   settles it. A segment tail cut by the snaplen becomes a gap at once (not counted as ACKed-unseen).
 * - Retransmitted bytes that were already delivered cannot be compared with a copy (none is kept). Instead a 32-bit
 *   hash of each of the last few delivered segments is kept per direction (by default over 128 sampled bytes, so the
 *   in-order path costs the same for any segment size); a retransmission that covers one of them entirely is hashed
 *   over the same range, and a different hash is reported as `tcp-retransmission-mismatch`. Overlaps with held
 *   (copied) data are compared byte for byte.
 * - Mid-stream connections (no SYN seen): direction 0 is the first sender, except when the first packet goes from a
 *   server-like port (below 1024 or a known service port such as 8080) to a non-server port, where the receiver is
 *   taken as the client so that direction 0 stays client → server. `handshakeSeen` is false for those; it is true when
 *   the connection began with a SYN, or with a SYN-ACK (whose receiver is then the client).
 * - Closed connections (FIN both ways, or RST) are kept briefly as small tombstones so their last ACKs and retransmitted
 *   FINs do not open a new connection; a SYN (or SYN-ACK) with another ISN replaces the tombstone.
 * - GTP-U: the two directions of a tunnel carry different TEIDs (each end allocates its own), so the TEID cannot be part
 *   of a bidirectional key. The key holds the inner 4-tuple plus the outer address pair; each direction of a connection
 *   binds the TEID it first arrives with, and a packet whose TEID does not match an existing binding belongs to another
 *   connection. The same inner 4-tuple in two tunnels thus stays apart (a TEID change on handover splits a connection,
 *   and so does a tunnel whose uplink and downlink use different outer address pairs).
 */
import { reassemblyProblem } from './problems';
import type { Problem } from '../common/problem';
import type { PacketTime } from '../common/time';
import type { DecodedPacket, TcpInfo, TunnelInfo } from '../decode/types';
import type { StreamChunk, StreamDirection, StreamGap, TcpCloseReason, TcpConnectionInfo, TcpStreamHandler } from './types';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

/** Largest window TCP can advertise (RFC 7323 scale 14): anything further ahead is not part of this stream. */
const MAX_AHEAD = 0x40000000;

const MIB = 1024 * 1024;

/** Default bound on open TCP connections (TcpReassemblerOptions.maxConnections; the HTTP parsers follow it). */
export const DEFAULT_MAX_TCP_CONNECTIONS = 16_384;

export interface TcpReassemblerOptions {
  /** Global budget for held out-of-order bytes across all connections. Default 64 MiB. */
  maxBufferedBytes?: number;
  /** Held bytes per connection (both directions). Default 8 MiB. */
  maxBufferedPerConnection?: number;
  /** Held bytes per direction before the first hole is declared a gap. Default 4 MiB. */
  maxBufferedPerDirection?: number;
  /**
   * Held segments per direction and in all, whatever their size: tiny hostile segments must not pile up objects
   * (nor make list insertion quadratic). Defaults 4096 and 262 144.
   */
  maxHeldSegmentsPerDirection?: number;
  maxHeldSegments?: number;
  /**
   * Tracked open connections; the least recently active is evicted beyond this. Default DEFAULT_MAX_TCP_CONNECTIONS
   * (16 384) for a reassembler used on its own; the Dissector derives it from the memory budget
   * (src/pipeline/memory-budget.ts: with the HTTP parser's state, an open connection costs ≈ 4 KB).
   */
  maxConnections?: number;
  /** Packet-time idle timeout in seconds after which an open connection ends with 'timeout'. Default 300. */
  idleTimeoutSeconds?: number;
  /** How long (packet time) a closed connection is remembered to absorb its final ACKs and retransmitted FINs. Default 30 s. */
  closedLingerSeconds?: number;
  /** Closed connections remembered at most. Default 10 000. */
  maxClosedConnections?: number;
  /**
   * Packet-time seconds the bytes a peer ACKed before the capture showed them are waited for before they are declared
   * a gap (capture loss). Default 0.5 s. The order in which a capture shows the two directions is only as good as its
   * capture point: two taps merged by timestamp are off by their clock skew, and one host's capture of several queues
   * (`-i any`, multi-queue NICs) by its per-queue buffering: microseconds to tens of milliseconds, so 0.5 s has a wide
   * margin. Waiting longer costs little memory (what follows the hole is held under the budgets below, which declare
   * the gap early when they must), but the direction's later bytes reach the consumer that much later, and a real
   * loss is reported that much later. 0 declares the gap on the first ACK past the hole (a capture that keeps the two
   * directions in order, where a receiver cannot ACK bytes the capture has not shown yet).
   */
  reorderWindowSeconds?: number;
  /**
   * Besides the window in packet time, the number of further packets showing the peer ACKing past a hole after which
   * the hole becomes a gap however little packet time passed. Default Infinity: the window is a matter of time, not
   * of traffic (a fast sender fills it with many packets, and the memory budgets bound what is held). A finite value
   * bounds the wait in captures whose timestamps do not advance; 0 declares the gap on the first such ACK.
   */
  ackedGapTolerance?: number;
  /**
   * ACK evidence is believed at most this far beyond the highest byte seen in the acknowledged direction (a whole
   * flight may be missing from the capture, but a bogus ACK must not make a gigabyte of "loss"). Default 16 MiB.
   */
  maxAckedAheadBytes?: number;
  /** Delivered segments per direction remembered (as hashes) to check retransmitted bytes. Default 16. */
  retransmissionHistory?: number;
  /**
   * How retransmissions of already delivered bytes are checked against what was delivered: 'sampled' (default) hashes
   * 128 bytes spread over each segment, a fixed cost per packet; 'full' hashes every byte (in-order throughput
   * measured 1.3 M → 0.5 M packets/s with 1400-byte segments); 'off' skips the check. Overlaps with held out-of-order data are always compared in full.
   */
  retransmissionCheck?: 'sampled' | 'full' | 'off';
  /** Extra ports taken as server ports for the mid-stream direction guess (below 1024 always are). */
  serverPorts?: Iterable<number>;
}

export interface TcpReassemblyStats {
  /** TCP packets offered. */
  packets: number;
  /** Packets that belonged to no connection and could not start one (pure ACK, FIN or RST of an unknown flow). */
  ignoredPackets: number;
  /** Packets for a connection already closed (final ACKs, retransmitted FINs, late data). */
  packetsAfterClose: number;
  connectionsOpened: number;
  activeConnections: number;
  /** Closed connections still remembered. */
  closedConnections: number;
  evictedConnections: number;
  timedOutConnections: number;
  bytesDelivered: number;
  gaps: number;
  gapBytes: number;
  /** Gap bytes the peer acknowledged: sent on the wire but missing from the capture (capture loss). */
  ackedUnseenBytes: number;
  /**
   * Bytes the capture showed only after the peer had ACKed them, within the reordering window: reordered by the
   * capture point, not lost (delivered in order, not in ackedUnseenBytes).
   */
  lateAckedBytes: number;
  /** Segments whose bytes had all been seen already. */
  retransmissions: number;
  retransmittedBytes: number;
  retransmissionMismatches: number;
  /** Segments that started beyond a hole and were held. */
  outOfOrderSegments: number;
  /** Segments that partly repeated bytes already seen (trimmed). */
  partialOverlaps: number;
  /** Bytes of in-order segments cut by the capture's snaplen (reported as gaps, not as ACKed-unseen). */
  truncatedBytes: number;
  /** Segments more than the largest possible window ahead (dropped). */
  outOfWindowSegments: number;
  bufferedBytes: number;
  /** Highest bufferedBytes after any packet (a segment being copied may exceed the budget for an instant). */
  peakBufferedBytes: number;
  /** Bytes whose delivery waits for ACKed bytes of the other direction (copies; see reorderWindowSeconds). */
  deferredBytes: number;
  peakDeferredBytes: number;
  /** Times a per-connection or global budget forced held data out. */
  memoryBudgetEvents: number;
}

interface HeldSegment {
  offset: number;
  end: number;
  data: Buffer;
  frame: number;
}

/** A stream event of a direction whose output waits for its peer (see Direction.deferred). */
type DeferredEvent =
  | { kind: 'data'; chunk: StreamChunk }
  | { kind: 'gap'; gap: StreamGap }
  | { kind: 'end'; reason: TcpCloseReason; time: PacketTime };

interface Moment {
  frame: number;
  tsSec: number;
  tsNsec: number;
}

class Direction {
  constructor(
    readonly conn: Connection,
    readonly index: StreamDirection,
  ) {}

  started = false;
  /** Initial sequence number when the SYN was seen (or inferred from a SYN-ACK's ACK); -1 when unknown. */
  isn = -1;
  nextSeq = 0;
  nextOffset = 0;
  /** Highest stream offset the peer acknowledged. */
  maxAcked = 0;
  /** End of the furthest segment seen (stream offset), held or delivered. */
  highest = 0;
  finOffset = -1;
  ended = false;
  /** Sorted, non-overlapping, all starting beyond nextOffset. */
  held: HeldSegment[] = [];
  heldBytes = 0;
  ackStrikes = 0;
  /**
   * Packet time (the reassembler's clock) at which the peer first ACKed bytes of this direction the capture had not
   * shown; -1 when nothing acknowledged is missing. Set while the direction is in the reassembler's waiting queue.
   */
  ackedWaitSince = -1;
  /** maxAcked when the wait began: the bytes whose window runs from ackedWaitSince. */
  ackedWaitUpTo = 0;
  /**
   * While the peer waits for bytes this direction's side ACKed, this direction's stream events (accounted as usual:
   * sequence numbers, ACK evidence and retransmission checks go on) are queued here instead of reaching the consumer,
   * so the consumer still sees what the peer sent before what this side sent after receiving it (a request before its
   * response). null when not deferring. Data is copied; the bytes are counted in deferredBytes.
   */
  deferred: DeferredEvent[] | null = null;
  deferredBytes = 0;
  /** TEID this direction's packets arrive with when tunnelled; -1 when not bound. */
  teid = -1;
  /** Ring of (offset, length, hash) triples of recently delivered segments. */
  history: Float64Array | null = null;
  historyPos = 0;

  start(seq: number): void {
    this.started = true;
    this.nextSeq = seq >>> 0;
    this.nextOffset = 0;
  }
}

const REPORTED_BUDGET = 1;
const REPORTED_WINDOW = 2;
const REPORTED_AFTER_FIN = 4;
const REPORTED_LATE = 8;
const MAX_MISMATCH_REPORTS = 8;

class Connection {
  readonly dirs: [Direction, Direction] = [new Direction(this, 0), new Direction(this, 1)];
  closed = false;
  closedAt = 0;
  lastSeen = 0;
  last: Moment = { frame: 0, tsSec: 0, tsNsec: 0 };
  heldBytes = 0;
  reported = 0;
  mismatchReports = 0;
  prev: Connection | null = null;
  next: Connection | null = null;
  sameKey: Connection | null = null;

  constructor(
    readonly info: TcpConnectionInfo,
    readonly key: string,
  ) {}
}

/** Intrusive doubly linked list: head = most recently touched. */
class ConnectionList {
  head: Connection | null = null;
  tail: Connection | null = null;
  count = 0;

  pushHead(c: Connection): void {
    c.prev = null;
    c.next = this.head;
    if (this.head !== null) this.head.prev = c;
    else this.tail = c;
    this.head = c;
    this.count++;
  }

  remove(c: Connection): void {
    if (c.prev !== null) c.prev.next = c.next;
    else this.head = c.next;
    if (c.next !== null) c.next.prev = c.prev;
    else this.tail = c.prev;
    c.prev = c.next = null;
    this.count--;
  }

  touch(c: Connection): void {
    if (this.head === c) return;
    this.remove(c);
    this.pushHead(c);
  }
}

/** Word-at-a-time FNV-style mix; enough to tell a changed retransmission from an identical one. */
function hashBytes(b: Uint8Array): number {
  const n = b.length;
  let h = 0x811c9dc5 ^ n;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    h = Math.imul(h ^ (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)), 0x01000193);
    h ^= h >>> 15;
  }
  for (; i < n; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h | 0;
}

const SAMPLES = 32;

/**
 * The same mix over 32 four-byte words spread evenly over the segment (all of it when shorter than 128 bytes): a cost
 * independent of the segment size, for the in-order hot path. A retransmission that differs only between the samples
 * goes unnoticed; 'full' checks every byte.
 */
function sampleHash(b: Uint8Array): number {
  const n = b.length;
  if (n <= SAMPLES * 4) return hashBytes(b);
  let h = 0x811c9dc5 ^ n;
  const step = (n - 4) / (SAMPLES - 1);
  for (let k = 0; k < SAMPLES; k++) {
    const i = Math.floor(k * step);
    h = Math.imul(h ^ (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)), 0x01000193);
    h ^= h >>> 15;
  }
  return h | 0;
}

function tunnelPrefix(t: TunnelInfo): string {
  return t.outerSrc < t.outerDst ? `${t.outerSrc}>${t.outerDst}|` : `${t.outerDst}>${t.outerSrc}|`;
}

function connectionKey(src: string, sport: number, dst: string, dport: number, tunnel: TunnelInfo | undefined): string {
  const srcFirst = src < dst || (src === dst && sport <= dport);
  const k = srcFirst ? `${src} ${sport} ${dst} ${dport}` : `${dst} ${dport} ${src} ${sport}`;
  return tunnel === undefined ? k : tunnelPrefix(tunnel) + k;
}

/**
 * Slots of the connection-key cache: the key string of a recently seen address/port 4-tuple, found by identity of the
 * address strings (the decoder shares one string per address) without building the key again. A hit also reuses the
 * key's hash, which V8 keeps in the string, for the table lookup. Bounded: a slot is overwritten on a collision.
 */
const KEY_CACHE_BITS = 12;
const KEY_CACHE_SLOTS = 1 << KEY_CACHE_BITS;

interface KeySlot {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  key: string;
}

/**
 * Segment length the headers claim for a packet whose payload the snaplen cut; bounded by what the frame lost so a
 * malformed length field cannot invent bytes.
 */
function segmentLengthOnWire(p: DecodedPacket, tcp: TcpInfo, captured: number): number {
  const ip = p.ip;
  if (ip === undefined || p.capturedLength >= p.length) return captured;
  const claimed = ip.totalLength - ip.headerLength - tcp.headerLength;
  if (!(claimed > captured)) return captured;
  return Math.min(claimed, captured + (p.length - p.capturedLength));
}

function directionOf(c: Connection, src: string, sport: number): StreamDirection {
  return c.info.clientPort === sport && c.info.clientAddr === src ? 0 : 1;
}

/** Default of `reorderWindowSeconds` (its comment says why). */
export const DEFAULT_REORDER_WINDOW_SECONDS = 0.5;

const DEFAULT_SERVER_PORTS = [2269, 3128, 8000, 8008, 8080, 8081, 8443, 8888];

export class TcpReassembler {
  private readonly maxBuffered: number;
  private readonly maxPerConnection: number;
  private readonly maxPerDirection: number;
  private readonly maxSegmentsPerDirection: number;
  private readonly maxSegments: number;
  private readonly maxConnections: number;
  private readonly idleTimeout: number;
  private readonly closedLinger: number;
  private readonly maxClosed: number;
  private readonly ackTolerance: number;
  private readonly reorderWindow: number;
  private readonly maxAckedAhead: number;
  private readonly historySize: number;
  private readonly hash: (b: Uint8Array) => number;
  private readonly serverPorts: Set<number>;

  private readonly table = new Map<string, Connection>();
  private readonly keySlots: KeySlot[] = Array.from({ length: KEY_CACHE_SLOTS }, () => ({ src: '', dst: '', sport: -1, dport: -1, key: '' }));
  private readonly active = new ConnectionList();
  private readonly closedList = new ConnectionList();
  /** Connections holding out-of-order bytes, in the order they started holding (oldest first). */
  private readonly buffering = new Set<Connection>();
  /**
   * Directions waiting for bytes their peer ACKed, oldest first. They joined at the then current clock, which never
   * goes back, so the order is also the order of their deadlines: expiry looks at the head only.
   */
  private readonly ackWaiting = new Set<Direction>();
  /** Bytes of all directions' deferred events (bounded by maxBufferedBytes, per direction by maxBufferedPerDirection). */
  private deferredTotal = 0;
  private clock = -Infinity;
  private nextId = 1;
  private buffered = 0;
  private heldSegments = 0;
  private readonly st: Omit<TcpReassemblyStats, 'activeConnections' | 'closedConnections' | 'bufferedBytes' | 'deferredBytes'> = {
    packets: 0,
    ignoredPackets: 0,
    packetsAfterClose: 0,
    connectionsOpened: 0,
    evictedConnections: 0,
    timedOutConnections: 0,
    bytesDelivered: 0,
    gaps: 0,
    gapBytes: 0,
    ackedUnseenBytes: 0,
    lateAckedBytes: 0,
    retransmissions: 0,
    retransmittedBytes: 0,
    retransmissionMismatches: 0,
    outOfOrderSegments: 0,
    partialOverlaps: 0,
    outOfWindowSegments: 0,
    truncatedBytes: 0,
    peakBufferedBytes: 0,
    peakDeferredBytes: 0,
    memoryBudgetEvents: 0,
  };

  constructor(
    private readonly handler: TcpStreamHandler,
    options: TcpReassemblerOptions = {},
  ) {
    this.maxBuffered = options.maxBufferedBytes ?? 64 * MIB;
    this.maxPerConnection = options.maxBufferedPerConnection ?? 8 * MIB;
    this.maxPerDirection = options.maxBufferedPerDirection ?? 4 * MIB;
    this.maxSegmentsPerDirection = Math.max(1, options.maxHeldSegmentsPerDirection ?? 4096);
    this.maxSegments = Math.max(1, options.maxHeldSegments ?? 262_144);
    this.maxConnections = Math.max(1, options.maxConnections ?? DEFAULT_MAX_TCP_CONNECTIONS);
    this.idleTimeout = options.idleTimeoutSeconds ?? 300;
    this.closedLinger = options.closedLingerSeconds ?? 30;
    this.maxClosed = Math.max(0, options.maxClosedConnections ?? 10_000);
    this.ackTolerance = options.ackedGapTolerance ?? Infinity;
    this.reorderWindow = Math.max(0, options.reorderWindowSeconds ?? DEFAULT_REORDER_WINDOW_SECONDS);
    this.maxAckedAhead = Math.max(0, options.maxAckedAheadBytes ?? 16 * MIB);
    const check = options.retransmissionCheck ?? 'sampled';
    this.historySize = check === 'off' ? 0 : Math.max(0, Math.floor(options.retransmissionHistory ?? 16));
    this.hash = check === 'full' ? hashBytes : sampleHash;
    this.serverPorts = new Set([...DEFAULT_SERVER_PORTS, ...(options.serverPorts ?? [])]);
  }

  get stats(): TcpReassemblyStats {
    return {
      ...this.st,
      activeConnections: this.active.count,
      closedConnections: this.closedList.count,
      bufferedBytes: this.buffered,
      deferredBytes: this.deferredTotal,
    };
  }

  get gapBytes(): number {
    return this.st.gapBytes;
  }
  get ackedUnseenBytes(): number {
    return this.st.ackedUnseenBytes;
  }
  get retransmissions(): number {
    return this.st.retransmissions;
  }
  get outOfOrderSegments(): number {
    return this.st.outOfOrderSegments;
  }
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Feed one decoded packet; non-TCP packets are ignored. */
  packet(p: DecodedPacket): void {
    const tcp = p.transport;
    const ip = p.ip;
    if (tcp === undefined || tcp.kind !== 'tcp' || ip === undefined) return;
    this.st.packets++;
    this.tick(p.tsSec + p.tsNsec / 1e9);

    const key = p.tunnel === undefined ? this.plainKey(ip.src, tcp.srcPort, ip.dst, tcp.dstPort) : connectionKey(ip.src, tcp.srcPort, ip.dst, tcp.dstPort, p.tunnel);
    const teid = p.tunnel === undefined ? -1 : p.tunnel.teid;
    let conn = this.lookup(key, ip.src, tcp, teid);
    const flags = tcp.flags;
    const len = p.payload === undefined ? 0 : p.payload.length;
    const wireLen = p.payloadTruncated === true ? segmentLengthOnWire(p, tcp, len) : len;
    const synFlags = flags & (SYN | ACK);

    if (conn !== null) {
      const sender = conn.dirs[directionOf(conn, ip.src, tcp.srcPort)];
      // a SYN with another ISN: the 4-tuple is reused by a new connection. A SYN-ACK counts too when this side's
      // ISN is already known or the connection is closed (the new connection's SYN was not captured).
      const reused =
        sender.isn !== tcp.seq &&
        (synFlags === SYN || (synFlags === (SYN | ACK) && (conn.closed || sender.isn !== -1)));
      if (reused) {
        if (!conn.closed) this.finish(conn, 'reused', this.moment(p));
        this.forget(conn);
        conn = null;
      } else if (conn.closed) {
        this.st.packetsAfterClose++;
        return;
      }
    }
    if (conn === null) {
      if ((flags & RST) !== 0 || ((flags & SYN) === 0 && wireLen === 0)) {
        this.st.ignoredPackets++;
        return;
      }
      conn = this.open(key, p, tcp, teid);
    }
    this.segment(conn, p, tcp, len, wireLen);
  }

  /** Advance packet time without a packet (live capture idle): expires idle connections. */
  advanceTime(t: PacketTime): void {
    this.tick(t.tsSec + t.tsNsec / 1e9);
  }

  /** End of capture: held data is delivered after gaps and every open direction ends with 'end-of-capture'. */
  flush(time?: PacketTime): void {
    while (this.active.tail !== null) {
      const c = this.active.tail;
      const m: Moment = time === undefined ? c.last : { frame: c.last.frame, tsSec: time.tsSec, tsNsec: time.tsNsec };
      this.finish(c, 'end-of-capture', m);
      this.forget(c);
    }
    while (this.closedList.tail !== null) this.forget(this.closedList.tail);
  }

  private tick(now: number): void {
    if (now > this.clock) this.clock = now;
    const horizon = this.clock - this.idleTimeout;
    for (let c = this.active.tail; c !== null && c.lastSeen < horizon; c = this.active.tail) {
      this.st.timedOutConnections++;
      this.finish(c, 'timeout', c.last);
      this.forget(c);
    }
    // bytes ACKed before the capture showed them and still missing once the reordering window passed: capture loss
    while (this.ackWaiting.size > 0) {
      const s = this.ackWaiting.values().next().value as Direction;
      if (this.clock - s.ackedWaitSince < this.reorderWindow) break;
      const c = s.conn;
      // only the bytes ACKed when the wait began have had their window; later ACKed ones start theirs now
      this.skipTo(c, s.index, s, s.ackedWaitUpTo, c.last);
      this.settleWait(s);
      this.afterProgress(c);
    }
    const lingerHorizon = this.clock - this.closedLinger;
    for (let c = this.closedList.tail; c !== null; c = this.closedList.tail) {
      if (c.closedAt >= lingerHorizon && this.closedList.count <= this.maxClosed) break;
      this.forget(c);
    }
  }

  private moment(p: DecodedPacket): Moment {
    return { frame: p.frame, tsSec: p.tsSec, tsNsec: p.tsNsec };
  }

  /** connectionKey of an untunnelled 4-tuple, from the key cache when the same tuple was seen lately. */
  private plainKey(src: string, sport: number, dst: string, dport: number): string {
    const slot = this.keySlots[(Math.imul(sport, 0x9e3779b1) ^ Math.imul(dport, 0x85ebca6b) ^ (src.length << 11) ^ (dst.length << 17)) >>> (32 - KEY_CACHE_BITS)];
    if (slot.sport === sport && slot.dport === dport && slot.src === src && slot.dst === dst) return slot.key;
    const key = connectionKey(src, sport, dst, dport, undefined);
    slot.src = src;
    slot.dst = dst;
    slot.sport = sport;
    slot.dport = dport;
    slot.key = key;
    return key;
  }

  private lookup(key: string, src: string, tcp: TcpInfo, teid: number): Connection | null {
    const head = this.table.get(key);
    if (head === undefined) return null;
    if (teid === -1) return head;
    let best: Connection | null = null;
    let bestDistance = Infinity;
    for (let c: Connection | null = head; c !== null; c = c.sameKey) {
      const d = directionOf(c, src, tcp.srcPort);
      const bound = c.dirs[d].teid;
      if (bound === teid) return c;
      if (bound !== -1) continue;
      // the peer direction's TEID is bound but ours is not yet: pick the connection whose sequence space the ACK fits
      const peer = c.dirs[d ^ 1];
      const distance = peer.started && (tcp.flags & ACK) !== 0 ? Math.abs((tcp.ack - peer.nextSeq) | 0) : 2 ** 32;
      if (distance < bestDistance) {
        best = c;
        bestDistance = distance;
      }
    }
    return best;
  }

  private isServerPort(port: number): boolean {
    return port < 1024 || this.serverPorts.has(port);
  }

  private open(key: string, p: DecodedPacket, tcp: TcpInfo, teid: number): Connection {
    while (this.active.count >= this.maxConnections && this.active.tail !== null) {
      const victim = this.active.tail;
      this.st.evictedConnections++;
      this.finish(victim, 'evicted', victim.last);
      this.forget(victim);
    }
    const ip = p.ip as NonNullable<DecodedPacket['ip']>;
    const synAck = tcp.flags & (SYN | ACK);
    let senderIsClient: boolean;
    if (synAck === SYN) senderIsClient = true;
    else if (synAck === (SYN | ACK)) senderIsClient = false;
    else senderIsClient = !(this.isServerPort(tcp.srcPort) && !this.isServerPort(tcp.dstPort));
    const info: TcpConnectionInfo = senderIsClient
      ? { id: 0, clientAddr: ip.src, clientPort: tcp.srcPort, serverAddr: ip.dst, serverPort: tcp.dstPort, firstFrame: p.frame, handshakeSeen: false }
      : { id: 0, clientAddr: ip.dst, clientPort: tcp.dstPort, serverAddr: ip.src, serverPort: tcp.srcPort, firstFrame: p.frame, handshakeSeen: false };
    info.id = this.nextId++;
    info.handshakeSeen = (tcp.flags & SYN) !== 0;
    if (teid !== -1) info.tunnelTeid = teid;
    const c = new Connection(info, key);
    const head = this.table.get(key);
    if (head !== undefined) c.sameKey = head;
    this.table.set(key, c);
    this.active.pushHead(c);
    this.st.connectionsOpened++;
    this.handler.open?.(info);
    return c;
  }

  private segment(c: Connection, p: DecodedPacket, tcp: TcpInfo, len: number, wireLen: number): void {
    const d = directionOf(c, (p.ip as NonNullable<DecodedPacket['ip']>).src, tcp.srcPort);
    const s = c.dirs[d];
    const r = c.dirs[d ^ 1];
    const flags = tcp.flags;
    c.lastSeen = this.clock;
    // updated in place: a Moment is only ever read synchronously
    c.last.frame = p.frame;
    c.last.tsSec = p.tsSec;
    c.last.tsNsec = p.tsNsec;
    this.active.touch(c);
    if (p.tunnel !== undefined && s.teid === -1) s.teid = p.tunnel.teid;

    if ((flags & RST) !== 0) {
      this.finish(c, 'rst', c.last);
      this.close(c);
      return;
    }
    let dataSeq = tcp.seq;
    if ((flags & SYN) !== 0) {
      if (!s.started) {
        s.isn = tcp.seq;
        s.start(tcp.seq + 1);
      }
      dataSeq = (tcp.seq + 1) >>> 0;
    }
    // the ACK first: when it shows the peer's bytes missing, this segment's data was sent after they were received
    // and is deferred behind them
    if ((flags & ACK) !== 0) this.ack(c, (d ^ 1) as StreamDirection, r, s, tcp.ack, c.last);
    const carries = wireLen > 0 || (flags & FIN) !== 0;
    if (!s.started && carries) s.start(dataSeq);
    if (s.started && carries && !c.closed) this.data(c, d, s, dataSeq, p, len, wireLen, flags);
    if (!c.closed && c.dirs[0].ended && c.dirs[1].ended) this.close(c);
  }

  private data(
    c: Connection,
    d: StreamDirection,
    s: Direction,
    dataSeq: number,
    p: DecodedPacket,
    len: number,
    wireLen: number,
    flags: number,
  ): void {
    const delta = (dataSeq - s.nextSeq) | 0;
    if (delta > MAX_AHEAD) {
      this.st.outOfWindowSegments++;
      this.reportOnce(c, REPORTED_WINDOW, p.frame, reassemblyProblem('tcp-out-of-window',
        `segment ${delta} bytes ahead of the next expected sequence number in direction ${d}, dropped`));
      return;
    }
    const off = s.nextOffset + delta;
    let end = off + len;
    const wireEnd = off + wireLen;
    if (wireEnd > s.highest) s.highest = wireEnd;
    if ((flags & FIN) !== 0 && s.finOffset < 0 && wireEnd >= s.nextOffset) s.finOffset = wireEnd;
    if (s.finOffset >= 0 && wireEnd > s.finOffset) {
      if (off >= s.finOffset || wireLen === 0) {
        if (wireLen > 0) this.reportOnce(c, REPORTED_AFTER_FIN, p.frame, reassemblyProblem('tcp-data-after-fin', `data after FIN in direction ${d}, ignored`));
        this.checkFin(c, d, s);
        return;
      }
      if (end > s.finOffset) end = s.finOffset;
    }
    if (end > off) {
      const payload = p.payload as Buffer;
      const m = c.last;
      if (end <= s.nextOffset) {
        this.st.retransmissions++;
        this.st.retransmittedBytes += end - off;
        this.verifyHistory(c, d, s, off, payload.subarray(0, end - off), p.frame);
      } else if (off <= s.nextOffset) {
        const trim = s.nextOffset - off;
        if (trim > 0) {
          this.st.partialOverlaps++;
          this.verifyHistory(c, d, s, off, payload.subarray(0, trim), p.frame);
        }
        const view = trim === 0 && end - off === payload.length ? payload : payload.subarray(trim, end - off);
        if (s.nextOffset < s.maxAcked) this.late(c, d, s, s.nextOffset, end, p.frame);
        this.remember(s, s.nextOffset, view);
        this.deliver(c, d, s, view, m, [p.frame]);
        if (s.held.length > 0) this.drain(c, d, s, m, off, payload.subarray(0, end - off));
      } else {
        this.hold(c, d, s, off, payload.subarray(0, end - off), m);
      }
    }
    if (wireLen > len && s.nextOffset === end && wireEnd > end) {
      // the snaplen cut this segment's tail: those bytes were seen on the wire, just not kept
      const cut = Math.min(wireEnd, s.finOffset >= 0 ? s.finOffset : wireEnd) - end;
      if (cut > 0) {
        this.st.truncatedBytes += cut;
        this.gap(c, d, s, cut, c.last, false);
        this.drain(c, d, s, c.last, 0, null);
      }
    }
    this.checkFin(c, d, s);
  }

  private ack(c: Connection, rd: StreamDirection, r: Direction, s: Direction, ackSeq: number, m: Moment): void {
    if (!r.started) {
      // the ACK sender's SYN was seen, so this ACK names the peer's ISN + 1 (SYN-ACK seen first, or SYN-ACK missed)
      if (s.isn !== -1) {
        r.isn = (ackSeq - 1) >>> 0;
        r.start(ackSeq);
      }
      return;
    }
    if (r.ended) return;
    const delta = (ackSeq - r.nextSeq) | 0;
    if (delta <= 0 || delta > MAX_AHEAD) return;
    let acked = r.nextOffset + delta;
    const plausible = Math.max(r.highest, r.nextOffset) + this.maxAckedAhead;
    if (acked > plausible) acked = plausible;
    if (r.finOffset >= 0 && acked > r.finOffset) acked = r.finOffset;
    if (acked > r.maxAcked) r.maxAcked = acked;
    if (r.maxAcked <= r.nextOffset) return;
    if (r.ackedWaitSince < 0) this.startWait(r);
    if (++r.ackStrikes > this.ackTolerance || this.clock - r.ackedWaitSince >= this.reorderWindow) {
      this.skipTo(c, rd, r, r.maxAcked, m);
      this.stopWaiting(r);
      this.checkFin(c, rd, r);
    }
  }

  /** The peer ACKed bytes of `s` the capture has not shown: their reordering window starts now. */
  private startWait(s: Direction): void {
    s.ackedWaitSince = this.clock;
    s.ackedWaitUpTo = s.maxAcked;
    s.ackStrikes = 0;
    // re-adding puts it last: its deadline is the latest, as the clock never goes back
    this.ackWaiting.delete(s);
    this.ackWaiting.add(s);
    // the peer's side had these bytes before it sent anything more: hold its later stream events back
    const peer = s.conn.dirs[s.index ^ 1];
    if (peer.deferred === null) peer.deferred = [];
  }

  private stopWaiting(s: Direction): void {
    if (s.ackedWaitSince < 0) return;
    s.ackedWaitSince = -1;
    s.ackStrikes = 0;
    this.ackWaiting.delete(s);
    this.flushDeferred(s.conn, s.conn.dirs[s.index ^ 1], false);
  }

  /**
   * The stream moved forward while waiting: done when nothing ACKed is missing any more; when only bytes ACKed after
   * the wait began are missing, they get a window of their own from now (at most one window late, never early).
   */
  private settleWait(s: Direction): void {
    if (s.ackedWaitSince < 0 || s.nextOffset < s.ackedWaitUpTo) return;
    if (s.nextOffset >= s.maxAcked || s.ended) this.stopWaiting(s);
    else this.startWait(s);
  }

  /** New bytes [from, to) arrived after the peer had ACKed (part of) them: reordered by the capture point, not lost. */
  private late(c: Connection, d: StreamDirection, s: Direction, from: number, to: number, frame: number): void {
    if (from >= s.maxAcked) return;
    this.st.lateAckedBytes += Math.min(to, s.maxAcked) - from;
    this.reportOnce(c, REPORTED_LATE, frame, reassemblyProblem('tcp-late-segment',
      `segment in direction ${d} appeared after the peer's ACK of its bytes (the capture point reorders the two ` +
        'directions: merged taps or queues); reassembled in order'));
  }

  private deliver(c: Connection, d: StreamDirection, s: Direction, data: Buffer, m: Moment, frames: number[]): void {
    const chunk: StreamChunk = { tsSec: m.tsSec, tsNsec: m.tsNsec, streamOffset: s.nextOffset, data, frame: m.frame, frames };
    s.nextOffset += data.length;
    s.nextSeq = (s.nextSeq + data.length) >>> 0;
    this.st.bytesDelivered += data.length;
    if (s.deferred === null) this.handler.data(c.info, d, chunk);
    else this.defer(c, s, { kind: 'data', chunk: { ...chunk, data: Buffer.from(data) } }, data.length);
    // after the bytes went out: ending the wait releases the peer's deferred events, which come after them
    if (s.ackedWaitSince >= 0 && s.nextOffset >= s.ackedWaitUpTo) this.settleWait(s);
  }

  private defer(c: Connection, s: Direction, e: DeferredEvent, bytes: number): void {
    (s.deferred as DeferredEvent[]).push(e);
    if (bytes === 0) return;
    s.deferredBytes += bytes;
    this.deferredTotal += bytes;
    if (this.deferredTotal > this.st.peakDeferredBytes) this.st.peakDeferredBytes = this.deferredTotal;
    const peer = c.dirs[s.index ^ 1];
    if (s.deferredBytes > this.maxPerDirection && peer.ackedWaitSince >= 0) {
      this.budgetExceeded(c, `${s.deferredBytes} bytes wait for ACKed bytes of the other direction (limit ${this.maxPerDirection})`);
      this.giveUpWait(peer, false);
    }
    while (this.deferredTotal > this.maxBuffered && this.ackWaiting.size > 0) {
      const oldest = this.ackWaiting.values().next().value as Direction;
      this.budgetExceeded(oldest.conn, `all connections defer ${this.deferredTotal} bytes behind ACKed bytes not yet seen (limit ${this.maxBuffered})`);
      // the connection being processed is closed (if it must be) once its packet is done, not in the middle of it
      this.giveUpWait(oldest, oldest.conn !== c);
    }
  }

  /** Declare the bytes a direction waits for a gap now (a budget forces it): capture loss. */
  private giveUpWait(s: Direction, progress: boolean): void {
    const c = s.conn;
    this.skipTo(c, s.index, s, s.maxAcked, c.last);
    this.stopWaiting(s);
    this.checkFin(c, s.index, s);
    if (progress) this.afterProgress(c);
  }

  /** Hand a direction's deferred events to the consumer, unless its peer still waits (or `force`). */
  private flushDeferred(c: Connection, s: Direction, force: boolean): void {
    const q = s.deferred;
    if (q === null || (!force && c.dirs[s.index ^ 1].ackedWaitSince >= 0)) return;
    s.deferred = null;
    this.deferredTotal -= s.deferredBytes;
    s.deferredBytes = 0;
    const d = s.index;
    for (const e of q) {
      if (e.kind === 'data') this.handler.data(c.info, d, e.chunk);
      else if (e.kind === 'gap') this.handler.gap?.(c.info, d, e.gap);
      else this.handler.end?.(c.info, d, e.reason, e.time);
    }
  }

  private gap(c: Connection, d: StreamDirection, s: Direction, length: number, m: Moment, countAcked = true): void {
    const ackedEnd = Math.min(s.nextOffset + length, s.maxAcked);
    if (countAcked && ackedEnd > s.nextOffset) this.st.ackedUnseenBytes += ackedEnd - s.nextOffset;
    this.st.gaps++;
    this.st.gapBytes += length;
    const g: StreamGap = { tsSec: m.tsSec, tsNsec: m.tsNsec, streamOffset: s.nextOffset, length, frame: m.frame };
    s.nextOffset += length;
    s.nextSeq = (s.nextSeq + length) >>> 0;
    if (s.deferred === null) this.handler.gap?.(c.info, d, g);
    else this.defer(c, s, { kind: 'gap', gap: g }, 0);
    if (s.ackedWaitSince >= 0 && s.nextOffset >= s.ackedWaitUpTo) this.settleWait(s);
  }

  /**
   * Deliver held segments that the stream has reached. `cur` is the segment just delivered (at `curOffset`), whose
   * bytes are compared with any held bytes it overlapped.
   */
  private drain(c: Connection, d: StreamDirection, s: Direction, m: Moment, curOffset: number, cur: Buffer | null): void {
    const held = s.held;
    let i = 0;
    while (i < held.length && held[i].offset <= s.nextOffset) {
      const h = held[i++];
      this.release(c, s, h.data.length, 1);
      if (cur !== null) {
        const lo = Math.max(h.offset, curOffset);
        const hi = Math.min(h.end, curOffset + cur.length);
        if (hi > lo && !h.data.subarray(lo - h.offset, hi - h.offset).equals(cur.subarray(lo - curOffset, hi - curOffset)))
          this.mismatch(c, d, lo, m.frame);
      }
      if (h.end <= s.nextOffset) continue;
      const trim = s.nextOffset - h.offset;
      const view = trim > 0 ? h.data.subarray(trim) : h.data;
      this.remember(s, s.nextOffset, view);
      this.deliver(c, d, s, view, m, [h.frame]);
    }
    if (i > 0) held.splice(0, i);
  }

  /** Copy the parts of [off, off+bytes.length) not already held, keeping the held list sorted and non-overlapping. */
  private hold(c: Connection, d: StreamDirection, s: Direction, off: number, bytes: Buffer, m: Moment): void {
    const held = s.held;
    const end = off + bytes.length;
    // first held segment ending after off; usually the list end (segments arrive in increasing order)
    let i = held.length;
    if (i > 0 && held[i - 1].end > off) {
      let lo = 0;
      let hi = held.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (held[mid].end > off) hi = mid;
        else lo = mid + 1;
      }
      i = lo;
    }
    let pos = off;
    let added = 0;
    let pieces = 0;
    while (i < held.length && held[i].offset < end) {
      const h = held[i];
      if (h.offset > pos) {
        held.splice(i, 0, this.piece(bytes, off, pos, h.offset, m.frame));
        this.late(c, d, s, pos, h.offset, m.frame);
        added += h.offset - pos;
        pieces++;
        i++;
      }
      const lo = Math.max(pos, h.offset);
      const hi = Math.min(end, h.end);
      if (hi > lo && !h.data.subarray(lo - h.offset, hi - h.offset).equals(bytes.subarray(lo - off, hi - off))) this.mismatch(c, d, lo, m.frame);
      pos = Math.max(pos, h.end);
      i++;
    }
    if (pos < end) {
      held.splice(i, 0, this.piece(bytes, off, pos, end, m.frame));
      this.late(c, d, s, pos, end, m.frame);
      added += end - pos;
      pieces++;
    }
    if (added === 0) {
      this.st.retransmissions++;
      this.st.retransmittedBytes += bytes.length;
      return;
    }
    this.st.outOfOrderSegments++;
    if (added < bytes.length) this.st.partialOverlaps++;
    s.heldBytes += added;
    c.heldBytes += added;
    this.buffered += added;
    this.heldSegments += pieces;
    this.buffering.add(c);
    this.enforceBudgets(c, d, s, m);
    // measured once the budgets are enforced: the one segment copied before that is transient
    if (this.buffered > this.st.peakBufferedBytes) this.st.peakBufferedBytes = this.buffered;
  }

  private piece(bytes: Buffer, off: number, from: number, to: number, frame: number): HeldSegment {
    // outside Node's shared pool so the bytes counted are the bytes retained
    const data = Buffer.allocUnsafeSlow(to - from);
    bytes.copy(data, 0, from - off, to - off);
    return { offset: from, end: to, data, frame };
  }

  private release(c: Connection, s: Direction, n: number, segments: number): void {
    this.heldSegments -= segments;
    s.heldBytes -= n;
    c.heldBytes -= n;
    this.buffered -= n;
    if (c.heldBytes === 0) this.buffering.delete(c);
  }

  private enforceBudgets(c: Connection, d: StreamDirection, s: Direction, m: Moment): void {
    while (s.held.length > 0 && (s.heldBytes > this.maxPerDirection || s.held.length > this.maxSegmentsPerDirection))
      this.skipHole(c, d, s, m);
    if (c.heldBytes > this.maxPerConnection) {
      this.budgetExceeded(c, `connection holds ${c.heldBytes} out-of-order bytes (limit ${this.maxPerConnection})`);
      while (c.heldBytes > this.maxPerConnection) {
        const fd: StreamDirection = c.dirs[0].heldBytes >= c.dirs[1].heldBytes ? 0 : 1;
        if (c.dirs[fd].held.length === 0) break;
        this.skipHole(c, fd, c.dirs[fd], m);
      }
    }
    while (this.buffered > this.maxBuffered || this.heldSegments > this.maxSegments) {
      const victim: Connection | undefined = this.buffering.values().next().value;
      if (victim === undefined) break;
      this.budgetExceeded(
        victim,
        `all connections hold ${this.buffered} out-of-order bytes in ${this.heldSegments} segments ` +
          `(limits ${this.maxBuffered} bytes, ${this.maxSegments} segments)`,
      );
      const vm = victim === c ? m : victim.last;
      for (const vd of [0, 1] as const) {
        const vs = victim.dirs[vd];
        while (vs.heldBytes > 0 && (this.buffered > this.maxBuffered || this.heldSegments > this.maxSegments))
          this.skipHole(victim, vd, vs, vm);
      }
      if (victim !== c) this.afterProgress(victim);
    }
    this.checkFin(c, 0, c.dirs[0]);
    this.checkFin(c, 1, c.dirs[1]);
  }

  private budgetExceeded(c: Connection, why: string): void {
    this.st.memoryBudgetEvents++;
    this.reportOnce(c, REPORTED_BUDGET, c.last.frame, reassemblyProblem('tcp-memory-budget',
      `${why}: holes declared as gaps to release held data`));
  }

  /** Declare the first hole a gap and deliver what follows it. */
  private skipHole(c: Connection, d: StreamDirection, s: Direction, m: Moment): void {
    if (s.held.length === 0) return;
    this.gap(c, d, s, s.held[0].offset - s.nextOffset, m);
    this.drain(c, d, s, m, 0, null);
  }

  /** Declare every hole below `upTo` a gap, delivering held data between them. */
  private skipTo(c: Connection, d: StreamDirection, s: Direction, upTo: number, m: Moment): void {
    while (s.nextOffset < upTo) {
      const holeEnd = s.held.length > 0 ? Math.min(s.held[0].offset, upTo) : upTo;
      if (holeEnd > s.nextOffset) this.gap(c, d, s, holeEnd - s.nextOffset, m);
      this.drain(c, d, s, m, 0, null);
    }
  }

  private checkFin(c: Connection, d: StreamDirection, s: Direction): void {
    if (!s.ended && s.finOffset >= 0 && s.nextOffset >= s.finOffset) this.end(c, d, s, 'fin', c.last);
  }

  private afterProgress(c: Connection): void {
    this.checkFin(c, 0, c.dirs[0]);
    this.checkFin(c, 1, c.dirs[1]);
    if (!c.closed && c.dirs[0].ended && c.dirs[1].ended) this.close(c);
  }

  private end(c: Connection, d: StreamDirection, s: Direction, reason: TcpCloseReason, m: Moment): void {
    s.ended = true;
    const time: PacketTime = { tsSec: m.tsSec, tsNsec: m.tsNsec };
    if (s.deferred === null) this.handler.end?.(c.info, d, reason, time);
    else this.defer(c, s, { kind: 'end', reason, time }, 0);
  }

  /** End both directions: holes up to everything held, acknowledged or before the FIN become gaps. */
  private finish(c: Connection, reason: TcpCloseReason, m: Moment): void {
    for (const d of [0, 1] as const) {
      const s = c.dirs[d];
      if (s.ended) continue;
      if (s.started) {
        let upTo = Math.max(s.maxAcked, s.held.length > 0 ? s.held[s.held.length - 1].end : 0);
        if (s.finOffset >= 0) upTo = s.finOffset;
        this.skipTo(c, d, s, upTo, m);
        if (s.finOffset >= 0 && s.nextOffset >= s.finOffset) {
          this.end(c, d, s, 'fin', m);
          continue;
        }
      }
      this.end(c, d, s, reason, m);
    }
  }

  /** Both directions over: keep a small tombstone so late ACKs and retransmitted FINs do not start a new connection. */
  private close(c: Connection): void {
    c.closed = true;
    c.closedAt = this.clock;
    for (const s of c.dirs) this.stopWaiting(s);
    for (const s of c.dirs) this.flushDeferred(c, s, true);
    for (const s of c.dirs) {
      if (s.heldBytes > 0) this.release(c, s, s.heldBytes, s.held.length);
      s.held = [];
      s.history = null;
    }
    this.active.remove(c);
    this.closedList.pushHead(c);
    if (this.closedList.count > this.maxClosed && this.closedList.tail !== null) this.forget(this.closedList.tail);
  }

  private forget(c: Connection): void {
    if (c.closed) this.closedList.remove(c);
    else {
      this.active.remove(c);
      for (const s of c.dirs) this.stopWaiting(s);
      for (const s of c.dirs) this.flushDeferred(c, s, true);
      for (const s of c.dirs) {
        if (s.heldBytes > 0) this.release(c, s, s.heldBytes, s.held.length);
        s.held = [];
      }
    }
    this.buffering.delete(c);
    const head = this.table.get(c.key);
    if (head === c) {
      if (c.sameKey === null) this.table.delete(c.key);
      else this.table.set(c.key, c.sameKey);
    } else {
      for (let x = head ?? null; x !== null; x = x.sameKey) {
        if (x.sameKey === c) {
          x.sameKey = c.sameKey;
          break;
        }
      }
    }
    c.sameKey = null;
  }

  private remember(s: Direction, offset: number, data: Buffer): void {
    if (this.historySize === 0 || data.length === 0) return;
    if (s.history === null) s.history = new Float64Array(this.historySize * 3).fill(-1);
    const i = s.historyPos * 3;
    s.history[i] = offset;
    s.history[i + 1] = data.length;
    s.history[i + 2] = this.hash(data);
    s.historyPos = (s.historyPos + 1) % this.historySize;
  }

  /** Compare retransmitted bytes with the hash of every remembered delivered segment they cover entirely. */
  private verifyHistory(c: Connection, d: StreamDirection, s: Direction, off: number, bytes: Buffer, frame: number): void {
    const h = s.history;
    if (h === null) return;
    const end = off + bytes.length;
    for (let i = 0; i < h.length; i += 3) {
      const o = h[i];
      const n = h[i + 1];
      if (o < off || o + n > end || n <= 0) continue;
      if (this.hash(bytes.subarray(o - off, o - off + n)) !== h[i + 2]) {
        this.mismatch(c, d, o, frame);
        return;
      }
    }
  }

  private mismatch(c: Connection, d: StreamDirection, streamOffset: number, frame: number): void {
    this.st.retransmissionMismatches++;
    if (c.mismatchReports >= MAX_MISMATCH_REPORTS) return;
    c.mismatchReports++;
    this.handler.problem?.(c.info, frame, reassemblyProblem('tcp-retransmission-mismatch',
      `retransmitted bytes differ from the bytes first seen at stream offset ${streamOffset} in direction ${d}` +
        (c.mismatchReports === MAX_MISMATCH_REPORTS ? ' (further mismatches on this connection are only counted)' : '')));
  }

  private reportOnce(c: Connection, bit: number, frame: number, p: Problem): void {
    if ((c.reported & bit) !== 0) return;
    c.reported |= bit;
    this.handler.problem?.(c.info, frame, p);
  }
}
