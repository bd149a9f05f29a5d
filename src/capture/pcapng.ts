import type { Problem } from '../common/problem';
import { captureProblem, type PcapngProblemCode } from './problems';
import { MAX_RECORD_BYTES, type FormatSink, type RecordFormat } from './format';
import { u16be, u16le, u32be, u32le } from './bytes';
import { MAX_TSRESOL_EXPONENT, MICROSECONDS, TickConverter, tsResolution, type SecNsec, type TsResolution } from './timestamp';
import type { CaptureFrame } from './types';

/** pcapng block types (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/). */
export const BlockType = {
  SECTION_HEADER: 0x0a0d0d0a,
  INTERFACE_DESCRIPTION: 0x00000001,
  PACKET_OBSOLETE: 0x00000002,
  SIMPLE_PACKET: 0x00000003,
  NAME_RESOLUTION: 0x00000004,
  INTERFACE_STATISTICS: 0x00000005,
  ENHANCED_PACKET: 0x00000006,
} as const;

export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const IF_TSRESOL = 9;
export const IF_TSOFFSET = 14;

/** Smallest block: type, total length, trailing total length. */
const MIN_BLOCK = 12;
const MIN_SHB = 28;
const MIN_IDB = 20;
const MIN_EPB = 32;
const MIN_SPB = 16;
const MIN_PB = 32;

export interface PcapngInterface {
  linkType: number;
  /** 0 means no limit. */
  snaplen: number;
  resolution: TsResolution;
  /** if_tsoffset in seconds. */
  offsetSeconds: number;
  clock: TickConverter;
}

const pad4 = (n: number) => (n + 3) & ~3;

/** Interfaces kept per section: a file of nothing but IDBs must not grow memory without bound. */
export const MAX_INTERFACES_PER_SECTION = 65536;

function lengthProblems(caplen: number, origlen: number, snaplen: number): Problem[] {
  const problems: Problem[] = [];
  if (caplen > origlen) {
    problems.push(captureProblem('pcapng-caplen-over-len', `captured length ${caplen} exceeds original length ${origlen}`));
  }
  if (snaplen !== 0 && caplen > snaplen) {
    problems.push(captureProblem('pcapng-caplen-over-snaplen', `captured length ${caplen} exceeds the interface snaplen ${snaplen}`));
  }
  return problems;
}

/**
 * pcapng reader: blocks are records whose length is at offset 4 (in the section's byte order, learnt from the
 * Section Header Block's byte-order magic, so a later section may switch order).
 */
export class PcapngFormat implements RecordFormat {
  readonly name = 'pcapng' as const;
  readonly headerSize = MIN_BLOCK;
  /** 0-based index of the current section, -1 before the first Section Header Block. */
  section = -1;
  interfaces: PcapngInterface[] = [];
  private le = true;
  private readonly time: SecNsec = { tsSec: 0, tsNsec: 0 };
  private optionProblem: Problem | undefined;
  private tooManyInterfaces = false;

  constructor(private readonly sink: FormatSink) {}

  recordLength(buf: Buffer, off: number, fileOffset: number): number {
    const type = this.u32(buf, off);
    if (type === BlockType.SECTION_HEADER) {
      const bom = u32le(buf, off + 8);
      if (bom === BYTE_ORDER_MAGIC) this.le = true;
      else if (bom === 0x4d3c2b1a) this.le = false;
      else {
        this.stopOrFatal('pcapng-bad-byte-order-magic', `Section Header Block at file offset ${fileOffset} has a bad byte-order magic`, fileOffset + 8);
        return -1;
      }
    }
    const len = this.u32(buf, off + 4);
    const min = type === BlockType.SECTION_HEADER ? MIN_SHB : MIN_BLOCK;
    if (len < min || len % 4 !== 0) {
      this.stopOrFatal(
        'pcapng-bad-block-length',
        `block of type 0x${type.toString(16)} at file offset ${fileOffset} has total length ${len} (${len < min ? `less than ${min}` : 'not a multiple of 4'})`,
        fileOffset + 4,
      );
      return -1;
    }
    if (len > MAX_RECORD_BYTES) {
      this.stopOrFatal(
        'pcapng-block-too-large',
        `block of type 0x${type.toString(16)} at file offset ${fileOffset} claims ${len} bytes (limit ${MAX_RECORD_BYTES})`,
        fileOffset + 4,
      );
      return -1;
    }
    return len;
  }

