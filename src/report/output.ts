/**
 * Buffered line output to a file descriptor. Writing each line with process.stdout.write costs a syscall per
 * frame; batching keeps `dissect` on a 2 M-frame capture fast. A closed pipe (`keyscope dissect f | head`)
 * ends output quietly instead of crashing with EPIPE; any other write failure (ENOSPC, EIO) throws an OutputError.
 */
import * as fs from 'node:fs';
import { OutputError } from '../common/io-error';

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

export class LineOutput {
  private parts: string[] = [];
  private size = 0;
  private closed = false;

  constructor(
    private readonly fd: number = 1,
    private readonly highWater = 64 * 1024,
  ) {}

  /** True once the reader went away; callers may stop producing. */
  get isClosed(): boolean {
    return this.closed;
  }

  line(s: string): void {
    if (this.closed) return;
    this.parts.push(s, '\n');
    this.size += s.length + 1;
    if (this.size >= this.highWater) this.flush();
  }

  flush(): void {
    if (this.closed || this.parts.length === 0) return;
    const buf = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.size = 0;
    let off = 0;
    while (off < buf.length) {
      try {
        off += fs.writeSync(this.fd, buf, off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          // a non-blocking pipe is momentarily full: wait a millisecond instead of spinning
          Atomics.wait(PAUSE, 0, 0, 1);
          continue;
        }
        if (code === 'EPIPE' || code === 'EBADF') {
          this.closed = true;
          return;
        }
        // a full disk or an I/O error: nothing more can be written; the command ends with one line and exit code 2
        this.closed = true;
        throw new OutputError(this.fd === 1 ? 'standard output' : `file descriptor ${this.fd}`, err);
      }
    }
  }
}
