import type { Problem } from '../common/problem';
import type { CaptureFrame } from './types';

/**
 * What a file format (pcap, pcapng) gives the chunk splitter: how many bytes it needs to learn a record's
 * length, the record's length, and what to do with a complete record. The splitter owns buffering, so formats
 * only ever see complete records laid out contiguously.
 */
export interface RecordFormat {
  readonly name: 'pcap' | 'pcapng';
  /** Bytes needed at the start of the next record before `recordLength` can be called. May change between records. */
  readonly headerSize: number;
  /**
   * Total length of the record starting at buf[off] (at least `headerSize` bytes are available), or -1 when
   * reading must stop (the format has already reported why).
   */
  recordLength(buf: Buffer, off: number, fileOffset: number): number;
  /** A complete record of `len` bytes at buf[off]. */
  record(buf: Buffer, off: number, len: number, fileOffset: number): void;
  /** Input ended with `pending` bytes of an incomplete record (0 when the input ended on a record boundary). */
  end(pending: Buffer, fileOffset: number): void;
}

/** The parser side that formats report to. */
export interface FormatSink {
  /** Next frame number (1-based); the sink increments it on `emit`. */
  emit(frame: CaptureFrame): void;
  nextFrameNumber(): number;
  fileProblem(p: Problem): void;
  /** Stop reading: the rest of the input cannot be parsed. */
  stop(): void;
  /** The input is unusable (nothing could be read). */
  fatal(message: string): void;
}

/** Largest record/block the readers buffer; anything claiming more is treated as corrupt. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** Wireshark's standard maximum packet size; classic pcap caplen above max(this, snaplen) is corrupt. */
export const STANDARD_MAX_CAPLEN = 262144;
