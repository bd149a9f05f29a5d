/**
 * The queue of keyscope's capture process (live-drain-child.ts) towards the analysis: a small in-memory part (the
 * bytes written to the pipe and not yet taken by the analysis) in front of an on-disk spool, as dumpcap puts its
 * packets on disk and the display reads behind. The capture never waits for the analysis: when the in-memory part is
 * full, batches are appended to the spool, and fed to the pipe from there as the analysis catches up — strictly in
 * capture order (once anything is spooled, every new batch goes to the spool's tail until it is empty).
 *
 * The spool is one file in `dir`, unlinked as soon as it is opened: nothing is left after any end of the process,
 * kill -9 included (the kernel frees the blocks with the last descriptor). It is used as a ring of `capacity` bytes
 * (an analysis that keeps up only partly reuses the space it has read instead of growing the file), never grown
 * closer than `freeMargin` bytes to the file system's free space (fs.statfsSync), and truncated to nothing whenever
 * it empties (the space goes back to the file system). Only when it is full is a batch refused: the caller drops it,
 * counted (the capture-loss window of today's `drop` lines).
 *
 * Synchronous file I/O, on purpose: writes and reads go to the page cache (microseconds per MiB-sized batch), and the
 * capture process has nothing else to do meanwhile that an asynchronous write would let it do sooner — while an
 * asynchronous write is under way its buffer would have to be held, and batches behind it queued in memory, which is
 * exactly the unbounded memory this replaces. Written here rather than taken from npm: the queues on npm keep their
 * items in memory (or in a database), none spools a byte stream to an unlinked ring file with a free-space bound.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface SpoolOptions {
  /** Directory of the spool file (os.tmpdir() by default; `live --spool-dir`). */
  dir: string;
  /** Bytes the spool holds at most (its file's size at most); 0: no spool (a full memory queue drops at once). */
  capacity: number;
  /** The spool never grows the file system's free space below this many bytes. */
  freeMargin: number;
  /** Spooled batches are merged into entries of up to this many bytes (default SPOOL_ENTRY_BYTES). */
  entryBytes?: number;
}

/** One batch spooled: its bytes and packets (the unit read back, so the packets on their way stay counted). */
interface Entry {
  bytes: number;
  packets: number;
}

/** Spooled entries are merged up to this many bytes (an entry per tiny batch would make the index grow with the spool). */
const SPOOL_ENTRY_BYTES = 1024 * 1024;
/**
 * The file system's free space is asked (statfs) again after the file has grown by this much, or by half the headroom
 * the last answer left, whichever is less: statfs on every batch was the capture process's largest cost of its own
 * (0.7 % of its time at 50 k packets/s, the rest idle), and other writers may use the space meanwhile.
 */
const SPOOL_STATFS_EVERY_BYTES = 64 * 1024 * 1024;

export class DiskSpool {
  private fd: number | undefined;
  /** Offset of the oldest byte in the ring, and bytes held. */
  private head = 0;
  private used = 0;
  /** The file's length (the ring's extent so far, ≤ capacity). */
  private extent = 0;
  /** The file may grow up to this length before the free space is asked again. */
  private checkedUpTo = 0;
  private readonly entries: Entry[] = [];
  private entryHead = 0;
  private packetsHeld = 0;
  /** Most bytes held at once. */
  peakBytes = 0;
  /** Packets spooled in all. */
  totalPackets = 0;
  /** Why the spool could not be opened or written (it then refuses everything); undefined while all is well. */
  error: string | undefined;

  constructor(private readonly options: SpoolOptions) {}

  get bytes(): number {
    return this.used;
  }

  get packets(): number {
    return this.packetsHeld;
  }

  get empty(): boolean {
    return this.used === 0;
  }

  /** Append a batch at the tail; false when it does not fit (capacity, the file system's free space, an I/O error). */
  append(buf: Buffer, packets: number): boolean {
    const n = buf.length;
    if (n === 0) return true;
    if (this.error !== undefined || this.used + n > this.options.capacity) return false;
    if (!this.open()) return false;
    const fd = this.fd as number;
    const cap = this.options.capacity;
    const tail = (this.head + this.used) % cap;
    // the bytes the file grows by, if any: that much must leave the margin free
    // (a write that wraps ends its first part at the capacity; its second part lands in space already read)
    const extent = Math.max(this.extent, Math.min(cap, tail + n));
    const grow = extent - this.extent;
    if (grow > 0 && extent > this.checkedUpTo && !this.room(grow)) return false;
    try {
      const first = Math.min(n, cap - tail);
      writeAll(fd, buf, 0, first, tail);
      if (first < n) writeAll(fd, buf, first, n - first, 0);
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
      return false;
    }
    this.extent = extent;
    this.used += n;
    this.packetsHeld += packets;
    this.totalPackets += packets;
    if (this.used > this.peakBytes) this.peakBytes = this.used;
    const last = this.entries.length > this.entryHead ? this.entries[this.entries.length - 1] : undefined;
    if (last && last.bytes + n <= (this.options.entryBytes ?? SPOOL_ENTRY_BYTES)) {
      last.bytes += n;
      last.packets += packets;
    } else this.entries.push({ bytes: n, packets });
    return true;
  }

