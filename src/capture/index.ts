/**
 * Capture stage: streaming pcap/pcapng readers (gzip and standard input included) and capture writers.
 *
 * Problem codes (layer `pcap`, `pcapng`, `gzip`, `live`) are listed in docs/problem-codes.md. File-level ones land in
 * CaptureSummary.problems with file offsets; frame-level ones in CaptureFrame.problems.
 * Unusable input (bad magic, empty, truncated pcap header or first SHB, I/O errors) sets CaptureSummary.fatal.
 */
export { readCapture, DEFAULT_CHUNK_SIZE, type ReadCaptureOptions } from './reader';
export { CaptureParser } from './parser';
export { PcapWriter, type PcapWriterOptions, type WritableFrame } from './pcap-writer';
export { PcapngWriter, type PcapngWriterOptions } from './pcapng-writer';
export { LinkType, type CaptureFrame, type CaptureSummary, type CaptureFormat, type FrameHandler } from './types';
