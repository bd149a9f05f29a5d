/**
 * A simulated UE: registers to the services, requests MSKs with HTTP Digest (qop auth-int, password = base64 MRK),
 * verifies and decrypts the MIKEY messages it receives (MUK = its NAF key; MTKs with the MSK and the RAND of the MSK
 * message), answers with ACKs when V is set, keeps at most two MSKs per key group, follows solicited pulls, and
 * deregisters. Faults change what it sends (never what it checks).
 */
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import { digestChallengeView, isDigest, parseAuthSchemes } from '../protocols/http/auth';
import { computeDigestResponse, digestAlgorithm } from '../protocols/http/digest';
import { digestPasswordFromNaf } from '../protocols/keys';
import { decodeKeyDataChain, decodeMikey, mccMncToKeyDomain } from '../protocols/mikey/decode';
import { buildMskAck } from '../protocols/mikey/encode';
import { computeMac, deriveMessageKeys, kemacDecrypt, macEquals } from '../protocols/mikey/crypto';
import { findPayload, identities, mbmsInfo } from '../protocols/mikey/mbms';
import { PayloadType } from '../protocols/mikey/tables';
import { serialGreater } from '../protocols/mikey/tracker';
import type { KemacPayload, MikeyMessage, RandPayload, TimestampPayload } from '../protocols/mikey/types';
import {
  ACK_REQUEST_TYPE, KEYMANAGEMENT_PATH, MIKEY_PORT, UE_USER_AGENT, type SimLog, type SimUeIdentity, type Timers,
} from './common';
import type { SeededStream } from './prng';
import type { Scenario, ScenarioAddresses } from './scenario';
import { deregisterXml, mskRequestXml, registerXml } from './xml';

/** An MSK as the UE's ME keeps it. */
export interface UeMsk {
  keyGroup: number;
  keyNumber: number;
  key: Buffer;
  rand: Buffer;
  seqL: number;
  seqU: number;
  lastMtkId: number;
  lastMtkCounter?: number;
  lastMtkBytes?: Buffer;
}

export interface UeStats {
  registered: boolean;
  deliveriesAccepted: number;
  deliveriesRejected: number;
  acksSent: number;
  triggers: number;
  mtksAccepted: number;
  mtksRejected: number;
  httpStatuses: number[];
}

interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface DigestSession {
  nonce: string;
  realm: string;
  opaque: string;
  algorithm: NonNullable<ReturnType<typeof digestAlgorithm>>;
  nc: number;
}

const MAX_MSKS_PER_GROUP = 2;
const MAX_STALE_RETRIES = 3;

