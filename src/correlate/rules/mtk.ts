/**
 * MTK delivery (TS 33.246 §6.3.3, §6.4.6): MIKEY messages over the multicast stream, protected with an MSK, repeated
 * periodically, never ACKed. One transaction per MTK ID under an MSK; repetitions counted; a new MTK's counter must
 * rise (the counter-replay rule of the delivery room, declared there).
 */
import { hashBytes } from '../../common/one-shot-hash';
import type { PacketTime } from '../../common/time';
import type { MikeyFrameRecord } from '../../protocols/records';
import { serialGreater } from '../../protocols/mikey/tracker';
import type { MbmsInfo } from '../../protocols/mikey/types';
import type { RoomContext } from '../context';
import type { DiagnosticInfo } from '../diagnostic-info';
import { groupIn, hex, keyDomain, keyRefIn, pushOne, secs, timeOf, type DeliveryRef, type Endpoints, type Tx, type UeState } from '../model';
import { OldestKeys } from '../../common/oldest-key';
import type { DeliveryRules } from './delivery';


export const MTK_DIAGNOSTICS = {
  'mtk-id-not-increasing': {
    severity: 'warning',
    meaning: 'An MTK message whose MTK ID is not above the highest one seen under its MSK (and not a resend of the same message): receivers ignore it (TS 33.246 §6.4.6.2).',
    evidence: 'the earlier MTK message with the higher MTK ID and this one',
  },
  'mtk-id-outside-interval': {
    severity: 'warning',
    meaning: 'An MTK ID outside the (SEQl, SEQu] interval of its MSK: receivers reject it (needs the MSK delivery and --keys to read the interval).',
    evidence: 'the MSK delivery carrying the interval and the MTK message',
  },
  'mtk-ack': {
    severity: 'warning',
    meaning: 'A verification message (ACK) answers an MTK message; UEs never ACK MTKs.',
    evidence: 'the MTK message and the ACK that answers it',
  },
} as const satisfies Record<string, DiagnosticInfo>;

interface MtkStream {
  /** The highest counter seen under the MSK, and its frame. */
  counter?: number;
  frame: number;
  mtkId?: number;
  /**
   * The last message's digest (SHA-256 of its bytes): an identical message is a periodic repetition. A digest, not a
   * copy: a stream's cost stays ITEM_COSTS.mtkStream whatever the message's size.
   */
  digest?: Buffer;
  /** Epoch seconds of the last message. */
  last: number;
  tx?: Tx;
  /** The highest MTK ID accepted under the MSK, and its frame. */
  highest?: { mtkId: number; frame: number };
}

export class MtkRules {
  /** `kd:mskId` → the MTK stream under that MSK. */
  private readonly streams = new Map<string, MtkStream>();
  /** `kd:mskId` → the MTK ID interval its MSK delivery set, and that delivery's frame. */
  private readonly intervals = new Map<string, { seqL: number; seqU: number; frame: number }>();
  private readonly oldestStream = new OldestKeys(this.streams);
  private readonly oldestInterval = new OldestKeys(this.intervals);

  constructor(private readonly ctx: RoomContext, private readonly delivery: DeliveryRules) {}

  /** An MSK delivery set the interval of MTK IDs its MSK protects. */
  mskInterval(key: string, seqL: number, seqU: number, frame: number): void {
    this.intervals.delete(key);
    this.intervals.set(key, { seqL, seqU, frame });
    this.oldestInterval.trim(this.ctx.options.maxMtkStreams);
  }

