/**
 * MSK messages and their ACKs (TS 33.246 §6.3.2, §6.4.5): pushes, solicited-pull triggers, the deliveries of a pull,
 * and the verification messages (ACKs) that answer them. This room keeps the index ACKs are matched with, the
 * per-MUK counters, and what each UE holds (at most two MSKs per key group).
 */
import type { PacketTime } from '../../common/time';
import type { MikeyFrameRecord } from '../../protocols/records';
import { serialGreater } from '../../protocols/mikey/tracker';
import type { MbmsInfo } from '../../protocols/mikey/types';
import type { RoomContext } from '../context';
import type { DiagnosticInfo } from '../diagnostic-info';
import { diffSeconds } from '../../common/time';
import { addGroup, appendDropping, appendExact, flat, fromSecs, intern, ownMap, pushOne, groupIn, hex, keyDomain, keyRefIn, secs, timeOf, type DeliveryRef, type Endpoints, type Tx, type UeState } from '../model';
import { OldestKeys } from '../../common/oldest-key';
import { LIMITS } from '../options';
import type { MtkRules } from './mtk';
import type { PullRules } from './pull';
import type { RegistrationRules } from './registration';

export const DELIVERY_DIAGNOSTICS = {
  'ack-missing': {
    severity: 'error',
    meaning: 'An MSK message had the V bit set but no MIKEY verification message (ACK) came back within --ack-timeout.',
    evidence: 'the MSK message, and a later frame past --ack-timeout with no ACK before it',
  },
  'ack-unmatched': {
    severity: 'warning',
    meaning: 'A MIKEY verification message (ACK) matches no MIKEY message in the capture (CSB ID and counter).',
    evidence: 'the ACK, more than --ack-timeout after the capture\'s first frame (an earlier ACK may answer a message sent before the capture)',
  },
  'ack-mac-invalid': {
    severity: 'error',
    meaning: 'The ACK\'s MAC does not verify with the keys of the delivery it answers (needs --keys).',
    evidence: 'the MSK message and its ACK, and the UE\'s MUK in --keys',
  },
  'ack-not-due': {
    severity: 'warning',
    meaning: 'An ACK where none is due: for a V = 0 message, a solicited-pull trigger, or a push under an older MUK.',
    evidence: 'the message and the ACK that answers it',
  },
  'repeated-delivery': {
    severity: 'warning',
    meaning: 'The same MSK was delivered again to a UE that had already received it (and ACKed it when asked to).',
    evidence: 'both deliveries, in the same pull or as an unasked push',
  },
  'solicited-pull-ignored': {
    severity: 'error',
    meaning: 'A solicited-pull trigger reached the UE but no MSK request from it followed within --pull-timeout.',
    evidence: 'the trigger, and a later frame past --pull-timeout with no MSK request from the UE before it',
  },
  'third-msk': {
    severity: 'warning',
    meaning: 'A third MSK of one key group reached a UE; it keeps two, so the oldest is dropped while it may still be in use.',
    evidence: 'the three deliveries',
  },
  'counter-replay': {
    severity: 'error',
    meaning: 'A MIKEY counter did not increase (per MUK for MSK messages, per MSK for new MTK messages): the receiver drops it as a replay.',
    evidence: 'the earlier message and the one whose counter is not above it',
  },
  'ack-idr-mismatch': {
    severity: 'warning',
    meaning: 'An ACK carries an IDr other than that of the MSK message it answers.',
    evidence: 'the MSK message and its ACK',
  },
  'msk-counter-jump': {
    severity: 'warning',
    meaning: 'The per-MUK counter rose by n > 1 between MSK messages to a UE: n − 1 MSK messages never reached the capture.',
    evidence: 'the two MSK messages whose counters differ by more than one',
  },
} as const satisfies Record<string, DiagnosticInfo>;

