import type { Problem } from '../common/problem';
import type { FormatSink, RecordFormat } from './format';
import { PCAP_MAGIC_MODIFIED, PcapFormat, pcapMagic } from './pcap';
import { BlockType, PcapngFormat } from './pcapng';
import type { CaptureFrame, CaptureSummary, FrameHandler } from './types';

const MAGIC_LENGTH = 4;
const INITIAL_CARRY = 64 * 1024;

/**
 * Push parser for a pcap or pcapng byte stream (already decompressed): feed chunks as they arrive with
 * `push`, then call `end`. Frames are delivered synchronously from inside `push`; a frame's `data` may be a
 * view into the pushed chunk or into an internal carry buffer reused for the next record, so copy what must
 * outlive the callback. Memory held between pushes is one incomplete record at most.
 *
 * Bytes are never concatenated chunk-to-chunk: only a record that straddles a chunk boundary is copied, into
 * the carry buffer, which grows only as that record's bytes actually arrive (a hostile length costs nothing
 * until the data exists, and lengths above the format's limit stop the read).
 */
export class CaptureParser implements FormatSink {
  readonly summary: CaptureSummary = { format: 'unknown', compressed: false, frames: 0, bytes: 0, problems: [] };
  private format: RecordFormat | undefined;
  private carry: Buffer = Buffer.allocUnsafe(0);
  private carryLength = 0;
  /** Length of the record being assembled in `carry`, or -1 while its header is still incomplete. */
  private carryRecordLength = -1;
  /** File offset of the first byte not yet handed to a format. */
  private consumed = 0;
  private done = false;
  private frameNumber = 0;

  constructor(private readonly onFrame: FrameHandler) {}

  /** False once reading has stopped (fatal error, unreadable rest of file, or `end`): further pushes are ignored. */
  get active(): boolean {
    return !this.done;
  }

  push(chunk: Buffer): boolean {
    if (this.done) return false;
    this.summary.bytes += chunk.length;
    let pos = 0;
    const n = chunk.length;
    if (this.carryLength > 0 || this.format === undefined) {
      pos = this.fillCarry(chunk);
      if (pos < 0 || this.done) return !this.done;
    }
    const format = this.format as RecordFormat;
    // Hot loop: whole records inside this chunk are handed over as views, no copy.
    while (!this.done) {
      const avail = n - pos;
      if (avail < format.headerSize) break;
      const len = format.recordLength(chunk, pos, this.consumed);
      if (len < 0) return false;
      if (len > avail) break;
      format.record(chunk, pos, len, this.consumed);
      pos += len;
      this.consumed += len;
    }
    if (!this.done && pos < n) this.appendCarry(chunk, pos, n);
    return !this.done;
  }

  /** Input finished: report an incomplete trailing record (or header) and return the summary. */
  end(): CaptureSummary {
    if (!this.done) {
      this.done = true;
      const pending = this.carry.subarray(0, this.carryLength);
      if (this.format === undefined) {
        this.fatal(this.summary.bytes === 0 ? 'empty input: no capture file header' : `input too short to be a capture file (${this.summary.bytes} bytes)`);
      } else this.format.end(pending, this.consumed);
      this.carryLength = 0;
    }
    this.carry = Buffer.allocUnsafe(0);
    return this.summary;
  }

  /** Give up without judging the input (caller aborted): an incomplete record is not reported as damage. */
  abandon(): CaptureSummary {
    this.done = true;
    this.carryLength = 0;
    this.carry = Buffer.allocUnsafe(0);
    return this.summary;
  }

  // FormatSink
  nextFrameNumber(): number {
    return this.frameNumber + 1;
  }

  emit(frame: CaptureFrame): void {
    this.frameNumber = frame.number;
    this.summary.frames++;
    this.onFrame(frame);
  }

  fileProblem(p: Problem): void {
    this.summary.problems.push(p);
  }

  stop(): void {
    this.done = true;
    this.summary.stopped = true;
  }

  fatal(message: string): void {
    this.done = true;
    if (this.summary.fatal === undefined) this.summary.fatal = message;
  }

  /**
   * Complete the record held in `carry` with bytes from the start of `chunk` (or, before the format is known,
   * the magic number). Returns the chunk position where whole-record parsing can resume, or -1 when the chunk
   * was used up.
   */
  private fillCarry(chunk: Buffer): number {
    let pos = 0;
    for (;;) {
      if (this.done) return -1;
      const format = this.format;
      const want = format === undefined ? MAGIC_LENGTH : this.carryRecordLength >= 0 ? this.carryRecordLength : format.headerSize;
      if (this.carryLength === 0 && format !== undefined) return pos;
      const take = Math.min(want - this.carryLength, chunk.length - pos);
      if (take > 0) {
        this.ensureCarry(this.carryLength + take);
        chunk.copy(this.carry, this.carryLength, pos, pos + take);
        this.carryLength += take;
        pos += take;
      }
      if (this.carryLength < want) return -1;
      if (format === undefined) {
        // Magic known: choose the format, keep the magic bytes as the start of its first record.
        this.detect(this.carry);
        continue;
      }
      if (this.carryRecordLength < 0) {
        const len = format.recordLength(this.carry, 0, this.consumed);
        if (len < 0) return -1;
        this.carryRecordLength = len;
        if (len > this.carryLength) continue;
      }
      const len = this.carryRecordLength;
      format.record(this.carry, 0, len, this.consumed);
      this.consumed += len;
      // A record's length is never less than its header, so the carry holds exactly this record.
      this.carryLength = 0;
      this.carryRecordLength = -1;
    }
  }

  private appendCarry(chunk: Buffer, pos: number, n: number): void {
    const left = n - pos;
    this.ensureCarry(left);
    chunk.copy(this.carry, 0, pos, n);
    this.carryLength = left;
    this.carryRecordLength = -1;
  }

  private ensureCarry(size: number): void {
    if (this.carry.length >= size) return;
    const next = Buffer.allocUnsafe(Math.max(size, INITIAL_CARRY, Math.min(this.carry.length * 2, size * 2)));
    this.carry.copy(next, 0, 0, this.carryLength);
    this.carry = next;
  }

  private detect(head: Buffer): void {
    const le = head.readUInt32LE(0);
    if (le === BlockType.SECTION_HEADER) {
      this.format = new PcapngFormat(this);
      this.summary.format = 'pcapng';
    } else if (pcapMagic(head, 0) !== undefined) {
      this.format = new PcapFormat(this);
      this.summary.format = 'pcap';
    } else if (le === PCAP_MAGIC_MODIFIED || head.readUInt32BE(0) === PCAP_MAGIC_MODIFIED) {
      this.fatal('unsupported capture format: modified (Kuznetzov) pcap');
    } else if (head[0] === 0x1f && head[1] === 0x8b) {
      this.fatal('gzip-compressed input reached the raw parser (use readCapture, which decompresses)');
    } else {
      this.fatal(`not a pcap or pcapng file (magic ${head.subarray(0, 4).toString('hex')})`);
    }
  }
}
