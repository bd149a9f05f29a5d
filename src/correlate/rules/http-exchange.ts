/**
 * HTTP key-management exchanges with the BM-SC (TS 33.246 Annex G): requests and their answers on each connection,
 * Digest challenges and credentials, error statuses and Retry-After. Requests are classified by `requesttype` and
 * handed to the registration or pull room, which own the transaction; this room owns what HTTP says about it.
 */
import { escapeText } from '../../common/escape';
import { diffSeconds, type PacketTime } from '../../common/time';
import { digestChallengeView, isDigest } from '../../protocols/http/auth';
import type { HttpMessage } from '../../protocols/http/types';
import type { DissectedFrame } from '../../protocols/records';
import type { RoomContext } from '../context';
import type { DiagnosticInfo } from '../diagnostic-info';
import { bodyRequestType, flat, fromSecs, intern, pushOne, requestTypeOf, retryAfterSeconds, secs, stepFrames, timeOf, usernameOf, type RequestRef, type Tx, type UeState } from '../model';
import { OldestKeys } from '../../common/oldest-key';
import { LIMITS } from '../options';
import type { PullRules } from './pull';
import type { RegistrationRules } from './registration';

export const HTTP_DIAGNOSTICS = {
  'credentials-rejected': {
    severity: 'error',
    meaning: 'A request carrying Digest credentials was answered 401 without stale=true: wrong password (MRK) or B-TID.',
    evidence: 'the request with credentials and its 401',
  },
  'stale-nonce-loop': {
    severity: 'error',
    meaning: 'Two or more stale=true challenges in a row answered the same UE\'s credentials: it never gets a usable nonce.',
    evidence: 'two requests with credentials, each answered 401 stale=true',
  },
  'http-error-status': {
    severity: 'error',
    meaning: 'A key-management request was answered with a 4xx/5xx status other than the Digest 401 challenge.',
    evidence: 'the request and its 4xx/5xx answer',
  },
  'request-unanswered': {
    severity: 'error',
    meaning: 'A key-management HTTP request got no response within --pull-timeout.',
    evidence: 'the request, and a later frame past --pull-timeout with no answer before it',
  },
  'retry-after-ignored': {
    severity: 'warning',
    meaning: 'After 503 with Retry-After the UE repeated the request too early, or did not repeat it within --pull-timeout after the Retry-After.',
    evidence: 'the request, its 503 with Retry-After, and the early repeat (or a later frame past Retry-After + --pull-timeout)',
  },
} as const satisfies Record<string, DiagnosticInfo>;

export class HttpExchangeRules {
  /** TCP connection id → its client (the UE side) and server, learned from its requests. */
  private readonly conns = new Map<number, { client: string; server: string }>();
  private readonly oldestConn = new OldestKeys(this.conns);
  /**
   * Requests waiting for their answer, found again through the response's link to its request. Weak: the entry
   * lives only as long as the dissector keeps the message, and holds no message itself.
   */
  private readonly requests = new WeakMap<HttpMessage, RequestRef>();

  constructor(private readonly ctx: RoomContext, private readonly registration: RegistrationRules, private readonly pull: PullRules) {}

  /** The client and server of an HTTP connection (for a MIKEY message carried in a body). */
  connection(connId: number): { client: string; server: string } | undefined {
    return this.conns.get(connId);
  }

  /** `at`: the message's own endpoints when `f` is not its own last frame (HttpFrameRecord.src/dst). */
  message(f: DissectedFrame, m: HttpMessage, at?: { src?: string; dst?: string }): void {
    const p = f.packet;
    if (m.kind === 'request') {
      const own = at?.src !== undefined && at.dst !== undefined ? { client: at.src, server: at.dst } : p.ip && p.frame === m.lastFrame ? { client: p.ip.src, server: p.ip.dst } : undefined;
      if (own) {
        // least recently used first: a connection's latest request moves it to the newest end
        this.conns.delete(m.connId);
        this.conns.set(m.connId, own);
        this.oldestConn.trim(this.ctx.options.maxConnections);
      }
      this.request(m);
    } else if (!m.interim) this.response(m);
  }