export class DeliveryRules {
  private readonly byKey = new Map<string, DeliveryRef>();
  private readonly byFrame = new Map<number, DeliveryRef>();
  /**
   * Per MUK (`IDi\0IDr`, or the address): the highest MSK message counter and its frame. An entry's record is updated in
   * place (a new one per MSK message lived until the UE's next message, long enough to be promoted; issue #14 round 6).
   * Not its key: keeping the first key string would need a field more, past ITEM_COSTS.mukCounter.
   */
  private readonly mukCounters = new Map<string, { counter: number; frame: number }>();
  private readonly oldestByKey = new OldestKeys(this.byKey);
  private readonly oldestByFrame = new OldestKeys(this.byFrame);
  private readonly oldestMukCounter = new OldestKeys(this.mukCounters);
  private mtk!: MtkRules;

  constructor(private readonly ctx: RoomContext, private readonly pull: PullRules, private readonly registration: RegistrationRules) {}

  /** The MTK room, which hands its messages to the index and its ACKs back (set once, after both exist). */
  attachMtk(mtk: MtkRules): void {
    this.mtk = mtk;
  }

  /**
   * Remember a message an ACK may answer, by CSB ID and counter and by frame. While its transaction is open the
   * transaction lists it too (so closing the transaction detaches it); the index keeps only small records.
   */
  index(d: DeliveryRef, csbId: number, counter: number | undefined): void {
    const tx = d.tx;
    if (tx) {
      pushOne(tx, 'deliveries', d);
      if (tx.deliveries.length > this.ctx.options.maxSteps) (tx.deliveries.shift() as DeliveryRef).tx = undefined;
    }
    if (counter !== undefined) {
      const k = `${csbId}:${counter}`;
      this.byKey.delete(k);
      this.byKey.set(k, d);
      this.oldestByKey.trim(this.ctx.options.maxAckIndex);
    }
    this.byFrame.set(d.frame, d);
    this.oldestByFrame.trim(this.ctx.options.maxAckIndex);
  }

  private counterCheck(frame: number, info: MbmsInfo, dst: string, ue: UeState | undefined, tx: Tx): void {
    if (info.counter === undefined) return;
    const key = info.idr !== undefined ? `${info.idi ?? ''}\u0000${info.idr}` : `addr:${dst}`;
    const last = this.mukCounters.get(key);
    if (last) {
      if (!serialGreater(info.counter, last.counter))
        this.ctx.findings.report('counter-replay', tx, ue, [last.frame, frame], `MSK message counter ${info.counter} is not above ${last.counter} (frame ${last.frame}) under the same MUK: the UE drops it as a replay`);
      else {
        const jump = (info.counter - last.counter) >>> 0;
        if (jump > 1)
          this.ctx.findings.report('msk-counter-jump', tx, ue, [last.frame, frame], `MSK message counter jumped from ${last.counter} (frame ${last.frame}) to ${info.counter}: ${jump - 1} MSK message(s) to this UE missing from the capture`);
      }
    }
    if (!last) {
      this.mukCounters.set(key, { counter: info.counter, frame });
      this.oldestMukCounter.trim(this.ctx.options.maxMukCounters);
    } else if (serialGreater(info.counter, last.counter)) {
      last.counter = info.counter;
      last.frame = frame;
      this.mukCounters.delete(key);
      this.mukCounters.set(key, last);
      this.oldestMukCounter.trim(this.ctx.options.maxMukCounters);
    }
  }

