/**
 * A scripted MBMS key-management lab for the analyzer tests: real HTTP Digest exchanges over TCP (handshake, one
 * request and one response per connection, FIN) and real MIKEY messages over UDP, made with the project's own
 * encoders and the GBA key derivations, at exact packet times (nanosecond pcap), written with the pcap writer. Not a
 * test file itself.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PcapWriter } from '../../src/capture/pcap-writer';
import { LinkType } from '../../src/capture/types';
import { computeDigestResponse, digestAlgorithm } from '../../src/protocols/http/digest';
import { digestPasswordFromNaf } from '../../src/protocols/keys';
import { buildMskAck, buildMskDelivery, buildMtkDelivery, buildSolicitedPullTrigger } from '../../src/protocols/mikey/encode';
import { ethernet, gtpu, ipv4, tcp, udp } from '../decode/craft';

export const BMSC = '10.9.0.1';
export const BMSC_FQDN = 'bmsc.mnc001.mcc001.pub.3gppnetwork.org';
export const REALM = `3GPP-bootstrapping@${BMSC_FQDN}`;
export const KD = Buffer.from('00f110', 'hex');
export const KD_HEX = '00f110';
export const MTK_GROUP = '10.9.0.2';
const MD5 = digestAlgorithm('MD5');
const T0 = 1_800_000_000;

const h = (label: string, n: number) => createHash('sha256').update(label).digest().subarray(0, n);

export interface LabUe {
  address: string;
  btid: string;
  naf: Buffer;
  counter: number;
  /** Wrong Digest password (credentials rejected). */
  wrongPassword?: boolean;
  /** GTP-U: the UE's packets travel inside a tunnel between these outer addresses. */
  tunnel?: { enb: string; sgw: string; teid: number };
}

export interface LabMsk {
  keyGroup: number;
  keyNumber: number;
  key: Buffer;
  rand: Buffer;
}

export interface SentMikey {
  csbId: number;
  counter: number;
  rand: Buffer;
  counterValue: Buffer;
  idr: string;
  ue: LabUe;
}

interface Frame {
  t: number;
  data: Buffer;
}

let portSeq = 41000;

export class Lab {
  private frames: Frame[] = [];
  private csb = 0x10000;

  ue(n: number, opts: Partial<LabUe> = {}): LabUe {
    return {
      address: `10.9.1.${n}`,
      btid: `${h(`btid ${n}`, 12).toString('base64')}@bsf.mnc001.mcc001.pub.3gppnetwork.org`,
      naf: h(`naf ${n}`, 32),
      counter: 100 * n,
      ...opts,
    };
  }

  msk(keyGroup: number, keyNumber: number): LabMsk {
    return { keyGroup, keyNumber, key: h(`msk ${keyGroup}/${keyNumber}`, 16), rand: h(`rand ${keyGroup}/${keyNumber}`, 16) };
  }

  /** Key file lines for these UEs. */
  keyFile(ues: LabUe[]): string {
    return ues.map((u) => `naf ${u.btid} ${u.naf.toString('hex')}`).join('\n') + '\n';
  }

  private packet(t: number, src: string, dst: string, proto: 6 | 17, l4: Buffer, ue?: LabUe): void {
    let ip = ipv4({ src, dst, protocol: proto }, l4);
    if (ue?.tunnel) {
      const up = src === ue.address;
      ip = ipv4({ src: up ? ue.tunnel.enb : ue.tunnel.sgw, dst: up ? ue.tunnel.sgw : ue.tunnel.enb, protocol: 17 }, udp(2152, 2152, gtpu({ teid: ue.tunnel.teid }, ip)));
    }
    this.frames.push({ t, data: ethernet(0x0800, ip) });
  }

  /** Any frame (link-layer bytes, Ethernet) at time `t`. */
  raw(t: number, data: Buffer): void {
    this.frames.push({ t, data });
  }

  udp(t: number, src: string, dst: string, payload: Buffer, ue?: LabUe): void {
    this.packet(t, src, dst, 17, udp(2269, 2269, payload), ue);
  }

