import * as fs from 'node:fs';
import * as path from 'node:path';
import { OutputError } from '../common/io-error';

const BUFFER_SIZE = 1024 * 1024;

/** Signals that end a run from outside: Ctrl-C, `kill`, a closed terminal. */
export const CLEANUP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Temporary files not yet committed or aborted. A run ended by a signal or by process.exit would otherwise leave
 * them (megabytes, hidden by their leading dot) beside the target: they are removed on those ways out too.
 */
const openFiles = new Set<AtomicFile>();
let hooksInstalled = false;

function removeOpenFiles(): void {
  for (const f of [...openFiles]) f.abort();
}

function onCleanupSignal(signal: NodeJS.Signals): void {
  // A command that handles the signal itself (`live -w`: stop capturing, then commit) owns its files' fate.
  if (process.listenerCount(signal) > 1) return;
  removeOpenFiles();
  for (const s of CLEANUP_SIGNALS) process.off(s, onCleanupSignal);
  // End by the same signal with its default action, so the shell sees 128 + signal number (130 for Ctrl-C).
  process.kill(process.pid, signal);
}

function track(f: AtomicFile): void {
  openFiles.add(f);
  if (!hooksInstalled) {
    hooksInstalled = true;
    process.on('exit', removeOpenFiles);
  }
  // listening stops the default action, so the handlers are there only while a temporary file exists
  if (openFiles.size === 1) for (const s of CLEANUP_SIGNALS) process.on(s, onCleanupSignal);
}

function untrack(f: AtomicFile): void {
  if (!openFiles.delete(f)) return;
  if (openFiles.size === 0) for (const s of CLEANUP_SIGNALS) process.off(s, onCleanupSignal);
}

/**
 * Buffered synchronous writes to one open file descriptor, for both ways of writing a capture: a failed write throws
 * an OutputError naming the target ("cannot write out.pcap: no space left on device").
 */
abstract class BufferedFile implements CaptureFileSink {
  readonly path: string;
  /** The target as the caller named it, for messages. */
  protected readonly name: string;
  protected fd: number | undefined;
  private buf = Buffer.allocUnsafe(BUFFER_SIZE);
  protected used = 0;
  /** Bytes accepted so far (including what is still buffered). */
  written = 0;

  protected constructor(target: string) {
    this.path = path.resolve(target);
    this.name = target;
  }

  get open(): boolean {
    return this.fd !== undefined;
  }

  /** The write buffer; valid until the next reserve/write call. */
  get buffer(): Buffer {
    return this.buf;
  }

  /** Make room for `n` bytes; returns the offset in `buffer` to write them at (then call `advance(n)`). */
  reserve(n: number): number {
    this.checkOpen();
    if (n > this.buf.length - this.used) {
      this.flush();
      if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
    }
    return this.used;
  }

  advance(n: number): void {
    this.used += n;
    this.written += n;
  }

  write(bytes: Uint8Array): void {
    this.checkOpen();
    if (bytes.length > this.buf.length - this.used) {
      this.flush();
      if (bytes.length >= this.buf.length) {
        this.writeAll(bytes);
        this.written += bytes.length;
        return;
      }
    }
    this.buf.set(bytes, this.used);
    this.used += bytes.length;
    this.written += bytes.length;
  }

  /** `s` as UTF-8, encoded straight into the write buffer (no Buffer of its own). */
  writeString(s: string): void {
    const n = Buffer.byteLength(s);
    const at = this.reserve(n);
    this.buf.write(s, at);
    this.advance(n);
  }

