import { AtomicCaptureWriter } from './atomic-file';
import { STANDARD_MAX_CAPLEN } from './format';
import { PCAP_GLOBAL_HEADER_LENGTH, PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC, PCAP_RECORD_HEADER_LENGTH } from './pcap';

/** What the writers need from a frame; a CaptureFrame is one. */
export interface WritableFrame {
  tsSec: number;
  tsNsec: number;
  data: Uint8Array;
  /** Length on the wire; defaults to data.length. */
  originalLength?: number;
  /** Checked against the file's link type (classic pcap) or used to pick the interface (pcapng). */
  linkType?: number;
  /** Packet comments (pcapng only; classic pcap cannot hold them). */
  comments?: readonly string[];
}

export interface PcapWriterOptions {
  /** Write the target in place as it grows (tcpdump -U style) instead of renaming a temporary file at commit(). */
  inPlace?: boolean;
  linkType: number;
  /** Write nanosecond timestamps (magic a1b23c4d); default microseconds (times are truncated to the microsecond). */
  nanosecond?: boolean;
  /** Default 262144; longer frames are cut to it (their original length is kept). */
  snaplen?: number;
}

const MAX_U32 = 0xffffffff;

/** A classic pcap global header (little-endian, version 2.4, thiszone and sigfigs 0) at `off`: PCAP_GLOBAL_HEADER_LENGTH bytes. */
export function writePcapGlobalHeader(buf: Buffer, off: number, h: { nanosecond: boolean; snaplen: number; linkType: number }): void {
  buf.writeUInt32LE(h.nanosecond ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, off);
  buf.writeUInt16LE(2, off + 4);
  buf.writeUInt16LE(4, off + 6);
  buf.writeInt32LE(0, off + 8); // thiszone
  buf.writeUInt32LE(0, off + 12); // sigfigs
  buf.writeUInt32LE(h.snaplen, off + 16);
  buf.writeUInt32LE(h.linkType, off + 20);
}

/** A classic pcap record header (little-endian) at `off`: PCAP_RECORD_HEADER_LENGTH bytes; microsecond files get the stamp truncated. */
export function writePcapRecordHeader(buf: Buffer, off: number, nanosecond: boolean, tsSec: number, tsNsec: number, caplen: number, origlen: number): void {
  buf.writeUInt32LE(tsSec, off);
  buf.writeUInt32LE(nanosecond ? tsNsec : Math.floor(tsNsec / 1000), off + 4);
  buf.writeUInt32LE(caplen, off + 8);
  buf.writeUInt32LE(origlen, off + 12);
}

/**
 * Classic pcap writer (little-endian). Output goes to a temporary file beside the target and appears under
 * the target name only on `commit()` (atomic rename); `abort()` removes it, so a failed run leaves no partial
 * capture. Writes are buffered and synchronous; the async signatures leave room for a streaming backend.
 */
export class PcapWriter extends AtomicCaptureWriter {
  readonly linkType: number;
  readonly nanosecond: boolean;
  readonly snaplen: number;

  static async create(path: string, opts: PcapWriterOptions): Promise<PcapWriter> {
    return new PcapWriter(path, opts);
  }

  constructor(path: string, opts: PcapWriterOptions) {
    const linkType = opts.linkType;
    const snaplen = opts.snaplen ?? STANDARD_MAX_CAPLEN;
    // checked before the temporary file exists, so a bad call leaves nothing behind
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) throw new RangeError(`bad link type ${opts.linkType}`);
    if (!Number.isInteger(snaplen) || snaplen <= 0 || snaplen > MAX_U32) throw new RangeError(`bad snaplen ${opts.snaplen}`);
    super(path, opts.inPlace ?? false);
    this.linkType = linkType;
    this.nanosecond = opts.nanosecond ?? false;
    this.snaplen = snaplen;
    const off = this.file.reserve(PCAP_GLOBAL_HEADER_LENGTH);
    writePcapGlobalHeader(this.file.buffer, off, this);
    this.file.advance(PCAP_GLOBAL_HEADER_LENGTH);
  }

  write(frame: WritableFrame): void {
    if (frame.linkType !== undefined && frame.linkType !== this.linkType) {
      throw new Error(`frame of link type ${frame.linkType} cannot go into a pcap file of link type ${this.linkType} (use PcapngWriter)`);
    }
    const { tsSec, tsNsec } = frame;
    if (!Number.isInteger(tsSec) || tsSec < 0 || tsSec > MAX_U32 || !Number.isInteger(tsNsec) || tsNsec < 0 || tsNsec > 999999999) {
      throw new RangeError(`timestamp ${tsSec}.${tsNsec} does not fit a pcap record`);
    }
    const caplen = Math.min(frame.data.length, this.snaplen);
    const origlen = Math.max(frame.originalLength ?? frame.data.length, caplen);
    if (origlen > MAX_U32) throw new RangeError(`original length ${origlen} does not fit a pcap record`);
    const off = this.file.reserve(PCAP_RECORD_HEADER_LENGTH + caplen);
    const buf = this.file.buffer;
    writePcapRecordHeader(buf, off, this.nanosecond, tsSec, tsNsec, caplen, origlen);
    buf.set(caplen === frame.data.length ? frame.data : frame.data.subarray(0, caplen), off + PCAP_RECORD_HEADER_LENGTH);
    this.file.advance(PCAP_RECORD_HEADER_LENGTH + caplen);
    this.frames++;
  }

}
