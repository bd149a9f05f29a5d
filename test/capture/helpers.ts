/**
 * Shared by the capture tests: repo-root lookup (works from test/ under tsx and from dist/test/ compiled),
 * tshark as an oracle, and builders for hand-made pcap/pcapng bytes.
 */
import { spawnSync } from '../support/proc';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCapture } from '../../src/capture/reader';
import type { CaptureFrame, CaptureSummary } from '../../src/capture/types';

export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
}

export function capturePath(name: string): string {
  return path.join(repoRoot(), 'captures', name);
}

/** Run a Wireshark command-line tool; a missing tool is a failure with a clear message, never a skip. */
export function runTool(tool: string, args: string[]): string {
  const r = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error !== undefined) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `${tool} is not installed: the capture tests use it as their oracle (apt-get install tshark)`
        : `${tool} failed to start: ${r.error.message}`,
    );
  }
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited with ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** One row per frame, tab-separated fields as tshark prints them. */
export function tsharkFields(file: string, fields: string[], extra: string[] = []): string[][] {
  const args = ['-r', file, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|', ...extra];
  for (const f of fields) args.push('-e', f);
  const out = runTool('tshark', args);
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

/** Wireshark's WTAP_ENCAP numbers (frame.encap_type) for the LINKTYPE_* values our captures use. */
export const WTAP_ENCAP_TO_LINKTYPE: Readonly<Record<string, number>> = {
  '1': 1, // Ethernet
  '25': 113, // Linux cooked (SLL)
  '210': 276, // Linux cooked v2 (SLL2)
  '7': 101, // raw IP
  '15': 0, // null/loopback
};

export interface CopiedFrame extends Omit<CaptureFrame, 'data'> {
  data: Buffer;
}

/** Read a whole capture, copying each frame (frame.data may be a reused view). */
export async function readAll(source: string | NodeJS.ReadableStream, chunkSize?: number): Promise<{ frames: CopiedFrame[]; summary: CaptureSummary }> {
  const frames: CopiedFrame[] = [];
  const summary = await readCapture(source, (f) => frames.push({ ...f, data: Buffer.from(f.data) }), chunkSize ? { chunkSize } : {});
  return { frames, summary };
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-capture-test-'));
}

// ---- hand-made capture bytes ----------------------------------------------------------------------------

export interface CraftRecord {
  tsSec: number;
  tsFrac: number;
  data: Buffer;
  caplen?: number;
  len?: number;
}

export function pcapHeader(opts: { le?: boolean; nanosecond?: boolean; snaplen?: number; linkType?: number } = {}): Buffer {
  const le = opts.le ?? true;
  const b = Buffer.alloc(24);
  const w32 = (v: number, o: number) => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
  const w16 = (v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  w32(opts.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(2, 4);
  w16(4, 6);
  w32(opts.snaplen ?? 262144, 16);
  w32(opts.linkType ?? 1, 20);
  return b;
}

export function pcapRecord(r: CraftRecord, le = true): Buffer {
  const b = Buffer.alloc(16);
  const w32 = (v: number, o: number) => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
  w32(r.tsSec, 0);
  w32(r.tsFrac, 4);
  w32(r.caplen ?? r.data.length, 8);
  w32(r.len ?? r.data.length, 12);
  return Buffer.concat([b, r.data]);
}

/** A minimal Ethernet/IPv4/UDP frame with a recognisable payload (valid enough for tshark to show). */
export function udpFrame(payload: string): Buffer {
  const body = Buffer.from(payload, 'latin1');
  const f = Buffer.alloc(14 + 20 + 8 + body.length);
  f.fill(0x02, 0, 6);
  f.fill(0x04, 6, 12);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f.writeUInt16BE(20 + 8 + body.length, 16);
  f[22] = 64;
  f[23] = 17;
  f.writeUInt32BE(0x7f000001, 26);
  f.writeUInt32BE(0x7f000001, 30);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += f.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  f.writeUInt16BE(~sum & 0xffff, 24);
  f.writeUInt16BE(40000, 34);
  f.writeUInt16BE(40001, 36);
  f.writeUInt16BE(8 + body.length, 38);
  body.copy(f, 42);
  return f;
}

const pad4 = (n: number) => (n + 3) & ~3;

export interface Option {
  code: number;
  value: Buffer;
}

/** Generic pcapng block: body is everything between the total-length fields. */
export function block(type: number, body: Buffer, le = true, totalLengthOverride?: { leading?: number; trailing?: number }): Buffer {
  const padded = Buffer.alloc(pad4(body.length));
  body.copy(padded);
  const len = 12 + padded.length;
  const b = Buffer.alloc(len);
  const w32 = (v: number, o: number) => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
  w32(type, 0);
  w32(totalLengthOverride?.leading ?? len, 4);
  padded.copy(b, 8);
  w32(totalLengthOverride?.trailing ?? len, len - 4);
  return b;
}

export function options(opts: Option[], le = true): Buffer {
  if (opts.length === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (const o of opts) {
    const h = Buffer.alloc(4);
    if (le) {
      h.writeUInt16LE(o.code, 0);
      h.writeUInt16LE(o.value.length, 2);
    } else {
      h.writeUInt16BE(o.code, 0);
      h.writeUInt16BE(o.value.length, 2);
    }
    const v = Buffer.alloc(pad4(o.value.length));
    o.value.copy(v);
    parts.push(h, v);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

export function shb(le = true, opts: Option[] = []): Buffer {
  const body = Buffer.alloc(16);
  if (le) {
    body.writeUInt32LE(0x1a2b3c4d, 0);
    body.writeUInt16LE(1, 4);
    body.writeUInt16LE(0, 6);
  } else {
    body.writeUInt32BE(0x1a2b3c4d, 0);
    body.writeUInt16BE(1, 4);
    body.writeUInt16BE(0, 6);
  }
  body.fill(0xff, 8, 16);
  return block(0x0a0d0d0a, Buffer.concat([body, options(opts, le)]), le);
}

export function idb(linkType: number, snaplen: number, le = true, opts: Option[] = []): Buffer {
  const body = Buffer.alloc(8);
  if (le) {
    body.writeUInt16LE(linkType, 0);
    body.writeUInt32LE(snaplen, 4);
  } else {
    body.writeUInt16BE(linkType, 0);
    body.writeUInt32BE(snaplen, 4);
  }
  return block(1, Buffer.concat([body, options(opts, le)]), le);
}

export function epb(
  p: { interfaceId: number; high: number; low: number; data: Buffer; caplen?: number; len?: number },
  le = true,
  opts: Option[] = [],
): Buffer {
  const head = Buffer.alloc(20);
  const w32 = (v: number, o: number) => (le ? head.writeUInt32LE(v >>> 0, o) : head.writeUInt32BE(v >>> 0, o));
  w32(p.interfaceId, 0);
  w32(p.high, 4);
  w32(p.low, 8);
  w32(p.caplen ?? p.data.length, 12);
  w32(p.len ?? p.data.length, 16);
  const data = Buffer.alloc(pad4(p.data.length));
  p.data.copy(data);
  return block(6, Buffer.concat([head, data, options(opts, le)]), le);
}

export function spb(data: Buffer, origLen: number, le = true): Buffer {
  const head = Buffer.alloc(4);
  if (le) head.writeUInt32LE(origLen, 0);
  else head.writeUInt32BE(origLen, 0);
  return block(3, Buffer.concat([head, data]), le);
}

/** Obsolete Packet Block (type 2): 16-bit interface id and drops count. */
export function obsoletePb(p: { interfaceId: number; high: number; low: number; data: Buffer }, le = true, opts: Option[] = []): Buffer {
  const head = Buffer.alloc(20);
  if (le) {
    head.writeUInt16LE(p.interfaceId, 0);
    head.writeUInt16LE(0, 2);
    head.writeUInt32LE(p.high, 4);
    head.writeUInt32LE(p.low, 8);
    head.writeUInt32LE(p.data.length, 12);
    head.writeUInt32LE(p.data.length, 16);
  } else {
    head.writeUInt16BE(p.interfaceId, 0);
    head.writeUInt16BE(0, 2);
    head.writeUInt32BE(p.high, 4);
    head.writeUInt32BE(p.low, 8);
    head.writeUInt32BE(p.data.length, 12);
    head.writeUInt32BE(p.data.length, 16);
  }
  const data = Buffer.alloc(pad4(p.data.length));
  p.data.copy(data);
  return block(2, Buffer.concat([head, data, options(opts, le)]), le);
}

export function u8(v: number): Buffer {
  return Buffer.from([v]);
}

export function i64(v: bigint, le = true): Buffer {
  const b = Buffer.alloc(8);
  if (le) b.writeBigInt64LE(v);
  else b.writeBigInt64BE(v);
  return b;
}

/** Split a 64-bit tick count into the two 32-bit words a packet block stores. */
export function ticks(t: bigint): { high: number; low: number } {
  return { high: Number(t >> 32n), low: Number(t & 0xffffffffn) };
}
