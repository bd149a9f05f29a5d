import * as fs from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import * as zlib from 'node:zlib';
import { captureProblem } from './problems';
import { CaptureParser } from './parser';
import type { CaptureSummary, FrameHandler } from './types';

export interface ReadCaptureOptions {
  /** Stops reading at the next chunk boundary; the summary then has `aborted: true`. */
  signal?: AbortSignal;
  /** Read size for files (default 1 MiB, the size the throughput ceiling was measured with). */
  chunkSize?: number;
  /** How messages name a stream source (e.g. the file a progress bar reads through a stream). */
  name?: string;
}

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

/**
 * Read a pcap or pcapng capture, gzip-compressed or not (recognised by the 1f 8b magic, never by file name),
 * from a file path, `-` (standard input, frames handled as they arrive) or a readable stream. `onFrame` is
 * called synchronously per frame; see CaptureParser for the lifetime of `frame.data`.
 *
 * Never rejects for bad content or I/O errors: an unusable input sets `summary.fatal` (one line), damage
 * after some good frames becomes `summary.problems`. It rejects only when `onFrame` throws.
 */
export async function readCapture(
  source: string | NodeJS.ReadableStream,
  onFrame: FrameHandler,
  opts: ReadCaptureOptions = {},
): Promise<CaptureSummary> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  let input: NodeJS.ReadableStream;
  let name: string;
  if (typeof source === 'string') {
    if (source === '-') {
      input = process.stdin;
      name = 'standard input';
    } else {
      input = fs.createReadStream(source, { highWaterMark: chunkSize });
      name = source;
    }
  } else {
    input = source;
    name = opts.name ?? 'input stream';
  }
  // A throwing handler is the caller's error, not the input's: remember it so it is rethrown, never reported as I/O.
  let handlerError: unknown;
  const parser = new CaptureParser((frame) => {
    try {
      onFrame(frame);
    } catch (err) {
      handlerError = err;
      throw err;
    }
  });
  const signal = opts.signal;
  let aborted = false;
  let compressed = false;
  const onAbort = () => {
    aborted = true;
    destroy(input);
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });

  const rawChunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let gunzip: zlib.Gunzip | undefined;
  try {
    // Peek at the first two bytes to decide between raw and gzip without consuming anything.
    const head: Buffer[] = [];
    let headLength = 0;
    let rawDone = false;
    while (headLength < 2 && !aborted) {
      const r = await rawChunks.next();
      if (r.done) {
        rawDone = true;
        break;
      }
      const b = toBuffer(r.value);
      head.push(b);
      headLength += b.length;
    }
    const first = Buffer.concat(head);
    if (!aborted && first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b) {
      compressed = true;
      async function* rest(): AsyncGenerator<Buffer> {
        yield first;
        if (rawDone) return;
        for (;;) {
          const r = await rawChunks.next();
          if (r.done) return;
          yield toBuffer(r.value);
        }
      }
      const unzip = zlib.createGunzip({ chunkSize: Math.max(64 * 1024, Math.min(chunkSize, 4 * 1024 * 1024)) });
      gunzip = unzip;
      pipeline(Readable.from(rest(), { objectMode: false }), unzip, () => {});
      for await (const chunk of unzip) {
        if (aborted || !parser.push(chunk as Buffer)) break;
      }
    } else {
      if (!aborted && first.length > 0) parser.push(first);
      while (!rawDone && !aborted && parser.active) {
        const r = await rawChunks.next();
        if (r.done) break;
        parser.push(toBuffer(r.value));
      }
    }
  } catch (err) {
    if (err === handlerError) throw err;
    if (!aborted) {
      const e = err as NodeJS.ErrnoException;
      if (typeof e.code === 'string' && e.code.startsWith('Z_')) {
        parser.summary.problems.push(
          captureProblem('gzip-corrupt', `gzip stream of ${name} is damaged (${oneLine(e.message)}): reading stopped`),
        );
        if (parser.summary.format === 'unknown') parser.fatal(`${name}: damaged gzip data (${oneLine(e.message)})`);
      } else if (isIoError(e)) {
        parser.fatal(`cannot read ${name}: ${describeIoError(e)}`);
      } else {
        throw err;
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (gunzip !== undefined) gunzip.destroy();
    if (typeof source === 'string' && source !== '-') destroy(input); // our own file stream: always released
    else if (!parser.active || aborted || handlerError !== undefined) {
      // Stopped early: for stdin this closes our end of the pipe, as a reader that quits should.
      if (typeof rawChunks.return === 'function') void rawChunks.return().catch(() => undefined);
    }
  }
  const summary = aborted ? parser.abandon() : parser.end();
  summary.compressed = compressed;
  if (aborted) summary.aborted = true;
  return summary;
}

function toBuffer(v: Buffer | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'latin1') : v;
}

function destroy(s: NodeJS.ReadableStream): void {
  const d = (s as Partial<Readable>).destroy;
  if (typeof d === 'function') d.call(s);
}

function isIoError(e: NodeJS.ErrnoException): boolean {
  return typeof e.code === 'string' && (typeof e.syscall === 'string' || /^E[A-Z]+$/.test(e.code));
}

function describeIoError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return `${e.code}: ${oneLine(e.message)}`;
  }
}

function oneLine(s: string): string {
  return s.split('\n')[0];
}
