/**
 * The record a capture stage hands down the pipeline when it lost packets: a type shared by the capture engines
 * (which learn of losses), the correlator (which qualifies findings near them) and the sinks, so no stage imports
 * another's module for it.
 */
import type { PacketTime } from './time';

/**
 * Why packets are missing from a span of capture time: `queue` — keyscope's own bounded queue between its capture
 * thread and its analysis overflowed (counted); `engine` — the capture engine counted drops (tcpdump's kernel
 * counter); `tcp-gap` — a TCP stream lost bytes the peer acknowledged (proven on the wire, missing here);
 * `mikey-counter` — the per-UE MSK message counter jumped, or a UE acknowledged an MSK message the capture lacks;
 * `http-unpaired` — a response on a connection already in the capture answers a request that is not;
 * `digest-missing` — an MSK message answered a pull whose authenticated (Digest) request is not in the capture
 * (src/correlate/loss-signals.ts).
 */
export type CaptureLossCause = 'queue' | 'engine' | 'tcp-gap' | 'mikey-counter' | 'http-unpaired' | 'digest-missing';

/**
 * A span of capture time in which the capture lost packets. A capture-level fact handed down the pipeline: findings
 * whose evidence falls in it (or shortly after, see the correlator's lossMarginSeconds) are qualified as "possibly
 * capture loss" instead of accusing a UE or the BM-SC.
 */
export interface CaptureLossWindow {
  from: PacketTime;
  to: PacketTime;
  cause: CaptureLossCause;
  /** Packets lost in it, when counted. */
  packets?: number;
  /** Bytes lost in it, when known (TCP gaps). */
  bytes?: number;
}
