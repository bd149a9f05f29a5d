/**
 * The realistic benchmark mix: a simulator capture (captures/sim-faults.pcap: registration and MSK pull with HTTP Digest
 * 401/200 over TCP, MIKEY MSK push, pull and solicited pull, ACKs, MTK deliveries to the group, and the fault table of
 * src/sim/README.md) repeated copy after copy with shifted addresses, times and B-TIDs, so every copy is a fresh set of
 * UEs and B-TIDs. Every Digest `response`/`rspauth` and every MIKEY MAC that verified in the original is recomputed for
 * the copy's B-TIDs, so `--keys` with the generated key file checks (and passes) every one of them; the faulted ones
 * stay faulted. Copies follow each other (a new copy starts when the previous one ends): each copy then provokes the
 * findings of the original, so `analyze` on n copies must report n times the original's diagnostics.
 *
 * Addresses: 127.82.h.l of copy k becomes 127.0.0.0/8 + k·512 + (h>>7)·256 + l (wrapping after 32 768 copies, hours
 * of packet time later); nothing is ever put on a wire. B-TIDs keep their length: the first 4 base64 characters
 * encode the copy number.
 *
 * Written without a pcap library on purpose: classic little-endian pcap is 24 + 16 bytes of headers, and the stream
 * form (`node dist/bench/mix.js --bytes 10G > fifo`) must write straight to a pipe.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCapture } from '../src/capture/reader';
import { computeDigestResponse, digestAlgorithm, type DigestInput } from '../src/protocols/http/digest';
import { digestPasswordFromNaf } from '../src/protocols/keys';
import { computeMac, deriveMessageKeys, macEquals } from '../src/protocols/mikey/crypto';
import { decodeMikey } from '../src/protocols/mikey/decode';
import { findPayload, identities, mbmsInfo } from '../src/protocols/mikey/mbms';
import { PayloadType } from '../src/protocols/mikey/tables';
import type { KemacPayload, RandPayload, TimestampPayload, VerificationPayload } from '../src/protocols/mikey/types';

const ROOT = path.join(__dirname, '..', '..');
export const MIX_TEMPLATE = path.join(ROOT, 'captures', 'sim-faults.pcap');
export const MIX_KEYS = path.join(ROOT, 'captures', 'sim-faults.keys');
/** Packet time between the end of one copy and the start of the next (µs). */
const COPY_GAP_US = 50_000;
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** B-TID characters the copy number replaces (64^4 = 16.7 M copies). */
const BTID_PREFIX = 4;

interface DigestPatch {
  /** Offset of the hex value in the frame. */
  at: number;
  btid: number;
  /** The nonce's index in MixTemplate.tokens (each copy has its own nonces too: nc replays otherwise). */
  nonce: number;
  input: Omit<DigestInput, 'username'>;
  rspauth: boolean;
}
interface MacPatch {
  /** Message start and MAC offset in the frame. */
  msg: number;
  mac: number;
  macLen: number;
  macAlg: number;
  authKey: Buffer;
  /** ACK (V payload): the MAC also covers the delivery's IDi, the IDr and the delivery's timestamp. */
  ack?: { idi: Buffer; idr: Buffer; ts: Buffer };
}
interface TemplateFrame {
  us: number;
  data: Buffer;
  ip: number;
  l4: number;
  btids: Array<[number, number]>;
  digests: DigestPatch[];
  macs: MacPatch[];
}
export interface MixTemplate {
  frames: TemplateFrame[];
  durationUs: number;
  bytes: number;
  btids: string[];
  /** Strings each copy rewrites (same length, copy number in front): the B-TIDs, then the Digest nonces. */
  tokens: string[];
  nafKeys: string[];
  otherKeyLines: string[];
}

function findAll(hay: Buffer, needle: Buffer): number[] {
  const out: number[] = [];
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) out.push(i);
  return out;
}

function authParams(line: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const x of line.matchAll(/([A-Za-z-]+)=(?:"([^"]*)"|([^,\s]*))/g)) m.set(x[1].toLowerCase(), x[2] ?? x[3]);
  return m;
}

