/**
 * `npm run fuzz -- --seed N --seconds S [--out DIR] [--input-ms MS] [--heap-mb MB] [--captures DIR]`
 *
 * A reproducible, seeded, time-bounded fuzz campaign over the whole in-process pipeline. Starting from the bundled
 * captures, each input is one capture mutated at one or more levels — file bytes, pcap records, link header, IP
 * (fields, fragmentation), TCP (fields, splitting, reordering, overlapping retransmissions), HTTP / Digest / MBMS XML
 * text, MIKEY payload — and is run through the Analyzer (dissection, reassembly, correlation, the analyze report) and
 * the dissect printers (line, tree, JSON) in a worker thread with a V8 heap cap and a wall-clock bound. A throw, a hang
 * (no result within the bound: the worker is terminated) or a heap-budget breach is written to the output folder as
 * the mutated capture plus a JSON note with the seed, input number and mutations, so it can be replayed with
 * `--replay FILE`. Input i of seed N is the same on every machine: the PRNG is seeded from (N, i), never from the clock;
 * only how many inputs fit in S seconds depends on the machine.
 *
 * Exit status: 0 when nothing was found, 1 when something was, 64 on a usage error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as v8 from 'node:v8';
import { readCapture } from '../src/capture/reader';
import type { CaptureFrame } from '../src/capture/types';
import { Analyzer } from '../src/pipeline/analyzer';
import { frameJson } from '../src/report/frame-json';
import { frameLine } from '../src/report/frame-text';
import { frameTree } from '../src/report/frame-tree';
import { FieldContext } from '../src/fields/context';
import { AnalysisCollector, analysisReport } from '../src/report/analyze-text';
import { statsJson } from '../src/report/analyze-json';

/** Wall-clock bound of one input: the bundled captures take well under 100 ms each, mutated or not. */
const DEFAULT_INPUT_MS = 10_000;
/** V8 old-space cap of the worker: a breach means state grew with the input, not with the limits. */
const DEFAULT_HEAP_MB = 128;
/** Largest seed capture used (bigger ones make each input slow without adding structure). */
const MAX_SEED_BYTES = 4 * 1024 * 1024;

// ---- PRNG ----------------------------------------------------------------------------------------------------------

/** xorshift32 seeded by (seed, input): input i of a seed is the same everywhere. */
export function prng(seed: number, input: number): () => number {
  let x = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(input + 1, 0x85ebca6b)) >>> 0 || 1;
  for (let i = 0; i < 8; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
  }
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

export type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, a: readonly T[]): T => a[int(r, a.length)];

// ---- capture model -------------------------------------------------------------------------------------------------

export interface Frame {
  linkType: number;
  tsSec: number;
  tsNsec: number;
  data: Buffer;
  originalLength: number;
}

interface Seed {
  name: string;
  raw: Buffer;
  frames: Frame[];
}

/** Reads every seed capture into frames (their link types kept), for mutations above the file level. */
export async function loadSeeds(dir: string): Promise<Seed[]> {
  const seeds: Seed[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    if (!/\.(pcap|pcapng)$/.test(name)) continue;
    const file = path.join(dir, name);
    if (fs.statSync(file).size > MAX_SEED_BYTES) continue;
    const frames: Frame[] = [];
    await readCapture(file, (f: CaptureFrame) => {
      frames.push({ linkType: f.linkType, tsSec: f.tsSec, tsNsec: f.tsNsec, data: Buffer.from(f.data.subarray(0, f.capturedLength)), originalLength: f.originalLength });
    });
    if (frames.length > 0) seeds.push({ name, raw: fs.readFileSync(file), frames });
  }
  return seeds;
}

/** Classic pcap (nanosecond, little-endian) of frames of one link type. */
function writePcap(frames: Frame[], linkType: number): Buffer {
  const parts: Buffer[] = [];
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b23c4d, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(linkType, 20);
  parts.push(h);
  for (const f of frames) {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(f.tsSec >>> 0, 0);
    r.writeUInt32LE(f.tsNsec >>> 0, 4);
    r.writeUInt32LE(f.data.length, 8);
    r.writeUInt32LE(Math.max(f.originalLength, f.data.length) >>> 0, 12);
    parts.push(r, f.data);
  }
  return Buffer.concat(parts);
}

