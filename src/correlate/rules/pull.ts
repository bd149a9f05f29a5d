/**
 * The pull procedure (TS 33.246 §6.3.2.2): MSK request → 401 → request with Digest credentials → 200 OK → the MIKEY
 * MSK messages to the UE → ACK. A solicited pull is a pull that a trigger started. This room decides which MSK
 * messages belong to a pull, whether they came in order, and — at the UE's end — whether it was left without a key.
 */
import { escapeText } from '../../common/escape';
import { diffSeconds, type PacketTime } from '../../common/time';
import type { HttpMessage } from '../../protocols/http/types';
import type { MbmsKeyRef } from '../../protocols/mbms/xml';
import type { RoomContext } from '../context';
import type { DiagnosticInfo } from '../diagnostic-info';
import {
  ackPending, addGroup, addRefusal, fromSecs, groupCount, ownMap, pushOne, timeOf, groupDelivered, groupMatches, missingGroup, groupIn, groupOf, keyDomain, keyRefIn, lastRequestFrame, secs, stepFrames, type RequestRef, type RequestedGroup, type Tx, type UeState,
} from '../model';
import { LIMITS } from '../options';
import type { StormRules } from './storm';

export const PULL_DIAGNOSTICS = {
  'no-mikey-after-200': {
    severity: 'error',
    meaning: '200 OK to an MSK request, but no MIKEY MSK message reached the UE within --delivery-timeout.',
    evidence: 'the request, its 200 OK, and a later frame past --delivery-timeout with no MSK message to the UE before it',
  },
  'mikey-before-200': {
    severity: 'warning',
    meaning: 'The MIKEY MSK message reached the UE before the 200 OK of its request (transport variant A): Digest mutual authentication (Authentication-Info) is broken.',
    evidence: 'the request and the MSK message, with no 200 OK between them',
  },
  'key-group-not-requested': {
    severity: 'warning',
    meaning: 'An MSK message answering a UE\'s request carries a key group the request did not ask for.',
    evidence: 'the request and the MSK message',
  },
  'no-valid-msk': {
    severity: 'error',
    meaning: 'A UE registered in the capture requested a key group and ended with no MSK for it (refused with a ResponseCode, never delivered, or the request failed): it must leave the user service.',
    evidence: 'the UE\'s registration, its request, and the request\'s final outcome (a refusal, or a deadline passed inside the capture); no MSK of the group delivered after the registration',
  },
} as const satisfies Record<string, DiagnosticInfo>;

/** What the pull room needs to know of an MSK message to a UE. */
export interface MskDelivery {
  frame: number;
  time: PacketTime;
  carrier: 'udp' | 'http';
  group: string;
  label: string;
  keyGroup: number | undefined;
  dst: string;
}

export class PullRules {
  constructor(private readonly ctx: RoomContext, private readonly storm: StormRules) {
    // the UE keeps what its end-of-life check needs of a request, not the closed transaction
    ctx.book.onClose((tx, by) => {
      const ue = tx.ue;
      if (!ue) return;
      for (const g of tx.requestedGroups) {
        const rg = ue.requestedGroups.get(g);
        if (rg?.tx !== tx) continue;
        rg.tx = undefined;
        rg.closedBy = by;
        rg.frames = tx.rec.frames.slice(0, LIMITS.framesPerDiagnostic);
        rg.ok = tx.okTime !== undefined;
        const refused = tx.refused.get(g);
        if (refused !== undefined) rg.refusedCode = refused;
      }
    });
  }

  /** An MSK request: the pull it continues (not yet authorized), the solicited pull a trigger started, or a new pull. */
  request(ue: UeState, client: string, m: HttpMessage, time: PacketTime): Tx {
    const { book } = this.ctx;
    let tx: Tx;
    if (ue.pull?.open && ue.pull.state !== 'authorized') tx = ue.pull;
    else if (ue.trigger?.open && ue.trigger.state === 'awaiting-request') {
      tx = ue.trigger;
      tx.state = 'requested';
      ue.trigger = undefined;
      ue.pull = tx;
      this.storm.request(ue, tx, m.lastFrame);
    } else {
      // an earlier pull still waiting for its delivery stays open: its own deadline closes it
      tx = book.create('pull', ue, client, time);
      ue.pull = tx;
      this.storm.request(ue, tx, m.lastFrame);
    }
    return tx;
  }