/** Reads the template and works out, per frame, what a copy rewrites. */
export async function loadMixTemplate(pcap = MIX_TEMPLATE, keysFile = MIX_KEYS): Promise<MixTemplate> {
  const keyText = fs.readFileSync(keysFile, 'utf8');
  const btids: string[] = [];
  const nafKeys: string[] = [];
  const otherKeyLines: string[] = [];
  for (const line of keyText.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'naf' && f.length === 3) {
      btids.push(f[1]);
      nafKeys.push(f[2]);
    } else if (f[0] === 'msk' || f[0] === 'digest' || f[0] === 'muk') otherKeyLines.push(line.trim());
  }
  const btidIndex = new Map(btids.map((b, i) => [b, i]));
  const tokens = [...btids];
  const raw = fs.readFileSync(pcap).toString('latin1');
  for (const m of raw.matchAll(/(?<![A-Za-z])nonce="([^"]{8,})"/g)) if (!tokens.includes(m[1])) tokens.push(m[1]);
  const tokenIndex = new Map(tokens.map((b, i) => [b, i]));
  const btidBytes = tokens.map((b) => Buffer.from(b, 'latin1'));
  const frames: TemplateFrame[] = [];
  let t0: number | undefined;
  let bytes = 24;
  const requests = new Map<string, DigestPatch[]>();
  const pending = new Map<string, { authKey: Buffer; idi: Buffer; ts: Buffer }>();
  const summary = await readCapture(pcap, (f) => {
    const data = Buffer.from(f.data);
    const us = f.tsSec * 1e6 + Math.floor(f.tsNsec / 1000);
    t0 ??= us;
    bytes += 16 + data.length;
    const fr: TemplateFrame = { us: us - t0, data, ip: -1, l4: -1, btids: [], digests: [], macs: [] };
    frames.push(fr);
    if (f.linkType !== 1 || data.readUInt16BE(12) !== 0x0800) return;
    fr.ip = 14;
    const proto = data[14 + 9];
    fr.l4 = 14 + (data[14] & 15) * 4;
    btidBytes.forEach((b, i) => findAll(data, b).forEach((at) => fr.btids.push([at, i])));
    const src = data.readUInt32BE(26);
    const dst = data.readUInt32BE(30);
    if (proto === 17) {
      if (data.readUInt16BE(fr.l4 + 2) === 2269 || data.readUInt16BE(fr.l4) === 2269) mikeyPatch(fr, fr.l4 + 8, btidIndex, nafKeys, pending);
      return;
    }
    if (proto !== 6) return;
    const pay = fr.l4 + (data[fr.l4 + 12] >> 4) * 4;
    if (pay >= data.length) return;
    const sp = data.readUInt16BE(fr.l4);
    const dp = data.readUInt16BE(fr.l4 + 2);
    const text = data.toString('latin1', pay);
    const headEnd = text.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = text.slice(0, headEnd);
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const bodyStart = pay + headEnd + 4;
    const body = cl && bodyStart + Number(cl[1]) <= data.length ? data.subarray(bodyStart, bodyStart + Number(cl[1])) : undefined;
    if (/\r\ncontent-type:\s*application\/mikey/i.test(head) && body) mikeyPatch(fr, bodyStart, btidIndex, nafKeys, pending);
    const auth = /\r\nAuthorization: Digest (.*)/i.exec(head);
    if (auth) {
      const p = authParams(auth[1]);
      const user = p.get('username');
      const bi = user !== undefined ? btidIndex.get(user) : undefined;
      const algorithm = digestAlgorithm(p.get('algorithm'));
      const method = head.slice(0, head.indexOf(' '));
      if (bi === undefined || !algorithm) return;
      const input = {
        algorithm, realm: p.get('realm') ?? '', password: digestPasswordFromNaf(Buffer.from(nafKeys[bi], 'hex')), nonce: p.get('nonce') ?? '',
        cnonce: p.get('cnonce'), nc: p.get('nc'), qop: p.get('qop'), method, uri: p.get('uri') ?? '', entityBody: body ?? Buffer.alloc(0),
      };
      if (p.get('qop')?.toLowerCase() === 'auth-int' && !body) return;
      const key = `${src}:${sp}>${dst}:${dp}`;
      const patch: DigestPatch = { at: data.indexOf(`response="${p.get('response')}"`, pay, 'latin1') + 10, btid: bi, nonce: tokenIndex.get(input.nonce) ?? -1, input, rspauth: false };
      const q = requests.get(key) ?? [];
      q.push(patch);
      requests.set(key, q);
      if (computeDigestResponse({ ...input, username: btids[bi] }) === p.get('response')) fr.digests.push(patch);
      return;
    }
    const info = /\r\nAuthentication-Info: (.*)/i.exec(head);
    if (head.startsWith('HTTP/')) {
      const req = requests.get(`${dst}:${dp}>${src}:${sp}`)?.shift();
      if (!info || !req) return;
      const p = authParams(info[1]);
      const input = { ...req.input, cnonce: p.get('cnonce') ?? req.input.cnonce, nc: p.get('nc') ?? req.input.nc, qop: p.get('qop') ?? req.input.qop, entityBody: body ?? Buffer.alloc(0) };
      if (input.qop?.toLowerCase() === 'auth-int' && !body) return;
      const rsp = p.get('rspauth');
      if (rsp === undefined || computeDigestResponse({ ...input, username: btids[req.btid] }, true) !== rsp) return;
      fr.digests.push({ at: data.indexOf(`rspauth="${rsp}"`, pay, 'latin1') + 9, btid: req.btid, nonce: req.nonce, input, rspauth: true });
    }
  });
  if (summary.fatal) throw new Error(`${pcap}: ${summary.fatal}`);
  return { frames, durationUs: frames[frames.length - 1].us, bytes, btids, tokens, nafKeys, otherKeyLines };
}