/** Offset of the network layer for the link types of the bundled captures; -1 when unknown. */
function networkOffset(f: Frame): number {
  const d = f.data;
  switch (f.linkType) {
    case 1: {
      let off = 12;
      while (off + 2 <= d.length && (d.readUInt16BE(off) === 0x8100 || d.readUInt16BE(off) === 0x88a8)) off += 4;
      return off + 2;
    }
    case 113:
      return 16;
    case 276:
      return 20;
    case 0:
    case 108:
      return 4;
    case 101:
    case 228:
    case 229:
      return 0;
    default:
      return -1;
  }
}

interface Layers {
  ip: number;
  ihl: number;
  l4: number;
  proto: number;
  payload: number;
}

/** IPv4 header and transport offsets of a frame, or undefined. */
function layers(f: Frame): Layers | undefined {
  const ip = networkOffset(f);
  const d = f.data;
  if (ip < 0 || ip + 20 > d.length || d[ip] >> 4 !== 4) return undefined;
  const ihl = (d[ip] & 15) * 4;
  const l4 = ip + ihl;
  const proto = d[ip + 9];
  if (ihl < 20 || l4 > d.length) return undefined;
  let payload = l4;
  if (proto === 6 && l4 + 20 <= d.length) payload = l4 + (d[l4 + 12] >> 4) * 4;
  else if (proto === 17 && l4 + 8 <= d.length) payload = l4 + 8;
  return { ip, ihl, l4, proto, payload: Math.min(payload, d.length) };
}

function fixIpLength(f: Frame, L: Layers): void {
  f.data.writeUInt16BE(Math.min(0xffff, f.data.length - L.ip), L.ip + 2);
}

// ---- mutators ------------------------------------------------------------------------------------------------------

type FileMutator = (r: Rand, b: Buffer) => Buffer;
export type FramesMutator = (r: Rand, frames: Frame[]) => string | undefined;

const fileMutators: Record<string, FileMutator> = {
  'file-flip': (r, b) => {
    const c = Buffer.from(b);
    for (let n = 1 + int(r, 16); n > 0 && c.length > 0; n--) c[int(r, c.length)] = int(r, 256);
    return c;
  },
  'file-truncate': (r, b) => b.subarray(0, int(r, b.length + 1)),
  'file-splice': (r, b) => {
    const a = int(r, b.length + 1);
    const len = int(r, 512);
    return Buffer.concat([b.subarray(0, a), b.subarray(int(r, b.length + 1)).subarray(0, len), b.subarray(a)]);
  },
  'file-huge-length': (r, b) => {
    const c = Buffer.from(b);
    // a length field anywhere in the first records claims gigabytes
    if (c.length >= 8) c.writeUInt32LE(pick(r, [0xffffffff, 0x7fffffff, 0x10000000, 0]), 4 * int(r, Math.min(64, c.length >> 2) - 1));
    return c;
  },
};

function frameAt(r: Rand, frames: Frame[], want?: (f: Frame) => boolean): Frame | undefined {
  const list = want ? frames.filter(want) : frames;
  return list.length > 0 ? pick(r, list) : undefined;
}

const isTcp = (f: Frame) => layers(f)?.proto === 6;
const hasPayload = (f: Frame) => {
  const L = layers(f);
  return L !== undefined && L.payload < f.data.length;
};
const isHttp = (f: Frame) => {
  const L = layers(f);
  return L !== undefined && L.proto === 6 && /^(?:[A-Z]+ \S+ HTTP\/1|HTTP\/1\.\d \d{3})/.test(f.data.subarray(L.payload, L.payload + 32).toString('latin1'));
};
const isMikey = (f: Frame) => {
  const L = layers(f);
  return L !== undefined && L.proto === 17 && L.l4 + 4 <= f.data.length && (f.data.readUInt16BE(L.l4) === 2269 || f.data.readUInt16BE(L.l4 + 2) === 2269);
};

