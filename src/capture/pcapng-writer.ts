import { AtomicCaptureWriter } from './atomic-file';
import { STANDARD_MAX_CAPLEN } from './format';
import type { WritableFrame } from './pcap-writer';
import { BYTE_ORDER_MAGIC, BlockType, IF_TSRESOL, OPT_COMMENT, OPT_ENDOFOPT } from './pcapng';

export interface PcapngWriterOptions {
  /** Write the target in place as it grows (tcpdump -U style) instead of renaming a temporary file at commit(). */
  inPlace?: boolean;
  /** Link type for frames that do not carry one. Without it, such frames are refused. */
  linkType?: number;
  /** if_tsresol 9 (nanoseconds, the default) or the pcapng default of microseconds. */
  nanosecond?: boolean;
  /** Per-interface snaplen written in each IDB; default 262144. Longer frames are cut to it. */
  snaplen?: number;
  /** shb_userappl text; default "keyscope". */
  application?: string;
}

const SHB_USERAPPL = 4;
const MAX_OPTION_LENGTH = 0xffff;

const pad4 = (n: number) => (n + 3) & ~3;

/**
 * pcapng writer (little-endian, one section): one Interface Description Block per link type, written just
 * before the first packet that uses it, and Enhanced Packet Blocks with any number of opt_comment packet
 * comments. Same temporary-file + atomic rename rule as PcapWriter.
 */
export class PcapngWriter extends AtomicCaptureWriter {
  readonly nanosecond: boolean;
  readonly snaplen: number;
  private readonly defaultLinkType: number | undefined;
  /** Link type → interface id in this section. */
  private readonly interfaces = new Map<number, number>();

  static async create(path: string, opts: PcapngWriterOptions = {}): Promise<PcapngWriter> {
    return new PcapngWriter(path, opts);
  }

  constructor(path: string, opts: PcapngWriterOptions = {}) {
    const snaplen = opts.snaplen ?? STANDARD_MAX_CAPLEN;
    // checked before the temporary file exists, so a bad call leaves nothing behind
    if (!Number.isInteger(snaplen) || snaplen <= 0 || snaplen > 0xffffffff) throw new RangeError(`bad snaplen ${opts.snaplen}`);
    super(path, opts.inPlace ?? false);
    this.nanosecond = opts.nanosecond ?? true;
    this.snaplen = snaplen;
    this.defaultLinkType = opts.linkType;
    const app = Buffer.from(opts.application ?? 'keyscope', 'utf8').subarray(0, MAX_OPTION_LENGTH);
    const len = 28 + 4 + pad4(app.length) + 4;
    const off = this.file.reserve(len);
    const buf = this.file.buffer;
    buf.fill(0, off, off + len);
    buf.writeUInt32LE(BlockType.SECTION_HEADER, off);
    buf.writeUInt32LE(len, off + 4);
    buf.writeUInt32LE(BYTE_ORDER_MAGIC, off + 8);
    buf.writeUInt16LE(1, off + 12);
    buf.writeUInt16LE(0, off + 14);
    buf.writeInt32LE(-1, off + 16); // section length: unknown
    buf.writeInt32LE(-1, off + 20);
    buf.writeUInt16LE(SHB_USERAPPL, off + 24);
    buf.writeUInt16LE(app.length, off + 26);
    app.copy(buf, off + 28);
    // opt_endofopt is the zero fill
    buf.writeUInt32LE(len, off + len - 4);
    this.file.advance(len);
  }


  /** Interface id that frames of this link type get (an IDB is written on first use). */
  interfaceFor(linkType: number): number {
    let id = this.interfaces.get(linkType);
    if (id !== undefined) return id;
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) throw new RangeError(`bad link type ${linkType}`);
    id = this.interfaces.size;
    this.interfaces.set(linkType, id);
    const len = 20 + (this.nanosecond ? 8 + 4 : 0);
    const off = this.file.reserve(len);
    const buf = this.file.buffer;
    buf.fill(0, off, off + len);
    buf.writeUInt32LE(BlockType.INTERFACE_DESCRIPTION, off);
    buf.writeUInt32LE(len, off + 4);
    buf.writeUInt16LE(linkType, off + 8);
    buf.writeUInt32LE(this.snaplen, off + 12);
    if (this.nanosecond) {
      buf.writeUInt16LE(IF_TSRESOL, off + 16);
      buf.writeUInt16LE(1, off + 18);
      buf[off + 20] = 9;
      buf.writeUInt16LE(OPT_ENDOFOPT, off + 24);
    }
    buf.writeUInt32LE(len, off + len - 4);
    this.file.advance(len);
    return id;
  }

  write(frame: WritableFrame): void {
    const linkType = frame.linkType ?? this.defaultLinkType;
    if (linkType === undefined) throw new Error('frame without a link type and no default link type given to PcapngWriter');
    const { tsSec, tsNsec } = frame;
    if (!Number.isInteger(tsSec) || tsSec < 0 || !Number.isInteger(tsNsec) || tsNsec < 0 || tsNsec > 999999999) {
      throw new RangeError(`bad timestamp ${tsSec}.${tsNsec}`);
    }
    const interfaceId = this.interfaceFor(linkType);
    const caplen = Math.min(frame.data.length, this.snaplen);
    const origlen = Math.max(frame.originalLength ?? frame.data.length, caplen);
    if (origlen > 0xffffffff) throw new RangeError(`original length ${origlen} does not fit an Enhanced Packet Block`);
    const comments: Buffer[] = [];
    let optionsLength = 0;
    for (const c of frame.comments ?? []) {
      const b = Buffer.from(c, 'utf8');
      if (b.length > MAX_OPTION_LENGTH) throw new RangeError(`packet comment of ${b.length} bytes exceeds the 65535-byte option limit`);
      comments.push(b);
      optionsLength += 4 + pad4(b.length);
    }
    if (optionsLength > 0) optionsLength += 4;
    const len = 28 + pad4(caplen) + optionsLength + 4;
    const ticks = BigInt(tsSec) * (this.nanosecond ? 1000000000n : 1000000n) + BigInt(this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000));
    if (ticks >= 1n << 64n) throw new RangeError(`timestamp ${tsSec}.${tsNsec} does not fit 64 bits`);
    const off = this.file.reserve(len);
    const buf = this.file.buffer;
    buf.writeUInt32LE(BlockType.ENHANCED_PACKET, off);
    buf.writeUInt32LE(len, off + 4);
    buf.writeUInt32LE(interfaceId, off + 8);
    buf.writeUInt32LE(Number(ticks >> 32n), off + 12);
    buf.writeUInt32LE(Number(ticks & 0xffffffffn), off + 16);
    buf.writeUInt32LE(caplen, off + 20);
    buf.writeUInt32LE(origlen, off + 24);
    buf.set(caplen === frame.data.length ? frame.data : frame.data.subarray(0, caplen), off + 28);
    let p = off + 28 + caplen;
    buf.fill(0, p, off + 28 + pad4(caplen));
    p = off + 28 + pad4(caplen);
    for (const b of comments) {
      buf.writeUInt16LE(OPT_COMMENT, p);
      buf.writeUInt16LE(b.length, p + 2);
      b.copy(buf, p + 4);
      buf.fill(0, p + 4 + b.length, p + 4 + pad4(b.length));
      p += 4 + pad4(b.length);
    }
    if (optionsLength > 0) {
      buf.writeUInt32LE(OPT_ENDOFOPT, p);
      p += 4;
    }
    buf.writeUInt32LE(len, p);
    this.file.advance(len);
    this.frames++;
  }

}