  /** A solicited-pull trigger (Key Number 0): the UE must now run the pull procedure. */
  trigger(frame: number, time: PacketTime, rec: MikeyFrameRecord, info: MbmsInfo, ends: Endpoints): void {
    const { ctx } = this;
    const m = rec.analysis.message;
    if (!m) return;
    const ue = ctx.ues.lookup(ends.dst, info.idr);
    const domain = keyDomain(info.keyDomainId);
    const group = groupIn(domain, info.keyGroup);
    const ref = keyRefIn(domain, info.keyGroup, info.keyNumber);
    const detail = flat('trigger ', ref.label, info.counter !== undefined ? ` ctr=${info.counter}` : '', info.v ? ' V' : '');
    if (ue?.trigger?.open) ctx.book.close(ue.trigger, 'complete');
    const tx = ctx.book.create('solicited-pull', ue, ends.dst, time);
    tx.state = 'awaiting-request';
    tx.rec.bmsc = ends.src;
    if (info.keyGroup !== undefined) {
      addGroup(tx, 'requestedGroups', group);
      pushOne(tx.rec, 'requestedKeys', ref);
    }
    if (ue) {
      ue.trigger = tx;
      ue.contactedByBmsc = true;
    }
    ctx.book.step(tx, 'trigger', frame, time, undefined, rec.carrier, detail);
    this.counterCheck(frame, info, ends.dst, ue, tx);
    const d: DeliveryRef = { tx, txId: tx.rec.id, kind: 'trigger', frame, time: timeOf(time), v: info.v, ackDue: false, acked: false, ackInvalid: false, timedOut: false, ueId: ue?.id, bmsc: ends.src, group, label: ref.label };
    ctx.book.deadline(tx, secs(time) + ctx.options.pullTimeout, this.triggerDeadline, tx, d);
    this.index(d, m.header.csbId, info.counter);
  }

  /** An MSK message carrying a key: part of the UE's open pull, or a push. */
  msk(frame: number, time: PacketTime, rec: MikeyFrameRecord, info: MbmsInfo, ends: Endpoints): void {
    const { ctx } = this;
    const a = rec.analysis;
    const m = a.message;
    if (!m) return;
    const ue = ctx.ues.lookup(ends.dst, info.idr);
    const domain = keyDomain(info.keyDomainId);
    const group = groupIn(domain, info.keyGroup);
    const ref = keyRefIn(domain, info.keyGroup, info.keyNumber);
    const detail = flat('MSK ', ref.label, info.counter !== undefined ? ` ctr=${info.counter}` : '', info.v ? ' V' : '');

    let tx = this.pull.claim(ue, group, ref.label);
    if (tx) this.pull.delivered(tx, { frame, time, carrier: rec.carrier, group, label: ref.label, keyGroup: info.keyGroup, dst: ends.dst });
    else {
      tx = ctx.book.create('push', ue, ends.dst, time);
      if (ue) this.registration.push(ue, tx, ends.dst, ref.label, frame);
    }
    tx.rec.bmsc ??= intern(ends.src);
    if (ue) ue.contactedByBmsc = true;
    if (rec.carrier === 'http') tx.httpDelivery = true;
    ctx.book.step(tx, 'delivery', frame, time, undefined, rec.carrier, detail);
    this.counterCheck(frame, info, ends.dst, ue, tx);
    tx.rec.delivered = true;
    if (!tx.rec.deliveredKeys.some((k) => k.label === ref.label) && tx.rec.deliveredKeys.length < LIMITS.listPerTransaction) pushOne(tx.rec, 'deliveredKeys', ref);
    addGroup(tx, 'deliveredGroups', group);

    const previousMuk = a.verifiedWith === 'previous-muk';
    const ackDue = info.v && !previousMuk;
    const d: DeliveryRef = {
      tx, txId: tx.rec.id, kind: 'msk', frame, time: timeOf(time), v: info.v, ackDue, acked: false, ackInvalid: false, timedOut: false, ueId: ue?.id, idr: info.idr,
      bmsc: intern(ends.src), group, label: ref.label,
    };
    this.index(d, m.header.csbId, info.counter);
    // the MTK IDs this MSK may protect (its key validity data, decrypted with the UE's MUK)
    const valid = a.keys?.find((k) => k.validFrom !== undefined && k.validTo !== undefined);
    if (valid && info.keyDomainId !== undefined && info.mskId !== undefined)
      this.mtk.mskInterval(`${info.keyDomainId}:${hex(info.mskId, 8)}`, valid.validFrom as number, valid.validTo as number, frame);
    if (ue) this.held(ue, tx, d, info, group);

    if (ackDue) {
      tx.rec.ackRequested = true;
      tx.firstAckDelivery ??= d;
      ctx.stats.ackRequested(d.bmsc, ue?.id ?? ends.dst, group, time);
      // the deadline keeps what its message needs, not the endpoints record
      ctx.book.deadline(tx, secs(time) + ctx.options.ackTimeout, this.ackDeadline, tx, d, ends.dst);
    }
    ctx.book.maybeComplete(tx);
  }