function replacePayload(f: Frame, L: Layers, payload: Buffer): void {
  f.data = Buffer.concat([f.data.subarray(0, L.payload), payload]);
  f.originalLength = f.data.length;
  fixIpLength(f, L);
  if (L.proto === 17 && L.l4 + 8 <= f.data.length) f.data.writeUInt16BE(Math.min(0xffff, f.data.length - L.l4), L.l4 + 4);
}

/** Text-level rewrites of an HTTP message: framing, Digest parameters, MBMS XML, controls. */
const HTTP_EDITS: ((r: Rand, s: string) => string)[] = [
  (r, s) => s.replace(/Content-Length: *\d+/i, `Content-Length: ${pick(r, ['0', '-1', '99999999999999999999', '1,2', ' 12 ', String(int(r, 5000)), 'abc'])}`),
  (_r, s) => s.replace('\r\n\r\n', '\r\nTransfer-Encoding: chunked\r\n\r\n'),
  (r, s) => s.replace('\r\n\r\n', `\r\nX-Long: ${'a'.repeat(pick(r, [70_000, 9000, 300]))}\r\n\r\n`),
  (r, s) => s.replace('\r\n\r\n', '\r\n' + Array.from({ length: pick(r, [300, 40]) }, (_, i) => `X-${i}: v`).join('\r\n') + '\r\n\r\n'),
  (r, s) => s.replace(/nc=[0-9a-f]+/i, `nc=${pick(r, ['zz', '', '0', 'ffffffffff', '00000001'])}`),
  (r, s) => s.replace(/(username|realm|nonce|response|uri|cnonce|qop)="?[^",]*"?/, (m) => pick(r, ['', `${m}, ${m}`, m.replace(/"/g, ''), m + '"', `${m.split('=')[0]}*=UTF-8''%ff%fe`])),
  (r, s) => s.replace(/algorithm=[A-Za-z0-9-]+/, `algorithm=${pick(r, ['SHA-256', 'SHA-512-256-sess', 'X', ''])}`),
  (r, s) => s.replace(/<[A-Za-z]+>/, (m) => pick(r, [m.repeat(2000), m.slice(0, -1), '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + m, m + '&b;&#0;\u0085\u009b'])),
  (r, s) => s.replace(/<\/[A-Za-z]+>/, () => pick(r, ['', '</x>', '</'])),
  (r, s) => s.replace(/HTTP\/1\.1/, pick(r, ['HTTP/2.0', 'HTTP/1.1\u001b[2J', 'HTTP/9.9'])),
  (r, s) => {
    const i = int(r, s.length + 1);
    return s.slice(0, i) + pick(r, ['\r\n', '\n\n', '\u0000', '\u009b31m', '\u202e', ' \t', '\r\n0\r\n\r\n']) + s.slice(i);
  },
];

export const frameMutators: Record<string, FramesMutator> = {
  'record-drop': (r, frames) => {
    if (frames.length < 2) return undefined;
    frames.splice(int(r, frames.length), 1 + int(r, 3));
    return 'dropped';
  },
  'record-duplicate': (r, frames) => {
    const i = int(r, frames.length);
    frames.splice(i, 0, { ...frames[i], data: Buffer.from(frames[i].data) });
    return `frame ${i}`;
  },
  'record-swap': (r, frames) => {
    if (frames.length < 2) return undefined;
    const i = int(r, frames.length - 1);
    [frames[i], frames[i + 1]] = [frames[i + 1], frames[i]];
    return `frames ${i}/${i + 1}`;
  },
  'record-time': (r, frames) => {
    const f = pick(r, frames);
    f.tsSec = pick(r, [0, 0xffffffff, f.tsSec - 86400, f.tsSec + 1e6]);
    f.tsNsec = pick(r, [0, 999_999_999, f.tsNsec]);
    return 'timestamp';
  },
  'record-cut': (r, frames) => {
    const f = pick(r, frames);
    f.data = f.data.subarray(0, int(r, f.data.length + 1));
    return `snap ${f.data.length}`;
  },
  'link-bytes': (r, frames) => {
    const f = pick(r, frames);
    const end = Math.max(1, networkOffset(f));
    const c = Buffer.from(f.data);
    for (let n = 1 + int(r, 3); n > 0 && c.length > 0; n--) c[int(r, Math.min(end, c.length))] = int(r, 256);
    f.data = c;
    return 'link header';
  },
  'ip-field': (r, frames) => {
    const f = frameAt(r, frames, (x) => layers(x) !== undefined);
    if (!f) return undefined;
    const L = layers(f) as Layers;
    f.data = Buffer.from(f.data);
    const field = pick(r, [0, 2, 4, 6, 8, 9]);
    if (field === 0) f.data[L.ip] = (f.data[L.ip] & 0xf0) | int(r, 16);
    else if (field === 9) f.data[L.ip + 9] = pick(r, [6, 17, 1, 47, 0]);
    else if (field === 8) f.data[L.ip + 8] = int(r, 256);
    else f.data.writeUInt16BE(int(r, 0x10000), L.ip + field);
    return `ip offset ${field}`;
  },
  'ip-fragment': (r, frames) => {
    const i = frames.findIndex((x) => hasPayload(x) && r() < 0.3);
    if (i < 0) return undefined;
    const f = frames[i];
    const L = layers(f) as Layers;
    const body = f.data.subarray(L.l4);
    if (body.length < 16) return undefined;
    const cut = 8 * (1 + int(r, Math.max(1, (body.length >> 3) - 1)));
    const head = f.data.subarray(0, L.l4);
    const mk = (off: number, bytes: Buffer, more: boolean): Frame => {
      const d = Buffer.concat([head, bytes]);
      d.writeUInt16BE(((off >> 3) & 0x1fff) | (more ? 0x2000 : 0), L.ip + 6);
      d.writeUInt16BE(Math.min(0xffff, d.length - L.ip), L.ip + 2);
      return { ...f, data: d, originalLength: d.length };
    };
    const parts = [mk(0, body.subarray(0, cut), true), mk(cut, body.subarray(cut), false)];
    const style = int(r, 4);
    if (style === 1) parts.reverse();
    else if (style === 2) parts.splice(int(r, 2), 1); // a hole that never fills
    else if (style === 3) parts.push(mk(Math.max(0, cut - 8), Buffer.alloc(body.length - cut + 8, 0x41), false)); // overlap, other bytes
    frames.splice(i, 1, ...parts);
    return `frame ${i} in ${parts.length} (style ${style})`;
  },
  'tcp-field': (r, frames) => {
    const f = frameAt(r, frames, isTcp);
    if (!f) return undefined;
    const L = layers(f) as Layers;
    if (L.l4 + 20 > f.data.length) return undefined;
    f.data = Buffer.from(f.data);
    const field = pick(r, [4, 8, 12, 13, 14]);
    if (field === 12) f.data[L.l4 + 12] = int(r, 256);
    else if (field === 13) f.data[L.l4 + 13] = int(r, 256);
    else if (field === 14) f.data.writeUInt16BE(int(r, 0x10000), L.l4 + 14);
    else f.data.writeUInt32BE((f.data.readUInt32BE(L.l4 + field) + pick(r, [1, -1, 0x7fffffff, int(r, 100000)])) >>> 0, L.l4 + field);
    return `tcp offset ${field}`;
  },
  'tcp-split': (r, frames) => {
    const i = frames.findIndex((x) => isTcp(x) && hasPayload(x) && r() < 0.3);
    if (i < 0) return undefined;
    const f = frames[i];
    const L = layers(f) as Layers;
    // a data offset an earlier mutation made smaller than the TCP header: no sequence number to rewrite in the tail
    if (L.payload < L.l4 + 20) return undefined;
    const payload = f.data.subarray(L.payload);
    if (payload.length < 2) return undefined;
    const cut = 1 + int(r, payload.length - 1);
    const seq = f.data.readUInt32BE(L.l4 + 4);
    const a: Frame = { ...f, data: Buffer.concat([f.data.subarray(0, L.payload), payload.subarray(0, cut)]) };
    const b: Frame = { ...f, data: Buffer.concat([f.data.subarray(0, L.payload), payload.subarray(cut)]) };
    b.data.writeUInt32BE((seq + cut) >>> 0, L.l4 + 4);
    for (const x of [a, b]) {
      x.originalLength = x.data.length;
      fixIpLength(x, L);
    }
    const style = int(r, 3);
    const parts = style === 0 ? [a, b] : style === 1 ? [b, a] : [a, { ...b, data: Buffer.from(b.data) }, b];
    if (style === 2) parts[1].data.fill(0x5a, L.payload); // an overlapping retransmission with other bytes
    frames.splice(i, 1, ...parts);
    return `frame ${i} at ${cut} (style ${style})`;
  },
  'tcp-payload-bytes': (r, frames) => {
    const f = frameAt(r, frames, (x) => isTcp(x) && hasPayload(x));
    if (!f) return undefined;
    const L = layers(f) as Layers;
    f.data = Buffer.from(f.data);
    for (let n = 1 + int(r, 8); n > 0; n--) f.data[L.payload + int(r, f.data.length - L.payload)] = int(r, 256);
    return 'tcp payload';
  },
  'http-text': (r, frames) => {
    const f = frameAt(r, frames, isHttp);
    if (!f) return undefined;
    const L = layers(f) as Layers;
    let s = f.data.subarray(L.payload).toString('latin1');
    const n = 1 + int(r, 3);
    for (let k = 0; k < n; k++) s = pick(r, HTTP_EDITS)(r, s);
    replacePayload(f, L, Buffer.from(s, 'latin1'));
    return `${n} edits`;
  },
  'mikey-bytes': (r, frames) => {
    const f = frameAt(r, frames, isMikey);
    if (!f) return undefined;
    const L = layers(f) as Layers;
    const p = Buffer.from(f.data.subarray(L.payload));
    const style = int(r, 4);
    if (style === 0) for (let n = 1 + int(r, 6); n > 0 && p.length > 0; n--) p[int(r, p.length)] = int(r, 256);
    else if (style === 1) replacePayload(f, L, p.subarray(0, int(r, p.length + 1)));
    else if (style === 2 && p.length > 4) p.writeUInt16BE(pick(r, [0, 0xffff, int(r, 0x10000)]), int(r, p.length - 2)); // a length field
    else if (style === 3) replacePayload(f, L, Buffer.concat([p, p.subarray(int(r, p.length))]));
    if (style === 0 || style === 2) replacePayload(f, L, p);
    return `style ${style}`;
  },
};

export interface Input {
  seedCapture: string;
  mutations: string[];
  bytes: Buffer;
}

/** Input `i` of campaign `seed`: a seed capture and one to four mutations, all drawn from prng(seed, i). */
export function makeInput(seeds: Seed[], seed: number, i: number): Input {
  const r = prng(seed, i);
  const s = pick(r, seeds);
  const mutations: string[] = [];
  if (r() < 0.2) {
    const name = pick(r, Object.keys(fileMutators));
    mutations.push(name);
    return { seedCapture: s.name, mutations, bytes: fileMutators[name](r, s.raw) };
  }
  // frames of the seed's most common link type (a classic pcap has one)
  const linkType = s.frames[0].linkType;
  const frames = s.frames.filter((f) => f.linkType === linkType).map((f) => ({ ...f }));
  const n = 1 + int(r, 4);
  const names = Object.keys(frameMutators);
  for (let k = 0; k < n && frames.length > 0; k++) {
    const name = pick(r, names);
    const what = frameMutators[name](r, frames);
    if (what !== undefined) mutations.push(`${name}: ${what}`);
  }
  return { seedCapture: s.name, mutations, bytes: writePcap(frames, linkType) };
}

// ---- the run of one input (worker side) ------------------------------------------------------------------------------

export interface RunResult {
  ok: boolean;
  error?: string;
  frames: number;
  heapMb: number;
}

/** Analyzer + printers over one capture held in memory; throws what the pipeline throws. */
export async function runInput(bytes: Buffer): Promise<RunResult> {
  const collector = new AnalysisCollector({ worst: 5 });
  let sink = 0;
  let first: { tsSec: number; tsNsec: number } | undefined;
  let peak = 0;
  const fields = new FieldContext();
  const analyzer = new Analyzer({
    transaction: (t) => collector.transaction(t),
    diagnostic: (d) => collector.diagnostic(d),
    anomaly: (a) => collector.anomaly(a),
    dissectedFrame: (f) => {
      first ??= f.packet;
      sink += frameLine(f, first).length;
      sink += frameTree(fields.observe(f)).join('\n').length;
      sink += JSON.stringify(frameJson(f)).length;
      if ((f.packet.frame & 255) === 0) peak = Math.max(peak, v8.getHeapStatistics().used_heap_size);
    },
  });
  const summary = await readCapture(Readable.from([bytes]), (f) => analyzer.frame(f), { name: 'fuzz input' });
  analyzer.finish();
  const stats = analyzer.stats();
  sink += analysisReport(collector, stats).join('\n').length;
  sink += JSON.stringify(statsJson(stats)).length;
  peak = Math.max(peak, v8.getHeapStatistics().used_heap_size);
  return { ok: sink >= 0, frames: summary.frames, heapMb: peak / 1048576 };
}

if (!isMainThread && (workerData as { fuzzWorker?: boolean } | null)?.fuzzWorker) {
  parentPort?.on('message', (bytes: Uint8Array) => {
    runInput(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).then(
      (r) => parentPort?.postMessage(r),
      (e: unknown) => parentPort?.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e), frames: 0, heapMb: 0 } satisfies RunResult),
    );
  });
}

