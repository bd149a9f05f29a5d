/**
 * The one pipeline, the same for files and live capture: CaptureFrame → PacketDecoder (link/IP/fragments/GTP-U)
 * → TcpReassembler → HTTP parser, and UDP/HTTP bodies → MIKEY, each frame leaving as a DissectedFrame.
 *
 * Output order: frames leave in capture order. A frame that carries an HTTP request is held back until the
 * request's response has started (so `responseFrame` can be given, as tshark's two passes do) or until the
 * hold bound is reached; the frames behind it wait with it. The hold is bounded in frames and packet time, so
 * memory stays bounded and live output is delayed by at most a request's round trip in the normal case.
 */
import type { CaptureFrame } from '../capture/types';
import type { Problem } from '../common/problem';
import { compareTime, diffSeconds, type PacketTime } from '../common/time';
import { HttpStreamHandler, type HttpParserOptions, type HttpSharedLimits } from '../protocols/http/parser';
import type { HttpMessage } from '../protocols/http/types';
import { MIKEY_UDP_PORT } from '../protocols/mikey/port';
import { MbmsKeyTracker } from '../protocols/mikey/tracker';
import type { KeyStore } from '../protocols/keys';
import type { DissectedFrame, DissectedFrameHandler, LateFindings } from '../protocols/records';
import { TcpReassembler, type TcpReassemblerOptions } from '../reassembly/tcp';
import type { StreamChunk, StreamDirection, StreamGap, TcpCloseReason, TcpConnectionInfo, TcpStreamHandler } from '../reassembly/types';
import { PacketDecoder, type PacketDecoderOptions } from './packet-decoder';
import type { ShardRouter } from './shard';
import { definedOnly, pipelineBudgetFromMemory } from './memory-budget';
import { DigestTracker } from '../protocols/http/tracker';
import { digestCredentialsView, isDigest } from '../protocols/http/auth';

export interface DissectorOptions {
  /** UDP ports carrying MIKEY besides 2269. */
  mikeyPorts?: Iterable<number>;
  keys?: KeyStore | null;
  showKeys?: boolean;
  decoder?: PacketDecoderOptions;
  tcp?: TcpReassemblerOptions;
  /** HTTP parser limits (`maxPendingRequests`: requests awaiting a response per connection, default 1024). */
  http?: HttpParserOptions;
  /**
   * HTTP bounds over all connections together (requests awaiting a response, bytes of messages in progress); those not
   * given are derived from maxMemory.
   */
  httpShared?: Partial<HttpSharedLimits>;
  /**
   * Memory budget in MB (`--max-memory`, default DEFAULT_MAX_MEMORY_MB) the bounds not given here are derived from
   * (src/pipeline/memory-budget.ts): open TCP connections and HTTP parsers, closed connections remembered, held frames
   * and bytes, out-of-order TCP data, IP fragments. Bounds given in `tcp`, `decoder.fragments`, `maxHeldFrames` and
   * `maxHeldBytes` win.
   */
  maxMemory?: number;
  /** Frames held back at most while waiting for an HTTP response or the end of a message (default from maxMemory). */
  maxHeldFrames?: number;
  /**
   * Estimated bytes of held frames at most (default from maxMemory): captured bytes plus HTTP header and body bytes plus a
   * per-object allowance (see HELD_*_COST). A burst of pipelined requests in a few large segments stays under the frame
   * count bound, so the bytes are bounded too.
   */
  maxHeldBytes?: number;
  /** Packet-time seconds a frame is held back at most (default 30). */
  maxHoldSeconds?: number;
  /**
   * Keep the newest frame until the next one arrives (default true), so that findings raised at the end of the
   * capture (a message cut by the end, fragments never completed) attach to a frame. A live source turns it off:
   * there a frame must show when it arrives, and end-of-capture findings come back from finish() instead.
   */
  holdNewest?: boolean;
  /**
   * Hold the frame that carried the latest bytes of an HTTP message not yet ended (default: as `holdNewest`), so that a
   * message ended later by the end of the capture, a gap timer or another connection's packet is shown on its own last
   * frame (its own addresses and time), not on whichever frame was being processed. Bounded like every hold.
   */
  holdPartialMessages?: boolean;
  /**
   * `analyze --shard`: frames another shard owns are header-decoded only and leave as `foreign` records (in order, so
   * packet time runs as in one run); the owner does everything else with them. Default: every frame is this one's.
   */
  shard?: ShardRouter;
}