  /** One HTTP exchange on its own TCP connection: handshake just before `tReq`, request, response at `tResp`, FIN. */
  exchange(ue: LabUe, tReq: number, request: Buffer, tResp: number | undefined, response?: Buffer): void {
    const cport = portSeq++;
    let cseq = 1000;
    let sseq = 5000;
    const c = (t: number, flags: number, payload: Buffer = Buffer.alloc(0)) => {
      this.packet(t, ue.address, BMSC, 6, tcp({ sport: cport, dport: 80, seq: cseq, ack: sseq, flags }, payload), ue);
      cseq += payload.length + (flags & 0x03 ? 1 : 0);
    };
    const s = (t: number, flags: number, payload: Buffer = Buffer.alloc(0)) => {
      this.packet(t, BMSC, ue.address, 6, tcp({ sport: 80, dport: cport, seq: sseq, ack: cseq, flags }, payload), ue);
      sseq += payload.length + (flags & 0x03 ? 1 : 0);
    };
    const hs = tReq - 0.0003;
    this.packet(hs, ue.address, BMSC, 6, tcp({ sport: cport, dport: 80, seq: cseq, ack: 0, flags: 0x02 }, Buffer.alloc(0)), ue);
    cseq += 1;
    s(hs + 0.0001, 0x12);
    c(hs + 0.0002, 0x10);
    c(tReq, 0x18, request);
    if (tResp === undefined || !response) return;
    s(tResp, 0x18, response);
    c(tResp + 0.0001, 0x11);
    s(tResp + 0.0002, 0x11);
    c(tResp + 0.0003, 0x10);
  }