// ---- the campaign (main thread) -------------------------------------------------------------------------------------

export interface FuzzOptions {
  seed: number;
  seconds: number;
  out: string;
  inputMs: number;
  heapMb: number;
  captures: string;
  /** Stop after this many inputs (tests); default: only the time bound. */
  maxInputs?: number;
  log?: (line: string) => void;
}

export interface Finding {
  kind: 'crash' | 'hang' | 'budget';
  input: number;
  file: string;
  detail: string;
}

export interface FuzzReport {
  seed: number;
  inputs: number;
  crashes: number;
  hangs: number;
  budget: number;
  peakHeapMb: number;
  peakRssMb: number;
  findings: Finding[];
}

export class Runner {
  private worker: Worker | undefined;

  constructor(private readonly heapMb: number) {}

  private spawn(): Worker {
    // the worker loads this compiled file again; its heap is capped so runaway state surfaces as a finding
    const w = new Worker(__filename, { workerData: { fuzzWorker: true }, resourceLimits: { maxOldGenerationSizeMb: this.heapMb } });
    w.unref();
    return w;
  }

  run(bytes: Buffer, timeoutMs: number): Promise<RunResult | 'hang' | { crashed: string }> {
    const w = (this.worker ??= this.spawn());
    return new Promise((resolve) => {
      const done = (v: RunResult | 'hang' | { crashed: string }, kill: boolean) => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        if (kill) {
          void w.terminate();
          this.worker = undefined;
        }
        resolve(v);
      };
      const onMessage = (r: RunResult) => done(r, false);
      // a heap-limit breach ends the worker with ERR_WORKER_OUT_OF_MEMORY
      const onError = (e: Error) => done({ crashed: e.stack ?? e.message }, true);
      const onExit = (code: number) => done({ crashed: `worker exited with code ${code}` }, true);
      const timer = setTimeout(() => done('hang', true), timeoutMs);
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage(bytes);
    });
  }

  async close(): Promise<void> {
    if (this.worker) await this.worker.terminate();
    this.worker = undefined;
  }
}

