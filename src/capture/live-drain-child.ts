/**
 * The capture process of `keyscope live`: a child process that owns the capture — the `cap` addon, or a capture tool
 * (`--engine tcpdump` or `--engine dumpcap`), which it starts tied to itself and whose pcap stream it reads as fast
 * as the tool writes it —
 * does nothing but take the packets, and writes them as a pcap stream to fd 3, batched (one write per burst).
 * See live-drain.ts for why, and for the parent's side.
 *
 * The queue towards the parent never makes the capture wait (spool.ts): packets written and not yet taken by the
 * pipe count against a small in-memory bound (DrainLimits maxPackets/maxBytes); past it, batches go to an on-disk
 * spool (unlinked at once, a bounded ring) and are fed to the pipe from there as the analysis catches up, in capture
 * order. Only a batch the full spool refuses is dropped here, counted, and reported with its time span on standard
 * error ("drop N SEC.NSEC SEC.NSEC") — a slow parent never turns into unbounded memory or silent loss.
 *
 * With `-w` (args.file) this process also writes the capture file, as dumpcap does: every packet captured goes to
 * the file before the queue towards the analysis is considered, so packets the queue drops (a slow analysis) are
 * still in the file. The file is a LiveCaptureFile (growing in place, flushed every LIVE_FILE_FLUSH_MS, ring buffer,
 * pcap or pcapng), so it stays valid after any end of this process, kill -9 included.
 *
 * Control lines on standard error: `open {json}` or `error {json}` once, `drop …` as drops happen, `queue …` (how far
 * behind the analysis is) every DRAIN_QUEUE_REPORT_MS (args.reportMs) while it changes, `fileerror {json}` when the file cannot be
 * written (the capture stops), `spoolerror {json}` once if the spool fails, `file {json}` (frames and files written)
 * and `end N M` (dropped, captured) when capturing stops; the process exits once the spool and the pipe are empty.
 * With a tool: `tool LINE` for each line the tool writes on its standard error (its counters, its errors),
 * `spawnerror {json}` when it cannot be started, `exit {json}` when it ended before its pcap header.
 * SIGINT or SIGTERM stop the capture; SIGUSR1 is passed on to the tool (tcpdump answers with its counters).
 */
