/**
 * Capture-loss signals the correlator reads from the traffic itself, beside the TCP gaps (CAPTURE_LOSS_PROBLEMS) and
 * the capture engine's counted drops. Each is a span of packet time in which the capture missed a message the traffic
 * proves was sent; the correlator qualifies the findings near it ("possibly capture loss"). Decided on packet time
 * only, so a file and a live capture of the same traffic give the same spans.
 *
 * - **MSK counter jumps** (cause `mikey-counter`). TS 33.246 §6.4.3: the MIKEY timestamp of MSK messages is a counter,
 *   one per UE (per MUK), "increased by one for each MSK message sent from the BM-SC to the UE even in case BM-SC
 *   retransmits", reset only with a new MUK (a new B-TID, hence a new key here). A rise by n > 1 between two MSK
 *   messages (deliveries and solicited-pull triggers alike) to one UE therefore means n − 1 MSK messages were sent in
 *   between and are not in the capture: the capture lost them, or they went a way it does not see, or the BM-SC spent
 *   the counter values without sending — which of these the capture cannot tell, hence "possibly". The span runs from
 *   the earlier message to the later one (the missing ones were sent between them). An ACK (verification message,
 *   which carries the counter of the MSK message it answers, §6.4.5.2) whose counter is above every MSK counter seen
 *   for that UE answers a message the UE received and the capture did not: a span from the last MSK message to the
 *   ACK; an ACK from a UE with no MSK message in the capture at all counts too once the capture is older than the
 *   ACK timeout (an ACK that late cannot answer a message sent before the capture began). Not a signal: MTK counters and MTK IDs. The MTK counter is one per MSK common to all UEs, a retransmission
 *   may keep it (§6.4.3 NOTE) and several BM-SCs may step it by NTP seconds (§6.3.4.6); MTK IDs may skip too: a jump
 *   there is no evidence of a missed message.
 * - **HTTP responses without a request** (cause `http-unpaired`): a response on a TCP connection on which an earlier
 *   HTTP message was in the capture, whose request is not: the request was sent between that earlier message and the
 *   response. The first message of a connection does not count — its request may simply predate the capture (the
 *   HTTP stage's `http-response-without-request` note).
 * - **An MSK message answering a pull whose authenticated request is not in the capture** (cause `digest-missing`,
 *   found by the pull room, rules/pull.ts): TS 33.246 §6.3.2 authenticates every MSK request with HTTP Digest, so the
 *   BM-SC answers an MSK request only after the UE's request with credentials. A pull whose MSK message arrives with
 *   no such request seen lost it — with the 401 before it, and usually the 200 OK and the connection's end, all on one
 *   TCP connection, which leaves no sequence gap when the burst swallows the connection's tail (a real loss pattern
 *   of a loaded live capture: bursts of ~18 packets). The span runs from the pull's start to the MSK message.
 *
 * State is bounded: UEs' MSK counters by the correlator's maxMukCounters, connections by the correlator's maxConnections,
 * the oldest going first (a forgotten one only misses a signal).
 */
import type { CaptureLossCause } from '../common/capture-loss';
import type { DissectedFrame } from '../protocols/records';
import { serialGreater } from '../protocols/mikey/tracker';
import { OldestKeys } from '../common/oldest-key';

/** A span of suspected capture loss, in seconds of packet time. */
export interface LossSignal {
  from: number;
  to: number;
  cause: CaptureLossCause;
  /** Messages missing, as far as the signal counts them. */
  packets: number;
}

/** Spans and missing messages counted per cause (what the live summary reports beside the engine's drops). */
export type LossSignalCounts = Partial<Record<CaptureLossCause, { spans: number; packets: number }>>;

/** Above this, a counter difference is a wrap or a reset, not a jump (RFC 1982: the relation is undefined at half). */
const MAX_COUNTER_JUMP = 0x7fffffff;

export class CaptureLossSignals {
  /** Per UE (B-TID, or address when the message names none): the highest MSK counter seen and when. */
  private readonly mskCounters = new Map<string, { counter: number; t: number; acked: number; key: string }>();
  /** Per HTTP connection: when its latest HTTP message was seen. */
  private readonly connections = new Map<number, number>();
  private readonly oldestConnection = new OldestKeys(this.connections);
  private readonly oldestMskCounter = new OldestKeys(this.mskCounters);
  readonly counts: LossSignalCounts = {};