function record(opts: FuzzOptions, kind: Finding['kind'], i: number, input: Input, detail: string): Finding {
  fs.mkdirSync(opts.out, { recursive: true });
  const base = path.join(opts.out, `seed${opts.seed}-input${i}-${kind}`);
  fs.writeFileSync(`${base}.pcap`, input.bytes);
  fs.writeFileSync(`${base}.json`, JSON.stringify({ seed: opts.seed, input: i, kind, seedCapture: input.seedCapture, mutations: input.mutations, detail }, null, 2) + '\n');
  return { kind, input: i, file: `${base}.pcap`, detail: detail.split('\n')[0] };
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => undefined);
  const seeds = await loadSeeds(opts.captures);
  if (seeds.length === 0) throw new Error(`no seed captures in ${opts.captures}`);
  const runner = new Runner(opts.heapMb);
  const report: FuzzReport = { seed: opts.seed, inputs: 0, crashes: 0, hangs: 0, budget: 0, peakHeapMb: 0, peakRssMb: 0, findings: [] };
  const end = Date.now() + opts.seconds * 1000;
  try {
    for (let i = 0; Date.now() < end && (opts.maxInputs === undefined || i < opts.maxInputs); i++) {
      const input = makeInput(seeds, opts.seed, i);
      const r = await runner.run(input.bytes, opts.inputMs);
      report.inputs++;
      report.peakRssMb = Math.max(report.peakRssMb, process.memoryUsage().rss / 1048576);
      let finding: Finding | undefined;
      if (r === 'hang') {
        report.hangs++;
        finding = record(opts, 'hang', i, input, `no result within ${opts.inputMs} ms`);
      } else if ('crashed' in r) {
        const budget = /ERR_WORKER_OUT_OF_MEMORY|out of memory/i.test(r.crashed);
        if (budget) report.budget++;
        else report.crashes++;
        finding = record(opts, budget ? 'budget' : 'crash', i, input, r.crashed);
      } else {
        report.peakHeapMb = Math.max(report.peakHeapMb, r.heapMb);
        if (!r.ok) {
          report.crashes++;
          finding = record(opts, 'crash', i, input, r.error ?? 'failed');
        }
      }
      if (finding) {
        report.findings.push(finding);
        log(`input ${i} (${input.seedCapture}; ${input.mutations.join('; ')}): ${finding.kind}: ${finding.detail}`);
      }
    }
  } finally {
    await runner.close();
  }
  return report;
}

