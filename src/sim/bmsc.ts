/**
 * The simulated BM-SC: a real node `http` server with Digest (TS 33.246 §6.2.1.3, Annex H) answering registration,
 * deregistration and MSK requests with the TS 26.346 XML bodies, and a UDP socket on port 2269 sending MIKEY MSK
 * messages (pull deliveries, pushes, solicited-pull triggers) and MTK messages with real RFC 3830 crypto, and
 * receiving the UEs' ACKs. Faults are applied where the scenario names them, per UE (by B-TID).
 */
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseAuthSchemes, digestCredentialsView, isDigest } from '../protocols/http/auth';
import { computeDigestResponse, digestAlgorithm, sameHex, type DigestAlgorithm } from '../protocols/http/digest';
import { parseMbmsBody } from '../protocols/mbms/xml';
import { digestPasswordFromNaf } from '../protocols/keys';
import { buildMskDelivery, buildSolicitedPullTrigger, encodeKeyIdExtension, encodeMikey } from '../protocols/mikey/encode';
import { decodeMikey, mccMncToKeyDomain } from '../protocols/mikey/decode';
import { computeMac, deriveMessageKeys, macEquals } from '../protocols/mikey/crypto';
import { findPayload, identities, mbmsInfo } from '../protocols/mikey/mbms';
import { PayloadType } from '../protocols/mikey/tables';
import type { TimestampPayload, VerificationPayload } from '../protocols/mikey/types';
import { ACK_REQUEST_TYPE, KEYMANAGEMENT_PATH, MIKEY_PORT, type SimLog, type SimUeIdentity, type Timers } from './common';
import type { SeededStream } from './prng';
import type { Scenario, ScenarioAddresses, UeFault } from './scenario';
import { mskResponseXml, registerResponseXml, type MskRef } from './xml';

/** One MSK as the BM-SC holds it; the RAND is the same for every UE it is sent to (TS 33.246 §6.4.5). */
export interface BmscMsk {
  keyGroup: number;
  keyNumber: number;
  key: Buffer;
  rand: Buffer;
  seqL: number;
  seqU: number;
  /** MTK stream under this MSK. */
  mtkId: number;
  mtkCounter: number;
  /** Sent to at least one UE: MTK messages under it can be opened from the capture. */
  delivered: boolean;
}

interface PendingAck {
  btid: string;
  address: string;
  authKey: Buffer;
  idi: Buffer;
  idr: Buffer;
  tsValue: Buffer;
  acked: boolean;
}

interface Registration {
  address: string;
  services: Set<string>;
}

/** Key group of MSKs delivered to UEs that never asked for it (unrequested-key-group). */
export const EXTRA_KEY_GROUP = 0x0f0f;
const MAX_STALE = 3;
const MAX_BODY = 64 * 1024;

export interface BmscStats {
  httpRequests: number;
  challenges: number;
  authFailures: number;
  mskMessages: number;
  mtkMessages: number;
  acksReceived: number;
  acksVerified: number;
}

