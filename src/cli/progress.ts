/**
 * A progress bar on standard error (cli-progress) for long runs over a capture file: drawn only when standard
 * error is a terminal, the input is a regular file (not `-`, not a pipe) and it is large enough to take a while.
 * Progress is bytes read from the file (compressed bytes for a gzip file) over its size: the file is read
 * through a counting stream that the command hands to readCapture instead of the path.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
// type only: cli-progress (≈ 5 MB of RSS with its dependencies) is loaded when a bar is shown (a terminal), not by
// runs into a pipe or a file
import type * as CliProgress from 'cli-progress';
import { escapeText } from '../common/escape';

export interface FileProgressOptions {
  /** Where the bar goes (default process.stderr); nothing is drawn unless it is a terminal (`isTTY`). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /**
   * The command's standard output (default process.stdout). When it is the same kind of terminal, per-frame output
   * would tear through the bar, so the bar is left out unless `withTerminalStdout` says the command prints
   * nothing until the end (e.g. a summary).
   */
  stdout?: { isTTY?: boolean };
  withTerminalStdout?: boolean;
  /** Smaller files are read without a bar (default 16 MiB: a run that takes about a second). */
  minBytes?: number;
  /** Read size (default 1 MiB, as readCapture reads files). */
  chunkSize?: number;
  /** Redraws per second at most (default 10). */
  fps?: number;
}

export const DEFAULT_PROGRESS_MIN_BYTES = 16 * 1024 * 1024;

/** A file being read with a bar: hand `source` to readCapture, call `stop()` when done (also on errors). */
export interface FileProgress {
  readonly source: NodeJS.ReadableStream;
  readonly size: number;
  /** Bytes read so far. */
  readonly bytesRead: number;
  stop(): void;
}

/**
 * Start a bar for reading `file`, or return null when no bar should be drawn (then read the path as usual).
 * Also null when the file cannot be opened: readCapture, given the path, reports that with the file's name.
 */
export function startFileProgress(file: string, opts: FileProgressOptions = {}): FileProgress | null {
  const stream = opts.stream ?? process.stderr;
  const stdout = opts.stdout ?? process.stdout;
  if (file === '-' || !stream.isTTY) return null;
  if (stdout.isTTY && !opts.withTerminalStdout) return null;
  let fd: number;
  let size: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size < (opts.minBytes ?? DEFAULT_PROGRESS_MIN_BYTES) || st.size === 0) {
      fs.closeSync(fd);
      return null;
    }
    size = st.size;
  } catch {
    fs.closeSync(fd);
    return null;
  }

  const cliProgress = require('cli-progress') as typeof CliProgress;
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as NodeJS.WritableStream,
      format: `${escapeText(path.basename(file), 60)} {bar} {percentage}% | {value}/{total} MiB | ETA {eta_formatted}`,
      formatValue: (v: number, options: CliProgress.Options, type: CliProgress.ValueType) =>
        type === 'value' || type === 'total' ? (v / (1024 * 1024)).toFixed(1) : cliProgress.Format.ValueFormat(v, options, type),
      hideCursor: true,
      clearOnComplete: true,
      barsize: 30,
      fps: opts.fps ?? 10,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let bytesRead = 0;
  let stopped = false;
  const input = fs.createReadStream('', { fd, highWaterMark: opts.chunkSize ?? 1024 * 1024 });
  async function* counted(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of input) {
        bytesRead += (chunk as Buffer).length;
        if (!stopped) bar.update(bytesRead);
        yield chunk as Buffer;
      }
    } finally {
      // reached on the end, on an error and when the reader stops early (readCapture returns the iterator)
      input.destroy();
    }
  }
  const source = Readable.from(counted(), { objectMode: false });
  bar.start(size, 0);
  return {
    source,
    size,
    get bytesRead() {
      return bytesRead;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.update(bytesRead);
      bar.stop();
      if (!source.destroyed) source.destroy();
    },
  };
}

/**
 * Run `read` over `file` with a progress bar when one should be drawn. `read` gets what to hand to readCapture:
 * the counting stream, or the path itself when there is no bar (so error messages keep naming the file).
 *
 *   const summary = await withFileProgress(file, (source) => readCapture(source, onFrame, { signal }));
 */
export async function withFileProgress<T>(file: string, read: (source: string | NodeJS.ReadableStream) => Promise<T>, opts: FileProgressOptions = {}): Promise<T> {
  const progress = startFileProgress(file, opts);
  if (!progress) return read(file);
  try {
    return await read(progress.source);
  } finally {
    progress.stop();
  }
}