export class SimUe {
  readonly msks = new Map<number, UeMsk[]>();
  readonly stats: UeStats = { registered: false, deliveriesAccepted: 0, deliveriesRejected: 0, acksSent: 0, triggers: 0, mtksAccepted: 0, mtksRejected: 0, httpStatuses: [] };
  /** Key groups this UE asked for. */
  readonly requested = new Set<number>();
  private lastCounter: number | undefined;
  private readonly sockets: dgram.Socket[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly agents = new Set<http.Agent>();
  private ackFaultUsed = false;
  private mtkAckSent = false;
  private readonly password: string;
  /** The last Digest challenge that led to a 200 (variant B's ACK POST reuses it). */
  private session: DigestSession | undefined;

  constructor(
    readonly id: SimUeIdentity,
    private readonly scenario: Scenario,
    private readonly addrs: ScenarioAddresses,
    private readonly stream: SeededStream,
    private readonly log: SimLog,
    private readonly timers: Timers,
  ) {
    // a wrong password is base64 of an MRK from another key: same shape, wrong value
    this.password = id.faults.has('wrong-password') ? digestPasswordFromNaf(stream.child('wrong').bytes(32)) : digestPasswordFromNaf(id.nafKey);
  }

  get address(): string {
    return this.id.address;
  }

  async start(): Promise<void> {
    const addrs = [this.id.address];
    if (this.id.faults.has('push-to-other-address')) addrs.push(this.id.altAddress);
    for (const a of addrs) {
      const s = dgram.createSocket({ type: 'udp4' });
      s.on('message', (msg, rinfo) => this.track(this.onDatagram(msg, rinfo, s)));
      s.on('error', (e) => this.log.add('ue', 'udp-error', this.address, e.message));
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind({ address: a, port: MIKEY_PORT, exclusive: true }, () => {
          s.off('error', reject);
          resolve();
        });
      });
      this.sockets.push(s);
    }
  }

  async close(): Promise<void> {
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => (bound = setTimeout(r, 5000)))]);
    clearTimeout(bound);
    for (const a of this.agents) a.destroy();
    this.agents.clear();
    await Promise.all(this.sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.sockets.length = 0;
  }

  /** Wait for every procedure this UE has running. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  track<T>(p: Promise<T>): Promise<T> {
    const q = p.catch((e: Error) => {
      this.log.add('ue', 'error', this.address, e.message);
      return undefined as T;
    });
    this.inflight.add(q);
    void q.finally(() => this.inflight.delete(q));
    return q;
  }

  // --- procedures --------------------------------------------------------------------------------------------------

  /** Start of life: register (unless the `unregistered` fault), then request the first service's key group. */
  async join(keyGroup: number): Promise<void> {
    if (!this.id.faults.has('unregistered')) {
      const ok = await this.register();
      if (!ok) return;
    }
    await this.pull([keyGroup], 'join');
  }

  async register(): Promise<boolean> {
    const r = await this.keyManagement('register', 'application/mbms-register+xml', Buffer.from(registerXml(this.scenario.services.map((s) => s.id))));
    this.stats.registered = r?.status === 200;
    this.log.add('ue', this.stats.registered ? 'registered' : 'register-failed', this.address, r ? String(r.status) : 'no answer');
    return this.stats.registered;
  }

  async deregister(): Promise<void> {
    if (!this.stats.registered) return;
    const r = await this.keyManagement('deregister', 'application/mbms-deregister+xml', Buffer.from(deregisterXml(this.scenario.services.map((s) => s.id))));
    if (r?.status === 200) this.stats.registered = false;
    this.log.add('ue', 'deregistered', this.address, r ? String(r.status) : 'no answer');
  }

  /** MSK request for key groups (Key Number 0: the current MSK), with the BM-SC's 503 Retry-After honoured. */
  async pull(keyGroups: number[], reason: string): Promise<void> {
    for (const g of keyGroups) this.requested.add(g);
    const kd = this.keyDomainId();
    const body = Buffer.from(mskRequestXml(keyGroups.map((g) => ({ keyDomainId: kd, keyGroup: g, keyNumber: 0 }))));
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await this.keyManagement('msk-request', 'application/mbms-msk+xml', body);
      this.log.add('ue', 'msk-request', this.address, `${reason} ${r ? r.status : 'no answer'}`);
      if (!r) return;
      if (r.status === 503) {
        const ra = Number(r.headers['retry-after'] ?? '1');
        const wait = this.id.faults.has('retry-after-ignored') ? 50 : (Number.isFinite(ra) ? ra : 1) * 1000;
        await this.timers.sleep(wait);
        continue;
      }
      if (r.status === 200 && r.headers['content-type'] === 'application/mikey') await this.onHttpMikey(r.body);
      return;
    }
  }

  private keyDomainId(): Buffer {
    return mccMncToKeyDomain(this.scenario.bmsc.keyDomain) ?? Buffer.alloc(3);
  }

  /**
   * One POST to the BM-SC on a fresh connection: unauthenticated first, then with Digest credentials. With `reuse`,
   * the first POST already carries credentials under the last nonce (nc + 1), as a UE does within one Digest session.
   */
  private async keyManagement(requestType: string, contentType: string, body: Buffer, reuse = false): Promise<HttpResult | undefined> {
    if (this.timers.isClosed) return undefined;
    const path = `${KEYMANAGEMENT_PATH}?requesttype=${requestType}`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.agents.add(agent);
    const credentials = (session: DigestSession): { auth: string; cnonce: string; nc: string } => {
      const cnonce = this.stream.bytes(12).toString('hex');
      const nc = session.nc.toString(16).padStart(8, '0');
      const response = computeDigestResponse({
        algorithm: session.algorithm, username: this.id.btid, realm: session.realm, password: this.password, nonce: session.nonce, cnonce, nc,
        qop: 'auth-int', method: 'POST', uri: path, entityBody: body,
      });
      const auth = `Digest username="${this.id.btid}", realm="${session.realm}", nonce="${session.nonce}", uri="${path}", qop=auth-int, nc=${nc}, cnonce="${cnonce}", response="${response}", opaque="${session.opaque}", algorithm=${session.algorithm.name}`;
      return { auth, cnonce, nc };
    };
    try {
      let r: HttpResult;
      const last = reuse ? this.session : undefined;
      if (last) {
        last.nc++;
        const c = credentials(last);
        r = await this.post(agent, path, contentType, body, c.auth);
        if (r.status === 200) this.checkRspauth(r, last.algorithm, last.realm, last.nonce, c.cnonce, c.nc, path);
      } else r = await this.post(agent, path, contentType, body, undefined);
      this.stats.httpStatuses.push(r.status);
      let stale = 0;
      while (r.status === 401) {
        const ch = parseAuthSchemes(String(r.headers['www-authenticate'] ?? ''), 'www-authenticate', []).find(isDigest);
        if (!ch) return r;
        const view = digestChallengeView(ch);
        const algorithm = digestAlgorithm(view.algorithm);
        if (!algorithm || view.nonce === undefined || view.realm === undefined) return r;
        if (!view.realm.endsWith(`@${this.scenario.bmsc.fqdn}`)) {
          this.log.add('ue', 'realm-rejected', this.address, view.realm);
          return r;
        }
        const session: DigestSession = { nonce: view.nonce, realm: view.realm, opaque: view.opaque ?? '', algorithm, nc: 1 };
        const c = credentials(session);
        r = await this.post(agent, path, contentType, body, c.auth);
        this.stats.httpStatuses.push(r.status);
        if (r.status !== 401) {
          if (r.status === 200) {
            this.checkRspauth(r, algorithm, view.realm, view.nonce, c.cnonce, c.nc, path);
            this.session = session;
          }
          return r;
        }
        const again = parseAuthSchemes(String(r.headers['www-authenticate'] ?? ''), 'www-authenticate', []).find(isDigest);
        if (!again || !digestChallengeView(again).stale) {
          this.log.add('ue', 'credentials-rejected', this.address);
          return r;
        }
        if (++stale >= MAX_STALE_RETRIES) {
          this.log.add('ue', 'stale-nonce-give-up', this.address, `${stale} stale challenges`);
          return r;
        }
      }
      return r;
    } catch (e) {
      this.log.add('ue', 'http-error', this.address, (e as Error).message);
      return undefined;
    } finally {
      agent.destroy();
      this.agents.delete(agent);
    }
  }

  private checkRspauth(r: HttpResult, algorithm: NonNullable<ReturnType<typeof digestAlgorithm>>, realm: string, nonce: string, cnonce: string, nc: string, uri: string): void {
    const info = String(r.headers['authentication-info'] ?? '');
    const m = /rspauth="([0-9a-f]+)"/i.exec(info);
    const expected = computeDigestResponse({
      algorithm, username: this.id.btid, realm, password: this.password, nonce, cnonce, nc, qop: 'auth-int', method: 'POST', uri, entityBody: r.body,
    }, true);
    if (!m || m[1].toLowerCase() !== expected) this.log.add('ue', 'rspauth-invalid', this.address);
  }

  private post(agent: http.Agent, path: string, contentType: string, body: Buffer, authorization: string | undefined): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = {
        Host: `${this.scenario.bmsc.fqdn}:${this.scenario.httpPort}`,
        'User-Agent': UE_USER_AGENT,
        'Content-Type': contentType,
        'Content-Length': body.length,
      };
      if (authorization) headers.Authorization = authorization;
      const req = http.request({
        host: this.addrs.bmsc, port: this.scenario.httpPort, localAddress: this.id.address, method: 'POST', path, headers, agent, timeout: 10_000,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('HTTP request timed out')));
      req.on('error', reject);
      req.end(body);
    });
  }

  // --- MIKEY -------------------------------------------------------------------------------------------------------

  private async onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo, socket: dgram.Socket): Promise<void> {
    await this.onMikey(msg, 'udp', socket, rinfo.address);
  }

  private async onHttpMikey(bytes: Buffer): Promise<void> {
    await this.onMikey(bytes, 'http', this.sockets[0], this.addrs.bmsc);
  }

  /** An MTK message from the group address (fanned out by the run; see README "MTK group address"). */
  async onGroupMikey(bytes: Buffer): Promise<void> {
    const d = decodeMikey(bytes);
    if (!d.message) return;
    const info = mbmsInfo(d.message);
    if (info.kind === 'mtk-delivery') await this.mtk(d.message, info);
  }

  private async onMikey(bytes: Buffer, carrier: 'udp' | 'http', socket: dgram.Socket | undefined, from: string): Promise<void> {
    const d = decodeMikey(bytes);
    if (!d.message) return void this.log.add('ue', 'mikey-undecodable', this.address);
    const m = d.message;
    const info = mbmsInfo(m);
    if (info.kind !== 'msk-delivery' && info.kind !== 'solicited-pull-trigger') return void this.log.add('ue', 'mikey-ignored', this.address, info.kind);
    if (info.idr !== this.id.btid) return void this.log.add('ue', 'mikey-not-mine', this.address, info.idr);
    const kemac = findPayload<KemacPayload>(m, PayloadType.KEMAC);
    const rand = findPayload<RandPayload>(m, PayloadType.RAND);
    const t = findPayload<TimestampPayload>(m, PayloadType.T);
    if (!kemac || !rand || t?.counter === undefined) return this.reject('incomplete MSK message');
    const keys = deriveMessageKeys(this.id.nafKey, m.header.csbId, rand.rand, kemac.encrAlg, kemac.macAlg);
    const mac = computeMac(kemac.macAlg, keys.authKey, m.raw.subarray(0, kemac.macOffset));
    if (!mac || !macEquals(mac, kemac.mac)) return this.reject('MAC does not verify with the MUK');
    if (this.lastCounter !== undefined && !serialGreater(t.counter, this.lastCounter)) return this.reject(`replayed counter ${t.counter} (last ${this.lastCounter})`);
    this.lastCounter = t.counter;
    const keyGroup = info.keyGroup ?? 0;
    if (info.kind === 'solicited-pull-trigger') {
      this.stats.triggers++;
      this.log.add('ue', 'trigger', this.address, `kg 0x${keyGroup.toString(16)}`);
      if (this.id.faults.has('ack-not-due') && socket) await this.sendAck(m, rand.rand, t, this.id.nafKey, socket, from, 'ack-not-due');
      if (this.id.faults.has('ignored-solicited-pull')) return void this.log.add('ue', 'trigger-ignored', this.address);
      await this.pull([keyGroup], 'solicited');
      return;
    }
    const plain = kemacDecrypt(kemac.encrAlg, keys, m.header.csbId, t.value, kemac.encrData);
    const chain = plain ? decodeKeyDataChain(plain, 0, kemac.encrAlg === 2) : undefined;
    const tek = chain?.keys.find((k) => k.keyType === 2);
    if (!tek) return this.reject('no TEK in the KEMAC');
    const from16 = (b: Buffer | undefined) => (b && b.length >= 1 && b.length <= 4 ? b.readUIntBE(0, b.length) : 0);
    this.store({
      keyGroup, keyNumber: info.keyNumber ?? 0, key: Buffer.from(tek.key), rand: Buffer.from(rand.rand),
      seqL: from16(tek.interval?.from), seqU: from16(tek.interval?.to) || 0xffff, lastMtkId: from16(tek.interval?.from),
    });
    this.stats.deliveriesAccepted++;
    this.log.add('ue', 'delivery', this.address, `${carrier} kg 0x${keyGroup.toString(16)} kn ${info.keyNumber} counter ${t.counter}`);
    if (!m.header.v) return;
    if (carrier === 'http' && this.id.variant === 'B') {
      const ack = this.ackBytes(m, rand.rand, t, this.id.nafKey);
      const r = await this.keyManagement(ACK_REQUEST_TYPE, 'application/mikey', ack, true);
      this.stats.acksSent++;
      this.log.add('ue', 'ack', this.address, `http ${r?.status ?? 'no answer'}`);
      return;
    }
    if (!socket) return;
    const first = !this.ackFaultUsed;
    this.ackFaultUsed = true;
    if (first && this.id.faults.has('dropped-ack')) return void this.log.add('ue', 'ack-dropped', this.address);
    if (first && this.id.faults.has('delayed-ack')) {
      this.log.add('ue', 'ack-delayed', this.address, `${this.scenario.timing.delayMs} ms`);
      await this.timers.sleep(this.scenario.timing.delayMs);
    }
    await this.sendAck(m, rand.rand, t, this.id.nafKey, socket, from, first && this.id.faults.has('bad-ack-mac') ? 'bad-mac' : 'ack');
  }

  private reject(why: string): void {
    this.stats.deliveriesRejected++;
    this.log.add('ue', 'mikey-rejected', this.address, why);
  }

  private ackBytes(m: MikeyMessage, rand: Buffer, t: TimestampPayload, key: Buffer): Buffer {
    const ids = identities(m);
    return buildMskAck({
      delivery: { csbId: m.header.csbId, rand, counterValue: t.value, idi: ids.idi?.data ?? Buffer.alloc(0), idr: ids.idr?.data ?? Buffer.from(this.id.btid) },
      muk: key,
    });
  }

  private async sendAck(m: MikeyMessage, rand: Buffer, t: TimestampPayload, key: Buffer, socket: dgram.Socket, to: string, kind: string): Promise<void> {
    const ack = this.ackBytes(m, rand, t, key);
    if (kind === 'bad-mac') ack[ack.length - 1] ^= 0x5a;
    this.stats.acksSent++;
    this.log.add('ue', kind, this.address, `counter ${t.counter}`);
    await new Promise<void>((resolve) => socket.send(ack, MIKEY_PORT, to, () => resolve()));
  }

  /** Keep at most two MSKs per key group: a third replaces the older (TS 33.246 §6.3.2.3.1). */
  private store(k: UeMsk): void {
    const list = this.msks.get(k.keyGroup) ?? [];
    const same = list.findIndex((x) => x.keyNumber === k.keyNumber);
    if (same >= 0) list.splice(same, 1);
    list.push(k);
    while (list.length > MAX_MSKS_PER_GROUP) {
      const old = list.shift();
      this.log.add('ue', 'msk-dropped-third', this.address, `kg 0x${k.keyGroup.toString(16)} kn ${old?.keyNumber}`);
    }
    this.msks.set(k.keyGroup, list);
  }

  private async mtk(m: MikeyMessage, info: ReturnType<typeof mbmsInfo>): Promise<void> {
    const msk = this.msks.get(info.keyGroup ?? -1)?.find((x) => x.keyNumber === info.keyNumber);
    if (!msk) return;
    if (msk.lastMtkBytes?.equals(m.raw)) return; // the periodic repetition
    const kemac = findPayload<KemacPayload>(m, PayloadType.KEMAC);
    const t = findPayload<TimestampPayload>(m, PayloadType.T);
    if (!kemac || !t || info.mtkId === undefined) return void this.mtkReject('incomplete MTK message');
    const keys = deriveMessageKeys(msk.key, m.header.csbId, msk.rand, kemac.encrAlg, kemac.macAlg);
    const mac = computeMac(kemac.macAlg, keys.authKey, m.raw.subarray(0, kemac.macOffset));
    if (!mac || !macEquals(mac, kemac.mac)) return void this.mtkReject('MTK MAC does not verify with the MSK');
    if (info.mtkId <= msk.lastMtkId || info.mtkId > msk.seqU) return void this.mtkReject(`MTK ID ${info.mtkId} not in (${msk.lastMtkId}, ${msk.seqU}]`);
    const plain = kemacDecrypt(kemac.encrAlg, keys, m.header.csbId, t.value, kemac.encrData);
    if (!plain || decodeKeyDataChain(plain, 0, false).keys.length === 0) return void this.mtkReject('MTK not decrypted');
    msk.lastMtkId = info.mtkId;
    msk.lastMtkCounter = t.counter;
    msk.lastMtkBytes = Buffer.from(m.raw);
    this.stats.mtksAccepted++;
    if (this.id.faults.has('ack-for-mtk') && !this.mtkAckSent && this.sockets[0]) {
      // a verification message for an MTK message: keyed like an ACK, with the MSK as the pre-shared key
      this.mtkAckSent = true;
      const ack = buildMskAck({ delivery: { csbId: m.header.csbId, rand: msk.rand, counterValue: t.value, idi: Buffer.alloc(0), idr: Buffer.from(this.id.btid) }, muk: msk.key });
      this.stats.acksSent++;
      this.log.add('ue', 'ack-for-mtk', this.address, `mtk ${info.mtkId}`);
      const s = this.sockets[0];
      await new Promise<void>((resolve) => s.send(ack, MIKEY_PORT, this.addrs.bmsc, () => resolve()));
    }
  }

  private mtkReject(why: string): void {
    this.stats.mtksRejected++;
    this.log.add('ue', 'mtk-rejected', this.address, why);
  }
}