  record(buf: Buffer, off: number, len: number, fileOffset: number): void {
    const trailer = this.u32(buf, off + len - 4);
    const type = this.u32(buf, off);
    if (trailer !== len) {
      this.stopOrFatal(
        'pcapng-block-length-mismatch',
        `block of type 0x${type.toString(16)} at file offset ${fileOffset}: leading total length ${len}, trailing ${trailer}`,
        fileOffset + len - 4,
      );
      return;
    }
    switch (type) {
      case BlockType.ENHANCED_PACKET:
        this.packet(buf, off, len, fileOffset, false);
        return;
      case BlockType.SIMPLE_PACKET:
        this.simplePacket(buf, off, len, fileOffset);
        return;
      case BlockType.PACKET_OBSOLETE:
        this.packet(buf, off, len, fileOffset, true);
        return;
      case BlockType.INTERFACE_DESCRIPTION:
        this.interfaceDescription(buf, off, len, fileOffset);
        return;
      case BlockType.SECTION_HEADER:
        this.sectionHeader(buf, off, fileOffset);
        return;
      default:
        // NRB, ISB, DSB, custom and unknown blocks carry nothing the pipeline uses.
        return;
    }
  }

  end(pending: Buffer, fileOffset: number): void {
    if (this.section < 0) {
      this.sink.fatal(`truncated pcapng Section Header Block: file has ${pending.length} bytes`);
      return;
    }
    if (pending.length === 0) return;
    let what = '';
    if (pending.length >= 8) {
      const len = this.u32(pending, 4);
      what = `: ${pending.length} of ${len} bytes present`;
    }
    this.sink.fileProblem(
      captureProblem('pcapng-truncated-block', `file ends inside the block at file offset ${fileOffset}${what}`, fileOffset, pending.length),
    );
  }

  private stopOrFatal(code: PcapngProblemCode, message: string, offset: number): void {
    if (this.section < 0) {
      this.sink.fatal(`not a readable pcapng file: ${message}`);
      return;
    }
    this.sink.fileProblem(captureProblem(code, `${message}: reading stopped`, offset));
    this.sink.stop();
  }

  private u16(buf: Buffer, o: number): number {
    return this.le ? u16le(buf, o) : u16be(buf, o);
  }

  private u32(buf: Buffer, o: number): number {
    return this.le ? u32le(buf, o) : u32be(buf, o);
  }

  private sectionHeader(buf: Buffer, off: number, fileOffset: number): void {
    const major = this.u16(buf, off + 12);
    const minor = this.u16(buf, off + 14);
    if (major !== 1) {
      this.stopOrFatal('pcapng-unsupported-version', `Section Header Block at file offset ${fileOffset} has version ${major}.${minor}`, fileOffset + 12);
      return;
    }
    this.section++;
    this.interfaces = [];
    this.tooManyInterfaces = false;
  }

  private interfaceDescription(buf: Buffer, off: number, len: number, fileOffset: number): void {
    if (this.interfaces.length >= MAX_INTERFACES_PER_SECTION) {
      if (!this.tooManyInterfaces) {
        this.tooManyInterfaces = true;
        this.blockProblem('pcapng-too-many-interfaces', `section ${this.section} describes more than ${MAX_INTERFACES_PER_SECTION} interfaces; the rest are ignored`, fileOffset);
      }
      return;
    }
    if (len < MIN_IDB) {
      this.blockProblem('pcapng-short-block', `Interface Description Block at file offset ${fileOffset} is only ${len} bytes`, fileOffset);
      // Keep interface numbering aligned with what the file meant, even though this one is unusable.
      this.interfaces.push({ linkType: 0, snaplen: 0, resolution: MICROSECONDS, offsetSeconds: 0, clock: new TickConverter(MICROSECONDS, 0) });
      return;
    }
    let resolution = MICROSECONDS;
    let offsetSeconds = 0;
    const end = off + len - 4;
    let p = off + 16;
    while (p + 4 <= end) {
      const code = this.u16(buf, p);
      const olen = this.u16(buf, p + 2);
      if (code === OPT_ENDOFOPT) break;
      if (p + 4 + olen > end) {
        this.blockProblem('pcapng-bad-option', `option ${code} of the Interface Description Block at file offset ${fileOffset} overruns the block`, fileOffset + (p - off));
        break;
      }
      if (code === IF_TSRESOL && olen >= 1) {
        const r = buf[p + 4];
        if ((r & 0x7f) > MAX_TSRESOL_EXPONENT || (r & 0x80) === 0 && (r & 0x7f) > 19) {
          this.blockProblem('pcapng-bad-tsresol', `if_tsresol 0x${r.toString(16)} is out of range; using microseconds`, fileOffset + (p - off) + 4);
        } else resolution = tsResolution(r);
      } else if (code === IF_TSOFFSET && olen >= 8) {
        const lo = this.u32(buf, p + 4 + (this.le ? 0 : 4));
        const hi = this.le ? buf.readInt32LE(p + 8) : buf.readInt32BE(p + 4);
        offsetSeconds = hi * 4294967296 + lo;
      }
      p += 4 + pad4(olen);
    }
    this.interfaces.push({
      linkType: this.u16(buf, off + 8),
      snaplen: this.u32(buf, off + 12),
      resolution,
      offsetSeconds,
      clock: new TickConverter(resolution, offsetSeconds),
    });
  }