// the records this stage emits live with the protocol stage, so the correlator and the sinks never import the pipeline
export type { DissectedFrame, DissectedFrameHandler, HttpFrameRecord, LateFindings, MikeyFrameRecord } from '../protocols/records';

/** Rough heap cost of a held frame's record objects (decoded layers, problem list) beyond its captured bytes (measured ≈ 1 KB). */
const HELD_FRAME_COST = 1024;
/** Rough heap cost of an HTTP message object (headers array, frame list, problems) beyond its header and body bytes. */
const HELD_MESSAGE_COST = 1024;
/** Rough heap cost of one problem object with its message text. */
const HELD_PROBLEM_COST = 200;

export interface DissectorStats {
  frames: number;
  bytes: number;
  udp: number;
  tcp: number;
  mikey: number;
  http: number;
  problems: number;
}

/** The shared empty lists of a held frame (most frames wait for nothing): replaced, never written, on the first entry. */
const NO_WAITING: HttpMessage[] = [];
const NO_PARTIAL: number[] = [];

interface HeldFrame {
  record: DissectedFrame;
  /** Requests in this frame still waiting for their response. */
  waiting: HttpMessage[];
  /** Connection directions (keys of Dissector.partial) whose unfinished HTTP message last got bytes from this frame. */
  partial: number[];
  /** Estimated bytes this frame keeps alive (see maxHeldBytes). */
  cost: number;
}

export class Dissector {
  private readonly decoder: PacketDecoder;
  private readonly tcp: TcpReassembler;
  private readonly http: HttpStreamHandler;
  private readonly mikey: MbmsKeyTracker;
  private readonly digest: DigestTracker;
  private readonly mikeyPorts: Set<number>;
  private readonly shard: ShardRouter | undefined;
  private readonly connections = new Map<number, TcpConnectionInfo>();
  /** Frames not yet emitted, in frame-number order (so lookups are a binary search, not a per-frame Map). */
  private held: HeldFrame[] = [];
  private readonly maxHeld: number;
  private readonly maxHoldSeconds: number;
  private readonly maxHeldBytes: number;
  private heldBytes = 0;
  private readonly holdNewest: boolean;
  private readonly holdPartial: boolean;
  /** Per connection direction (id * 2 + dir): the held frame with the latest bytes of its unfinished HTTP message. */
  private readonly partial = new Map<number, HeldFrame>();
  /**
   * Requests in held frames still waiting for their response, per connection id, oldest first (at most the HTTP
   * parser's maxPendingRequests each: a request it forgets is released). Lets a connection that ends find its requests
   * without scanning every held frame.
   */
  private readonly waitingByConn = new Map<number, HttpMessage[]>();
  private late: LateFindings | undefined;
  /** The frame being dissected; stream events raised while it is processed belong to it. */
  private current: HeldFrame | undefined;
  readonly stats: DissectorStats = { frames: 0, bytes: 0, udp: 0, tcp: 0, mikey: 0, http: 0, problems: 0 };