import type { ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import { ioReason } from '../common/io-error';
import { eachLine } from '../common/lines';
import { killGroup, spawnTied } from '../common/tied-process';
import { LiveCaptureError, openLiveCapture } from './live';
import { LiveCaptureFile } from './live-file';
// types only: the capture process loads no more of the analysis side than it needs
import type { DrainChildArgs } from './live-drain';
import { PCAP_GLOBAL_HEADER_LENGTH, PCAP_RECORD_HEADER_LENGTH, parsePcapHeader } from './pcap';
import { writePcapGlobalHeader, writePcapRecordHeader } from './pcap-writer';
import { CaptureParser } from './parser';
import { DiskSpool } from './spool';
import type { CaptureFrame } from './types';


/** The batch buffer's first size; it grows (doubling) to the largest batch (DrainLimits.batchBytes and a record). */
const BATCH_INITIAL_BYTES = 64 * 1024;

/**
 * Standard error as a non-blocking stream, as fd 3: Node writes a pipe on fd 2 synchronously, so an analysis slow to
 * read its control lines (a long synchronous stretch in the parent) would stall the capture with them.
 */
let ctl: net.Socket | undefined;

/** Open the control stream (once, at the start of main()). */
function openControl(): void {
  try {
    ctl = new net.Socket({ fd: 2, readable: false, writable: true });
    ctl.on('error', () => undefined);
    // pending writes keep the process alive; an idle control stream does not
    ctl.unref();
  } catch {
    // not a pipe or socket (run by hand with standard error on a file): written synchronously
    ctl = undefined;
  }
}

function control(line: string): void {
  if (ctl) ctl.write(`${line}\n`);
  else process.stderr.write(`${line}\n`);
}

/** A stamp as the `drop` and `queue` lines write it: SEC.NSEC, nine digits after the point. */
function stamp(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

/** Exit once every control line written so far is out. */
function exitAfterControl(code: number): void {
  if (ctl) ctl.end(() => process.exit(code));
  else process.exit(code);
}

/** What the queue needs of a capture: its packets, its end, a way to stop it. */
interface Source {
  linkType: number;
  linkTypeName: string;
  snaplen: number;
  /** Stamps in nanoseconds (tcpdump's kernel stamps) rather than whole microseconds (cap, dumpcap's pcap stream). */
  nanosecond: boolean;
  onFrame(h: (f: CaptureFrame) => void): void;
  /** Called once when no frame will follow. */
  onStop(h: () => void): void;
  stop(): void;
  /** The capture's clock at the start (the open line). */
  now(): { tsSec: number; tsNsec: number };
}

function openCap(args: DrainChildArgs): Source | undefined {
  try {
    // copyFrames false: every frame is copied at once here (the -w file's writer, the batch), so the engine's own copy
    // of each would be wasted
    const capture = openLiveCapture({ device: args.device, filter: args.filter, snaplen: args.snaplen, copyFrames: false, ...(args.bufferSize !== undefined ? { bufferSize: args.bufferSize } : {}) });
    return {
      linkType: capture.linkType,
      linkTypeName: capture.linkTypeName,
      snaplen: capture.snaplen,
      nanosecond: false,
      onFrame: (h) => capture.onFrame(h),
      onStop: (h) => capture.onStop(h),
      stop: () => capture.stop(),
      now: () => capture.now(),
    };
  } catch (err) {
    const e = err instanceof LiveCaptureError ? { kind: err.kind, message: err.message } : { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
    control(`error ${JSON.stringify(e)}`);
    exitAfterControl(2);
    return undefined;
  }
}

/**
 * The capture tool (tcpdump, dumpcap), tied to this process, its pcap stream read as fast as it comes (the tool never
 * blocks on keyscope's analysis: the queue and the spool are here), split into records; its standard error passed on
 * line by line.
 */
function openTool(args: DrainChildArgs, ready: (s: Source) => void): void {
  const t = args.tool as NonNullable<DrainChildArgs['tool']>;
  let child: ChildProcess;
  try {
    child = spawnTied(t.program, t.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    control(`spawnerror ${JSON.stringify({ code: (err as NodeJS.ErrnoException).code, message: ioReason(err) })}`);
    exitAfterControl(2);
    return;
  }
  child.once('error', (err: NodeJS.ErrnoException) => {
    control(`spawnerror ${JSON.stringify({ code: err.code, message: err.message })}`);
    exitAfterControl(2);
  });
  // a last line without its line end is passed on too, when the stream ends (before the 'close' below)
  const relay = (line: string) => control(`tool ${line}`);
  if (child.stderr) eachLine(child.stderr, relay, relay);
  const frameHandlers: Array<(f: CaptureFrame) => void> = [];
  const stopHandlers: Array<() => void> = [];
  let source: Source | undefined;
  /** The pcap global header's bytes, until all of them are in. */
  let head: Buffer | undefined;
  /** The tool's stream cannot be read (not pcap, or a record the reader refuses): the tool is stopped, the rest ignored. */
  let unreadable = false;
  const unreadableStream = () => {
    unreadable = true;
    killGroup(child, 'SIGINT');
  };
  // the records as the capture file reader splits them; a frame may live in the reader's reused carry buffer, and
  // everything here copies it at once (file and batch)
  const records = new CaptureParser((f) => {
    for (const fh of frameHandlers) fh(f);
  });
  const stdout = child.stdout as NodeJS.ReadableStream;
  stdout.on('data', (chunk: Buffer) => {
    if (unreadable) return;
    if (!source) {
      head = head === undefined ? chunk : Buffer.concat([head, chunk]);
      if (head.length < PCAP_GLOBAL_HEADER_LENGTH) return;
      const header = parsePcapHeader(head, 0);
      if (header === undefined) {
        // not a pcap stream: ends as the tool ending before its header does (the 'close' below)
        unreadableStream();
        return;
      }
      source = {
        linkType: header.linkType,
        linkTypeName: '',
        snaplen: header.snaplen,
        nanosecond: header.nanosecond,
        onFrame: (h) => frameHandlers.push(h),
        onStop: (h) => stopHandlers.push(h),
        stop: () => killGroup(child, 'SIGINT'),
        now: () => {
          const ms = Date.now();
          return { tsSec: Math.floor(ms / 1000), tsNsec: (ms % 1000) * 1e6 };
        },
      };
      ready(source);
      // the reader reads the header again: it starts at the stream's first byte
      chunk = head;
      head = undefined;
    }
    if (!records.push(chunk)) unreadableStream();
  });
  child.once('close', (code, signal) => {
    records.abandon();
    if (!source) {
      // the tool ended before its pcap header: its standard error (passed on) says why
      control(`exit ${JSON.stringify({ code, signal })}`);
      exitAfterControl(2);
      return;
    }
    for (const h of stopHandlers.splice(0)) h();
  });
  process.on('SIGUSR1', () => {
    try {
      child.kill('SIGUSR1');
    } catch {
      // the tool is gone: its end is on the way
    }
  });
}

function main(): void {
  openControl();
  const args = JSON.parse(process.argv[2] ?? '{}') as DrainChildArgs;
  // The kernel's ring in front of this process holds only a few hundred packets on lo (see live-drain.ts): on a busy
  // machine the scheduler's delay decides what is lost. A little more priority than the analysis, where allowed
  // (root, or CAP_SYS_NICE); a user without it keeps the normal priority.
  try {
    os.setPriority(0, args.priority);
  } catch {
    // not permitted: keep the normal priority
  }
  // until the capture is open, a stop request ends the process (as before the capture existed)
  if (args.tool) openTool(args, (s) => run(args, s));
  else {
    const s = openCap(args);
    if (s) run(args, s);
  }
}

function run(args: DrainChildArgs, capture: Source): void {
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
        nanosecond: capture.nanosecond,
        format: args.file.format,
        ...(args.file.ring ? { ring: args.file.ring } : {}),
        onError: fileFailure,
      });
    } catch (err) {
      control(`error ${JSON.stringify({ kind: 'file', message: ioReason(err) })}`);
      capture.stop();
      exitAfterControl(2);
      return;
    }
  }
  let captured = 0;
  // fd 3 as a non-blocking stream (process.stdout would write a pipe synchronously on Linux and stall the drain)
  const out = new net.Socket({ fd: 3, readable: false, writable: true });
  out.on('error', () => capture.stop());
  const limits = args.limits;
  const spool = new DiskSpool({ dir: args.spool.dir, capacity: args.spool.capacity, freeMargin: args.spool.freeMargin });
  let spoolErrorSaid = false;
  let dropped = 0;
  /** The batch being built: pcap records (header and data) one after another, in a buffer reused batch after batch. */
  let batch = Buffer.allocUnsafeSlow(BATCH_INITIAL_BYTES);
  let batchBytes = 0;
  let batchPackets = 0;
  /** Stamp of the batch's first packet (while batchPackets > 0); its last is the newest packet's. */
  let batchFromSec = 0;
  let batchFromNsec = 0;
  // packets in writes not yet taken by the pipe
  let inFlightPackets = 0;
  let flushScheduled = false;
  let ended = false;
  let closing = false;
  /** Stamps are kept as numbers (seconds, nanoseconds), and written as text only in a `drop` or `queue` line. */
  let newestSec = 0;
  let newestNsec = 0;
  /** Stamp of the oldest packet in the spool (of the first spooled since it was last empty). */
  let spoolFromSec: number | undefined;
  let spoolFromNsec = 0;
  /**
   * Batches dropped one after another make one `drop` line, written when a batch is queued again (or at the next
   * report): its span is exactly the dropped packets', and a full spool does not write a line per batch.
   */
  let dropRun: { packets: number; fromSec: number; fromNsec: number; toSec: number; toNsec: number } | undefined;
  const dropLine = () => {
    if (!dropRun) return;
    control(`drop ${dropRun.packets} ${stamp(dropRun.fromSec, dropRun.fromNsec)} ${stamp(dropRun.toSec, dropRun.toNsec)}`);
    dropRun = undefined;
  };

  const header = Buffer.allocUnsafe(PCAP_GLOBAL_HEADER_LENGTH);
  writePcapGlobalHeader(header, 0, capture);
  out.write(header);

  /** Whether `packets` more in `bytes` fit the in-memory part. */
  const within = (packets: number, bytes: number) => inFlightPackets + packets <= limits.maxPackets && out.writableLength + bytes <= limits.maxBytes;
  /** … or the part is empty (a spooled entry larger than the bound still goes, alone). */
  const fits = (packets: number, bytes: number) => (inFlightPackets === 0 && out.writableLength === 0) || within(packets, bytes);
  const send = (data: Buffer, packets: number) => {
    inFlightPackets += packets;
    out.write(data, () => {
      inFlightPackets -= packets;
      pump();
    });
  };
  /** Feed the pipe from the spool, oldest first, as far as the in-memory bound allows. */
  const pump = () => {
    for (let e = spool.peek(); e && fits(e.packets, e.bytes); e = spool.peek()) {
      const got = spool.take();
      if (!got) {
        // the spool cannot be read back: what it holds is lost — counted, over the span since the oldest spooled
        const lost = spool.discard();
        dropped += lost;
        dropLine();
        const newest = stamp(newestSec, newestNsec);
        control(`drop ${lost} ${spoolFromSec !== undefined ? stamp(spoolFromSec, spoolFromNsec) : newest} ${newest}`);
        break;
      }
      send(got.data, got.packets);
    }
    if (spool.empty) spoolFromSec = undefined;
    spoolFailure();
    if (ended && spool.empty && !closing) finish();
  };
  const spoolFailure = () => {
    if (spool.error === undefined || spoolErrorSaid) return;
    spoolErrorSaid = true;
    control(`spoolerror ${JSON.stringify({ message: spool.error })}`);
  };
  const flush = () => {
    flushScheduled = false;
    if (batchPackets === 0) return;
    // the batch buffer is built again from its start at the next packet: send() gets a copy (the socket keeps it
    // queued), the spool writes it at once, a drop keeps nothing
    const data = batch.subarray(0, batchBytes);
    const packets = batchPackets;
    const fromSec = batchFromSec;
    const fromNsec = batchFromNsec;
    batchBytes = 0;
    batchPackets = 0;
    if (spool.empty && fits(packets, data.length)) {
      dropLine();
      send(Buffer.from(data), packets);
    } else if (spool.append(data, packets)) {
      dropLine();
      if (spoolFromSec === undefined) {
        spoolFromSec = fromSec;
        spoolFromNsec = fromNsec;
      }
      pump();
    } else {
      // the spool is full (or failed): the analysis is this far behind, drop here, counted, rather than wait
      dropped += packets;
      if (dropRun) {
        dropRun.packets += packets;
        dropRun.toSec = newestSec;
        dropRun.toNsec = newestNsec;
      } else dropRun = { packets, fromSec, fromNsec, toSec: newestSec, toNsec: newestNsec };
      spoolFailure();
    }
  };
  const scheduleFlush = () => {
    if (flushScheduled) return;
    flushScheduled = true;
    // after libpcap's dispatch loop has handed over every packet that was waiting: one write per burst
    setImmediate(flush);
  };

  capture.onFrame((f: CaptureFrame) => {
    if (ended || (args.count !== undefined && captured >= args.count)) return;
    captured++;
    if (file && !fileFailed) {
      try {
        file.write(f);
      } catch (err) {
        fileFailure(err);
      }
    }
    if (args.count !== undefined && captured >= args.count) capture.stop();
    const rec = PCAP_RECORD_HEADER_LENGTH + f.capturedLength;
    // a batch never holds more than the in-memory part has room for: a batch that does not fit goes to the spool
    if (batchPackets > 0 && spool.empty && !within(batchPackets + 1, batchBytes + rec)) flush();
    if (batch.length < batchBytes + rec) {
      const larger = Buffer.allocUnsafeSlow(Math.max(batchBytes + rec, batch.length * 2));
      batch.copy(larger, 0, 0, batchBytes);
      batch = larger;
    }
    writePcapRecordHeader(batch, batchBytes, capture.nanosecond, f.tsSec, f.tsNsec, f.capturedLength, f.originalLength);
    // copied at once: the frame's data may be the engine's buffer, valid only during this call
    batch.set(f.data, batchBytes + PCAP_RECORD_HEADER_LENGTH);
    batchBytes += rec;
    batchPackets++;
    if (batchPackets === 1) {
      batchFromSec = f.tsSec;
      batchFromNsec = f.tsNsec;
    }
    newestSec = f.tsSec;
    newestNsec = f.tsNsec;
    if (batchPackets >= limits.batchPackets || batchBytes >= limits.batchBytes) flush();
    else scheduleFlush();
  });

  // how far behind the analysis is: what was captured, dropped and spooled, and the newest stamp
  let said = '';
  const report = () => {
    dropLine();
    const line = `queue ${captured} ${dropped} ${spool.bytes} ${spool.peakBytes} ${spool.totalPackets} ${stamp(newestSec, newestNsec)}`;
    if (line !== said) control(line);
    said = line;
  };
  const reporter = setInterval(report, args.reportMs);

  const finish = () => {
    closing = true;
    report();
    clearInterval(reporter);
    spool.close();
    // exit once the pipe has taken everything (the parent reads to the end)
    out.end(() => setImmediate(() => exitAfterControl(0)));
  };
  capture.onStop(() => {
    if (ended) return;
    flush();
    ended = true;
    if (file && !fileFailed) {
      try {
        file.close();
      } catch (err) {
        fileFailure(err);
      }
    }
    if (file && !fileFailed) control(`file ${JSON.stringify({ frames: file.frames, files: file.files, current: file.current })}`);
    report();
    // the packets it dropped, and every one it captured: the analysis side knows from these how many are still queued
    control(`end ${dropped} ${captured}`);
    // the spool is emptied into the pipe first (the drain after the first Ctrl-C)
    pump();
  });
  const stop = () => capture.stop();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
  const now = capture.now();
  control(`open ${JSON.stringify({ linkType: capture.linkType, linkTypeName: capture.linkTypeName, snaplen: capture.snaplen, startSec: now.tsSec, startNsec: now.tsNsec })}`);
}

main();