  /** The keys the request asks for. */
  requested(tx: Tx, m: HttpMessage): void {
    for (const k of m.mbms?.msks ?? []) this.addRequested(tx, k);
  }

  private addRequested(tx: Tx, k: MbmsKeyRef): void {
    const kd = k.keyDomainId?.toLowerCase();
    const domain = keyDomain(kd);
    const r = keyRefIn(domain, k.keyGroup, k.keyNumber);
    if (!tx.rec.requestedKeys.some((x) => x.label === r.label) && tx.rec.requestedKeys.length < LIMITS.listPerTransaction) pushOne(tx.rec, 'requestedKeys', r);
    if (k.keyGroup !== undefined && groupCount(tx.requestedGroups) < LIMITS.listPerTransaction) {
      const g = groupIn(domain, k.keyGroup);
      addGroup(tx, 'requestedGroups', g);
      if (tx.ue) {
        const groups = ownMap(tx.ue, 'requestedGroups');
        groups.delete(g);
        groups.set(g, { tx, txId: tx.rec.id, start: secs(tx.rec.start), frames: [], ok: false, refusedCode: undefined, closedBy: undefined });
        if (groups.size > LIMITS.listPerTransaction) groups.delete(groups.keys().next().value as string);
      }
    }
  }

  /** A 2xx to the MSK request: authorized; the MSK messages must follow within the delivery timeout. */
  ok(tx: Tx, ref: RequestRef, m: HttpMessage): void {
    const { ctx } = this;
    const time = m.lastTime;
    // a ResponseCode other than 200 for one MSK is a refusal of that key, not an HTTP failure: no-valid-msk tells it
    for (const r of m.mbms?.responses ?? []) {
      if (r.status !== undefined && r.status !== 200 && r.msk?.keyGroup !== undefined) {
        const g = groupOf(r.msk.keyDomainId?.toLowerCase(), r.msk.keyGroup);
        addRefusal(tx, g, escapeText(r.responseCode ?? String(r.status), 60));
      }
    }
    tx.state = 'authorized';
    tx.okTime = timeOf(time);
    if (tx.rec.delivered && !tx.rec.variant) tx.rec.variant = 'D';
    // the deadline keeps the answer's frame, not the answer (a parsed HTTP message, held for the delivery timeout)
    ctx.book.deadline(tx, secs(time) + ctx.options.deliveryTimeout, this.deliveryDeadline, ref, m.lastFrame);
    ctx.book.maybeComplete(tx);
  }

  /** The delivery timeout after a 200 OK passed (ref.tx is its transaction; `okFrame`: the answer's frame, not the answer). */
  private readonly deliveryDeadline = (at: number, ref: RequestRef, okFrame: number): void => {
    const { ctx } = this;
    const tx = ref.tx;
    const ue = tx.ue;
    if (!tx.open) return;
    let allRefused = groupCount(tx.requestedGroups) > 0;
    for (const g of tx.requestedGroups) {
      if (tx.refused.has(g)) continue;
      allRefused = false;
      break;
    }
    if (!tx.rec.delivered && !allRefused)
      ctx.findings.report('no-mikey-after-200', tx, ue, [ref.frame, okFrame], `200 OK to the MSK request of UE ${ue?.id ?? ref.client}, but no MIKEY MSK message within ${ctx.options.deliveryTimeout} s`, fromSecs(at));
    tx.deliveryDeadlinePassed = true;
    if (!tx.deliveries.some(ackPending)) ctx.book.close(tx, tx.rec.delivered ? 'complete' : 'timeout');
  };

  /** The open pull an MSK message to the UE belongs to, if any. */
  claim(ue: UeState | undefined, group: string, label: string): Tx | undefined {
    const p = ue?.pull;
    if (!p?.open || (p.rec.procedure !== 'pull' && p.rec.procedure !== 'solicited-pull')) return undefined;
    return this.belongsToPull(p, group, label) ? p : undefined;
  }

  /**
   * Whether an MSK message to a UE with an open pull is part of that pull. Once every requested group is in, a new MSK
   * of a requested group is a push; a repeat of a delivered MSK or a group nobody asked for still belongs to the pull.
   */
  private belongsToPull(tx: Tx, group: string, label: string): boolean {
    if (tx.state !== 'authorized') return true;
    if (missingGroup(tx) || (groupCount(tx.requestedGroups) === 0 && !tx.rec.delivered)) return true;
    if (tx.rec.deliveredKeys.some((k) => k.label === label)) return true;
    return groupCount(tx.requestedGroups) > 0 && !groupDelivered(tx.requestedGroups, group);
  }

