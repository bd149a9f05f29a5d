/**
 * Problem codes of the capture stage (pcap, pcapng, gzip, live capture), declared once: severity, layer, scope and
 * meaning. docs/problem-codes.md is generated from these sections.
 */
import { reporter, type ProblemCodes, type ProblemSection } from '../common/problem';

const PCAP = {
  'pcap-truncated-record-header': { severity: 'error', layer: 'pcap', scope: 'file', meaning: 'The file ends inside a 16-byte record header (a capture copied while still being written, a full disk). The partial record is dropped; the frames before it are kept.' },
  'pcap-truncated-record': { severity: 'error', layer: 'pcap', scope: 'file', meaning: 'The file ends inside a record\'s packet data. The last packet is dropped; the frames before it are kept.' },
  'pcap-record-too-large': { severity: 'error', layer: 'pcap', scope: 'file', meaning: 'A record claims more captured bytes than the larger of 262144 and the file\'s snaplen (capped at 16 MiB): the file is corrupt from here. Reading stops.' },
  'pcap-unusual-version': { severity: 'warning', layer: 'pcap', scope: 'file', meaning: 'The file header\'s major version is not 2 (expected 2.4). The file is read anyway.' },
  'pcap-bad-timestamp': { severity: 'warning', layer: 'pcap', scope: 'frame', meaning: 'The microsecond (or nanosecond) field of the record is one second or more (the message gives the record\'s file offset). The time is clamped to the last tick of the second the record names, so it stays next to its neighbours and spans stay sane (carrying the excess could move it up to 4294 s). Points at the program that wrote the file.' },
  'pcap-caplen-over-len': { severity: 'warning', layer: 'pcap', scope: 'frame', meaning: 'Captured length larger than the original length on the wire: the writer is wrong. The frame is decoded as captured.' },
  'pcap-caplen-over-snaplen': { severity: 'warning', layer: 'pcap', scope: 'frame', meaning: 'Captured length larger than the snapshot length in the file header. The frame is decoded as captured.' },
} as const satisfies ProblemCodes;

const PCAPNG = {
  'pcapng-bad-byte-order-magic': { severity: 'error', layer: 'pcapng', scope: 'file', meaning: 'A Section Header Block whose byte-order magic is neither 0x1A2B3C4D nor its swap. Reading stops.' },
  'pcapng-bad-block-length': { severity: 'error', layer: 'pcapng', scope: 'file', meaning: 'A block\'s total length is below the minimum for its type or not a multiple of 4. Reading stops.' },
  'pcapng-block-too-large': { severity: 'error', layer: 'pcapng', scope: 'file', meaning: 'A block claims more than 16 MiB: the file is corrupt. Reading stops.' },
  'pcapng-block-length-mismatch': { severity: 'error', layer: 'pcapng', scope: 'file', meaning: 'A block\'s leading and trailing total lengths differ. Reading stops.' },
  'pcapng-unsupported-version': { severity: 'error', layer: 'pcapng', scope: 'file', meaning: 'A Section Header Block with a major version other than 1. Reading stops.' },
  'pcapng-truncated-block': { severity: 'error', layer: 'pcapng', scope: 'file', meaning: 'The file ends inside a block (copied while being written, full disk). The frames before it are kept.' },
  'pcapng-short-block': { severity: 'error', layer: 'pcapng', scope: 'file', meaning: 'An Interface Description, Enhanced/obsolete Packet or Simple Packet Block shorter than its fixed fields. The block is ignored (a short interface block still takes its interface number, so later packets keep their interface).' },
  'pcapng-unknown-interface': { severity: 'error', layer: 'pcapng', scope: 'file', meaning: 'A packet block names an interface the section never described (or a Simple Packet Block comes before any interface). The packet is skipped.' },
  'pcapng-bad-caplen': { severity: 'error', layer: 'pcapng', scope: 'file', meaning: 'An Enhanced (or obsolete) Packet Block whose captured length is larger than the block holds: the packet is skipped.' },
  'pcapng-spb-short': { severity: 'warning', layer: 'pcapng', scope: 'frame', meaning: 'A Simple Packet Block holds fewer bytes than its original length (or the interface snaplen) says: the frame is kept with what is there.' },
  'pcapng-bad-option': { severity: 'error', layer: 'pcapng', scope: 'file', meaning: 'An option of an Interface Description Block runs past the end of the block: the remaining options are ignored.' },
  'pcapng-bad-packet-option': { severity: 'warning', layer: 'pcapng', scope: 'frame', meaning: 'An option of a packet block runs past the end of the block: the frame is kept, comments after the bad option are lost.' },
  'pcapng-bad-tsresol': { severity: 'error', layer: 'pcapng', scope: 'file', meaning: 'The interface\'s `if_tsresol` is out of range; its timestamps are read as microseconds, which may be wrong.' },
  'pcapng-too-many-interfaces': { severity: 'error', layer: 'pcapng', scope: 'file', meaning: 'A section describes more than 65536 interfaces; the rest are ignored (reported once per section) and their packets are skipped as unknown-interface.' },
  'pcapng-caplen-over-len': { severity: 'warning', layer: 'pcapng', scope: 'frame', meaning: 'Captured length larger than the original length: the writer is wrong. The frame is decoded as captured.' },
  'pcapng-caplen-over-snaplen': { severity: 'warning', layer: 'pcapng', scope: 'frame', meaning: 'Captured length larger than the interface\'s snaplen. The frame is decoded as captured.' },
} as const satisfies ProblemCodes;