  constructor(
    private readonly emit: DissectedFrameHandler,
    options: DissectorOptions = {},
  ) {
    const budget = pipelineBudgetFromMemory(options.maxMemory);
    this.decoder = new PacketDecoder({
      ...options.decoder,
      fragments: { maxBufferedBytes: budget.maxFragmentBytes, maxPendingDatagrams: budget.maxPendingDatagrams, ...definedOnly(options.decoder?.fragments) },
    });
    const tcpOptions: TcpReassemblerOptions = {
      maxConnections: budget.maxConnections,
      maxClosedConnections: budget.maxClosedConnections,
      maxBufferedBytes: budget.maxBufferedBytes,
      maxBufferedPerConnection: budget.maxBufferedPerConnection,
      maxBufferedPerDirection: budget.maxBufferedPerDirection,
      maxHeldSegments: budget.maxHeldSegments,
      maxHeldSegmentsPerDirection: budget.maxHeldSegmentsPerDirection,
      ...definedOnly(options.tcp),
    };
    this.mikeyPorts = new Set([MIKEY_UDP_PORT, ...(options.mikeyPorts ?? [])]);
    this.shard = options.shard;
    this.maxHeld = options.maxHeldFrames ?? budget.maxHeldFrames;
    this.maxHoldSeconds = options.maxHoldSeconds ?? 30;
    this.holdNewest = options.holdNewest ?? true;
    this.maxHeldBytes = options.maxHeldBytes ?? budget.maxHeldBytes;
    this.holdPartial = options.holdPartialMessages ?? this.holdNewest;
    const keys = options.keys ?? null;
    this.mikey = new MbmsKeyTracker(keys, { showKeys: options.showKeys ?? false });
    this.digest = new DigestTracker(keys ? { passwords: { passwordFor: (user: string) => keys.digestPasswordFor(user), usernames: () => [...keys.digest.keys(), ...keys.naf.keys()] } } : {});
    const http = (this.http = new HttpStreamHandler(
      {
        message: (m) => this.onHttpMessage(m),
        problem: (_conn, frame, p) => this.attachProblem(frame, p),
        forgotten: (m) => this.release(m),
      },
      // one parser per connection the reassembler follows
      {
        ...options.http,
        maxConnections: tcpOptions.maxConnections,
        shared: {
          maxPendingRequests: budget.maxPendingRequests,
          maxPendingBytes: budget.maxPendingBytes,
          maxInProgressBytes: budget.maxInProgressBytes,
          ...definedOnly(options.httpShared),
        },
      },
    ));
    const self = this;
    const streams: TcpStreamHandler = {
      open(conn: TcpConnectionInfo) {
        self.connections.set(conn.id, conn);
      },
      data(conn: TcpConnectionInfo, dir: StreamDirection, chunk: StreamChunk) {
        http.data(conn, dir, chunk);
        if (self.holdPartial) self.trackPartial(conn.id, dir, chunk.frame, http.inProgress(conn.id, dir));
      },
      gap(conn: TcpConnectionInfo, dir: StreamDirection, gap: StreamGap) {
        http.gap(conn, dir, gap);
        if (self.holdPartial) self.trackPartial(conn.id, dir, gap.frame, http.inProgress(conn.id, dir));
      },
      end(conn: TcpConnectionInfo, dir: StreamDirection, reason: TcpCloseReason, time: PacketTime) {
        http.end(conn, dir, reason, time);
        if (self.holdPartial) self.trackPartial(conn.id, dir, 0, false);
        if (reason !== 'fin' || dir === 1) {
          self.connections.delete(conn.id);
          // a request whose connection ended unanswered holds its frame back no longer
          self.releaseConnection(conn.id);
        }
      },
      problem(_conn: TcpConnectionInfo, frame: number, p: Problem) {
        self.attachProblem(frame, p);
      },
    };
    this.tcp = new TcpReassembler(streams, tcpOptions);
  }

  /** TCP reassembly counters (gaps, ACKed-but-unseen bytes: the capture-loss estimate). */
  get tcpStats() {
    return this.tcp.stats;
  }

  frame(cf: CaptureFrame): void {
    const packet = this.decoder.decode(cf);
    if (this.shard !== undefined && !this.shard.owns(packet)) {
      this.foreignFrame(cf, packet);
      return;
    }
    const record: DissectedFrame = { packet, problems: packet.problems };
    if (cf.comments && cf.comments.length > 0) record.comments = cf.comments;
    const held: HeldFrame = { record, waiting: NO_WAITING, partial: NO_PARTIAL, cost: HELD_FRAME_COST + cf.capturedLength + packet.problems.length * HELD_PROBLEM_COST };
    this.current = held;
    this.stats.frames++;
    this.stats.bytes += cf.originalLength;
    const t = packet.transport;
    if (t) {
      if (t.kind === 'udp') {
        this.stats.udp++;
        if (packet.payload && (this.mikeyPorts.has(t.dstPort) || this.mikeyPorts.has(t.srcPort)) && packet.ip) {
          this.addMikey(record, 'udp', packet.payload, { frame: packet.frame, time: packet, src: packet.ip.src, dst: packet.ip.dst });
        }
      } else {
        this.stats.tcp++;
        this.tcp.packet(packet);
      }
    } else {
      this.tcp.advanceTime(packet);
    }
    this.current = undefined;
    this.stats.problems += record.problems.length;
    this.enqueue(held);
  }

  /**
   * A frame another shard owns: its problems are the owner's to report, its TCP segment moves only the reassembler's
   * clock here (idle timeouts expire as in one run); it waits in the queue like any frame, so the correlator sees its
   * time in capture order.
   */
  private foreignFrame(cf: CaptureFrame, packet: DissectedFrame['packet']): void {
    const record: DissectedFrame = { packet, problems: [], foreign: true };
    this.stats.frames++;
    this.stats.bytes += cf.originalLength;
    this.tcp.advanceTime(packet);
    this.enqueue({ record, waiting: NO_WAITING, partial: NO_PARTIAL, cost: HELD_FRAME_COST + cf.capturedLength });
  }

  /** Frames dissected but not emitted yet (held for an HTTP response, or behind such a frame). */
  get heldFrames(): number {
    return this.held.length;
  }