  /** The first frame's time (seconds of packet time). */
  private first: number | undefined;

  /**
   * @param maxUes UEs whose MSK counter is followed (the correlator's maxMukCounters)
   * @param ackTimeout seconds within which a UE ACKs an MSK message (the correlator's ackTimeout)
   * @param maxConnections HTTP connections whose latest message time is kept (the correlator's maxConnections)
   */
  constructor(private readonly maxUes: number, private readonly ackTimeout: number, private readonly maxConnections: number) {}

  /** The signals of one frame at packet time `t` (seconds); `add` gets each span. */
  frame(f: DissectedFrame, t: number, add: (s: LossSignal) => void): void {
    this.first ??= t;
    const http = f.http;
    if (http) for (const h of http) this.http(h.message.connId, h.message.kind === 'response' && h.message.requestFrame === undefined, t, add);
    const mikey = f.mikey;
    if (mikey) for (const m of mikey) this.mikey(f, m.analysis.mbms ?? undefined, t, add);
  }

  private http(connId: number, unpaired: boolean, t: number, add: (s: LossSignal) => void): void {
    const map = this.connections;
    const before = map.get(connId);
    if (unpaired && before !== undefined) this.signal(add, { from: before, to: t, cause: 'http-unpaired', packets: 1 });
    if (before !== undefined) map.delete(connId);
    map.set(connId, t);
    this.oldestConnection.trim(this.maxConnections);
  }

  private mikey(f: DissectedFrame, info: { kind: string; counter?: number; idr?: string } | undefined, t: number, add: (s: LossSignal) => void): void {
    if (!info || info.counter === undefined) return;
    const msk = info.kind === 'msk-delivery' || info.kind === 'solicited-pull-trigger';
    const ack = info.kind === 'verification';
    if (!msk && !ack) return;
    // the UE: the message's IDr (its B-TID); without one, its address (the receiver of an MSK message, the sender of an ACK)
    const ip = f.packet.ip;
    const key = info.idr ?? (ip ? `addr:${msk ? ip.dst : ip.src}` : undefined);
    if (key === undefined) return;
    const map = this.mskCounters;
    const last = map.get(key);
    const counter = info.counter;
    if (ack) {
      // an ACK for a message above every one seen: the UE got an MSK message the capture did not
      if (last && serialGreater(counter, last.counter) && ((counter - last.counter) >>> 0) <= MAX_COUNTER_JUMP) {
        last.acked++;
        this.signal(add, { from: last.t, to: t, cause: 'mikey-counter', packets: 1 });
      } else if (!last && this.first !== undefined && t - this.first > this.ackTimeout) {
        // no MSK message to this UE in the capture at all, and the ACK is too late to answer one sent before the
        // capture began (the BM-SC sends a new message, with a new counter, when an ACK is that late)
        this.signal(add, { from: Math.max(this.first, t - this.ackTimeout), to: t, cause: 'mikey-counter', packets: 1 });
      }
      return;
    }
    if (last && !serialGreater(counter, last.counter)) return;
    if (last) {
      const jump = (counter - last.counter) >>> 0;
      // the messages ACKs already proved missing are not counted twice; the span is opened all the same
      if (jump > 1 && jump <= MAX_COUNTER_JUMP) this.signal(add, { from: last.t, to: t, cause: 'mikey-counter', packets: Math.max(0, jump - 1 - last.acked) });
      // updated in place and moved to the newest end under its first key string: a new record and key per MSK
      // message lived until the UE's next one, long enough to be promoted
      last.counter = counter;
      last.t = t;
      last.acked = 0;
      map.delete(key);
      map.set(last.key, last);
    } else map.set(key, { counter, t, acked: 0, key });
    this.oldestMskCounter.trim(this.maxUes);
  }

  /** A span a correlator room found (cause `digest-missing`: rules/pull.ts): counted like the others. */
  room(s: LossSignal, add: (s: LossSignal) => void): void {
    this.signal(add, s);
  }

  private signal(add: (s: LossSignal) => void, s: LossSignal): void {
    const c = (this.counts[s.cause] ??= { spans: 0, packets: 0 });
    c.spans++;
    c.packets += s.packets;
    add(s);
  }
}