function mikeyPatch(fr: TemplateFrame, off: number, btidIndex: Map<string, number>, nafKeys: string[], pending: Map<string, { authKey: Buffer; idi: Buffer; ts: Buffer }>): void {
  const { message: m } = decodeMikey(fr.data.subarray(off));
  if (!m) return;
  const info = mbmsInfo(m);
  const t = findPayload<TimestampPayload>(m, PayloadType.T);
  const ids = identities(m);
  const kemac = findPayload<KemacPayload>(m, PayloadType.KEMAC);
  const rand = findPayload<RandPayload>(m, PayloadType.RAND);
  if (kemac && rand && info.idr !== undefined && kemac.macAlg !== 0) {
    const bi = btidIndex.get(info.idr);
    if (bi === undefined) return;
    const { authKey } = deriveMessageKeys(Buffer.from(nafKeys[bi], 'hex'), m.header.csbId, rand.rand, kemac.encrAlg, kemac.macAlg);
    const mac = computeMac(kemac.macAlg, authKey, m.raw.subarray(0, kemac.macOffset));
    if (!mac || !macEquals(mac, kemac.mac)) return;
    fr.macs.push({ msg: off, mac: off + kemac.macOffset, macLen: kemac.mac.length, macAlg: kemac.macAlg, authKey });
    if (m.header.v && t) pending.set(`${m.header.csbId}:${t.value.toString('hex')}`, { authKey, idi: Buffer.from(ids.idi?.data ?? []), ts: Buffer.from(t.value) });
    return;
  }
  const v = findPayload<VerificationPayload>(m, PayloadType.V);
  if (!v || !t || v.authAlg === 0) return;
  const pend = pending.get(`${m.header.csbId}:${t.value.toString('hex')}`);
  if (!pend || !ids.idr) return;
  const mac = computeMac(v.authAlg, pend.authKey, m.raw.subarray(0, v.macOffset), pend.idi, ids.idr.data, pend.ts);
  if (!mac || !macEquals(mac, v.mac)) return;
  fr.macs.push({ msg: off, mac: off + v.macOffset, macLen: v.mac.length, macAlg: v.authAlg, authKey: pend.authKey, ack: { idi: pend.idi, idr: Buffer.from(ids.idr.data), ts: pend.ts } });
}

/** Copy k's version of B-TID `b`. */
export function copyBtid(b: string, k: number): string {
  let p = '';
  for (let i = 0, n = k; i < BTID_PREFIX; i++, n = Math.floor(n / 64)) p += B64[n % 64];
  return p + b.slice(BTID_PREFIX);
}

function copyAddress(a: number, k: number): number {
  // 127.82.h.l → 127/8 + k·512 + (h>>7)·256 + l
  const host = (((a >>> 8) & 0x80) << 1) | (a & 0xff);
  return (0x7f000000 | (((k * 512) + host) & 0xffffff)) >>> 0;
}

function ipChecksum(b: Buffer, off: number): void {
  b.writeUInt16BE(0, off + 10);
  let sum = 0;
  const len = (b[off] & 15) * 4;
  for (let i = 0; i < len; i += 2) sum += b.readUInt16BE(off + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, off + 10);
}

/** Copy k of template frame f (a new buffer). */
export function copyFrame(tpl: MixTemplate, f: TemplateFrame, k: number, btidCache: string[]): Buffer {
  const b = Buffer.from(f.data);
  if (f.ip < 0) return b;
  b.writeUInt32BE(copyAddress(b.readUInt32BE(f.ip + 12), k), f.ip + 12);
  b.writeUInt32BE(copyAddress(b.readUInt32BE(f.ip + 16), k), f.ip + 16);
  ipChecksum(b, f.ip);
  // UDP: no checksum (IPv4 allows it); TCP checksums of loopback captures are not checked by keyscope or tshark
  if (b[f.ip + 9] === 17) b.writeUInt16BE(0, f.l4 + 6);
  for (const [at, i] of f.btids) b.write(btidCache[i], at, 'latin1');
  for (const d of f.digests) {
    const v = computeDigestResponse({ ...d.input, username: btidCache[d.btid], nonce: d.nonce >= 0 ? btidCache[d.nonce] : d.input.nonce }, d.rspauth);
    b.write(v, d.at, 'latin1');
  }
  for (const m of f.macs) {
    const parts: Uint8Array[] = [b.subarray(m.msg, m.mac)];
    if (m.ack) parts.push(m.ack.idi, Buffer.from(copyBtid(m.ack.idr.toString('latin1'), k), 'latin1'), m.ack.ts);
    const mac = computeMac(m.macAlg, m.authKey, ...parts);
    if (mac) mac.copy(b, m.mac, 0, m.macLen);
  }
  return b;
}