  message(frame: number, time: PacketTime, rec: MikeyFrameRecord, info: MbmsInfo, ends: Endpoints): void {
    const { ctx } = this;
    const m = rec.analysis.message;
    if (!m || info.keyDomainId === undefined || info.mskId === undefined) return;
    const mskHex = hex(info.mskId, 8);
    const key = `${info.keyDomainId}:${mskHex}`;
    const domain = keyDomain(info.keyDomainId);
    const ref = keyRefIn(domain, info.keyGroup, info.keyNumber);
    const st = this.streams.get(key);
    // one-shot: createHash, update and digest were 42 % of this room's time on the bench mix (issue #14 round 6)
    const digest = hashBytes('sha256', m.raw);
    const same = st?.digest !== undefined && st.digest.equals(digest);
    const sameMtk = st?.mtkId !== undefined && st.mtkId === info.mtkId;
    let tx = st?.tx;
    if (!tx || !tx.open || !sameMtk) {
      if (tx?.open) ctx.book.close(tx, 'complete');
      tx = ctx.book.create('mtk', undefined, ends.dst, time);
      tx.rec.bmsc = ends.src;
      tx.rec.repetitions = 0;
      pushOne(tx.rec, 'deliveredKeys', { ...ref, label: `${ref.label}${info.mtkId !== undefined ? `:mtk=${info.mtkId}` : ''}` });
      tx.rec.delivered = true;
    } else tx.rec.repetitions = (tx.rec.repetitions ?? 0) + 1;
    ctx.book.step(tx, 'mtk', frame, time, undefined, rec.carrier, `MTK ${info.mtkId ?? '?'} under ${ref.label}${info.counter !== undefined ? ` ctr=${info.counter}` : ''}`);
    const mtkId = info.mtkId;
    if (mtkId !== undefined && !same) {
      const top = st?.highest;
      if (top && mtkId <= top.mtkId)
        ctx.findings.report('mtk-id-not-increasing', tx, ends.dst, [top.frame, frame], `MTK ID ${mtkId} under MSK ${ref.label} is not above ${top.mtkId} (frame ${top.frame}): receivers ignore it`);
      const iv = this.intervals.get(key);
      if (iv && (mtkId <= iv.seqL || mtkId > iv.seqU))
        ctx.findings.report('mtk-id-outside-interval', tx, ends.dst, [iv.frame, frame], `MTK ID ${mtkId} under MSK ${ref.label} is outside the interval (${iv.seqL}, ${iv.seqU}] of its MSK delivery (frame ${iv.frame})`);
    }
    if (st && !same && !sameMtk && info.counter !== undefined && st.counter !== undefined && !serialGreater(info.counter, st.counter))
      ctx.findings.report('counter-replay', tx, ends.dst, [st.frame, frame], `MTK message counter ${info.counter} under MSK ${ref.label} is not above ${st.counter} (frame ${st.frame}): receivers drop it as a replay`);
    ctx.stats.mtkMessage(key, info.keyDomainId, mskHex, info.mtkId, st ? secs(time) - st.last : undefined);
    const counterUp = st?.counter === undefined || (info.counter !== undefined && serialGreater(info.counter, st.counter));
    this.streams.delete(key);
    this.streams.set(key, {
      counter: counterUp ? info.counter : st?.counter, mtkId: info.mtkId, digest, frame: counterUp ? frame : st?.frame ?? frame,
      last: secs(time), tx,
      // a message whose MAC fails is not accepted, and a resend changes nothing
      highest: mtkId !== undefined && !same && rec.analysis.verified !== false && (st?.highest === undefined || mtkId > st.highest.mtkId) ? { mtkId, frame } : st?.highest,
    });
    const k = this.oldestStream.over(this.ctx.options.maxMtkStreams);
    if (k !== undefined) {
      const oldest = this.streams.get(k);
      if (oldest?.tx?.open) ctx.book.close(oldest.tx, 'evicted');
      this.streams.delete(k);
    }
    const d: DeliveryRef = { tx, txId: tx.rec.id, kind: 'mtk', frame, time: timeOf(time), v: info.v, ackDue: false, acked: false, ackInvalid: false, timedOut: false, bmsc: ends.src, group: groupIn(domain, info.keyGroup), label: ref.label };
    this.delivery.index(d, m.header.csbId, info.counter);
  }

  /** An ACK that answers MTK message `d`. */
  acked(d: DeliveryRef, ue: UeState | string, frame: number, from: string): void {
    this.ctx.findings.report('mtk-ack', d.tx ?? d.txId, ue, [d.frame, frame], `ACK from ${from} answers the MTK message of frame ${d.frame}; UEs never ACK MTK messages`);
  }

  /** End of capture: the last MTK of every stream is complete. */
  finish(): void {
    for (const s of this.streams.values()) if (s.tx?.open) this.ctx.book.close(s.tx, 'end-of-capture');
  }
}
