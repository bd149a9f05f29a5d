/**
 * Registration and deregistration (TS 33.246 §6.3.2.1, Annex G): whether the capture shows a UE registered, and the
 * findings that rest on it. A registration is long-lived and usually precedes any capture, so its absence proves
 * nothing; only a deregistration or a failed registration inside the capture is evidence against one.
 */
import { escapeText } from '../../common/escape';
import type { PacketTime } from '../../common/time';
import type { HttpMessage } from '../../protocols/http/types';
import type { RoomContext } from '../context';
import type { DiagnosticInfo } from '../diagnostic-info';
import { ownRegisteredFrom, pushOne, secs, type RequestRef, type Tx, type UeState } from '../model';
import { LIMITS } from '../options';
import type { Procedure } from '../types';

export const REGISTRATION_DIAGNOSTICS = {
  'msk-request-unregistered': {
    severity: 'warning',
    meaning: 'An MSK request from a UE the capture shows unregistered: it deregistered, or its registration failed, and it did not register again.',
    evidence: 'the deregistration (or the failed registration) and the later MSK request',
  },
  'registration-not-seen': {
    severity: 'note',
    meaning: 'An MSK request from a UE whose registration is not in the capture and whom the BM-SC had not contacted: the registration may precede the capture.',
    evidence: 'the MSK request, with no registration, push or trigger for the UE before it',
  },
  'push-to-unregistered-address': {
    severity: 'error',
    meaning: 'An MSK message was pushed to an address the UE did not register from (or after it deregistered).',
    evidence: 'the registration (or deregistration) and the push',
  },
} as const satisfies Record<string, DiagnosticInfo>;

export class RegistrationRules {
  constructor(private readonly ctx: RoomContext) {
    ctx.book.onClose((tx, by) => {
      // a registration that ended without being accepted (not merely cut by the capture) is evidence against one
      const ue = tx.ue;
      if (ue && tx.rec.procedure === 'register' && by !== 'end-of-capture' && by !== 'evicted' && !tx.registrationAccepted && ue.registeredFrom.size === 0)
        ue.unregisteredBy = { frames: tx.rec.steps.map((s) => s.frame), why: 'its registration failed' };
    });
  }

  /** A register or deregister request: the challenged transaction it continues, or a new one. */
  request(ue: UeState, proc: Extract<Procedure, 'register' | 'deregister'>, client: string, m: HttpMessage, time: PacketTime): Tx {
    const cur = ue.reg;
    let tx: Tx;
    if (cur?.open && cur.rec.procedure === proc && cur.state === 'challenged') tx = cur;
    else {
      if (cur?.open) this.ctx.book.close(cur, 'complete');
      tx = this.ctx.book.create(proc, ue, client, time);
      ue.reg = tx;
    }
    for (const s of m.mbms?.serviceIds ?? []) if (!tx.rec.serviceIds.includes(s) && tx.rec.serviceIds.length < LIMITS.listPerTransaction) pushOne(tx.rec, 'serviceIds', escapeText(s, 200));
    return tx;
  }

  /** A 2xx to a register or deregister request (a ResponseCode other than 200 for every service refuses it). */
  accepted(tx: Tx, ref: RequestRef, m: HttpMessage): void {
    const ue = tx.ue;
    const responses = m.mbms?.responses ?? [];
    const ok = responses.length === 0 || responses.some((r) => r.status === undefined || r.status === 200);
    if (ue && ok) {
      const frames = [ref.frame, m.lastFrame];
      if (tx.rec.procedure === 'register') {
        tx.registrationAccepted = true;
        ownRegisteredFrom(ue).add(ref.client);
        ue.registeredAt ??= { frames, time: secs(m.lastTime) };
        ue.deregistered = false;
        ue.unregisteredBy = undefined;
        ue.unregisteredReported = false;
      } else {
        if (ue.registeredFrom.size > 0) ownRegisteredFrom(ue).delete(ref.client);
        if (ue.registeredFrom.size === 0) {
          ue.deregistered = true;
          ue.unregisteredBy = { frames, why: 'it deregistered' };
          ue.unregisteredReported = false;
        }
      }
    }
    tx.state = 'done';
    this.ctx.book.close(tx, 'complete');
  }

  /**
   * An MSK request from a UE the capture shows unregistered (it deregistered, or its registration failed) is a
   * warning. A registration that is merely absent may precede the capture: a note, and not even that once the BM-SC
   * has shown it considers the UE registered (it pushed to it or triggered it).
   */
  mskRequest(ue: UeState, tx: Tx, m: HttpMessage): void {
    if (ue.unregisteredReported || ue.registeredFrom.size > 0) return;
    if (ue.unregisteredBy) {
      ue.unregisteredReported = true;
      const by = ue.unregisteredBy;
      this.ctx.findings.report('msk-request-unregistered', tx, ue, [...by.frames, m.lastFrame], `MSK request from UE ${ue.id}, but ${by.why} (frame ${by.frames[by.frames.length - 1]})`);
    } else if (!ue.registeredAt && !ue.contactedByBmsc) {
      ue.unregisteredReported = true;
      this.ctx.findings.report('registration-not-seen', tx, ue, [m.lastFrame], `MSK request from UE ${ue.id}, whose registration is not in the capture (it may precede it)`);
    }
  }

  /** An MSK message pushed to `dst`: the UE must have registered from there (when the capture shows where it did). */
  push(ue: UeState, tx: Tx, dst: string, label: string, frame: number): void {
    if (!(ue.registeredFrom.size > 0 || ue.deregistered) || ue.registeredFrom.has(dst)) return;
    const why = ue.registeredFrom.size > 0 ? `it registered from ${[...ue.registeredFrom].join(', ')}` : 'it deregistered';
    const evidence = (ue.registeredFrom.size > 0 ? ue.registeredAt?.frames : ue.unregisteredBy?.frames) ?? [];
    const shown = evidence.length > 0 ? ` (frame ${evidence[evidence.length - 1]})` : '';
    this.ctx.findings.report('push-to-unregistered-address', tx, ue, [...evidence, frame], `MSK ${label} pushed to ${dst}, but ${why}${shown}`);
  }
}