  private requestBytes(uri: string, contentType: string, body: Buffer, authorization?: string): Buffer {
    const lines = [`POST ${uri} HTTP/1.1`, `Host: ${BMSC_FQDN}`, 'User-Agent: lab 3gpp-gba', `Content-Type: ${contentType}`, `Content-Length: ${body.length}`];
    if (authorization) lines.push(`Authorization: ${authorization}`);
    return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), body]);
  }

  private responseBytes(status: number, reason: string, headers: string[], body: Buffer): Buffer {
    const lines = [`HTTP/1.1 ${status} ${reason}`, ...headers, `Content-Length: ${body.length}`, 'Connection: close'];
    return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), body]);
  }

  private nonceN = 0;

  private challengeHeader(stale = false): { header: string; nonce: string } {
    const nonce = h(`nonce ${this.nonceN++}`, 16).toString('hex');
    return { nonce, header: `WWW-Authenticate: Digest realm="${REALM}", nonce="${nonce}", qop="auth,auth-int", opaque="op", algorithm=MD5${stale ? ', stale=true' : ''}` };
  }

  private credentials(ue: LabUe, uri: string, nonce: string, body: Buffer): string {
    const password = digestPasswordFromNaf(ue.wrongPassword ? h('wrong', 32) : ue.naf);
    const response = computeDigestResponse({
      algorithm: MD5 as NonNullable<typeof MD5>, username: ue.btid, realm: REALM, password, nonce, cnonce: 'c0ffee', nc: '00000001', qop: 'auth-int', method: 'POST', uri, entityBody: body,
    });
    return `Digest username="${ue.btid}", realm="${REALM}", nonce="${nonce}", uri="${uri}", qop=auth-int, nc=00000001, cnonce="c0ffee", response="${response}", opaque="op", algorithm=MD5`;
  }

  /**
   * A Digest-authenticated POST: unauthenticated request at `t` → 401 at `t + challenge` → credentials at
   * `+ credentials` → final response at `+ answer` (status, content type, body). Times in seconds.
   */
  digestPost(
    ue: LabUe, t: number, requestType: string, contentType: string, body: Buffer,
    o: { challenge?: number; credentials?: number; answer?: number; status?: number; reason?: string; respType?: string; respBody?: Buffer; headers?: string[]; stale?: number; noAnswer?: boolean },
  ): { ok: number; credentials: number } {
    const uri = `/keymanagement?requesttype=${requestType}`;
    let ch = this.challengeHeader();
    const tCh = t + (o.challenge ?? 0.001);
    this.exchange(ue, t, this.requestBytes(uri, contentType, body), tCh, this.responseBytes(401, 'Unauthorized', [ch.header], Buffer.alloc(0)));
    let tCred = tCh + (o.credentials ?? 0.002);
    for (let i = 0; i < (o.stale ?? 0); i++) {
      const next = this.challengeHeader(true);
      this.exchange(ue, tCred, this.requestBytes(uri, contentType, body, this.credentials(ue, uri, ch.nonce, body)), tCred + 0.001, this.responseBytes(401, 'Unauthorized', [next.header], Buffer.alloc(0)));
      ch = next;
      tCred += 0.002;
    }
    const tOk = tCred + (o.answer ?? 0.002);
    const status = o.status ?? (ue.wrongPassword ? 401 : 200);
    const resp = status === 401
      ? this.responseBytes(401, 'Unauthorized', [this.challengeHeader().header], Buffer.alloc(0))
      : this.responseBytes(status, o.reason ?? (status === 200 ? 'OK' : 'Error'), [...(o.respType ? [`Content-Type: ${o.respType}`] : []), ...(o.headers ?? [])], o.respBody ?? Buffer.alloc(0));
    this.exchange(ue, tCred, this.requestBytes(uri, contentType, body, this.credentials(ue, uri, ch.nonce, body)), o.noAnswer ? undefined : tOk, resp);
    return { ok: tOk, credentials: tCred };
  }

  deregister(ue: LabUe, t: number): number {
    const body = Buffer.from('<?xml version="1.0"?><mbmsSecurityDeregister xmlns="urn:3GPP:metadata:2005:MBMS:securityDeregistration"><serviceId>urn:lab:tv</serviceId></mbmsSecurityDeregister>');
    const resp = Buffer.from('<?xml version="1.0"?><mbmsSecurityRegisterResponse xmlns="urn:3GPP:metadata:2005:MBMS:securityRegistrationResponse"><Response><serviceId>urn:lab:tv</serviceId><ResponseCode>200 OK</ResponseCode></Response></mbmsSecurityRegisterResponse>');
    return this.digestPost(ue, t, 'deregister', 'application/mbms-deregister+xml', body, { respType: 'application/mbms-register-response+xml', respBody: resp }).ok;
  }

  register(ue: LabUe, t: number): number {
    const body = Buffer.from('<?xml version="1.0"?><mbmsSecurityRegister xmlns="urn:3GPP:metadata:2005:MBMS:securityRegistration"><serviceId>urn:lab:tv</serviceId></mbmsSecurityRegister>');
    const resp = Buffer.from('<?xml version="1.0"?><mbmsSecurityRegisterResponse xmlns="urn:3GPP:metadata:2005:MBMS:securityRegistrationResponse"><Response><serviceId>urn:lab:tv</serviceId><ResponseCode>200 OK</ResponseCode></Response></mbmsSecurityRegisterResponse>');
    return this.digestPost(ue, t, 'register', 'application/mbms-register+xml', body, { respType: 'application/mbms-register-response+xml', respBody: resp }).ok;
  }

  mskRequestBody(groups: number[]): Buffer {
    const msks = groups.map((g) => {
      const id = Buffer.alloc(4);
      id.writeUInt16BE(g, 0);
      return `<MSK><keyDomainID>${KD.toString('base64')}</keyDomainID><MSKID>${id.toString('base64')}</MSKID></MSK>`;
    });
    return Buffer.from(`<?xml version="1.0"?><mbmsMSKRequest xmlns="urn:3GPP:metadata:2005:MBMS:mskRequest">${msks.join('')}</mbmsMSKRequest>`);
  }

  mskResponseBody(entries: { group: number; number: number; code: string }[]): Buffer {
    const r = entries.map((e) => {
      const id = Buffer.alloc(4);
      id.writeUInt16BE(e.group, 0);
      id.writeUInt16BE(e.number, 2);
      return `<Response><MSK><keyDomainID>${KD.toString('base64')}</keyDomainID><MSKID>${id.toString('base64')}</MSKID></MSK><ResponseCode>${e.code}</ResponseCode></Response>`;
    });
    return Buffer.from(`<?xml version="1.0"?><mbmsMSKResponse xmlns="urn:3GPP:metadata:2005:MBMS:mskResponse">${r.join('')}</mbmsMSKResponse>`);
  }

  /** The HTTP half of a pull; returns the 200's time. */
  mskRequest(ue: LabUe, t: number, msks: LabMsk[], o: Parameters<Lab['digestPost']>[5] = {}): { ok: number; credentials: number } {
    return this.digestPost(ue, t, 'msk-request', 'application/mbms-msk+xml', this.mskRequestBody(msks.map((m) => m.keyGroup)), {
      respType: 'application/mbms-msk-response+xml', respBody: this.mskResponseBody(msks.map((m) => ({ group: m.keyGroup, number: m.keyNumber, code: '200 OK' }))), ...o,
    });
  }

  /** MIKEY MSK message to the UE over UDP (counter +1 under its MUK unless `counter` is given). */
  deliver(ue: LabUe, t: number, msk: LabMsk, o: { v?: boolean; counter?: number; to?: string; idr?: string; interval?: { seqL: number; seqU: number } } = {}): SentMikey {
    const counter = o.counter ?? ++ue.counter;
    const csbId = this.csb++;
    const idr = o.idr ?? ue.btid;
    const bytes = buildMskDelivery({
      keyDomainId: KD, keyGroup: msk.keyGroup, keyNumber: msk.keyNumber, muk: ue.naf, rand: msk.rand, counter, csbId, idi: BMSC_FQDN, idr, msk: msk.key, v: o.v ?? true,
      ...(o.interval ? { interval: o.interval } : {}),
    });
    this.udp(t, BMSC, o.to ?? ue.address, bytes, ue);
    const cv = Buffer.alloc(4);
    cv.writeUInt32BE(counter, 0);
    return { csbId, counter, rand: msk.rand, counterValue: cv, idr, ue };
  }

  trigger(ue: LabUe, t: number, keyGroup: number): SentMikey {
    const counter = ++ue.counter;
    const csbId = this.csb++;
    const rand = h(`trigger ${t}`, 16);
    this.udp(t, BMSC, ue.address, buildSolicitedPullTrigger({ keyDomainId: KD, keyGroup, muk: ue.naf, rand, counter, csbId, idi: BMSC_FQDN, idr: ue.btid }), ue);
    const cv = Buffer.alloc(4);
    cv.writeUInt32BE(counter, 0);
    return { csbId, counter, rand, counterValue: cv, idr: ue.btid, ue };
  }

  ack(t: number, sent: SentMikey, o: { badMac?: boolean; from?: string } = {}): void {
    const bytes = buildMskAck({
      delivery: { csbId: sent.csbId, rand: sent.rand, counterValue: sent.counterValue, idi: Buffer.from(BMSC_FQDN), idr: Buffer.from(sent.idr) },
      muk: sent.ue.naf,
    });
    if (o.badMac) bytes[bytes.length - 1] ^= 0x5a;
    this.udp(t, o.from ?? sent.ue.address, BMSC, bytes, sent.ue);
  }

  mtk(t: number, msk: LabMsk, mtkId: number, counter: number, o: { v?: boolean; csbId?: number } = {}): { csbId: number; counter: number; counterValue: Buffer } {
    const csbId = o.csbId ?? 0x7777;
    let bytes = buildMtkDelivery({ keyDomainId: KD, keyGroup: msk.keyGroup, keyNumber: msk.keyNumber, msk: msk.key, rand: msk.rand, counter, csbId, mtkId, mtk: h(`mtk ${mtkId}`, 16) });
    if (o.v) {
      // V is the top bit of the HDR's fourth byte (RFC 3830 §6.1); the MAC then no longer verifies, which is beside the point here
      bytes = Buffer.from(bytes);
      bytes[3] |= 0x80;
    }
    this.udp(t, BMSC, MTK_GROUP, bytes);
    const cv = Buffer.alloc(4);
    cv.writeUInt32BE(counter, 0);
    return { csbId, counter, counterValue: cv };
  }

  /** Write the capture (frames sorted by time; frame numbers follow) into a fresh temp dir. */
  write(name: string, keys?: LabUe[]): { pcap: string; keys?: string; dir: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-lab-'));
    const file = path.join(dir, `${name}.pcap`);
    const w = new PcapWriter(file, { linkType: LinkType.ETHERNET, nanosecond: true });
    const sorted = this.frames.map((f, i) => ({ ...f, i })).sort((a, b) => a.t - b.t || a.i - b.i);
    for (const f of sorted) {
      const ns = Math.round(f.t * 1e9);
      w.write({ tsSec: T0 + Math.floor(ns / 1e9), tsNsec: ns % 1e9, data: f.data });
    }
    void w.commit(); // synchronous underneath: the file is in place when this returns
    const out: { pcap: string; keys?: string; dir: string } = { pcap: file, dir };
    if (keys) {
      out.keys = path.join(dir, `${name}.keys`);
      fs.writeFileSync(out.keys, this.keyFile(keys));
    }
    return out;
  }
}