  private request(m: HttpMessage): void {
    const { ctx } = this;
    const conn = this.conns.get(m.connId);
    if (!conn) return;
    const rt = requestTypeOf(m.uri) ?? (m.mbms && m.mbms.kind !== 'unknown' ? bodyRequestType(m.mbms.kind) : undefined);
    if (m.contentType === 'application/mikey') return; // an ACK carried over HTTP (variant B): the MIKEY side handles it
    if (rt !== 'register' && rt !== 'deregister' && rt !== 'msk-request') return;
    const btid = usernameOf(m);
    const ue = ctx.ues.lookup(conn.client, btid);
    if (!ue) return;
    const time: PacketTime = m.lastTime;
    const credentials = btid !== undefined;
    let tx: Tx;
    if (rt === 'msk-request') {
      tx = this.pull.request(ue, conn.client, m, time);
      this.retryAfterCheck(ue, tx, m);
      this.registration.mskRequest(ue, tx, m);
      this.pull.requested(tx, m);
    } else tx = this.registration.request(ue, rt, conn.client, m, time);
    tx.rec.requestType ??= rt;
    tx.rec.bmsc ??= conn.server;
    if (credentials && tx.challengeTime) {
      const l = diffSeconds(tx.challengeTime, time);
      tx.rec.latencies.challengeToCredentials ??= l;
      ctx.stats.latency.challengeToCredentials.add(l);
      tx.challengeTime = undefined;
      // a challenge's deadline acts only while it is the transaction's latest challenge
      ctx.book.cancelDeadline(tx, this.challengeDeadline, tx);
    }
    // a capture repeats a few request lines: one copy of each is kept by the steps and the request (intern)
    ctx.book.step(tx, credentials ? 'credentials' : 'request', m.lastFrame, time, undefined, undefined, intern(escapeText(flat(m.method ?? '', ' ', m.uri ?? ''), 200)), m.frames);
    tx.pendingRequests++;
    const ref: RequestRef = {
      tx, frame: m.lastFrame, time: timeOf(time), label: intern(flat(escapeText(m.method ?? ''), ' ', escapeText(m.uri ?? '', 120))), credentials, answered: false,
      client: conn.client, server: conn.server,
    };
    this.requests.set(m, ref);
    ctx.book.deadline(tx, secs(time) + ctx.options.pullTimeout, this.requestDeadline, ref);
  }

  /** A request's pull timeout passed (ref.tx is its transaction). */
  private readonly requestDeadline = (at: number, ref: RequestRef): void => {
    const { ctx } = this;
    const tx = ref.tx;
    if (ref.answered) return;
    ref.answered = true;
    tx.pendingRequests--;
    ctx.findings.report('request-unanswered', tx, tx.ue, [ref.frame], `${ref.label} from ${ref.client} got no response within ${ctx.options.pullTimeout} s`, fromSecs(at));
    if (tx.open && tx.pendingRequests === 0 && tx.state !== 'authorized') ctx.book.close(tx, 'timeout');
  };

  /** A UE told to come back after a 503's Retry-After must not come back earlier. */
  private retryAfterCheck(ue: UeState, tx: Tx, m: HttpMessage): void {
    const ra = ue.retryAfter;
    if (!ra) return;
    ue.retryAfter = undefined;
    const now = this.ctx.clock.now;
    if (now < ra.until)
      this.ctx.findings.report('retry-after-ignored', tx, ue, [...ra.frames, m.lastFrame], `UE ${ue.id} repeated its request ${(ra.until - now).toFixed(3)} s before the Retry-After of frame ${ra.frames[ra.frames.length - 1]} expired`);
  }

