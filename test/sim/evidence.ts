/**
 * What each simulated fault leaves in a capture, checked on the dissected packets themselves (not on the simulator's
 * own log): the test oracle that a fault really happened on the wire, and that clean UEs show none of it.
 */
import { toEpochSeconds } from '../../src/common/time';
import { serialGreater } from '../../src/protocols/mikey/tracker';
import type { UeFault } from '../../src/sim/scenario';
import {
  acksFrom, hasCredentials, header, isHttp, isMikey, isStaleChallenge, mikeyTo, mskIdOf, requests, responses, type CaptureView, type MikeyItem,
} from './view';

export interface UeUnderTest {
  address: string;
  btid: string;
  otherAddresses?: string[];
}

const MSK_KINDS = new Set(['msk-delivery', 'solicited-pull-trigger']);

/**
 * An MSK message whose counter is not above an earlier one verified with the same MUK (RFC 1982 order): read from the
 * counters themselves, since a replay is the correlator's diagnostic and no longer a dissector problem.
 */
function counterReplayed(msgs: MikeyItem[]): boolean {
  const last = new Map<string, number>();
  for (const m of msgs) {
    const counter = m.analysis.mbms?.counter;
    const muk = m.analysis.verified === true ? m.analysis.keySource : undefined;
    if (counter === undefined || muk === undefined) continue;
    const before = last.get(muk);
    if (before !== undefined && !serialGreater(counter, before)) return true;
    last.set(muk, counter);
  }
  return false;
}

/** Deliveries (MSK messages with keys) meant for this UE: sent to its address(es) or naming its B-TID. */
function deliveries(v: CaptureView, ue: UeUnderTest): MikeyItem[] {
  return v.items.filter(isMikey).filter((i) => i.analysis.mbms?.kind === 'msk-delivery' && (i.analysis.mbms.idr === ue.btid || i.dst === ue.address));
}

function mskMessages(v: CaptureView, ue: UeUnderTest): MikeyItem[] {
  return v.items.filter(isMikey).filter((i) => MSK_KINDS.has(i.analysis.mbms?.kind ?? '') && i.analysis.mbms?.idr === ue.btid);
}

function answered(v: CaptureView, d: MikeyItem): MikeyItem | undefined {
  return v.items.filter(isMikey).find((a) => a.analysis.mbms?.kind === 'verification' && a.analysis.answersFrame === d.frame);
}

function mskResponses(v: CaptureView, ue: string) {
  return responses(v, ue).filter((r) => r.message.status === 200 && (r.message.request?.uri ?? '').includes('msk-request'));
}