  flush(): void {
    if (this.fd === undefined || this.used === 0) return;
    this.writeAll(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  abstract commit(): void;
  abstract abort(): void;

  private writeAll(bytes: Uint8Array): void {
    try {
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(this.fd as number, bytes, off, bytes.length - off);
    } catch (err) {
      throw new OutputError(this.name, err);
    }
  }

  protected checkOpen(): void {
    if (this.fd === undefined) throw new Error(`capture writer for ${this.path} is already closed`);
  }
}

/**
 * A file written through a temporary sibling (same directory, so the final rename is atomic): readers never see a
 * partial file, and `abort` leaves nothing behind — nor does a run ended by SIGINT/SIGTERM/SIGHUP or process.exit
 * while the file is open.
 */
export class AtomicFile extends BufferedFile {
  readonly tempPath: string;
  private committed = false;

  constructor(target: string) {
    super(target);
    const dir = path.dirname(this.path);
    const base = path.basename(this.path);
    this.tempPath = path.join(dir, `.${base}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
    // 'wx': never clobber something that happens to have the temporary name.
    try {
      this.fd = fs.openSync(this.tempPath, 'wx', 0o644);
    } catch (err) {
      throw new OutputError(this.name, err);
    }
    track(this);
  }

  /** Flush, sync and rename onto the target. On failure the temporary file is removed and the error rethrown. */
  commit(): void {
    this.checkOpen();
    const fd = this.fd as number;
    try {
      this.flush();
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      this.fd = undefined;
      fs.renameSync(this.tempPath, this.path);
      this.committed = true;
      untrack(this);
    } catch (err) {
      this.abort();
      throw err instanceof OutputError ? err : new OutputError(this.name, err);
    }
  }

  /** Discard everything: close and delete the temporary file. Safe to call more than once, or after commit. */
  abort(): void {
    if (this.committed) return;
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already unusable; removing the file is what matters
      }
      this.fd = undefined;
    }
    try {
      fs.unlinkSync(this.tempPath);
    } catch {
      // nothing to remove
    }
    this.used = 0;
    untrack(this);
  }
}

/** What a capture writer writes through: AtomicFile (renamed into place at the end) or GrowingFile (in place). */
export interface CaptureFileSink {
  readonly path: string;
  readonly buffer: Buffer;
  written: number;
  reserve(n: number): number;
  advance(n: number): void;
  write(bytes: Uint8Array): void;
  flush(): void;
  commit(): void;
  abort(): void;
}

/**
 * A capture written in place under its own name, as tcpdump -U and dumpcap write theirs: the file exists from the
 * start and grows as `flush()` hands the buffer to the kernel, so whatever was flushed survives even `kill -9`
 * (the page cache belongs to the kernel, not to the process). The target is truncated when opened. `commit()`
 * flushes, fsyncs and closes; `abort()` only closes — what was written stays, a capture cut short like tcpdump's.
 */
export class GrowingFile extends BufferedFile {
  constructor(target: string) {
    super(target);
    try {
      this.fd = fs.openSync(this.path, 'w', 0o644);
    } catch (err) {
      throw new OutputError(this.name, err);
    }
  }

  commit(): void {
    this.checkOpen();
    const fd = this.fd as number;
    try {
      this.flush();
      fs.fsyncSync(fd);
    } catch (err) {
      throw err instanceof OutputError ? err : new OutputError(this.name, err);
    } finally {
      this.fd = undefined;
      try {
        fs.closeSync(fd);
      } catch {
        // the data is written or the error above says why not
      }
    }
  }

  abort(): void {
    if (this.fd === undefined) return;
    try {
      this.flush();
    } catch {
      // keep what reached the file already
    }
    try {
      fs.closeSync(this.fd);
    } catch {
      // nothing more to save
    }
    this.fd = undefined;
    this.used = 0;
  }
}

/**
 * What the pcap and pcapng writers share: an AtomicFile underneath, a frame count, and the same way to finish —
 * commit renames the temporary file into place, abort removes it (no partial capture left behind).
 */
export abstract class AtomicCaptureWriter {
  frames = 0;
  protected readonly file: CaptureFileSink;

  /** `inPlace`: write the target itself as it grows (GrowingFile) instead of a temporary file renamed at the end. */
  protected constructor(path: string, inPlace = false) {
    this.file = inPlace ? new GrowingFile(path) : new AtomicFile(path);
  }

  /** Bytes written so far (headers included, buffered bytes too). */
  get bytes(): number {
    return this.file.written;
  }

  /** Hand what is buffered to the kernel (for an in-place file: readable by others, and safe from kill -9). */
  flush(): void {
    this.file.flush();
  }

  /** Path the capture will have after commit. */
  get path(): string {
    return this.file.path;
  }

  /** Finish: flush, fsync and rename into place. */
  async commit(): Promise<void> {
    this.file.commit();
  }

  /** commit(), synchronously: a failure throws here (an OutputError naming the target). */
  commitSync(): void {
    this.file.commit();
  }

  /** Same as commit. */
  async close(): Promise<void> {
    this.file.commit();
  }

  /** Drop the output: the temporary file is removed and the target is left untouched. */
  async abort(): Promise<void> {
    this.file.abort();
  }
}