  private packet(buf: Buffer, off: number, len: number, fileOffset: number, obsolete: boolean): void {
    if (len < (obsolete ? MIN_PB : MIN_EPB)) {
      this.blockProblem('pcapng-short-block', `packet block at file offset ${fileOffset} is only ${len} bytes`, fileOffset);
      return;
    }
    const le = this.le;
    const interfaceId = obsolete ? (le ? u16le(buf, off + 8) : u16be(buf, off + 8)) : le ? u32le(buf, off + 8) : u32be(buf, off + 8);
    const iface = this.interfaces[interfaceId];
    if (iface === undefined) {
      this.blockProblem(
        'pcapng-unknown-interface',
        `packet block at file offset ${fileOffset} refers to interface ${interfaceId}, but section ${this.section} describes ${this.interfaces.length}; packet skipped`,
        fileOffset + 8,
      );
      return;
    }
    const caplen = le ? u32le(buf, off + 20) : u32be(buf, off + 20);
    const origlen = le ? u32le(buf, off + 24) : u32be(buf, off + 24);
    const dataEnd = off + 28 + caplen;
    if (caplen > len - MIN_EPB) {
      this.blockProblem(
        'pcapng-bad-caplen',
        `packet block at file offset ${fileOffset} claims ${caplen} captured bytes but the block holds ${len - MIN_EPB}; packet skipped`,
        fileOffset + 20,
      );
      return;
    }
    iface.clock.convert(le ? u32le(buf, off + 12) : u32be(buf, off + 12), le ? u32le(buf, off + 16) : u32be(buf, off + 16), this.time);
    let problems: Problem[] | undefined;
    if (caplen > origlen || (iface.snaplen !== 0 && caplen > iface.snaplen)) problems = lengthProblems(caplen, origlen, iface.snaplen);
    let comments: string[] | undefined;
    const optStart = off + 28 + pad4(caplen);
    if (optStart + 4 <= off + len - 4) {
      comments = this.packetOptions(buf, optStart, off + len - 4, fileOffset);
      if (this.optionProblem !== undefined) {
        (problems ??= []).push(this.optionProblem);
        this.optionProblem = undefined;
      }
    }
    const frame: CaptureFrame = {
      number: this.sink.nextFrameNumber(),
      linkType: iface.linkType,
      interfaceId,
      tsSec: this.time.tsSec,
      tsNsec: this.time.tsNsec,
      capturedLength: caplen,
      originalLength: origlen,
      data: buf.subarray(off + 28, dataEnd),
      comments,
      section: this.section,
      problems: problems ?? [],
    };
    this.sink.emit(frame);
  }

  /** opt_comment values of a packet block (other options are not used); a malformed option sets optionProblem. */
  private packetOptions(buf: Buffer, start: number, end: number, fileOffset: number): string[] | undefined {
    let comments: string[] | undefined;
    let p = start;
    while (p + 4 <= end) {
      const code = this.u16(buf, p);
      const olen = this.u16(buf, p + 2);
      if (code === OPT_ENDOFOPT) break;
      if (p + 4 + olen > end) {
        this.optionProblem = captureProblem('pcapng-bad-packet-option', `option ${code} of the packet block at file offset ${fileOffset} overruns the block`);
        break;
      }
      if (code === OPT_COMMENT) (comments ??= []).push(buf.toString('utf8', p + 4, p + 4 + olen));
      p += 4 + pad4(olen);
    }
    return comments;
  }

  private simplePacket(buf: Buffer, off: number, len: number, fileOffset: number): void {
    const iface = this.interfaces[0];
    if (iface === undefined) {
      this.blockProblem('pcapng-unknown-interface', `Simple Packet Block at file offset ${fileOffset} but section ${this.section} has no interface; packet skipped`, fileOffset);
      return;
    }
    if (len < MIN_SPB) {
      this.blockProblem('pcapng-short-block', `Simple Packet Block at file offset ${fileOffset} is only ${len} bytes`, fileOffset);
      return;
    }
    const origlen = this.u32(buf, off + 8);
    // The SPB has no captured-length field: the pcapng spec derives it from the snaplen of interface 0.
    let caplen = iface.snaplen !== 0 && origlen > iface.snaplen ? iface.snaplen : origlen;
    let problems: Problem[] | undefined;
    if (caplen > len - MIN_SPB) {
      (problems ??= []).push(
        captureProblem('pcapng-spb-short', `Simple Packet Block holds ${len - MIN_SPB} bytes, less than the ${caplen} expected`),
      );
      caplen = len - MIN_SPB;
    }
    const frame: CaptureFrame = {
      number: this.sink.nextFrameNumber(),
      linkType: iface.linkType,
      interfaceId: 0,
      tsSec: 0,
      tsNsec: 0,
      capturedLength: caplen,
      originalLength: origlen,
      data: buf.subarray(off + 12, off + 12 + caplen),
      comments: undefined,
      section: this.section,
      problems: problems ?? [],
    };
    this.sink.emit(frame);
  }

  private blockProblem(code: PcapngProblemCode, message: string, offset: number): void {
    this.sink.fileProblem(captureProblem(code, message, offset));
  }
}