  /** Bytes and packets of the oldest entry (what take() would return); undefined when empty. */
  peek(): Readonly<Entry> | undefined {
    return this.entryHead < this.entries.length ? this.entries[this.entryHead] : undefined;
  }

  /** Take the oldest entry off the spool: a fresh buffer of its bytes. When the spool empties, its file is truncated. */
  take(): { data: Buffer; packets: number } | undefined {
    const e = this.peek();
    if (!e || this.fd === undefined) return undefined;
    const cap = this.options.capacity;
    const data = Buffer.allocUnsafe(e.bytes);
    try {
      const first = Math.min(e.bytes, cap - this.head);
      readAll(this.fd, data, 0, first, this.head);
      if (first < e.bytes) readAll(this.fd, data, first, e.bytes - first, 0);
    } catch (err) {
      // what is spooled cannot be read back: it is lost, and said so by the caller through `error`
      this.error = err instanceof Error ? err.message : String(err);
      return undefined;
    }
    this.entryHead++;
    if (this.entryHead > 1024 && this.entryHead * 2 > this.entries.length) {
      this.entries.splice(0, this.entryHead);
      this.entryHead = 0;
    }
    this.head = (this.head + e.bytes) % cap;
    this.used -= e.bytes;
    this.packetsHeld -= e.packets;
    if (this.used === 0) this.reset();
    return { data, packets: e.packets };
  }

  /** Throw away everything held (after a read error): the packets lost, for the caller to count. */
  discard(): number {
    const packets = this.packetsHeld;
    this.used = 0;
    this.packetsHeld = 0;
    this.reset();
    return packets;
  }

  /** Close the file (its blocks are freed: it was unlinked when opened). */
  close(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // closing an unlinked file cannot lose anything
      }
      this.fd = undefined;
    }
  }

  /** Empty: back to offset 0, the file truncated so its space returns to the file system. */
  private reset(): void {
    this.head = 0;
    this.entries.length = 0;
    this.entryHead = 0;
    if (this.fd !== undefined && this.extent > 0) {
      try {
        fs.ftruncateSync(this.fd, 0);
      } catch {
        // the space stays in use until the file is closed; the ring still works
      }
    }
    this.extent = 0;
    // checkedUpTo stays: truncating only gave space back, so the last answer still holds for this much growth
  }

  private open(): boolean {
    if (this.fd !== undefined) return true;
    const file = path.join(this.options.dir, `.keyscope-spool-${process.pid}-${Date.now().toString(36)}`);
    try {
      this.fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    } catch (err) {
      this.error = `cannot create the spool in ${this.options.dir}: ${err instanceof Error ? err.message : String(err)}`;
      return false;
    }
    try {
      // at once: the file lives only as long as this descriptor, whatever ends the process
      fs.unlinkSync(file);
    } catch (err) {
      this.error = `cannot unlink the spool ${file}: ${err instanceof Error ? err.message : String(err)}`;
      this.close();
      try {
        fs.unlinkSync(file);
      } catch {
        // already gone
      }
      return false;
    }
    return true;
  }

  /** Whether the file system keeps at least `freeMargin` free after `grow` more bytes (and how far it may grow unasked). */
  private room(grow: number): boolean {
    try {
      const s = fs.statfsSync(this.options.dir);
      const headroom = s.bavail * s.bsize - this.options.freeMargin;
      if (headroom < grow) return false;
      this.checkedUpTo = this.extent + grow + Math.min(SPOOL_STATFS_EVERY_BYTES, Math.floor((headroom - grow) / 2));
      return true;
    } catch {
      return false;
    }
  }
}

function writeAll(fd: number, buf: Buffer, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) done += fs.writeSync(fd, buf, offset + done, length - done, position + done);
}

function readAll(fd: number, buf: Buffer, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, offset + done, length - done, position + done);
    if (n === 0) throw new Error('the spool file is shorter than what was written to it');
    done += n;
  }
}