  /** An MSK message that belongs to the pull `tx`: its transport variant, latency, and whether it was asked for. */
  delivered(tx: Tx, d: MskDelivery): void {
    const { ctx } = this;
    const ue = tx.ue;
    if (tx.state !== 'authorized') {
      // no request with credentials in the capture: the BM-SC answers only authenticated MSK requests, so the capture
      // lost it (and the 401 before it) — a span of suspected capture loss over the pull (loss-signals.ts)
      if (stepFrames(tx, 'credentials').length === 0 && tx.rec.stepsDropped === 0) {
        const start = secs(tx.rec.start);
        ctx.loss({ from: start, to: Math.max(start, secs(d.time)), cause: 'digest-missing', packets: 1 });
      }
      tx.rec.variant = 'A';
      const reqFrame = stepFrames(tx, 'credentials').concat(stepFrames(tx, 'request'));
      ctx.findings.report('mikey-before-200', tx, ue, [...reqFrame.slice(-1), d.frame], `MIKEY MSK message to UE ${ue?.id ?? d.dst} before the 200 OK of its request (transport variant A): Digest mutual authentication is lost`);
    } else if (!tx.rec.variant) tx.rec.variant = d.carrier === 'http' ? 'C' : 'D';
    if (tx.okTime && tx.rec.latencies.okToMikey === undefined) {
      const l = diffSeconds(tx.okTime, d.time);
      tx.rec.latencies.okToMikey = l;
      ctx.stats.latency.okToMikey.add(l);
    }
    if (groupCount(tx.requestedGroups) > 0 && d.keyGroup !== undefined && !groupDelivered(tx.requestedGroups, d.group))
      ctx.findings.report('key-group-not-requested', tx, ue, [...lastRequestFrame(tx), d.frame], `MSK ${d.label} delivered to UE ${ue?.id ?? d.dst}, whose request asked for ${[...tx.requestedGroups].join(', ')}`);
  }

  /**
   * End of capture (or a UE forgotten): key groups the UE asked for and holds no MSK of leave it without an MSK: it
   * must leave the user service. Only on evidence inside the capture: the UE's registration is in it (so it cannot
   * hold an MSK delivered before the capture started), and the request's outcome is final — refused, failed, or its
   * delivery deadline passed — not merely cut by the end of the capture.
   */
  ueEnds(ue: UeState): void {
    for (const [g, rg] of ue.requestedGroups) {
      if (holdsMsk(ue, g)) continue;
      const reg = ue.registeredAt;
      if (!reg || reg.time > rg.start) continue;
      const outcome = requestOutcome(rg, g);
      if (!outcome) continue;
      const regFrame = reg.frames[reg.frames.length - 1];
      this.ctx.findings.report('no-valid-msk', rg.tx ?? rg.txId, ue, [...reg.frames, ...(rg.tx?.rec.frames ?? rg.frames)], `UE ${ue.id}, registered in frame ${regFrame}, has no MSK for key group ${g} it requested (${outcome}): it must leave the user service`);
    }
    if (ue.requestedGroups.size > 0) ownMap(ue, 'requestedGroups').clear();
  }
}

/** The UE holds an MSK of a key group matching `g`. */
function holdsMsk(ue: UeState, g: string): boolean {
  for (const [k, kns] of ue.msks) if (kns.length > 0 && groupMatches(g, k)) return true;
  return false;
}

/** Why a request for group `g` left the UE without it, when that is final; undefined while it may still come. */
function requestOutcome(rg: RequestedGroup, g: string): string | undefined {
  const tx = rg.tx;
  if (tx) {
    // still open (a UE forgotten early): only a refusal is final
    const code = tx.refused.get(g);
    return code !== undefined ? `refused by the BM-SC with ResponseCode ${code}` : undefined;
  }
  if (rg.refusedCode !== undefined) return `refused by the BM-SC with ResponseCode ${rg.refusedCode}`;
  if (rg.closedBy === 'end-of-capture' || rg.closedBy === 'evicted') return undefined;
  return rg.ok ? 'never delivered' : 'the request failed';
}
