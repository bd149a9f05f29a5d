/**
 * The capture process of `keyscope live` (engine `cap`): a child process that owns the `cap` capture, does nothing
 * but empty the packet socket, and writes the packets as a pcap stream to fd 3, batched (one write per burst that
 * libpcap hands over). See live-drain.ts for why, and for the parent's side.
 *
 * The queue towards the parent is bounded (DrainLimits): packets written and not yet taken by the pipe count against
 * it, and a packet that would overflow it is dropped here, counted, and reported with its time span on standard
 * error ("drop N SEC.NSEC SEC.NSEC") — a slow parent never turns into unbounded memory or silent loss.
 *
 * With `-w` (args.file) this process also writes the capture file, as dumpcap does: every packet captured goes to
 * the file before the queue towards the analysis is considered, so packets the queue drops (a slow analysis) are
 * still in the file. The file is a LiveCaptureFile (growing in place, flushed every LIVE_FILE_FLUSH_MS, ring buffer,
 * pcap or pcapng), so it stays valid after any end of this process, kill -9 included.
 *
 * Control lines on standard error: `open {json}` or `error {json}` once, `drop …` as drops happen, `fileerror {json}`
 * when the file cannot be written (the capture stops), `file {json}` (frames and files written) and `end N` last.
 * SIGINT or SIGTERM stop the capture; the process flushes what it holds and exits.
 */
import * as net from 'node:net';
import * as os from 'node:os';
import { ioReason } from '../common/io-error';
import { LiveCaptureError, openLiveCapture, type LiveCapture } from './live';
import { LiveCaptureFile } from './live-file';
import type { DrainChildArgs } from './live-drain';
import type { CaptureFrame } from './types';

/** pcap, microsecond stamps (cap's arrival stamps are whole microseconds), little-endian. */
const PCAP_USEC_MAGIC = 0xa1b2c3d4;
const RECORD_HEADER = 16;

function control(line: string): void {
  process.stderr.write(`${line}\n`);
}

function main(): void {
  const args = JSON.parse(process.argv[2] ?? '{}') as DrainChildArgs;
  // The kernel's ring in front of this process holds only a few hundred packets on lo (see live-drain.ts): on a busy
  // machine the scheduler's delay decides what is lost. A little more priority than the analysis, where allowed
  // (root, or CAP_SYS_NICE); a user without it keeps the normal priority.
  try {
    os.setPriority(0, args.priority);
  } catch {
    // not permitted: keep the normal priority
  }
  let capture: LiveCapture;
  try {
    capture = openLiveCapture({ device: args.device, filter: args.filter, snaplen: args.snaplen, ...(args.bufferSize !== undefined ? { bufferSize: args.bufferSize } : {}) });
  } catch (err) {
    const e = err instanceof LiveCaptureError ? { kind: err.kind, message: err.message } : { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
    control(`error ${JSON.stringify(e)}`);
    process.exitCode = 2;
    return;
  }
  let file: LiveCaptureFile | undefined;
  let fileFailed = false;
  const fileFailure = (err: unknown) => {
    if (fileFailed) return;
    fileFailed = true;
    control(`fileerror ${JSON.stringify({ message: ioReason(err), frames: file?.frames ?? 0 })}`);
    file?.abort();
    capture.stop();
  };
  if (args.file) {
    try {
      file = new LiveCaptureFile(args.file.path, {
        linkType: capture.linkType,
        snaplen: capture.snaplen,
        nanosecond: false,
        format: args.file.format,
        ...(args.file.ring ? { ring: args.file.ring } : {}),
        onError: fileFailure,
      });
    } catch (err) {
      control(`error ${JSON.stringify({ kind: 'file', message: ioReason(err) })}`);
      capture.stop();
      process.exitCode = 2;
      return;
    }
  }
  let captured = 0;
  // fd 3 as a non-blocking stream (process.stdout would write a pipe synchronously on Linux and stall the drain)
  const out = new net.Socket({ fd: 3, readable: false, writable: true });
  out.on('error', () => capture.stop());
  const limits = args.limits;
  let dropped = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  // packets in writes not yet taken by the pipe
  const inFlight: number[] = [];
  let inFlightPackets = 0;
  let dropFrom: string | undefined;
  let dropTo: string | undefined;
  let batchDrops = 0;
  let flushScheduled = false;
  let ended = false;

  const header = Buffer.alloc(24);
  header.writeUInt32LE(PCAP_USEC_MAGIC, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(capture.snaplen, 16);
  header.writeUInt32LE(capture.linkType, 20);
  out.write(header);

  const flush = () => {
    flushScheduled = false;
    if (batchDrops > 0) {
      control(`drop ${batchDrops} ${dropFrom} ${dropTo}`);
      batchDrops = 0;
      dropFrom = dropTo = undefined;
    }
    if (batch.length === 0) return;
    const packets = batch.length / 2;
    inFlight.push(packets);
    inFlightPackets += packets;
    out.write(Buffer.concat(batch, batchBytes), () => {
      inFlightPackets -= inFlight.shift() ?? 0;
    });
    batch = [];
    batchBytes = 0;
  };
  const scheduleFlush = () => {
    if (flushScheduled) return;
    flushScheduled = true;
    // after libpcap's dispatch loop has handed over every packet that was waiting: one write per burst
    setImmediate(flush);
  };

  capture.onFrame((f: CaptureFrame) => {
    if (args.count !== undefined && captured >= args.count) return;
    captured++;
    if (file && !fileFailed) {
      try {
        file.write(f);
      } catch (err) {
        fileFailure(err);
      }
    }
    if (args.count !== undefined && captured >= args.count) capture.stop();
    const pending = batch.length / 2;
    if (inFlightPackets + pending >= limits.maxPackets || out.writableLength + batchBytes + RECORD_HEADER + f.capturedLength > limits.maxBytes) {
      // the parent is this far behind: drop here, counted, rather than queue without bound
      dropped++;
      batchDrops++;
      const t = `${f.tsSec}.${String(f.tsNsec).padStart(9, '0')}`;
      dropFrom ??= t;
      dropTo = t;
      scheduleFlush();
      return;
    }
    const h = Buffer.allocUnsafe(RECORD_HEADER);
    h.writeUInt32LE(f.tsSec, 0);
    h.writeUInt32LE(Math.floor(f.tsNsec / 1000), 4);
    h.writeUInt32LE(f.capturedLength, 8);
    h.writeUInt32LE(f.originalLength, 12);
    batch.push(h, f.data);
    batchBytes += RECORD_HEADER + f.capturedLength;
    if (pending + 1 >= limits.batchPackets || batchBytes >= limits.batchBytes) flush();
    else scheduleFlush();
  });
  capture.onStop(() => {
    if (ended) return;
    ended = true;
    flush();
    if (file && !fileFailed) {
      try {
        file.close();
      } catch (err) {
        fileFailure(err);
      }
    }
    if (file && !fileFailed) control(`file ${JSON.stringify({ frames: file.frames, files: file.files, current: file.current })}`);
    // the packets it dropped, and every one it captured: the analysis side knows from these how many are still queued
    control(`end ${dropped} ${captured}`);
    // exit once the pipe has taken everything (the parent reads to the end)
    out.end(() => setImmediate(() => process.exit(0)));
  });
  const stop = () => capture.stop();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
  const now = capture.now();
  control(`open ${JSON.stringify({ linkType: capture.linkType, linkTypeName: capture.linkTypeName, snaplen: capture.snaplen, startSec: now.tsSec, startNsec: now.tsNsec })}`);
}

main();
