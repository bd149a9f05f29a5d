export { readCapture, DEFAULT_CHUNK_SIZE, type ReadCaptureOptions } from './reader';
export { CaptureParser } from './parser';
export { PcapWriter, type PcapWriterOptions, type WritableFrame } from './pcap-writer';
export { PcapngWriter, type PcapngWriterOptions } from './pcapng-writer';
export { LinkType, type CaptureFrame, type CaptureSummary, type CaptureFormat, type FrameHandler } from './types';
