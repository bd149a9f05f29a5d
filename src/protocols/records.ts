/**
 * The records the protocol stage hands downstream: one DissectedFrame per captured frame, with the HTTP messages
 * and MIKEY messages it completed and every problem found on it. The correlator and the sinks read these types
 * only; they never reach back into the pipeline that produced them.
 */
import type { Problem } from '../common/problem';
import type { DecodedPacket } from '../decode/types';
import type { HttpMessage } from './http/types';
import type { MikeyAnalysis } from './mikey/tracker';

export interface MikeyFrameRecord {
  /** `udp` for a datagram, `http` for an `application/mikey` body (the seeds' transport variants B and C). */
  carrier: 'udp' | 'http';
  analysis: MikeyAnalysis;
}

export interface HttpFrameRecord {
  message: HttpMessage;
  /**
   * The addresses of the message's sender and receiver (its connection's), set only when the frame the message is
   * shown on is not the message's own last frame: a message ended by the end of the capture after its own frames were
   * emitted (the held-frame bound) is shown on the last frame, whose addresses are not its own. Whoever attributes the
   * message to a host reads these, not the frame's.
   */
  src?: string;
  dst?: string;
}

export interface DissectedFrame {
  packet: DecodedPacket;
  /** pcapng packet comments. */
  comments?: string[];
  /** HTTP messages completed by this frame (tshark shows a reassembled message on its last segment). */
  http?: HttpFrameRecord[];
  mikey?: MikeyFrameRecord[];
  /** Every problem of this frame, from every layer (packet, TCP stream, HTTP, Digest, MIKEY). */
  problems: Problem[];
  /**
   * Set when `analyze --shard` read only this frame's headers: another shard owns it. It still passes the dissector's
   * queue in capture order, so the correlator's packet clock runs as in one run over everything; nothing else of it
   * counts here.
   */
  foreign?: true;
}

export type DissectedFrameHandler = (frame: DissectedFrame) => void;

/** End-of-capture results that could not be attached to a frame because it had already been emitted. */
export interface LateFindings {
  problems: { frame: number; problem: Problem }[];
  http: HttpMessage[];
}
