/**
 * Several capture files read as one capture: ring-buffer sets (tcpdump -C/-G `x.pcap0`, `x.pcap1`…, dumpcap -b
 * `x_00001_20261207101010.pcapng`…), a directory of them, or captures of the same traffic from several interfaces.
 *
 * The files are ordered by the timestamp of their first frame (never by name: rotation names do not sort by time
 * once the counter wraps or gains a digit) and merged by timestamp as mergecap does: at every step the frame with
 * the earliest timestamp among the files' next frames goes first (ties: the file whose first frame is earlier, then
 * the order given). Files that do not overlap in time — a ring buffer — therefore come out one after the other,
 * each in its own order; files that overlap are interleaved. A file is opened only when the merge reaches its first
 * timestamp, so a set of a thousand rotated files holds one or two open at a time. Frames are numbered 1… across the
 * whole set; each keeps its own link type (files may differ).
 *
 * Why not mergecap first: it needs Wireshark installed, writes a copy of the whole capture to disk, and keyscope
 * already reads every format and compression mergecap would be given.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { readCapture, DEFAULT_CHUNK_SIZE, type ReadCaptureOptions } from './reader';
import type { CaptureFrame, CaptureSummary, FrameHandler } from './types';

/** Read size while looking for a file's first frame: enough for the headers and the first packets. */
const PROBE_CHUNK_SIZE = 64 * 1024;

/** The capture files named by command-line arguments: files as given, directories expanded. */
export type CaptureInputs = { files: string[]; directory?: string } | { error: string };

/**
 * Expand capture arguments: a directory stands for every regular, non-hidden file in it (a ring buffer's
 * directory); `-` (standard input) only on its own. Errors are one line.
 */
export function expandCaptureArgs(args: readonly string[]): CaptureInputs {
  if (args.length === 0) return { error: 'no capture given (a file, a directory of files, or - for standard input)' };
  if (args.includes('-')) return args.length === 1 ? { files: ['-'] } : { error: '- (standard input) cannot be read together with files' };
  const files: string[] = [];
  let directory: string | undefined;
  for (const a of args) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(a);
    } catch {
      st = undefined; // the reader reports a missing file with its name
    }
    if (st?.isDirectory()) {
      const names = fs
        .readdirSync(a)
        .filter((n) => !n.startsWith('.'))
        .sort()
        .map((n) => path.join(a, n))
        .filter((p) => {
          try {
            return fs.statSync(p).isFile();
          } catch {
            return false;
          }
        });
      if (names.length === 0) return { error: `${a}: directory holds no capture files` };
      files.push(...names);
      if (args.length === 1) directory = a;
    } else files.push(a);
  }
  return directory !== undefined ? { files, directory } : { files };
}

/** A short name for results: the file's base name, the directory's with a slash, `-`, or the first file's `+N`. */
export function captureName(args: readonly string[], inputs: { files: string[]; directory?: string }): string {
  if (inputs.directory !== undefined) return `${path.basename(path.resolve(inputs.directory))}/`;
  if (inputs.files.length === 1) return inputs.files[0] === '-' ? '-' : path.basename(inputs.files[0]);
  return `${path.basename(inputs.files[0])}+${inputs.files.length - 1}`;
}

/**
 * Read one source or several: a single path (or `-`, or a stream) goes to readCapture as it is; two or more paths
 * are read as one capture (readCaptureSet).
 */
export function readCaptureInput(source: string | readonly string[] | NodeJS.ReadableStream, onFrame: FrameHandler, opts: ReadCaptureOptions = {}): Promise<CaptureSummary> {
  if (Array.isArray(source)) {
    const list = source as readonly string[];
    return list.length === 1 ? readCapture(list[0], onFrame, opts) : readCaptureSet(list, onFrame, opts);
  }
  return readCapture(source as string | NodeJS.ReadableStream, onFrame, opts);
}

interface Time {
  tsSec: number;
  tsNsec: number;
}

function before(a: Time, b: Time): boolean {
  return a.tsSec < b.tsSec || (a.tsSec === b.tsSec && a.tsNsec < b.tsNsec);
}

/** One file of the set being read: a queue of copied frames the reader fills a chunk at a time. */
class Cursor {
  private queue: CaptureFrame[] = [];
  private head = 0;
  done = false;
  summary: CaptureSummary | undefined;
  error: unknown;
  private wakeMerger: (() => void) | undefined;
  private wakeReader: (() => void) | undefined;

  /** Position in the set's time order (ties between equal timestamps go to the lower rank). */
  rank = 0;

  constructor(readonly file: string, readonly order: number, readonly first: Time | undefined) {}

  start(opts: ReadCaptureOptions): void {
    const chunks = async function* (this: Cursor): AsyncGenerator<Buffer> {
      const rs = fs.createReadStream(this.file, { highWaterMark: opts.chunkSize ?? DEFAULT_CHUNK_SIZE });
      try {
        for await (const c of rs) {
          yield c as Buffer;
          // the next chunk only once the merge has taken this one's frames: memory stays one chunk per open file
          await this.drained();
        }
      } finally {
        rs.destroy();
      }
    }.call(this);
    readCapture(Readable.from(chunks, { objectMode: false }), (f) => this.push(f), { name: this.file, signal: opts.signal, chunkSize: opts.chunkSize }).then(
      (s) => this.finish(s, undefined),
      (err: unknown) => this.finish(undefined, err),
    );
  }

