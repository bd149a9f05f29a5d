/**
 * The `-w` file of a live capture, written as tcpdump -U and dumpcap write theirs: under its real name from the
 * start, growing in place, flushed to the kernel at least every LIVE_FILE_FLUSH_MS, so that after any end — even
 * `kill -9` — the file is a valid capture holding every frame up to the last flush. pcap or pcapng; optionally a
 * ring buffer of files with dumpcap's `-b` conditions and naming.
 *
 * Ring naming (dumpcap's): `-w out.pcapng` becomes out_00001_20250101120000.pcapng, out_00002_…: the file number
 * (5 digits) and the local time the file was opened (YYYYMMDDhhmmss), before the extension.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PcapWriter, type WritableFrame } from './pcap-writer';
import { PcapngWriter } from './pcapng-writer';

/** Buffered frames reach the file at least this often (ms): what a `kill -9` can lose at most. */
export const LIVE_FILE_FLUSH_MS = 500;
/** dumpcap's kB for `-b filesize`: 1000 bytes. */
export const RING_KILOBYTE = 1000;

export type CaptureFileFormat = 'pcap' | 'pcapng';

/** dumpcap's `-b` conditions. A ring needs filesize or duration; `files` bounds how many are kept. */
export interface RingBufferOptions {
  /** Switch to the next file once this one holds this many kB (RING_KILOBYTE bytes). */
  fileSizeKB?: number;
  /** Switch to the next file after this many seconds of wall-clock time. */
  durationSeconds?: number;
  /** Keep at most this many files: the oldest is deleted when a new one is opened. */
  files?: number;
}

export interface LiveCaptureFileOptions {
  linkType: number;
  snaplen: number;
  /** Nanosecond timestamps (when the clock that stamps the frames has them), else microseconds. */
  nanosecond: boolean;
  format: CaptureFileFormat;
  ring?: RingBufferOptions;
  /** pcapng shb_userappl. */
  application?: string;
  /** Flush interval, ms (default LIVE_FILE_FLUSH_MS). */
  flushMs?: number;
  /** Wall clock for ring rotation and naming (tests). */
  clock?: () => number;
  /** A flush from the timer failed: the capture should stop (the error is also thrown by the next write()). */
  onError?: (err: unknown) => void;
}

/** `-b filesize:KB`, `-b duration:S`, `-b files:N` (repeatable), into RingBufferOptions; throws with a usage message. */
export function parseRingOption(value: string, previous: RingBufferOptions = {}): RingBufferOptions {
  const m = /^(filesize|duration|files):(.+)$/.exec(value.trim());
  if (!m) throw new Error(`not a ring buffer condition: ${value} (filesize:KB, duration:S or files:N)`);
  const n = Number(m[2]);
  const out = { ...previous };
  if (m[1] === 'duration') {
    if (!Number.isFinite(n) || n <= 0) throw new Error(`duration: a positive number of seconds, not ${m[2]}`);
    out.durationSeconds = n;
  } else {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${m[1]}: a positive whole number, not ${m[2]}`);
    if (m[1] === 'filesize') out.fileSizeKB = n;
    else out.files = n;
  }
  return out;
}

/** The name of ring file `n` for target `target`, opened at wall time `ms` (local time, as dumpcap names them). */
export function ringFileName(target: string, n: number, ms: number): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  const dot = base.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
  const d = new Date(ms);
  const p2 = (x: number) => String(x).padStart(2, '0');
  const stamp = `${d.getFullYear()}${p2(d.getMonth() + 1)}${p2(d.getDate())}${p2(d.getHours())}${p2(d.getMinutes())}${p2(d.getSeconds())}`;
  return path.join(dir, `${stem}_${String(n).padStart(5, '0')}_${stamp}${ext}`);
}

type Writer = PcapWriter | PcapngWriter;

export class LiveCaptureFile {
  /** Frames written, over every file. */
  frames = 0;
  /** Files written so far, oldest first (ring files deleted by `files:N` are left out). */
  readonly files: string[] = [];
  private writer: Writer;
  private fileNumber = 0;
  private openedAt = 0;
  private readonly clock: () => number;
  private readonly timer: NodeJS.Timeout;
  private failure: unknown;
  private closed = false;

  constructor(
    private readonly target: string,
    private readonly options: LiveCaptureFileOptions,
  ) {
    const ring = options.ring;
    if (ring && ring.fileSizeKB === undefined && ring.durationSeconds === undefined) {
      throw new Error('a ring buffer needs -b filesize:KB or -b duration:S to know when to switch files');
    }
    this.clock = options.clock ?? Date.now;
    this.writer = this.open();
    this.timer = setInterval(() => this.tick(), options.flushMs ?? LIVE_FILE_FLUSH_MS);
    this.timer.unref();
  }

  /** Writing a ring buffer of files (-b). */
  get ring(): boolean {
    return this.options.ring !== undefined;
  }

  /** The file being written now. */
  get current(): string {
    return this.writer.path;
  }

  write(frame: WritableFrame): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.due()) this.rotate();
    this.writer.write(frame);
    this.frames++;
  }

  /** End: flush, fsync and close the current file (throws an OutputError when that fails). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.writer.commitSync();
  }

  /** End after a failure: close what is open and keep what was written (tcpdump keeps a cut-short file too). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    void this.writer.abort();
  }

  private open(): Writer {
    const n = ++this.fileNumber;
    this.openedAt = this.clock();
    const name = this.options.ring ? ringFileName(this.target, n, this.openedAt) : this.target;
    const o = this.options;
    const w: Writer =
      o.format === 'pcapng'
        ? new PcapngWriter(name, { inPlace: true, linkType: o.linkType, snaplen: o.snaplen, nanosecond: o.nanosecond, application: o.application ?? 'keyscope live' })
        : new PcapWriter(name, { inPlace: true, linkType: o.linkType, snaplen: o.snaplen, nanosecond: o.nanosecond });
    // the header is on disk at once: even a capture killed before its first frame leaves a readable (empty) file
    w.flush();
    this.files.push(name);
    const keep = o.ring?.files;
    while (keep !== undefined && this.files.length > keep) {
      const old = this.files.shift() as string;
      try {
        fs.unlinkSync(old);
      } catch {
        // removed by someone else already: the bound holds either way
      }
    }
    return w;
  }

  private due(): boolean {
    const ring = this.options.ring;
    if (!ring) return false;
    if (ring.fileSizeKB !== undefined && this.writer.bytes >= ring.fileSizeKB * RING_KILOBYTE) return true;
    return ring.durationSeconds !== undefined && this.clock() - this.openedAt >= ring.durationSeconds * 1000;
  }

  private rotate(): void {
    this.writer.commitSync();
    this.writer = this.open();
  }

  private tick(): void {
    if (this.closed || this.failure !== undefined) return;
    try {
      // a quiet capture still switches files on time, as dumpcap does
      if (this.options.ring?.durationSeconds !== undefined && this.due()) this.rotate();
      this.writer.flush();
    } catch (err) {
      this.failure = err;
      this.options.onError?.(err);
    }
  }
}