  /** A solicited-pull trigger's pull timeout passed (`d`: the trigger; without a UE, tx.rec.ue is where it went). */
  private readonly triggerDeadline = (at: number, tx: Tx, d: DeliveryRef): void => {
    const { ctx } = this;
    if (!tx.open || tx.state !== 'awaiting-request') return;
    const ue = tx.ue;
    ctx.findings.report('solicited-pull-ignored', tx, ue, [d.frame], `Solicited-pull trigger for key group ${d.group} reached UE ${ue?.id ?? tx.rec.ue}, but it sent no MSK request within ${ctx.options.pullTimeout} s`, fromSecs(at));
    ctx.book.close(tx, 'timeout');
  };

  /** The ACK timeout of a V-flagged MSK message passed. */
  private readonly ackDeadline = (at: number, tx: Tx, d: DeliveryRef, dst: string): void => {
    const { ctx } = this;
    if (d.acked || d.ackInvalid) return;
    d.timedOut = true;
    ctx.findings.report('ack-missing', tx, d.ueId, [d.frame], `MSK ${d.label} to UE ${d.ueId ?? dst} had V set, but no ACK came back within ${ctx.options.ackTimeout} s`, fromSecs(at));
    if (tx.rec.procedure === 'push') ctx.book.close(tx, 'timeout');
    else ctx.book.maybeComplete(tx);
  };

  /** What the UE holds after a delivery: repeats, and at most two MSKs per key group. */
  private held(ue: UeState, tx: Tx, d: DeliveryRef, info: MbmsInfo, group: string): void {
    const prev = ue.lastDelivery.get(d.label);
    // a resend after the ACK deadline passed unanswered is a retransmission, and a UE may ask again for an MSK it
    // has (a pull answers it); a second copy in the same transaction or an unasked push is a repeat
    if (prev && !prev.timedOut && info.keyNumber !== 0 && (prev.txId === tx.rec.id || tx.rec.procedure === 'push'))
      this.ctx.findings.report('repeated-delivery', tx, ue, [prev.frame, d.frame], `MSK ${d.label} delivered again to UE ${ue.id} (first in frame ${prev.frame}${prev.acked ? ', already ACKed' : ''})`);
    const last = ownMap(ue, 'lastDelivery');
    // one copy of the UE's IDr for all the deliveries it remembers (each message decodes its own): see ITEM_COSTS.ue
    const other = last.values().next().value as DeliveryRef | undefined;
    if (other !== undefined && other.idr === d.idr) d.idr = other.idr;
    last.delete(d.label);
    last.set(d.label, d);
    if (last.size > LIMITS.deliveriesPerUe) last.delete(last.keys().next().value as string);
    if (info.keyNumber === undefined || info.keyNumber === 0) return;
    let kns = ue.msks.get(group) ?? [];
    if (!kns.some((k) => k.kn === info.keyNumber)) {
      // a new array of exactly the entries (a push reserves 16 slots more, for a list of at most three; kept per UE)
      const entry = { kn: info.keyNumber, frame: d.frame };
      if (kns.length < 2) kns = appendExact(kns, entry);
      else {
        // the oldest goes, in the same new array
        const dropped = kns[0];
        kns = appendDropping(kns, entry, 0);
        this.ctx.findings.report('third-msk', tx, ue, [dropped.frame, ...kns.map((k) => k.frame)], `Third MSK for key group ${group} at UE ${ue.id}: it drops MSK key number 0x${hex(dropped.kn, 4)} and keeps 0x${kns.map((k) => hex(k.kn, 4)).join(', 0x')}`);
      }
    }
    const msks = ownMap(ue, 'msks');
    msks.set(group, kns);
    if (msks.size > LIMITS.groupsPerUe) msks.delete(msks.keys().next().value as string);
  }