  private push(f: CaptureFrame): void {
    // the reader reuses its buffers once the callback returns
    this.queue.push({ ...f, data: Buffer.from(f.data) });
    this.wakeMerger?.();
  }

  private finish(s: CaptureSummary | undefined, err: unknown): void {
    this.summary = s;
    this.error = err;
    this.done = true;
    this.wakeMerger?.();
  }

  private drained(): Promise<void> {
    if (this.head >= this.queue.length) return Promise.resolve();
    return new Promise((resolve) => (this.wakeReader = resolve));
  }

  /** The next frame, or undefined at the end of the file; waits only when the queue is empty. */
  peek(): CaptureFrame | undefined | Promise<CaptureFrame | undefined> {
    if (this.head < this.queue.length) return this.queue[this.head];
    if (this.done) return undefined;
    return new Promise<void>((resolve) => (this.wakeMerger = resolve)).then(() => {
      this.wakeMerger = undefined;
      return this.peek();
    });
  }

  /** Drop the queued frames and let the reader go on (to notice the abort). */
  release(): void {
    this.queue = [];
    this.head = 0;
    const w = this.wakeReader;
    this.wakeReader = undefined;
    w?.();
  }

  take(): void {
    this.head++;
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
      const w = this.wakeReader;
      this.wakeReader = undefined;
      w?.();
    }
  }
}

/** The timestamp of a file's first frame (undefined: no frames), or its fatal error. */
async function firstFrameTime(file: string, signal: AbortSignal | undefined): Promise<{ first?: Time; fatal?: string }> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let first: Time | undefined;
  try {
    const s = await readCapture(
      file,
      (f) => {
        if (first === undefined) {
          first = { tsSec: f.tsSec, tsNsec: f.tsNsec };
          stop.abort();
        }
      },
      { signal: stop.signal, chunkSize: PROBE_CHUNK_SIZE },
    );
    return s.fatal !== undefined ? { fatal: s.fatal } : { first };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function named(file: string, message: string): string {
  return message.includes(file) ? message : `${file}: ${message}`;
}

/**
 * Read `files` as one capture, merged by timestamp (see the module comment); `onFrame` gets every frame numbered
 * across the set. The summary adds up the files'; problems name their file; a file that is not a capture is
 * `fatal` before any frame is delivered.
 */
export async function readCaptureSet(files: readonly string[], onFrame: FrameHandler, opts: ReadCaptureOptions = {}): Promise<CaptureSummary> {
  const total: CaptureSummary = { format: 'unknown', compressed: false, frames: 0, bytes: 0, problems: [] };
  const cursors: Cursor[] = [];
  for (let i = 0; i < files.length; i++) {
    const probe = await firstFrameTime(files[i], opts.signal);
    if (probe.fatal !== undefined) {
      total.fatal = named(files[i], probe.fatal);
      return total;
    }
    cursors.push(new Cursor(files[i], i, probe.first));
  }
  // files without frames first (they only add their problems), then by first timestamp, then as given
  cursors.sort((a, b) => {
    if (a.first === undefined || b.first === undefined) return a.first === b.first ? a.order - b.order : a.first === undefined ? -1 : 1;
    return before(a.first, b.first) ? -1 : before(b.first, a.first) ? 1 : a.order - b.order;
  });
  cursors.forEach((c, i) => (c.rank = i));
  const active: Cursor[] = [];
  let next = 0;
  let number = 0;
  const absorb = (c: Cursor): void => {
    if (c.error !== undefined) throw c.error;
    const s = c.summary as CaptureSummary;
    if (total.format === 'unknown') total.format = s.format;
    total.compressed ||= s.compressed;
    total.frames += s.frames;
    total.bytes += s.bytes;
    for (const p of s.problems) total.problems.push({ ...p, message: named(c.file, p.message) });
    if (s.stopped) total.stopped = true;
    if (s.aborted) total.aborted = true;
    if (s.fatal !== undefined && total.fatal === undefined) total.fatal = named(c.file, s.fatal);
  };
  for (;;) {
    if (opts.signal?.aborted) {
      total.aborted = true;
      break;
    }
    // the earliest next frame among the open files
    let best: Cursor | undefined;
    let bestFrame: CaptureFrame | undefined;
    for (let i = 0; i < active.length; ) {
      const c = active[i];
      let f = c.peek();
      if (f instanceof Promise) f = await f;
      if (f === undefined) {
        active.splice(i, 1);
        absorb(c);
        continue;
      }
      if (bestFrame === undefined || before(f, bestFrame) || (!before(bestFrame, f) && c.rank < (best as Cursor).rank)) {
        best = c;
        bestFrame = f;
      }
      i++;
    }
    // open the next file when nothing is open or its first frame is not later than the earliest open one
    const candidate = cursors[next];
    if (candidate !== undefined && (bestFrame === undefined || candidate.first === undefined || !before(bestFrame, candidate.first))) {
      candidate.start(opts);
      active.push(candidate);
      next++;
      continue;
    }
    if (best === undefined || bestFrame === undefined) break;
    best.take();
    number++;
    bestFrame.number = number;
    onFrame(bestFrame);
  }
  // aborted: readers waiting for their queue to drain are let go (the signal has stopped them)
  for (const c of active) c.release();
  return total;
}