const GZIP = {
  'gzip-corrupt': { severity: 'error', layer: 'gzip', scope: 'file', meaning: 'The gzip stream of a compressed capture is damaged (zlib error, e.g. a cut `.pcap.gz`). Reading stops; frames decompressed before the damage are kept. No offset. When the damage comes before the capture header, the file is unusable (exit 2).' },
} as const satisfies ProblemCodes;

const LIVE = {
  'live-snaplen-cut': { severity: 'note', layer: 'live', scope: 'frame', meaning: 'The packet was longer than the capture\'s snapshot length and was cut. The original length is taken from the IP header (a lower bound); the layers above then report their cut headers as `…-snaplen-cut` notes. Raise the snaplen if the cut hides what you need.' },
} as const satisfies ProblemCodes;

export const CAPTURE_PROBLEM_SECTIONS: readonly ProblemSection[] = [
  {
    title: 'Capture: pcap (layer `pcap`)',
    intro: `*Scope* \`file\`: the problem is about the capture file, not a packet; it goes to standard error and its offset is a
file offset (counted after gzip decompression). *Scope* \`frame\`: attached to that frame; no offset, except for
\`pcap-bad-timestamp\`, whose offset 4 (length 4) is the position of the sub-second field in the 16-byte record header.`,
    codes: PCAP,
  },
  {
    title: 'Capture: pcapng (layer `pcapng`)',
    intro: `Same scopes and offsets as pcap (file-level problems carry the file offset of the block or field; frame-level ones
carry no offset). "Reading stops" means the frames read so far are kept and the rest of the file is ignored; when the
damage is in the very first Section Header Block the file is unusable (fatal error, exit 2) instead.`,
    codes: PCAPNG,
  },
  { title: 'Capture: gzip (layer `gzip`)', intro: '', codes: GZIP },
  { title: 'Capture: live (layer `live`)', intro: 'Live capture from an interface (`src/capture/live.ts`). No offset.', codes: LIVE },
];

/** Emits a capture-stage problem by code. */
export const captureProblem = reporter({ ...PCAP, ...PCAPNG, ...GZIP, ...LIVE });
/** A pcapng code, for helpers that forward one. */
export type PcapngProblemCode = keyof typeof PCAPNG;