  /** A verification message (ACK): matched to the message it answers by the dissector's answersFrame, or CSB ID and counter. */
  ack(frame: number, time: PacketTime, rec: MikeyFrameRecord, info: MbmsInfo, ends: Endpoints): void {
    const { ctx } = this;
    const a = rec.analysis;
    const m = a.message;
    if (!m) return;
    const byFrame = a.answersFrame !== undefined ? this.byFrame.get(a.answersFrame) : undefined;
    const d = byFrame ?? (info.counter !== undefined ? this.byKey.get(`${m.header.csbId}:${info.counter}`) : undefined);
    if (!d) {
      const ue = ctx.ues.lookup(ends.src, info.idr);
      // the message it answers may lie before the capture: only an ACK later than the ACK timeout after the
      // capture's first frame is evidence of an ACK that answers nothing
      if (ctx.clock.sinceStart(secs(time)) < ctx.options.ackTimeout) return;
      ctx.findings.report('ack-unmatched', undefined, ue, [frame], `ACK from ${ends.src} (CSB ID 0x${hex(m.header.csbId, 8)}, counter ${info.counter ?? '?'}) matches no MIKEY message in the capture`);
      return;
    }
    // the transaction while it is open; once reported, only its id (its record no longer changes)
    const tx = d.tx;
    const named = tx ?? d.txId;
    const ue = d.ueId ?? ctx.ues.lookup(ends.src, info.idr);
    if (tx) ctx.book.stepIfOpen(tx, 'ack', frame, time, rec.carrier, `ACK to frame ${d.frame}`);
    if (d.kind === 'mtk') {
      this.mtk.acked(d, ue ?? ends.src, frame, ends.src);
      return;
    }
    if (d.idr !== undefined && info.idr !== undefined && info.idr !== d.idr)
      ctx.findings.report('ack-idr-mismatch', named, ue, [d.frame, frame], `ACK from ${ends.src} carries IDr ${info.idr}, the message of frame ${d.frame} was for ${d.idr}`);
    if (!d.ackDue) {
      const why = d.kind === 'trigger' ? 'a solicited-pull trigger' : !d.v ? 'an MSK message without the V bit' : 'an MSK message under an older MUK (the UE should request the MSK instead)';
      ctx.findings.report('ack-not-due', named, ue, [d.frame, frame], `ACK from ${ends.src} answers ${why} (frame ${d.frame})`);
      return;
    }
    if (a.verified === false) {
      d.ackInvalid = true;
      // its ACK deadline can only find it answered now
      if (tx) ctx.book.cancelDeadline(tx, this.ackDeadline, tx, d);
      ctx.findings.report('ack-mac-invalid', named, ue, [d.frame, frame], `ACK from ${ends.src} to the MSK message of frame ${d.frame}: MAC does not verify`);
      if (tx) ctx.book.maybeComplete(tx);
      return;
    }
    if (d.acked) return; // a duplicate ACK: the first one counted
    if (d.timedOut) return; // late: ack-missing already said it, and the ACK rate counts ACKs in time
    d.acked = true;
    if (tx) ctx.book.cancelDeadline(tx, this.ackDeadline, tx, d);
    const l = diffSeconds(d.time, time);
    ctx.stats.acked(d.bmsc, d.ueId ?? ends.src, d.group, d.time, l);
    if (!tx) return;
    if (rec.carrier === 'http' && (tx.rec.variant === 'C' || tx.httpDelivery)) tx.rec.variant = 'B';
    if (d === tx.firstAckDelivery) tx.rec.latencies.mikeyToAck = l;
    tx.rec.acked = tx.deliveries.filter((x) => x.ackDue).every((x) => x.acked);
    ctx.book.maybeComplete(tx);
  }
}