  /**
   * Stop waiting for responses to requests stamped at or before `cutoff`: every frame at the head of the queue up
   * to that time is emitted, in order (and the frames behind it that wait for nothing). Packet time stops when
   * traffic stops, so a live source calls this from a wall-clock timer: an unanswered request then holds its frame,
   * and everything behind it, back only briefly (see pipeline/live-pacer.ts). Files never call it, so their
   * output stays a function of packet time alone. Returns the number of frames emitted.
   */
  releaseHeld(cutoff: PacketTime): number {
    return this.drain(false, cutoff);
  }

  /**
   * End of capture: flush every stream and fragment buffer, then emit every held frame. Returns what could not be
   * attached to a frame still held (only possible with `holdNewest: false`).
   */
  finish(): LateFindings {
    const late: LateFindings = { problems: [], http: [] };
    this.late = late;
    // each connection ends at its own last packet: a message cut by the end of the capture keeps its own time
    this.tcp.flush();
    this.http.finish();
    for (const d of this.decoder.flush()) {
      // every shard decoded the fragments: the shard of the datagram's address pair reports it
      if (this.shard !== undefined && !this.shard.ownsPair(d.src, d.dst, d.version)) continue;
      const frame = d.frames[d.frames.length - 1];
      const target = this.findHeld(frame) ?? this.held[this.held.length - 1];
      if (target) target.record.problems.push(d.problem);
      else late.problems.push({ frame, problem: d.problem });
    }
    for (const h of this.held) {
      h.waiting.length = 0;
      h.partial.length = 0;
    }
    this.partial.clear();
    this.waitingByConn.clear();
    this.drain(true);
    this.late = undefined;
    return late;
  }