// ---- command line ---------------------------------------------------------------------------------------------------

function usage(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\nusage: npm run fuzz -- [--seed N] [--seconds S] [--out DIR] [--input-ms MS] [--heap-mb MB] [--captures DIR] [--replay FILE]\n`);
  process.exit(64);
}

async function cli(argv: string[]): Promise<number> {
  const root = path.resolve(__dirname, '..', '..');
  const opts: FuzzOptions = { seed: 1, seconds: 60, out: path.join(root, 'fuzz-findings'), inputMs: DEFAULT_INPUT_MS, heapMb: DEFAULT_HEAP_MB, captures: path.join(root, 'captures') };
  let replay: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const num = (): number => {
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n < 0) usage(`${a} needs a number`);
      i++;
      return n;
    };
    if (a === '--seed') opts.seed = Math.floor(num());
    else if (a === '--seconds') opts.seconds = num();
    else if (a === '--input-ms') opts.inputMs = num();
    else if (a === '--heap-mb') opts.heapMb = num();
    else if (a === '--out') opts.out = path.resolve(v ?? usage('--out needs a folder')), i++;
    else if (a === '--captures') opts.captures = path.resolve(v ?? usage('--captures needs a folder')), i++;
    else if (a === '--replay') replay = v ?? usage('--replay needs a file'), i++;
    else usage(`unknown argument ${a}`);
  }
  if (replay !== undefined) {
    const runner = new Runner(opts.heapMb);
    const r = await runner.run(fs.readFileSync(replay), opts.inputMs);
    await runner.close();
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return r !== 'hang' && !('crashed' in r) && r.ok ? 0 : 1;
  }
  const t0 = Date.now();
  const rep = await fuzz({ ...opts, log: (l) => process.stderr.write(l + '\n') });
  process.stdout.write(
    `seed ${rep.seed}: ${rep.inputs} inputs in ${((Date.now() - t0) / 1000).toFixed(1)} s; crashes ${rep.crashes}, hangs ${rep.hangs}, ` +
      `heap-budget breaches ${rep.budget}; peak worker heap ${rep.peakHeapMb.toFixed(1)} MB, peak RSS ${rep.peakRssMb.toFixed(1)} MB` +
      (rep.findings.length > 0 ? `; reproducers in ${opts.out}` : '') + '\n',
  );
  return rep.findings.length > 0 ? 1 : 0;
}

if (isMainThread && require.main === module) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`fuzz: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(70);
    },
  );
}
