import type { Problem } from '../common/problem';
import { captureProblem } from './problems';
import { u32be, u32le } from './bytes';
import { MAX_RECORD_BYTES, STANDARD_MAX_CAPLEN, type FormatSink, type RecordFormat } from './format';
import type { CaptureFrame } from './types';

/** Classic pcap magic numbers as read little-endian from the first four bytes. */
export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
/** Alexey Kuznetzov's modified pcap (24-byte record headers): recognised only to name it. */
export const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;

export const PCAP_GLOBAL_HEADER_LENGTH = 24;
export const PCAP_RECORD_HEADER_LENGTH = 16;

export interface PcapFileHeader {
  littleEndian: boolean;
  nanosecond: boolean;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  linkType: number;
}

/** Byte order and resolution from the first four bytes, or undefined when they are not a classic pcap magic. */
export function pcapMagic(buf: Buffer, off: number): { littleEndian: boolean; nanosecond: boolean } | undefined {
  const le = buf.readUInt32LE(off);
  if (le === PCAP_MAGIC_USEC) return { littleEndian: true, nanosecond: false };
  if (le === PCAP_MAGIC_NSEC) return { littleEndian: true, nanosecond: true };
  const be = buf.readUInt32BE(off);
  if (be === PCAP_MAGIC_USEC) return { littleEndian: false, nanosecond: false };
  if (be === PCAP_MAGIC_NSEC) return { littleEndian: false, nanosecond: true };
  return undefined;
}