  /** The held frame with this number, if it has not been emitted yet. */
  private findHeld(frame: number): HeldFrame | undefined {
    const held = this.held;
    let lo = 0;
    let hi = held.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const f = held[mid].record.packet.frame;
      if (f === frame) return held[mid];
      if (f < frame) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  private addMikey(record: DissectedFrame, carrier: 'udp' | 'http', bytes: Uint8Array, meta: Parameters<MbmsKeyTracker['process']>[1]): void {
    const analysis = this.mikey.process(bytes, meta);
    (record.mikey ??= []).push({ carrier, analysis });
    for (const p of analysis.problems) record.problems.push(p);
    this.stats.mikey++;
  }

  private onHttpMessage(m: HttpMessage): void {
    this.digest.observe(m);
    const target = this.findHeld(m.lastFrame) ?? this.current ?? this.held[this.held.length - 1];
    if (!target) {
      this.late?.http.push(m);
      return;
    }
    const conn = this.connections.get(m.connId);
    if (conn && m.kind === 'request' && m.auth?.credentials) {
      // the Digest username is the B-TID: lets MIKEY find the UE's MUK by address when IDr is absent
      for (const c of m.auth.credentials) {
        if (!isDigest(c)) continue;
        const user = digestCredentialsView(c).username;
        if (user) this.mikey.associateUser(conn.clientAddr, user);
      }
    }
    const record = target.record;
    if (conn && this.late && record.packet.frame !== m.lastFrame) {
      // ended by the end of the capture and shown on a frame not its own (its own was emitted before, by the held-frame
      // bound): it keeps its own endpoints. Not for a connection evicted mid-capture (the reassembler's bound): that
      // state was given up, and its cut request is a finding on the frame being read, not a transaction.
      const fromClient = m.direction === 0;
      (record.http ??= []).push({ message: m, src: fromClient ? conn.clientAddr : conn.serverAddr, dst: fromClient ? conn.serverAddr : conn.clientAddr });
    } else (record.http ??= []).push({ message: m });
    this.charge(target, HELD_MESSAGE_COST + m.headerLength + m.body.length + m.problems.length * HELD_PROBLEM_COST);
    for (const p of m.problems) record.problems.push(p);
    this.stats.http++;
    if (m.kind === 'request' && !m.interim && m.responseFrame === undefined) {
      if (target.waiting === NO_WAITING) target.waiting = [m];
      else target.waiting.push(m);
      const list = this.waitingByConn.get(m.connId);
      if (list) list.push(m);
      else this.waitingByConn.set(m.connId, [m]);
    }
    if (m.kind === 'response' && !m.interim && m.request) this.release(m.request);
    if (m.contentType === 'application/mikey' && m.body.length > 0 && conn) {
      const fromClient = m.direction === 0;
      this.addMikey(record, 'http', m.body, {
        frame: m.lastFrame,
        time: m.lastTime,
        src: fromClient ? conn.clientAddr : conn.serverAddr,
        dst: fromClient ? conn.serverAddr : conn.clientAddr,
      });
    }
  }

  private release(request: HttpMessage): void {
    const h = this.findHeld(request.lastFrame);
    if (!h) return;
    const i = h.waiting.indexOf(request);
    if (i >= 0) {
      h.waiting.splice(i, 1);
      this.unwait(request);
    }
  }

  /** Forget a request that waits no longer (answered, forgotten, or its frame emitted). */
  private unwait(m: HttpMessage): void {
    const list = this.waitingByConn.get(m.connId);
    if (!list) return;
    // responses come in request order, so the request is nearly always the oldest
    const i = list.indexOf(m);
    if (i === 0) list.shift();
    else if (i > 0) list.splice(i, 1);
    if (list.length === 0) this.waitingByConn.delete(m.connId);
  }

  private releaseConnection(connId: number): void {
    const list = this.waitingByConn.get(connId);
    if (!list) return;
    this.waitingByConn.delete(connId);
    for (const m of list) {
      const h = this.findHeld(m.lastFrame);
      const i = h ? h.waiting.indexOf(m) : -1;
      if (h && i >= 0) h.waiting.splice(i, 1);
    }
  }

  private attachProblem(frame: number, p: Problem): void {
    const target = this.findHeld(frame) ?? this.current ?? this.held[this.held.length - 1];
    if (target) {
      target.record.problems.push(p);
      this.charge(target, HELD_PROBLEM_COST);
    } else this.late?.problems.push({ frame, problem: p });
  }

  private charge(h: HeldFrame, bytes: number): void {
    h.cost += bytes;
    // the frame being dissected is not in the queue yet: its cost joins the total when it is enqueued
    if (h !== this.current) this.heldBytes += bytes;
  }

  /**
   * After the HTTP parser has seen stream bytes (or a gap, or the end) of a connection direction: while a message is
   * unfinished, the frame of its latest bytes is held, so the message can still be shown on its own last frame.
   */
  private trackPartial(connId: number, dir: StreamDirection, frame: number, busy: boolean): void {
    const key = connId * 2 + dir;
    const prev = this.partial.get(key);
    const target = busy ? (this.findHeld(frame) ?? (this.current?.record.packet.frame === frame ? this.current : undefined)) : undefined;
    if (prev === target) return;
    const at = prev ? prev.partial.indexOf(key) : -1;
    if (prev && at >= 0) prev.partial.splice(at, 1);
    if (target) {
      if (target.partial === NO_PARTIAL) target.partial = [key];
      else target.partial.push(key);
      this.partial.set(key, target);
    } else this.partial.delete(key);
  }

  private enqueue(h: HeldFrame): void {
    // the common case: nothing held, nothing to wait for, no reason to keep it
    if (this.held.length === 0 && !this.holdNewest && h.waiting.length === 0) {
      this.emit(h.record);
      return;
    }
    this.held.push(h);
    this.heldBytes += h.cost;
    this.drain(false);
  }

  /**
   * Emit frames from the head of the queue while the head waits for nothing (or has waited too long, or — from a live
   * source's wall-clock timer — was captured at or before `cutoff`). With `holdNewest` the newest frame stays unless
   * `all`. Returns the number of frames emitted.
   */
  private drain(all: boolean, cutoff?: PacketTime): number {
    const held = this.held;
    const newest = held[held.length - 1];
    let n = 0;
    // shift(), not slice(): V8 trims the front in place, so a queue kept at its bound costs O(1) per frame, not O(bound)
    while (held.length > 0) {
      const h = held[0];
      if (!all) {
        if (h === newest && this.holdNewest) break;
        if (h.waiting.length > 0 || h.partial.length > 0) {
          const over =
            held.length > this.maxHeld || this.heldBytes > this.maxHeldBytes || diffSeconds(h.record.packet, newest.record.packet) > this.maxHoldSeconds ||
            (cutoff !== undefined && compareTime(h.record.packet, cutoff) <= 0);
          if (!over) break;
        }
      }
      held.shift();
      this.heldBytes -= h.cost;
      // forced out by a bound: the maps must not keep an emitted frame alive
      for (const key of h.partial) this.partial.delete(key);
      for (const m of h.waiting) this.unwait(m);
      this.emit(h.record);
      n++;
    }
    if (held.length === 0) this.heldBytes = 0;
    return n;
  }
}
