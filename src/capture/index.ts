/**
 * Capture stage: streaming pcap/pcapng readers (gzip and standard input included) and capture writers.
 *
 * Problem codes (layer `pcap`, `pcapng` or `gzip`). File-level ones land in CaptureSummary.problems with file
 * offsets; frame-level ones in CaptureFrame.problems.
 *   file:  pcap-truncated-record-header, pcap-truncated-record, pcap-record-too-large (stops), pcap-unusual-version,
 *          pcapng-truncated-block, pcapng-bad-block-length (stops), pcapng-block-length-mismatch (stops),
 *          pcapng-block-too-large (stops), pcapng-bad-byte-order-magic (stops), pcapng-unsupported-version (stops),
 *          pcapng-unknown-interface (packet skipped), pcapng-bad-caplen (packet skipped), pcapng-short-block,
 *          pcapng-bad-option (IDB), pcapng-bad-tsresol, pcapng-too-many-interfaces, gzip-corrupt (stops)
 *   frame: pcap-caplen-over-snaplen, pcap-caplen-over-len, pcap-bad-timestamp, pcapng-caplen-over-snaplen,
 *          pcapng-caplen-over-len, pcapng-bad-option, pcapng-bad-caplen (SPB shorter than its length says)
 * Unusable input (bad magic, empty, truncated pcap header or first SHB, I/O errors) sets CaptureSummary.fatal.
 */
export { readCapture, DEFAULT_CHUNK_SIZE, type ReadCaptureOptions } from './reader';
export { CaptureParser } from './parser';
export { PcapWriter, type PcapWriterOptions, type WritableFrame } from './pcap-writer';
export { PcapngWriter, type PcapngWriterOptions } from './pcapng-writer';
export { LinkType, type CaptureFrame, type CaptureSummary, type CaptureFormat, type FrameHandler } from './types';
