import * as fs from 'node:fs';
import * as path from 'node:path';

const BUFFER_SIZE = 1024 * 1024;

/**
 * A file written through a temporary sibling (same directory, so the final rename is atomic) with buffered
 * synchronous writes: readers never see a partial file, and `abort` leaves nothing behind.
 */
export class AtomicFile {
  readonly path: string;
  readonly tempPath: string;
  private fd: number | undefined;
  private buf = Buffer.allocUnsafe(BUFFER_SIZE);
  private used = 0;
  private committed = false;
  /** Bytes accepted so far (including what is still buffered). */
  written = 0;

  constructor(target: string) {
    this.path = path.resolve(target);
    const dir = path.dirname(this.path);
    const base = path.basename(this.path);
    this.tempPath = path.join(dir, `.${base}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
    // 'wx': never clobber something that happens to have the temporary name.
    this.fd = fs.openSync(this.tempPath, 'wx', 0o644);
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
        writeAll(this.fd as number, bytes);
        this.written += bytes.length;
        return;
      }
    }
    this.buf.set(bytes, this.used);
    this.used += bytes.length;
    this.written += bytes.length;
  }

  flush(): void {
    if (this.fd === undefined || this.used === 0) return;
    writeAll(this.fd, this.buf.subarray(0, this.used));
    this.used = 0;
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
    } catch (err) {
      this.abort();
      throw err;
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
  }

  private checkOpen(): void {
    if (this.fd === undefined) throw new Error(`capture writer for ${this.path} is already closed`);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * What the pcap and pcapng writers share: an AtomicFile underneath, a frame count, and the same way to finish —
 * commit renames the temporary file into place, abort removes it (no partial capture left behind).
 */
export abstract class AtomicCaptureWriter {
  frames = 0;
  protected readonly file: AtomicFile;

  protected constructor(path: string) {
    this.file = new AtomicFile(path);
  }

  /** Path the capture will have after commit. */
  get path(): string {
    return this.file.path;
  }

  /** Finish: flush, fsync and rename into place. */
  async commit(): Promise<void> {
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