/** Does the capture show this fault on this UE? `delayMs`/`retryAfterSeconds` from the scenario's timing. */
export function faultVisible(v: CaptureView, ue: UeUnderTest, fault: UeFault, timing: { delayMs: number; retryAfterSeconds: number }): boolean {
  const a = ue.address;
  const delay = timing.delayMs / 1000;
  switch (fault) {
    case 'wrong-password':
      return responses(v, a).some((r) => r.message.status === 401 && !isStaleChallenge(r.message) && r.message.request !== undefined && hasCredentials(r.message.request))
        && requests(v, a).some((r) => hasCredentials(r.message) && r.message.verified === false);
    case 'stale-nonce':
      return responses(v, a).filter((r) => isStaleChallenge(r.message)).length >= 2;
    case 'dropped-ack':
      return deliveries(v, ue).some((d) => d.analysis.mbms?.v === true && !answered(v, d) && !acksFrom(v, a).some((x) => x.analysis.mbms?.counter === d.analysis.mbms?.counter));
    case 'delayed-ack':
      return deliveries(v, ue).some((d) => {
        const ack = answered(v, d);
        return d.analysis.mbms?.v === true && ack !== undefined && ack.t - d.t >= delay * 0.8;
      });
    case 'dropped-delivery':
      return mskResponses(v, a).some((r) => !deliveries(v, ue).some((d) => d.t >= r.t && d.t - r.t < delay));
    case 'delayed-delivery':
      return mskResponses(v, a).some((r) => {
        const next = deliveries(v, ue).find((d) => d.t >= r.t);
        return next !== undefined && next.t - r.t >= delay * 0.8;
      });
    case 'delivery-before-200':
      return mskResponses(v, a).some((r) => {
        const req = r.message.request;
        const from = req ? toEpochSeconds(req.firstTime) : Infinity;
        return deliveries(v, ue).some((d) => d.t > from && d.t < r.t);
      });
    case 'ignored-solicited-pull':
      return mikeyTo(v, a, 'solicited-pull-trigger').some((t) => !requests(v, a, 'msk-request').some((r) => r.t > t.t));
    case 'replayed-counter':
      return counterReplayed(mskMessages(v, ue));
    case 'ack-for-mtk': {
      const mtks = v.items.filter(isMikey).filter((i) => i.analysis.mbms?.kind === 'mtk-delivery');
      return acksFrom(v, a).some((x) => mtks.some((m) => m.analysis.message?.header.csbId === x.analysis.message?.header.csbId && m.analysis.mbms?.counter === x.analysis.mbms?.counter));
    }
    case 'http-503':
    case 'retry-after-ignored': {
      const r503 = responses(v, a).find((r) => r.message.status === 503 && header(r.message, 'retry-after') !== undefined);
      if (!r503) return false;
      const retry = requests(v, a, 'msk-request').find((r) => r.t > r503.t);
      if (!retry) return false;
      const early = retry.t - r503.t < timing.retryAfterSeconds * 0.8;
      return fault === 'retry-after-ignored' ? early : !early;
    }
    case 'http-5xx':
      return responses(v, a).some((r) => (r.message.status ?? 0) >= 500 && r.message.status !== 503);
    case 'request-storm':
      return false; // a property of several UEs: see stormVisible
    case 'bad-ack-mac':
      return acksFrom(v, a).some((x) => x.analysis.verified === false);
    case 'ack-not-due': {
      const triggers = mikeyTo(v, a, 'solicited-pull-trigger');
      return acksFrom(v, a).some((x) => triggers.some((t) => t.analysis.message?.header.csbId === x.analysis.message?.header.csbId && t.analysis.mbms?.counter === x.analysis.mbms?.counter));
    }
    case 'repeated-delivery': {
      const ids = deliveries(v, ue).map(mskIdOf);
      return ids.some((id, i) => ids.indexOf(id) !== i);
    }
    case 'unrequested-key-group': {
      const asked = new Set(requests(v, a, 'msk-request').flatMap((r) => r.message.mbms?.msks.map((m) => m.keyGroup) ?? []));
      return deliveries(v, ue).some((d) => !asked.has(d.analysis.mbms?.keyGroup));
    }
    case 'third-msk': {
      const byGroup = new Map<number, Set<number>>();
      for (const d of deliveries(v, ue)) {
        const g = d.analysis.mbms?.keyGroup ?? -1;
        if (!byGroup.has(g)) byGroup.set(g, new Set());
        byGroup.get(g)?.add(d.analysis.mbms?.keyNumber ?? -1);
      }
      return [...byGroup.values()].some((s) => s.size >= 3);
    }
    case 'msk-refused':
      return responses(v, a).some((r) => (r.message.mbms?.responses ?? []).some((e) => e.status === 403)) && deliveries(v, ue).length === 0;
    case 'unregistered':
      return requests(v, a, 'msk-request').length > 0 && requests(v, a, 'register').length === 0;
    case 'push-to-other-address':
      return deliveries(v, ue).some((d) => d.dst !== a && d.analysis.mbms?.idr === ue.btid);
    case 'counter-jump': {
      const c = mskMessages(v, ue).map((m) => m.analysis.mbms?.counter ?? 0);
      return c.some((x, i) => i > 0 && x - c[i - 1] >= 2);
    }
  }
}

/** The storm: at least `n` UEs' MSK requests within `windowSeconds`. */
export function stormVisible(v: CaptureView, ues: string[], windowSeconds: number): boolean {
  const times = v.items.filter(isHttp).filter((i) => i.message.kind === 'request' && !hasCredentials(i.message) && ues.includes(i.src) && (i.message.uri ?? '').includes('msk-request'))
    .map((i) => i.t).sort((x, y) => x - y);
  for (let i = 0; i + ues.length - 1 < times.length; i++) if (times[i + ues.length - 1] - times[i] <= windowSeconds) return true;
  return false;
}

/** Everything a clean UE's traffic must show: verified Digest and MIKEY, every V answered by a verified ACK, no gaps. */
export function cleanProblems(v: CaptureView, ue: UeUnderTest): string[] {
  const out: string[] = [];
  const a = ue.address;
  for (const r of requests(v, a)) if (hasCredentials(r.message) && r.message.verified !== true) out.push(`frame ${r.frame}: Digest not verified`);
  for (const r of responses(v, a)) {
    const s = r.message.status ?? 0;
    if (s >= 400 && !(s === 401 && r.message.request && !hasCredentials(r.message.request))) out.push(`frame ${r.frame}: status ${s}`);
  }
  for (const m of v.items.filter(isMikey).filter((i) => i.dst === a || i.src === a)) if (m.analysis.verified !== true) out.push(`frame ${m.frame}: MIKEY not verified`);
  for (const d of deliveries(v, ue)) {
    if (d.dst !== a) out.push(`frame ${d.frame}: delivery to another address`);
    if (d.analysis.mbms?.v && answered(v, d)?.analysis.verified !== true) out.push(`frame ${d.frame}: V set and no verified ACK`);
  }
  const c = mskMessages(v, ue).map((m) => m.analysis.mbms?.counter ?? 0);
  c.forEach((x, i) => {
    if (i > 0 && x !== c[i - 1] + 1) out.push(`counter ${c[i - 1]} → ${x}`);
  });
  for (const t of mikeyTo(v, a, 'solicited-pull-trigger')) if (!requests(v, a, 'msk-request').some((r) => r.t > t.t)) out.push(`frame ${t.frame}: trigger not followed`);
  if (requests(v, a, 'register').length === 0) out.push('never registered');
  return out;
}