/** The global header at `off` (PCAP_GLOBAL_HEADER_LENGTH bytes), or undefined when it does not start with a classic pcap magic. */
export function parsePcapHeader(buf: Buffer, off: number): PcapFileHeader | undefined {
  const magic = pcapMagic(buf, off);
  if (magic === undefined) return undefined;
  const le = magic.littleEndian;
  const u16 = (o: number) => (le ? buf.readUInt16LE(off + o) : buf.readUInt16BE(off + o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(off + o) : buf.readUInt32BE(off + o));
  return {
    littleEndian: le,
    nanosecond: magic.nanosecond,
    versionMajor: u16(4),
    versionMinor: u16(6),
    snaplen: u32(16),
    // Upper bits of the link type field carry FCS information (libpcap's LT_LINKTYPE mask).
    linkType: u32(20) & 0x03ffffff,
  };
}

/**
 * Classic pcap (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/): a 24-byte global header, then records
 * of a 16-byte header (ts_sec, ts_usec|ts_nsec, caplen, len) and caplen bytes of data.
 */
export class PcapFormat implements RecordFormat {
  readonly name = 'pcap' as const;
  headerSize = PCAP_GLOBAL_HEADER_LENGTH;
  header: PcapFileHeader | undefined;
  private le = true;
  private nsecMultiplier = 1000;
  private snaplen = 0;
  private linkType = 0;
  private maxCaplen = STANDARD_MAX_CAPLEN;

  constructor(private readonly sink: FormatSink) {}

  recordLength(buf: Buffer, off: number, fileOffset: number): number {
    if (this.header === undefined) return PCAP_GLOBAL_HEADER_LENGTH;
    const caplen = this.le ? u32le(buf, off + 8) : u32be(buf, off + 8);
    if (caplen > this.maxCaplen) {
      this.sink.fileProblem(
        captureProblem('pcap-record-too-large', `record at file offset ${fileOffset} claims ${caplen} captured bytes (limit ${this.maxCaplen}): file corrupt, reading stopped`,
          fileOffset + 8,
          4,
        ),
      );
      this.sink.stop();
      return -1;
    }
    return PCAP_RECORD_HEADER_LENGTH + caplen;
  }

  record(buf: Buffer, off: number, len: number, fileOffset: number): void {
    if (this.header === undefined) {
      this.readGlobalHeader(buf, off);
      return;
    }
    const le = this.le;
    let tsSec = le ? u32le(buf, off) : u32be(buf, off);
    const frac = le ? u32le(buf, off + 4) : u32be(buf, off + 4);
    const caplen = len - PCAP_RECORD_HEADER_LENGTH;
    const origlen = le ? u32le(buf, off + 12) : u32be(buf, off + 12);
    let tsNsec = frac * this.nsecMultiplier;
    let problems: Problem[] | undefined;
    if (tsNsec >= 1000000000) {
      (problems ??= []).push(
        captureProblem('pcap-bad-timestamp', `sub-second timestamp field ${frac} is one second or more (record at file offset ${fileOffset}); clamped to the end of second ${tsSec}`, 4, 4),
      );
      // Carrying the excess into the seconds would move the frame up to 4294 s (a µs field of 0xffffffff) past its
      // neighbours and make spans negative; the seconds field is the trustworthy part, so stay inside that second, at
      // the last tick the file's resolution can express.
      tsNsec = 1000000000 - this.nsecMultiplier;
    }
    if (caplen > origlen) {
      (problems ??= []).push(
        captureProblem('pcap-caplen-over-len', `captured length ${caplen} exceeds original length ${origlen}`),
      );
    }
    if (this.snaplen !== 0 && caplen > this.snaplen) {
      (problems ??= []).push(
        captureProblem('pcap-caplen-over-snaplen', `captured length ${caplen} exceeds the file snaplen ${this.snaplen}`),
      );
    }
    const frame: CaptureFrame = {
      number: this.sink.nextFrameNumber(),
      linkType: this.linkType,
      interfaceId: 0,
      tsSec,
      tsNsec,
      capturedLength: caplen,
      originalLength: origlen,
      data: buf.subarray(off + PCAP_RECORD_HEADER_LENGTH, off + len),
      comments: undefined,
      section: undefined,
      problems: problems ?? [],
    };
    this.sink.emit(frame);
  }

  end(pending: Buffer, fileOffset: number): void {
    if (this.header === undefined) {
      this.sink.fatal(`truncated pcap file header: ${pending.length} of ${PCAP_GLOBAL_HEADER_LENGTH} bytes`);
      return;
    }
    if (pending.length === 0) return;
    if (pending.length < PCAP_RECORD_HEADER_LENGTH) {
      this.sink.fileProblem(
        captureProblem('pcap-truncated-record-header', `file ends inside a record header at file offset ${fileOffset} (${pending.length} of ${PCAP_RECORD_HEADER_LENGTH} bytes)`,
          fileOffset,
          pending.length,
        ),
      );
      return;
    }
    const caplen = this.le ? pending.readUInt32LE(8) : pending.readUInt32BE(8);
    this.sink.fileProblem(
      captureProblem('pcap-truncated-record', `file ends inside the record at file offset ${fileOffset}: ${pending.length - PCAP_RECORD_HEADER_LENGTH} of ${caplen} captured bytes present`,
        fileOffset,
        pending.length,
      ),
    );
  }

  private readGlobalHeader(buf: Buffer, off: number): void {
    const header = parsePcapHeader(buf, off);
    if (header === undefined) {
      this.sink.fatal('not a pcap file: bad magic number');
      return;
    }
    if (header.versionMajor !== 2) {
      this.sink.fileProblem(
        captureProblem('pcap-unusual-version', `pcap version ${header.versionMajor}.${header.versionMinor} (expected 2.4)`, 4, 4),
      );
    }
    this.header = header;
    this.le = header.littleEndian;
    this.nsecMultiplier = header.nanosecond ? 1 : 1000;
    this.snaplen = header.snaplen;
    this.linkType = header.linkType;
    this.maxCaplen = Math.max(STANDARD_MAX_CAPLEN, Math.min(header.snaplen, MAX_RECORD_BYTES));
    this.headerSize = PCAP_RECORD_HEADER_LENGTH;
  }
}
