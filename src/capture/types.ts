import type { Problem } from '../common/problem';
import type { PacketTime } from '../common/time';

/** pcap/pcapng link-layer type numbers that keyscope decodes (LINKTYPE_* values). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** One captured frame as it leaves the capture stage. */
export interface CaptureFrame extends PacketTime {
  /** 1-based frame number across the whole capture (all pcapng sections), as tshark numbers them. */
  number: number;
  linkType: number;
  /** pcapng interface index within its section (0 for classic pcap and live capture). */
  interfaceId: number;
  capturedLength: number;
  /** Length on the wire; larger than capturedLength when the snaplen cut the frame. */
  originalLength: number;
  /**
   * The captured bytes. May be a view into a reader buffer that is reused after the callback returns:
   * copy (Buffer.from) anything that must outlive the callback.
   */
  data: Buffer;
  /** pcapng opt_comment values, if any (raw UTF-8 from the file: escape before showing). */
  comments?: string[];
  /** pcapng section index (0-based), counting Section Header Blocks; absent for classic pcap. */
  section?: number;
  /** Problems found while reading this record (e.g. a caplen past the snaplen). */
  problems: Problem[];
}

export type CaptureFormat = 'pcap' | 'pcapng' | 'live';

/** What a reader reports once a capture has been read (or failed). */
export interface CaptureSummary {
  format: CaptureFormat | 'unknown';
  compressed: boolean;
  frames: number;
  /** Bytes of capture-file data consumed (after decompression). */
  bytes: number;
  /** A file-level error that stopped reading: bad magic, truncated header, I/O error. Exit code 2 territory. */
  fatal?: string;
  /** File-level problems (e.g. a truncated last record). Offsets in these are file offsets (after decompression). */
  problems: Problem[];
  /** True when reading ended because a problem made the rest of the file unreadable (frames before it were kept). */
  stopped?: boolean;
  /** True when the caller's AbortSignal ended reading early. */
  aborted?: boolean;
}

/** A frame consumer; called synchronously for each frame in file order. */
export type FrameHandler = (frame: CaptureFrame) => void;