export class SimBmsc {
  readonly keyDomainId: Buffer;
  readonly realm: string;
  readonly algorithm: DigestAlgorithm;
  readonly opaque: string;
  readonly stats: BmscStats = { httpRequests: 0, challenges: 0, authFailures: 0, mskMessages: 0, mtkMessages: 0, acksReceived: 0, acksVerified: 0 };
  /** Current MSK per key group. */
  readonly current = new Map<number, BmscMsk>();
  /** Every MSK ever made (for the key file). */
  readonly allMsks: BmscMsk[] = [];
  readonly registrations = new Map<string, Registration>();
  /** B-TIDs refused an MSK (msk-refused): not entitled, never pushed to. */
  readonly refused = new Set<string>();
  /** B-TID → key groups delivered to it. */
  readonly delivered = new Map<string, Set<number>>();
  private readonly ues = new Map<string, SimUeIdentity>();
  private readonly counters = new Map<string, number>();
  private readonly nonces = new Map<string, { issued: number; address: string }>();
  private readonly pendingAcks = new Map<string, PendingAck>();
  private readonly staleCount = new Map<string, number>();
  /** Faults applied once per UE (to its first pull), by `fault/B-TID`. */
  private readonly used = new Set<string>();
  private readonly streams = new Map<string, SeededStream>();
  private readonly mskStream: SeededStream;
  private server: http.Server | undefined;
  private udp: dgram.Socket | undefined;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly scenario: Scenario,
    private readonly addrs: ScenarioAddresses,
    identities: SimUeIdentity[],
    private readonly stream: SeededStream,
    private readonly log: SimLog,
    private readonly timers: Timers,
  ) {
    const kd = mccMncToKeyDomain(scenario.bmsc.keyDomain);
    if (!kd) throw new Error(`bad key domain ${scenario.bmsc.keyDomain}`);
    this.keyDomainId = kd;
    this.realm = `3GPP-bootstrapping@${scenario.bmsc.fqdn}`;
    const alg = digestAlgorithm(scenario.bmsc.digestAlgorithm);
    if (!alg) throw new Error(`bad Digest algorithm ${scenario.bmsc.digestAlgorithm}`);
    this.algorithm = alg;
    this.opaque = stream.child('opaque').hex(16);
    this.mskStream = stream.child('msk');
    for (const u of identities) this.ues.set(u.btid, u);
    for (const s of scenario.services) this.rotate(s.keyGroup);
  }

  async start(): Promise<void> {
    const udp = dgram.createSocket({ type: 'udp4' });
    this.udp = udp;
    udp.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
    udp.on('error', (e) => this.log.add('bmsc', 'udp-error', undefined, e.message));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: this.addrs.bmsc, port: MIKEY_PORT, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const server = http.createServer((req, res) => this.track(this.onRequest(req, res)));
    server.keepAliveTimeout = 3000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.addrs.bmsc, port: this.scenario.httpPort, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.log.add('bmsc', 'listening', undefined, `http://${this.addrs.bmsc}:${(server.address() as AddressInfo).port}, MIKEY udp ${this.addrs.bmsc}:${MIKEY_PORT}`);
  }

  async close(): Promise<void> {
    // in-flight exchanges end once the UEs are gone; bounded all the same
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => (bound = setTimeout(r, 5000)))]);
    clearTimeout(bound);
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
    const udp = this.udp;
    this.udp = undefined;
    if (udp) await new Promise<void>((r) => udp.close(() => r()));
  }

  /** Keep an exchange until close() and never let its failure escape (a UE that hung up is an event, not a crash). */
  private track(p: Promise<unknown>): Promise<void> {
    const q = p.then(
      () => undefined,
      (e: Error) => this.log.add('bmsc', 'error', undefined, e.message),
    );
    this.inflight.add(q);
    void q.finally(() => this.inflight.delete(q));
    return q;
  }

  private streamFor(address: string): SeededStream {
    let s = this.streams.get(address);
    if (!s) {
      s = this.stream.child(`client/${address}`);
      this.streams.set(address, s);
    }
    return s;
  }

  /** A new current MSK for a key group: next Key Number, new key and RAND; its MTK stream starts again. */
  rotate(keyGroup: number): BmscMsk {
    const prev = this.current.get(keyGroup);
    const s = this.mskStream.child(`${keyGroup}/${(prev?.keyNumber ?? 0) + 1}`);
    const msk: BmscMsk = {
      keyGroup, keyNumber: (prev?.keyNumber ?? 0) + 1, key: s.bytes(16), rand: s.bytes(16), seqL: 0, seqU: 1000, mtkId: 0, mtkCounter: 0, delivered: false,
    };
    this.current.set(keyGroup, msk);
    this.allMsks.push(msk);
    return msk;
  }

  /** An MSK sent to one UE only (third-msk): a Key Number far from the shared ones. */
  private privateMsk(keyGroup: number, btid: string): BmscMsk {
    const base = this.current.get(keyGroup);
    const s = this.mskStream.child(`${keyGroup}/private/${btid}`);
    const msk: BmscMsk = {
      keyGroup, keyNumber: (base?.keyNumber ?? 0) + 100, key: s.bytes(16), rand: s.bytes(16), seqL: 0, seqU: 1000, mtkId: 0, mtkCounter: 0, delivered: true,
    };
    this.allMsks.push(msk);
    return msk;
  }

  /** True the first time a UE's fault is asked for: most faults hit the UE's first pull only. */
  private once(ue: SimUeIdentity, fault: UeFault): boolean {
    if (!ue.faults.has(fault)) return false;
    const k = `${fault}/${ue.btid}`;
    if (this.used.has(k)) return false;
    this.used.add(k);
    return true;
  }

  private currentOrNew(keyGroup: number): BmscMsk {
    return this.current.get(keyGroup) ?? this.rotate(keyGroup);
  }

  private nextCounter(btid: string, replay = false): number {
    const last = this.counters.get(btid);
    if (replay && last !== undefined) return last;
    // a per-MUK counter; each UE's starts at a seeded value so counters differ between UEs
    const next = last === undefined ? this.stream.child(`counter/${btid}`).int(1, 1000) : (last + 1) >>> 0;
    this.counters.set(btid, next);
    return next;
  }

  /** Build one MSK message for a UE (counter spent even when the message is then dropped). */
  private mskMessage(ue: SimUeIdentity, msk: BmscMsk, opts: { v: boolean; replay?: boolean }): { bytes: Buffer; counter: number; csbId: number } {
    const counter = this.nextCounter(ue.btid, opts.replay);
    const csbId = this.streamFor(ue.address).uint32();
    const bytes = buildMskDelivery({
      keyDomainId: this.keyDomainId, keyGroup: msk.keyGroup, keyNumber: msk.keyNumber, muk: ue.nafKey, rand: msk.rand, counter, csbId,
      idi: this.scenario.bmsc.fqdn, idr: ue.btid, msk: msk.key, interval: { seqL: msk.seqL, seqU: msk.seqU }, v: opts.v,
      ...(this.isStreaming(msk.keyGroup) ? { srtp: this.srtpSession(msk.keyGroup) } : {}),
    });
    if (opts.v) {
      const keys = deriveMessageKeys(ue.nafKey, csbId, msk.rand, 1, 1);
      const ts = Buffer.alloc(4);
      ts.writeUInt32BE(counter, 0);
      this.pendingAcks.set(`${csbId}:${ts.toString('hex')}`, {
        btid: ue.btid, address: ue.address, authKey: keys.authKey, idi: Buffer.from(this.scenario.bmsc.fqdn), idr: Buffer.from(ue.btid), tsValue: ts, acked: false,
      });
    }
    this.stats.mskMessages++;
    msk.delivered = true;
    let set = this.delivered.get(ue.btid);
    if (!set) this.delivered.set(ue.btid, (set = new Set()));
    set.add(msk.keyGroup);
    return { bytes, counter, csbId };
  }

  private send(bytes: Buffer, address: string): Promise<void> {
    const udp = this.udp;
    if (!udp) return Promise.resolve();
    return new Promise((resolve) => udp.send(bytes, MIKEY_PORT, address, (e) => {
      if (e) this.log.add('bmsc', 'udp-send-error', address, e.message);
      resolve();
    }));
  }

  // --- pushes, triggers, MTKs ----------------------------------------------------------------------------------

  private isStreaming(keyGroup: number): boolean {
    return this.scenario.services.some((s) => s.keyGroup === keyGroup && s.streaming);
  }

  /** The SRTP crypto session of a streaming key group: AES-CM-128, HMAC-SHA-1-80, 112-bit salt, key derivation rate 0. */
  private srtpSession(keyGroup: number): NonNullable<Parameters<typeof buildMskDelivery>[0]['srtp']> {
    const b = (...v: number[]) => Buffer.from(v);
    return {
      ssrc: this.stream.child(`ssrc/${keyGroup}`).uint32(), roc: 0, policyNo: 0,
      params: [
        { paramType: 0, value: b(1) }, { paramType: 1, value: b(16) }, { paramType: 2, value: b(1) }, { paramType: 3, value: b(20) },
        { paramType: 4, value: b(14) }, { paramType: 5, value: b(0) }, { paramType: 6, value: b(0) }, { paramType: 7, value: b(1) },
        { paramType: 10, value: b(1) }, { paramType: 11, value: b(10) },
      ],
    };
  }

  /** UEs the BM-SC pushes a key group to: registered to a service of that group and not refused. */
  pushTargets(keyGroup: number): SimUeIdentity[] {
    const services = new Set(this.scenario.services.filter((s) => s.keyGroup === keyGroup).map((s) => s.id));
    const out: SimUeIdentity[] = [];
    for (const [btid, reg] of this.registrations) {
      const ue = this.ues.get(btid);
      if (!ue || this.refused.has(btid)) continue;
      if ([...reg.services].some((s) => services.has(s))) out.push(ue);
    }
    return out.sort((a, b) => a.index - b.index);
  }

  /** Push the current MSK of a key group to one UE (V set), with that UE's faults. */
  async push(ue: SimUeIdentity, keyGroup: number): Promise<void> {
    const msk = this.currentOrNew(keyGroup);
    const reg = this.registrations.get(ue.btid);
    const to = ue.faults.has('push-to-other-address') ? ue.altAddress : reg?.address ?? ue.address;
    if (ue.faults.has('replayed-counter') && this.counters.has(ue.btid)) {
      const m = this.mskMessage(ue, msk, { v: false, replay: true });
      this.log.add('bmsc', 'push-replayed-counter', ue.address, `counter ${m.counter}`);
      await this.send(m.bytes, to);
      return;
    }
    const m = this.mskMessage(ue, msk, { v: true });
    if (ue.faults.has('counter-jump')) {
      this.log.add('bmsc', 'push-lost', ue.address, `counter ${m.counter} spent, message not sent`);
      return;
    }
    this.log.add('bmsc', 'push', to, `kg 0x${keyGroup.toString(16)} kn ${msk.keyNumber} counter ${m.counter}`);
    await this.send(m.bytes, to);
    if (ue.faults.has('third-msk')) {
      await this.timers.sleep(50);
      const extra = this.privateMsk(keyGroup, ue.btid);
      const m3 = this.mskMessage(ue, extra, { v: true });
      this.log.add('bmsc', 'push-third-msk', to, `kg 0x${keyGroup.toString(16)} kn ${extra.keyNumber} counter ${m3.counter}`);
      await this.send(m3.bytes, to);
    }
  }

  /** Solicited-pull trigger for a key group: Key Number 0, V 0, MAC only, under the UE's MUK. */
  async trigger(ue: SimUeIdentity, keyGroup: number): Promise<void> {
    const counter = this.nextCounter(ue.btid);
    const csbId = this.streamFor(ue.address).uint32();
    const rand = this.streamFor(ue.address).bytes(16);
    const bytes = buildSolicitedPullTrigger({
      keyDomainId: this.keyDomainId, keyGroup, muk: ue.nafKey, rand, counter, csbId, idi: this.scenario.bmsc.fqdn, idr: ue.btid,
    });
    this.stats.mskMessages++;
    const to = this.registrations.get(ue.btid)?.address ?? ue.address;
    this.log.add('bmsc', 'solicited-pull-trigger', to, `kg 0x${keyGroup.toString(16)} counter ${counter}`);
    await this.send(bytes, to);
  }

  /**
   * Next MTK message for a key group to the group address, sent `repeat` times (the repetition is the same bytes:
   * same counter). Only under an MSK already delivered, so every MTK message in a capture can be opened.
   */
  async mtk(keyGroup: number, repeat: number, vSet = false): Promise<boolean> {
    const msk = this.current.get(keyGroup);
    if (!msk || !msk.delivered || msk.mtkId >= msk.seqU) return false;
    msk.mtkId++;
    msk.mtkCounter++;
    const s = this.mskStream.child(`${keyGroup}/${msk.keyNumber}/mtk/${msk.mtkId}`);
    const kid = { keyDomainId: this.keyDomainId, keyGroup, keyNumber: msk.keyNumber, mtkId: msk.mtkId };
    const ts = Buffer.alloc(4);
    ts.writeUInt32BE(msk.mtkCounter, 0);
    // TEK+SALT for streaming, TGK for download, KV null; built here rather than with buildMtkDelivery so the V flag
    // can be faulted
    const key = this.isStreaming(keyGroup) ? { keyType: 3, kv: 0, key: s.bytes(16), salt: s.bytes(14) } : { keyType: 0, kv: 0, key: s.bytes(16) };
    const bytes = encodeMikey(
      {
        header: { dataType: 0, v: vSet, prf: 0, csbId: s.uint32(), csCount: 0, csIdMapType: 1 },
        payloads: [
          { type: 5, tsType: 2, value: ts },
          { type: 21, extType: 3, data: encodeKeyIdExtension(kid) },
          { type: 1, encrAlg: 1, macAlg: 1, keys: [key] },
        ],
      },
      { psk: msk.key, rand: msk.rand },
    );
    this.log.add('group', vSet ? 'mtk-v-set' : 'mtk', this.addrs.group, `kg 0x${keyGroup.toString(16)} kn ${msk.keyNumber} mtk ${msk.mtkId}`);
    for (let i = 0; i < repeat; i++) {
      if (i > 0) await this.timers.sleep(40);
      this.stats.mtkMessages++;
      await this.send(bytes, this.addrs.group);
    }
    return true;
  }

  /** ACKs that were requested (V set) and never came. */
  unackedDeliveries(): { btid: string; address: string }[] {
    return [...this.pendingAcks.values()].filter((p) => !p.acked).map((p) => ({ btid: p.btid, address: p.address }));
  }

  private onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.handleMikeyAck(msg, rinfo.address, 'udp');
  }

  private handleMikeyAck(msg: Buffer, from: string, carrier: string): boolean {
    const d = decodeMikey(msg);
    if (!d.message) {
      this.log.add('bmsc', 'mikey-undecodable', from);
      return false;
    }
    const info = mbmsInfo(d.message);
    if (info.kind !== 'verification') {
      this.log.add('bmsc', 'mikey-unexpected', from, info.kind);
      return false;
    }
    this.stats.acksReceived++;
    const t = findPayload<TimestampPayload>(d.message, PayloadType.T);
    const v = findPayload<VerificationPayload>(d.message, PayloadType.V);
    const key = t ? `${d.message.header.csbId}:${t.value.toString('hex')}` : '';
    const pend = this.pendingAcks.get(key);
    if (!pend || !v) {
      this.log.add('bmsc', 'ack-unmatched', from, carrier);
      return false;
    }
    const idr = identities(d.message).idr?.data ?? pend.idr;
    const mac = computeMac(v.authAlg, pend.authKey, d.message.raw.subarray(0, v.macOffset), pend.idi, idr, pend.tsValue);
    if (!mac || !macEquals(mac, v.mac)) {
      this.log.add('bmsc', 'ack-mac-invalid', from, carrier);
      return false;
    }
    pend.acked = true;
    this.stats.acksVerified++;
    this.log.add('bmsc', 'ack', from, `${carrier} counter ${t?.counter ?? '?'}`);
    return true;
  }

  // --- HTTP ------------------------------------------------------------------------------------------------------

  private challengeHeader(address: string, stale: boolean): string {
    const nonce = this.streamFor(address).bytes(18).toString('base64');
    this.nonces.set(nonce, { issued: this.log.now(), address });
    if (this.nonces.size > 100_000) this.nonces.delete(this.nonces.keys().next().value as string);
    this.stats.challenges++;
    return `Digest realm="${this.realm}", nonce="${nonce}", qop="auth,auth-int", opaque="${this.opaque}", algorithm=${this.algorithm.name}${stale ? ', stale=true' : ''}`;
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.sendDate = false;
    this.stats.httpRequests++;
    const address = req.socket.remoteAddress ?? '';
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_BODY) {
        void this.reply(res, 413, {}, Buffer.alloc(0));
        return;
      }
      chunks.push(c);
    }
    const body = Buffer.concat(chunks);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://bmsc');
    } catch {
      void this.reply(res, 400, {}, Buffer.alloc(0));
      return;
    }
    const requestType = url.searchParams.get('requesttype') ?? '';
    if (req.method !== 'POST' || url.pathname !== KEYMANAGEMENT_PATH) {
      void this.reply(res, req.method !== 'POST' ? 405 : 404, {}, Buffer.alloc(0));
      return;
    }
    const authHeader = req.headers.authorization;
    if (!authHeader) {
      this.challenge(res, address, false);
      return;
    }
    const creds = parseAuthSchemes(authHeader, 'authorization', []).find(isDigest);
    const v = creds ? digestCredentialsView(creds) : undefined;
    const ue = v?.username !== undefined ? this.ues.get(v.username) : undefined;
    if (!v || !ue || v.nonce === undefined || v.response === undefined || v.uri === undefined) {
      this.stats.authFailures++;
      this.log.add('bmsc', 'auth-unknown-user', address);
      this.challenge(res, address, false);
      return;
    }
    const nonce = this.nonces.get(v.nonce);
    if (!nonce || this.log.now() - nonce.issued > this.scenario.bmsc.nonceLifetimeMs) {
      this.challenge(res, address, nonce !== undefined);
      return;
    }
    const expected = computeDigestResponse({
      algorithm: this.algorithm, username: ue.btid, realm: this.realm, password: digestPasswordFromNaf(ue.nafKey), nonce: v.nonce,
      cnonce: v.cnonce, nc: v.nc, qop: v.qop, method: 'POST', uri: v.uri, entityBody: body,
    });
    if (!sameHex(expected, v.response)) {
      this.stats.authFailures++;
      this.log.add('bmsc', 'credentials-rejected', address, ue.btid);
      this.challenge(res, address, false);
      return;
    }
    if (ue.faults.has('stale-nonce') && (this.staleCount.get(ue.btid) ?? 0) < MAX_STALE) {
      this.staleCount.set(ue.btid, (this.staleCount.get(ue.btid) ?? 0) + 1);
      this.log.add('bmsc', 'stale-nonce', address, ue.btid);
      this.challenge(res, address, true);
      return;
    }
    const answer = (status: number, headers: Record<string, string>, out: Buffer) => {
      const info = computeDigestResponse({
        algorithm: this.algorithm, username: ue.btid, realm: this.realm, password: digestPasswordFromNaf(ue.nafKey), nonce: v.nonce as string,
        cnonce: v.cnonce, nc: v.nc, qop: v.qop, method: 'POST', uri: v.uri as string, entityBody: out,
      }, true);
      const h: Record<string, string> = { ...headers };
      if (status >= 200 && status < 300)
        h['Authentication-Info'] = `qop=${v.qop ?? 'auth-int'}, rspauth="${info}", cnonce="${v.cnonce ?? ''}", nc=${v.nc ?? '00000001'}`;
      return this.reply(res, status, h, out);
    };
    switch (requestType) {
      case 'register':
      case 'deregister':
        this.onRegistration(requestType, ue, address, body, answer);
        return;
      case 'msk-request':
        await this.onMskRequest(ue, address, body, answer);
        return;
      case ACK_REQUEST_TYPE: {
        const ok = this.handleMikeyAck(body, address, 'http');
        await answer(ok ? 200 : 400, {}, Buffer.alloc(0));
        return;
      }
      default:
        await answer(404, {}, Buffer.alloc(0));
    }
  }

  private challenge(res: http.ServerResponse, address: string, stale: boolean): void {
    const body = Buffer.from('Unauthorized\n');
    void this.reply(res, 401, { 'WWW-Authenticate': this.challengeHeader(address, stale), 'Content-Type': 'text/plain' }, body);
  }

  private reply(res: http.ServerResponse, status: number, headers: Record<string, string>, body: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (res.writableEnded || res.destroyed) return resolve();
      res.writeHead(status, { ...headers, 'Content-Length': String(body.length) });
      res.end(body, () => resolve());
    });
  }

  private onRegistration(
    kind: 'register' | 'deregister', ue: SimUeIdentity, address: string, body: Buffer,
    answer: (status: number, headers: Record<string, string>, out: Buffer) => Promise<void>,
  ): void {
    const parsed = parseMbmsBody(kind === 'register' ? 'application/mbms-register+xml' : 'application/mbms-deregister+xml', body);
    const services = parsed.body.serviceIds;
    if (kind === 'register') {
      const reg = this.registrations.get(ue.btid) ?? { address, services: new Set<string>() };
      reg.address = address;
      for (const s of services) reg.services.add(s);
      this.registrations.set(ue.btid, reg);
    } else {
      const reg = this.registrations.get(ue.btid);
      if (reg) for (const s of services) reg.services.delete(s);
      if (reg && reg.services.size === 0) this.registrations.delete(ue.btid);
    }
    this.log.add('bmsc', kind, address, services.join(' '));
    const out = Buffer.from(registerResponseXml(services.map((s) => ({ serviceId: s, code: '200 OK' }))));
    void answer(200, { 'Content-Type': 'application/mbms-register-response+xml' }, out);
  }

  private async onMskRequest(
    ue: SimUeIdentity, address: string, body: Buffer, answer: (status: number, headers: Record<string, string>, out: Buffer) => Promise<void>,
  ): Promise<void> {
    const parsed = parseMbmsBody('application/mbms-msk+xml', body);
    const refs = parsed.body.msks.filter((m) => m.keyGroup !== undefined);
    const errorFault = this.once(ue, 'http-503') || this.once(ue, 'retry-after-ignored') ? 503 : this.once(ue, 'http-5xx') ? 504 : 0;
    if (errorFault) {
      this.log.add('bmsc', `http-${errorFault}`, address);
      const headers: Record<string, string> = { 'Content-Type': 'text/plain' };
      if (errorFault === 503) headers['Retry-After'] = String(this.scenario.timing.retryAfterSeconds);
      await answer(errorFault, headers, Buffer.from(errorFault === 503 ? 'Service Unavailable\n' : 'Gateway Timeout\n'));
      return;
    }
    const refused = ue.faults.has('msk-refused');
    if (refused) this.refused.add(ue.btid);
    const entries: { ref: MskRef; code: string; msk?: BmscMsk }[] = refs.map((r) => {
      const keyGroup = r.keyGroup as number;
      const ref: MskRef = { keyDomainId: this.keyDomainId, keyGroup, keyNumber: r.keyNumber ?? 0 };
      if (refused) return { ref, code: '403 Forbidden' };
      const msk = this.currentOrNew(keyGroup);
      return { ref: { ...ref, keyNumber: msk.keyNumber }, code: '200 OK', msk };
    });
    const toSend = entries.filter((e) => e.msk).map((e) => e.msk as BmscMsk);
    this.log.add('bmsc', 'msk-request', address, `${refs.map((r) => `kg 0x${(r.keyGroup ?? 0).toString(16)}`).join(' ')}${refused ? ' refused' : ''}`);
    const tag = (m: BmscMsk) => `kg 0x${m.keyGroup.toString(16)} kn ${m.keyNumber}`;
    if (ue.variant !== 'D' && toSend.length > 0) {
      // variants B and C: the MIKEY message is the 200 OK's body (one MSK per request)
      const m = this.mskMessage(ue, toSend[0], { v: true });
      this.log.add('bmsc', 'delivery-in-200', address, `${tag(toSend[0])} counter ${m.counter} variant ${ue.variant}`);
      await answer(200, { 'Content-Type': 'application/mikey' }, m.bytes);
      return;
    }
    const xml = Buffer.from(mskResponseXml(entries.map((e) => ({ ref: e.ref, code: e.code }))));
    const ok = () => answer(200, { 'Content-Type': 'application/mbms-msk-response+xml' }, xml);
    if (this.once(ue, 'delivery-before-200')) {
      for (const msk of toSend) {
        const m = this.mskMessage(ue, msk, { v: true });
        this.log.add('bmsc', 'delivery-before-200', address, `${tag(msk)} counter ${m.counter}`);
        await this.send(m.bytes, address);
      }
      await this.timers.sleep(80);
      await ok();
      return;
    }
    await ok();
    const drop = this.once(ue, 'dropped-delivery');
    const repeat = this.once(ue, 'repeated-delivery');
    const unrequested = this.once(ue, 'unrequested-key-group');
    const deliver = async () => {
      for (const msk of toSend) {
        const m = this.mskMessage(ue, msk, { v: true });
        if (drop) {
          this.log.add('bmsc', 'delivery-dropped', address, `${tag(msk)} counter ${m.counter} spent`);
          continue;
        }
        this.log.add('bmsc', 'delivery', address, `${tag(msk)} counter ${m.counter}`);
        await this.send(m.bytes, address);
        if (repeat) {
          await this.timers.sleep(60);
          const again = this.mskMessage(ue, msk, { v: true });
          this.log.add('bmsc', 'delivery-repeated', address, `${tag(msk)} counter ${again.counter}`);
          await this.send(again.bytes, address);
        }
      }
      if (unrequested && toSend.length > 0) {
        await this.timers.sleep(60);
        const extra = this.currentOrNew(EXTRA_KEY_GROUP);
        const m = this.mskMessage(ue, extra, { v: true });
        this.log.add('bmsc', 'delivery-unrequested', address, `${tag(extra)} counter ${m.counter}`);
        await this.send(m.bytes, address);
      }
    };
    if (this.once(ue, 'delayed-delivery') && toSend.length > 0) {
      this.log.add('bmsc', 'delivery-delayed', address, `${this.scenario.timing.delayMs} ms`);
      this.timers.after(this.scenario.timing.delayMs, () => void this.track(deliver()));
      return;
    }
    await this.timers.sleep(5);
    await deliver();
  }
}
