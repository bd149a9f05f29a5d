/**
 * Counters a live view needs (packets, bytes, rates) and the capture-loss estimate. `cap` exposes no kernel drop
 * counter, so loss is estimated from what TCP itself proves missing: bytes the receiver acknowledged that never
 * reached the capture. The TCP numbers come from the reassembly stage (Dissector.tcpStats); they are taken here
 * structurally so the capture stage imports nothing from later stages.
 */
import type { PacketTime } from '../common/time';
import type { LiveBacklog, LiveCaptureStats } from './live';
import type { CaptureFrame } from './types';

export type { CaptureLossCause, CaptureLossWindow } from '../common/capture-loss';

/** The TCP reassembly counters the estimate is built from (a TcpReassemblyStats is one). */
export interface TcpLossInputs {
  /** Stream bytes handed to the application layer. */
  bytesDelivered: number;
  /** Bytes missing from streams, for any reason (capture loss, a capture started mid-stream, snaplen cuts). */
  gapBytes: number;
  /** Gap bytes the peer acknowledged: on the wire, but not in the capture. */
  ackedUnseenBytes: number;
}

export interface CaptureLossEstimate {
  /** Bytes proven lost by the capture (ACKed but unseen). */
  lostBytes: number;
  /** All stream gap bytes, an upper bound that also counts gaps with other causes. */
  gapBytes: number;
  /** lostBytes / (delivered + lostBytes), 0 when no TCP payload was seen. A lower bound: UDP loss is invisible. */
  ratio: number;
}

export function estimateCaptureLoss(tcp: TcpLossInputs): CaptureLossEstimate {
  const lost = Math.max(0, tcp.ackedUnseenBytes);
  const total = Math.max(0, tcp.bytesDelivered) + lost;
  return { lostBytes: lost, gapBytes: Math.max(0, tcp.gapBytes), ratio: total > 0 ? lost / total : 0 };
}

/** Packets and bytes per second over the last few whole seconds of a monotonic clock. */
export class RateWindow {
  private readonly seconds: number;
  private readonly packets: number[];
  private readonly bytes: number[];
  /** The monotonic second the newest slot belongs to. */
  private head = -1;

  constructor(seconds = 5) {
    this.seconds = Math.max(1, Math.floor(seconds));
    this.packets = new Array<number>(this.seconds + 1).fill(0);
    this.bytes = new Array<number>(this.seconds + 1).fill(0);
  }

  add(monoNs: bigint, bytes: number): void {
    const sec = this.advance(monoNs);
    const i = sec % this.packets.length;
    this.packets[i]++;
    this.bytes[i] += bytes;
  }

  /**
   * Average over the completed seconds of the window (the current, partial second is left out so the rate does
   * not sag at the start of each second); over the elapsed time when the capture is younger than one second.
   */
  rate(monoNs: bigint, startNs: bigint): { packetsPerSecond: number; bytesPerSecond: number } {
    const sec = this.advance(monoNs);
    const startSec = Number(startNs / 1_000_000_000n);
    const complete = Math.min(this.seconds, sec - startSec);
    if (complete <= 0) {
      const elapsed = Number(monoNs - startNs) / 1e9;
      const i = sec % this.packets.length;
      return elapsed > 0 ? { packetsPerSecond: this.packets[i] / elapsed, bytesPerSecond: this.bytes[i] / elapsed } : { packetsPerSecond: 0, bytesPerSecond: 0 };
    }
    let p = 0;
    let b = 0;
    for (let k = 1; k <= complete; k++) {
      const i = (sec - k) % this.packets.length;
      p += this.packets[i];
      b += this.bytes[i];
    }
    return { packetsPerSecond: p / complete, bytesPerSecond: b / complete };
  }

  private advance(monoNs: bigint): number {
    const sec = Number(monoNs / 1_000_000_000n);
    if (this.head < 0) this.head = sec;
    if (sec > this.head) {
      // clear the slots of the seconds that passed without packets (at most the whole ring)
      const steps = Math.min(sec - this.head, this.packets.length);
      for (let k = 1; k <= steps; k++) {
        const i = (this.head + k) % this.packets.length;
        this.packets[i] = 0;
        this.bytes[i] = 0;
      }
      this.head = sec;
    }
    return this.head;
  }
}

/** Seconds of arrival rate the live statistics average over (packets/s, bytes/s). */
export const LIVE_RATE_WINDOW_SECONDS = 5;

/** The counters every live source keeps for LiveCaptureStats. */
export interface LiveCounters {
  packets: number;
  bytes: number;
  capturedBytes: number;
  truncatedFrames: number;
}

export function newLiveCounters(): LiveCounters {
  return { packets: 0, bytes: 0, capturedBytes: 0, truncatedFrames: 0 };
}

/** Count one frame into `counters` and the rate window (every live source does this for each frame it delivers). */
export function countLiveFrame(counters: LiveCounters, window: RateWindow, frame: CaptureFrame, arrivalMono: bigint = process.hrtime.bigint()): void {
  counters.packets++;
  counters.bytes += frame.originalLength;
  counters.capturedBytes += frame.capturedLength;
  if (frame.capturedLength < frame.originalLength) counters.truncatedFrames++;
  window.add(arrivalMono, frame.originalLength);
}

/** LiveCaptureStats from a source's counters, as of `stopMono` (the stop) or now. */
export function liveStats(
  counters: LiveCounters,
  window: RateWindow,
  clock: { startMono: bigint; stopMono: bigint | undefined; startTime: PacketTime; lastTime: PacketTime | undefined },
): LiveCaptureStats {
  const now = clock.stopMono ?? process.hrtime.bigint();
  const rate = window.rate(now, clock.startMono);
  const s: LiveCaptureStats = {
    ...counters,
    startTime: clock.startTime,
    elapsedSeconds: Number(now - clock.startMono) / 1e9,
    packetsPerSecond: rate.packetsPerSecond,
    bytesPerSecond: rate.bytesPerSecond,
  };
  if (clock.lastTime) s.lastTime = clock.lastTime;
  return s;
}

/** Bytes as the live status lines and the dashboard write them: MiB, one decimal, "MB" (`12.5 MB`). */
export function mbText(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** How far behind the capture the analysis is, as the live status line and the dashboard header say it. */
export function backlogText(b: Pick<LiveBacklog, 'frames' | 'spoolBytes' | 'seconds'>): string {
  const spooled = b.spoolBytes > 0 ? `, ${mbText(b.spoolBytes)} spooled` : '';
  return `behind: ${b.frames} frames${spooled}, ${b.seconds.toFixed(1)} s`;
}