/** The key file for copies [0, copies): a naf line per copy and B-TID, the template's other lines once. */
export function mixKeyFile(tpl: MixTemplate, copies: number): string {
  const lines = [`# keyscope bench mix: ${copies} copies of ${path.basename(MIX_TEMPLATE)}`, ...tpl.otherKeyLines];
  for (let k = 0; k < copies; k++) tpl.btids.forEach((b, i) => lines.push(`naf ${copyBtid(b, k)} ${tpl.nafKeys[i]}`));
  return lines.join('\n') + '\n';
}

export interface MixWriteResult {
  frames: number;
  bytes: number;
  copies: number;
}

/**
 * Writes copies until `frames` frames or `bytes` bytes are reached (whichever is given; whole copies), as classic pcap
 * to `out`, honouring back-pressure. Copy k starts where copy k−1 ended plus a gap.
 */
export async function writeMix(tpl: MixTemplate, out: NodeJS.WritableStream, limit: { frames?: number; bytes?: number }): Promise<MixWriteResult> {
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(262144, 16);
  hdr.writeUInt32LE(1, 20);
  let frames = 0;
  let bytes = 24;
  let k = 0;
  const base = 1_700_000_000 * 1e6;
  const write = (b: Buffer): Promise<void> | undefined => (out.write(b) ? undefined : new Promise((r) => out.once('drain', () => r())));
  await write(hdr);
  const done = (): boolean => (limit.frames !== undefined && frames >= limit.frames) || (limit.bytes !== undefined && bytes >= limit.bytes);
  while (!done()) {
    const btidCache = tpl.tokens.map((b) => copyBtid(b, k));
    const start = base + k * (tpl.durationUs + COPY_GAP_US);
    const parts: Buffer[] = [];
    let size = 0;
    for (const f of tpl.frames) {
      const data = copyFrame(tpl, f, k, btidCache);
      const rh = Buffer.allocUnsafe(16);
      const us = start + f.us;
      rh.writeUInt32LE(Math.floor(us / 1e6), 0);
      rh.writeUInt32LE(us % 1e6, 4);
      rh.writeUInt32LE(data.length, 8);
      rh.writeUInt32LE(data.length, 12);
      parts.push(rh, data);
      size += 16 + data.length;
    }
    frames += tpl.frames.length;
    bytes += size;
    k++;
    const w = write(Buffer.concat(parts, size));
    if (w) await w;
  }
  await new Promise<void>((r) => (out === process.stdout ? r() : out.end(() => r())));
  return { frames, bytes, copies: k };
}

/** `node dist/bench/mix.js [--frames N | --bytes 10G] [--keys-out FILE] [OUT|-]`: the mix as a file or a stream. */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(s);
  if (!m) throw new Error(`not a size: ${s}`);
  return Math.round(Number(m[1]) * ({ '': 1, k: 1e3, m: 1e6, g: 1e9 } as Record<string, number>)[m[2].toLowerCase()]);
}

async function main(): Promise<void> {
  const a = process.argv.slice(2);
  const opt = (n: string): string | undefined => (a.includes(n) ? a[a.indexOf(n) + 1] : undefined);
  const outPath = a.filter((x, i) => !x.startsWith('--') && !(i > 0 && a[i - 1].startsWith('--')))[0] ?? '-';
  const tpl = await loadMixTemplate();
  const limit = opt('--bytes') ? { bytes: parseSize(opt('--bytes')!) } : { frames: parseSize(opt('--frames') ?? '2M') };
  const out = outPath === '-' ? process.stdout : fs.createWriteStream(outPath);
  const r = await writeMix(tpl, out, limit);
  const keysOut = opt('--keys-out');
  if (keysOut) fs.writeFileSync(keysOut, mixKeyFile(tpl, r.copies), { mode: 0o600 });
  process.stderr.write(`mix: ${r.copies} copies, ${r.frames} frames, ${r.bytes} bytes\n`);
}

if (require.main === module)
  main().catch((err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
    process.exit(1);
  });