  private response(m: HttpMessage): void {
    const { ctx } = this;
    const req = m.request;
    if (!req) return;
    const ref = this.requests.get(req);
    if (!ref || ref.answered) return;
    ref.answered = true;
    this.requests.delete(req);
    const tx = ref.tx;
    // an answer after its transaction was reported (evicted, closed at a deadline) changes nothing
    if (!tx.open) return;
    // its pull timeout can only find it answered now
    ctx.book.cancelDeadline(tx, this.requestDeadline, ref);
    tx.pendingRequests--;
    const status = m.status ?? 0;
    const time = m.lastTime;
    if (tx.rec.httpStatuses.length < LIMITS.listPerTransaction) pushOne(tx.rec, 'httpStatuses', status);
    const ue = tx.ue;
    if (status === 401) {
      this.challenge(tx, ref, req, m, time);
      return;
    }
    ctx.book.step(tx, 'response', m.lastFrame, time, status, undefined, undefined, m.frames);
    if (status >= 200 && status < 300) {
      if (ref.credentials) tx.rec.digest = 'accepted';
      tx.staleRun = 0;
      const l = diffSeconds(req.lastTime, time);
      tx.rec.latencies.requestTo200 ??= l;
      ctx.stats.latency.requestTo200.add(l);
      const proc = tx.rec.procedure;
      if (proc === 'register' || proc === 'deregister') this.registration.accepted(tx, ref, m);
      else this.pull.ok(tx, ref, m);
      return;
    }
    if (status >= 400) {
      const ra = status === 503 ? retryAfterSeconds(m) : undefined;
      ctx.findings.report('http-error-status', tx, ue, [req.lastFrame, m.lastFrame], `${status} ${escapeText(m.reason ?? '', 60)} to ${escapeText(req.method ?? '')} ${escapeText(req.uri ?? '', 120)}${ra !== undefined ? ` (Retry-After ${ra} s)` : ''}`);
      if (ue && ra !== undefined && tx.rec.requestType === 'msk-request') {
        const until = secs(time) + ra;
        const entry = { until, frames: [req.lastFrame, m.lastFrame], txId: tx.rec.id };
        ue.retryAfter = entry;
        // the UE's deadline, not the transaction's (that one closes now): it names the transaction by id only
        ctx.timers.set(until + ctx.options.pullTimeout, () => {
          if (ue.retryAfter !== entry) return;
          ue.retryAfter = undefined;
          ctx.findings.report('retry-after-ignored', entry.txId, ue, entry.frames, `UE ${ue.id} did not repeat its MSK request within ${ctx.options.pullTimeout} s after the Retry-After ${ra} s of the 503`);
        });
      }
      if (tx.pendingRequests === 0) ctx.book.close(tx, 'complete');
    }
  }

  /** A 401: the challenge to a request without credentials, or a rejection (stale or not) of credentials. */
  private challenge(tx: Tx, ref: RequestRef, req: HttpMessage, m: HttpMessage, time: PacketTime): void {
    const { ctx } = this;
    const ue = tx.ue;
    const ch = (m.auth?.challenges ?? []).filter(isDigest).map((c) => digestChallengeView(c));
    const stale = ch.some((c) => c.stale === true);
    ctx.book.step(tx, 'challenge', m.lastFrame, time, 401, undefined, undefined, m.frames);
    const challengeTime = timeOf(time);
    // an earlier challenge's deadline acts no more (see challengeDeadline)
    if (tx.challengeTime !== undefined) ctx.book.cancelDeadline(tx, this.challengeDeadline, tx);
    tx.challengeTime = challengeTime;
    if (tx.state !== 'authorized') tx.state = 'challenged';
    if (ref.credentials) {
      if (stale) {
        tx.staleRun++;
        tx.rec.digest = 'stale';
        if (tx.staleRun === 2)
          ctx.findings.report('stale-nonce-loop', tx, ue, stepFrames(tx, 'credentials').concat(stepFrames(tx, 'challenge')), `UE ${ue?.id ?? ref.client} got ${tx.staleRun} stale-nonce challenges in a row`);
      } else {
        tx.staleRun = 0;
        tx.rec.digest = 'rejected';
        ctx.findings.report('credentials-rejected', tx, ue, [req.lastFrame, m.lastFrame], `401 to Digest credentials of ${usernameOf(req) ?? '?'} (frame ${req.lastFrame}): rejected`);
      }
    } else if (tx.rec.digest === 'none') tx.rec.digest = 'challenged';
    // a challenge nobody answers leaves the transaction open until the pull timeout
    ctx.book.deadline(tx, secs(time) + ctx.options.pullTimeout, this.challengeDeadline, tx, challengeTime);
  }

  /** A challenge's pull timeout passed: still unanswered (the same challenge), the transaction times out. */
  private readonly challengeDeadline = (_at: number, tx: Tx, challengeTime: PacketTime): void => {
    if (tx.open && tx.state === 'challenged' && tx.pendingRequests === 0 && tx.challengeTime === challengeTime) this.ctx.book.close(tx, 'timeout');
  };
}
