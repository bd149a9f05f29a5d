/**
 * Live capture with the optional `cap` addon (libpcap), producing the same CaptureFrame records as the file
 * readers so the same pipeline runs on it.
 *
 * The addon's traps, and what is done about each (see ../shared/reference/tools.md "cap 0.2.1"):
 * - It holds a raw pointer to the JS buffer packets are copied into: the buffer is kept referenced by the open
 *   capture and by a module-level registry until the capture is closed, so GC can never free it under the addon.
 * - Each packet is copied out of that buffer synchronously in the `packet` event (the next packet overwrites it,
 *   and the pipeline may hold frames back, e.g. an HTTP request waiting for its response).
 * - No kernel timestamps reach JS: frames are stamped on arrival with process.hrtime.bigint(), mapped to wall
 *   time once at start, so times never go backwards even when the wall clock is stepped.
 * - No Cap that was ever opened may be garbage collected. The addon never uv_close()s its poll handle, so
 *   collecting a closed Cap frees memory still linked into libuv's handle queue (seen as `free(): invalid
 *   pointer` at exit); and a Cap whose open() failed aborts in its destructor (it stops a poll handle that was
 *   never initialised). Every handle is therefore parked in a module-level list for the life of the process (a
 *   few hundred bytes each, plus the pcap handle of a failed open). A filter is checked with a small probe
 *   capture first, so a bad filter leaves only the probe's small socket behind.
 * - Unknown interfaces are refused before libpcap sees them (libpcap would print a warning of its own).
 * - There is no drop counter: see live-stats.ts for the loss estimate.
 */
import * as fs from 'node:fs';
import { escapeText } from '../common/escape';
import type { Problem } from '../common/problem';
import { captureProblem } from './problems';
import type { PacketTime } from '../common/time';
import { LIVE_RATE_WINDOW_SECONDS, RateWindow, countLiveFrame, liveStats, newLiveCounters, type CaptureLossWindow } from './live-stats';
import { LinkType, type CaptureFrame, type FrameHandler } from './types';
import { FrameArena } from './frame-arena';

/** The part of cap's Cap object keyscope uses. */
export interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): boolean;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

export interface CapDevice {
  name: string;
  description?: string;
  addresses?: Array<{ addr?: string }>;
  flags?: string;
}

/** The part of the `cap` module keyscope uses. */
export interface CapModule {
  Cap: { new (): CapHandle; deviceList?: () => CapDevice[] };
  deviceList?: () => CapDevice[];
}

export type LiveCaptureErrorKind = 'unavailable' | 'permission' | 'no-such-device' | 'bad-filter' | 'unsupported-link' | 'failed';

/** Why a live capture could not start. `message` is one line, ready to print. */
export class LiveCaptureError extends Error {
  constructor(
    readonly kind: LiveCaptureErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'LiveCaptureError';
  }
}

/**
 * Environment variable naming the module to load instead of `cap` (a path or package name). Tests set it to a
 * module that does not exist to exercise the "live capture is not available" path in a child process.
 */
export const CAP_MODULE_ENV = 'KEYSCOPE_CAP_MODULE';

/** How to get live capture working, printed when `cap` cannot be loaded. */
export const LIVE_CAPTURE_HELP = [
  'live capture needs the optional `cap` module (libpcap), which is not usable here.',
  'To enable it, in the keyscope folder run `bash scripts/install-system-deps.sh` (libpcap-dev, then the addon),',
  'or install libpcap-dev yourself and run `npm install` there (npm left `cap` out when libpcap was missing).',
  'Without it, let tcpdump capture: keyscope live --engine tcpdump -i IFACE (kernel timestamps too),',
  'or pipe a capture in: tcpdump -U -w - -i IFACE [filter] | keyscope dissect -',
].join('\n');

/** cap's link type names → LINKTYPE_* numbers. */
const LINK_TYPES: Readonly<Record<string, number>> = {
  NULL: LinkType.NULL,
  ETHERNET: LinkType.ETHERNET,
  RAW: LinkType.RAW,
  LINUX_SLL: LinkType.LINUX_SLL,
  LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
  IEEE802_11_RADIO: 127,
};

/** LINKTYPE number for a link type string from cap (`ETHERNET`, `LINKTYPE_LINUX_SLL`, `Unknown linktype 276`, …). */
export function linkTypeFromCap(name: string): number | undefined {
  const known = LINK_TYPES[name] ?? LINK_TYPES[name.replace(/^(LINKTYPE|DLT)_/, '')];
  if (known !== undefined) return known;
  // cap names only a few DLTs; libpcap's DLT and LINKTYPE numbers agree for the others keyscope decodes
  const m = /^Unknown linktype (\d+)$/.exec(name);
  if (m) {
    const n = Number(m[1]);
    if (n === LinkType.LINUX_SLL2 || n === LinkType.IPV4 || n === LinkType.IPV6) return n;
  }
  return undefined;
}

const DECODED_LINK_TYPES: ReadonlySet<number> = new Set(Object.values(LinkType));

let cachedCap: CapModule | LiveCaptureError | undefined;

/**
 * Load `cap` lazily (offline analysis never touches it). Returns the module, or an 'unavailable' error whose
 * message says how to enable live capture. The result is cached.
 */
export function loadCap(): CapModule | LiveCaptureError {
  if (cachedCap !== undefined) return cachedCap;
  const name = process.env[CAP_MODULE_ENV] || 'cap';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(name) as CapModule;
    if (typeof mod?.Cap !== 'function') throw new Error(`module ${name} has no Cap class`);
    cachedCap = mod;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'MODULE_NOT_FOUND'
        ? /cap\.node/.test(String(e.message))
          ? 'the cap module is installed but its native part was not built'
          : 'the cap module is not installed'
        : `the cap module failed to load (${firstLine(String(e.message))})`;
    cachedCap = new LiveCaptureError('unavailable', `${why}: ${LIVE_CAPTURE_HELP}`);
  }
  return cachedCap;
}

export interface LiveCaptureOptions {
  /** Interface name as libpcap knows it (`eth0`, `lo`, `any`). */
  device: string;
  /** BPF filter expression (tcpdump syntax); empty or absent captures everything. */
  filter?: string;
  /** Bytes kept per packet, 1…65535 (cap's snaplen is fixed at 65535; a smaller value cuts frames here). */
  snaplen?: number;
  /** Kernel capture buffer in bytes (default 32 MiB: measured to keep up with ~118 k small packets/s on lo). */
  bufferSize?: number;
  /** The cap module to use instead of loading it (tests, or a caller that loaded it already). */
  cap?: CapModule;
  /**
   * Copy each frame out of the addon's buffer (default true). false: a frame's `data` is a view of that buffer, valid
   * only during the frame handler (the next packet overwrites it) — for a handler that copies at once (the capture
   * process, live-drain-child.ts).
   */
  copyFrames?: boolean;
}

export interface LiveCaptureStats {
  /** Frames delivered. */
  packets: number;
  /** Bytes on the wire (original lengths). */
  bytes: number;
  /** Bytes kept (captured lengths). */
  capturedBytes: number;
  /** Frames cut by the snaplen. */
  truncatedFrames: number;
  /** When the capture started (wall time at open). */
  startTime: PacketTime;
  /** The newest frame's timestamp. */
  lastTime?: PacketTime;
  /** Seconds since the capture started (until it stopped, once stopped). */
  elapsedSeconds: number;
  /** Over the last few seconds. */
  packetsPerSecond: number;
  bytesPerSecond: number;
}

export const DEFAULT_LIVE_SNAPLEN = 65535;
export const DEFAULT_LIVE_BUFFER_SIZE = 32 * 1024 * 1024;
const PROBE_BUFFER_SIZE = 256 * 1024;

/** Which clock stamped a live capture's frames, and how finely. */
export interface LiveClockInfo {
  /** The capture engine: `cap` (libpcap in process) or `tcpdump`. */
  engine: string;
  /** One phrase for the user: where the stamps come from. */
  description: string;
  /** A few words for a screen header. */
  short: string;
  /** The stamps have nanosecond resolution (else microseconds). */
  nanosecond: boolean;
}

export const CAP_CLOCK: LiveClockInfo = {
  engine: 'cap',
  short: 'arrival in keyscope, µs',
  description: "arrival in keyscope, microseconds (cap passes no kernel timestamps: later than the kernel's by the event-loop delay; --engine tcpdump has them)",
  nanosecond: false,
};

/** Open captures: they hold the buffer the addon writes into. */
const openCaptures = new Set<LiveCapture>();
/** Every Cap ever opened, never released (see the file comment). */
const parkedHandles: CapHandle[] = [];
/** Buffers given to an open() that failed: the addon may still hold their address. */
const parkedBuffers: Buffer[] = [];

/**
 * What a consumer of frames that arrive over time needs (a dashboard drives a live capture, or a replayed file,
 * through this): subscribe, stop, and learn when it ended.
 */
export interface FrameSource {
  onFrame(handler: FrameHandler): () => void;
  stop(): void;
  readonly stopped: boolean;
  /** Resolves when the source ends (stopped, or the end of a file); rejects when a handler threw. */
  readonly done: Promise<void>;
}

/** What `keyscope live` needs from a capture engine (LiveCapture: cap in process; TcpdumpCapture: tcpdump). */
/** Add `handler` to `list`; returns a function that removes it again (the onFrame contract of every live source). */
export function addHandler<H>(list: H[], handler: H): () => void {
  list.push(handler);
  return () => {
    const i = list.indexOf(handler);
    if (i >= 0) list.splice(i, 1);
  };
}

export interface LiveSource extends FrameSource {
  /** Which clock stamps the frames. */
  readonly clock: LiveClockInfo;
  readonly device: string;
  readonly filter: string;
  readonly linkType: number;
  /** The engine's name for the link type (`ETHERNET`, `LINKTYPE_LINUX_SLL`, …). */
  readonly linkTypeName: string;
  readonly snaplen: number;
  readonly stats: LiveCaptureStats;
  /** The capture's clock now: what a frame arriving now would be stamped with. */
  now(): PacketTime;
  /** Called once when the capture has stopped and no frame will follow. */
  onStop(handler: () => void): void;
  /** Packets the engine counted as dropped, once stopped; undefined when it cannot count them (cap). */
  readonly dropped: number | undefined;
  /** Packets keyscope itself dropped between its capture thread and its analysis (a bounded queue overflowed). */
  readonly queueDropped?: number;
  /** Packets captured but not analysed because they were still queued when the capture was stopped without drain. */
  readonly notAnalysed?: number;
  /**
   * Packets captured and not yet handed to the analysis, where the engine can tell (the cap engine once its capture
   * process has stopped capturing: a drain after Ctrl-C shows it going down); undefined: unknown.
   */
  readonly queued?: number | undefined;
  /**
   * How far the analysis is behind the capture, where the engine can tell (the capture process of `cap` and
   * `tcpdump`: its memory queue and disk spool, live-drain-child.ts); undefined: unknown or not yet reported.
   */
  readonly backlog?: LiveBacklog | undefined;
  /**
   * Seconds after a loss the engine may report its window (tcpdump's counters are asked for once a stats interval):
   * the analysis holds its findings this much longer so the window still qualifies them. Absent: at once.
   */
  readonly lossLatencySeconds?: number;
  /** Spans of capture time in which packets were lost, as the engine learns of them (absent: it never learns). */
  onLoss?(handler: (w: CaptureLossWindow) => void): () => void;
  /**
   * Stop capturing. By default no frame is delivered after this (-c N means N frames). With `drain`, the frames the
   * engine had already captured (queued towards the analysis) are still delivered before the capture ends, as tcpdump
   * writes what it has read when interrupted; a later plain stop() discards the rest.
   */
  stop(options?: LiveStopOptions): void;
}

/** How far the analysis is behind the capture (LiveSource.backlog). */
export interface LiveBacklog {
  /** Frames captured and not yet handed to the analysis (queued in memory, spooled on disk, in the pipe). */
  frames: number;
  /** Bytes in the capture process's disk spool now, and at most so far. */
  spoolBytes: number;
  peakSpoolBytes: number;
  /** Frames that went through the spool so far. */
  spooledFrames: number;
  /** Capture time between the newest frame captured and the newest analysed. */
  seconds: number;
}

export interface LiveStopOptions {
  drain?: boolean;
}

/**
 * An open live capture. Frames go to the handlers added with `onFrame`, synchronously, in arrival order;
 * `frame.data` is a copy the handler may keep. A handler that throws stops the capture and rejects `done` (the
 * handlers after it miss that frame).
 */
export class LiveCapture implements LiveSource {
  /** Which clock stamps the frames (shown to the user, see LiveClockInfo). */
  readonly clock: LiveClockInfo = CAP_CLOCK;
  readonly device: string;
  readonly filter: string;
  readonly linkType: number;
  /** cap's own name for the link type (`ETHERNET`, `LINKTYPE_LINUX_SLL`, …). */
  readonly linkTypeName: string;
  readonly snaplen: number;
  /** Resolves when the capture stops (stop() or a handler error, which rejects it). */
  readonly done: Promise<void>;
  private readonly handle: CapHandle;
  /** The buffer the addon writes into: referenced here for the capture's whole life (see the file comment). */
  private readonly buffer: Buffer;
  private readonly handlers: FrameHandler[] = [];
  private readonly stopHandlers: Array<() => void> = [];
  private readonly startMono: bigint;
  private readonly startWallNs: bigint;
  private lastNs = 0n;
  /** Where frames are copied, out of Node's shared Buffer pool (frame-arena.ts); undefined: frames are not copied. */
  private readonly frameArena: FrameArena | undefined;
  private stopMono: bigint | undefined;
  private readonly window = new RateWindow(LIVE_RATE_WINDOW_SECONDS);
  private frameNumber = 0;
  private readonly st = newLiveCounters();
  private lastTime: PacketTime | undefined;
  private resolveDone!: () => void;
  private rejectDone!: (err: unknown) => void;
  private failure: unknown;
  /** True while a frame is being handed to the handlers. */
  private delivering = false;

  /** Use openLiveCapture(). */
  constructor(handle: CapHandle, buffer: Buffer, opts: { device: string; filter: string; linkType: number; linkTypeName: string; snaplen: number; copyFrames?: boolean }) {
    this.handle = handle;
    this.frameArena = opts.copyFrames === false ? undefined : new FrameArena();
    this.buffer = buffer;
    this.device = opts.device;
    this.filter = opts.filter;
    this.linkType = opts.linkType;
    this.linkTypeName = opts.linkTypeName;
    this.snaplen = opts.snaplen;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // a caller that only awaits `done` later must not get an unhandled rejection in between
    this.done.catch(() => undefined);
    this.startWallNs = BigInt(Date.now()) * 1_000_000n;
    this.startMono = process.hrtime.bigint();
    openCaptures.add(this);
    handle.on('packet', (nbytes, truncated) => this.packet(nbytes, truncated));
  }

  get stopped(): boolean {
    return this.stopMono !== undefined;
  }

  /** cap has no drop counter. */
  get dropped(): number | undefined {
    return undefined;
  }

  /** Add a frame handler; returns a function that removes it. */
  onFrame(handler: FrameHandler): () => void {
    return addHandler(this.handlers, handler);
  }

  /** Called once when the capture stops (immediately if it already has). */
  onStop(handler: () => void): void {
    if (this.stopped) handler();
    else this.stopHandlers.push(handler);
  }

  /**
   * Stop capturing. Safe to call more than once and from inside a frame handler: the frame being delivered still
   * reaches every handler, no frame follows, and the stop handlers and `done` run after that delivery.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopMono = process.hrtime.bigint();
    this.handle.close();
    this.handle.removeAllListeners('packet');
    // The addon finishes its dispatch loop after close() from inside a packet event before releasing libpcap;
    // keep the buffer registered until the next turn of the event loop.
    setImmediate(() => openCaptures.delete(this));
    if (!this.delivering) this.finishStop();
  }

  private finishStop(): void {
    for (const h of this.stopHandlers.splice(0)) {
      try {
        h();
      } catch (err) {
        // stop() may run inside the addon's native callback: nothing may escape from here
        this.failure ??= err;
      }
    }
    if (this.failure !== undefined) this.rejectDone(this.failure);
    else this.resolveDone();
  }

  get stats(): LiveCaptureStats {
    return liveStats(this.st, this.window, { startMono: this.startMono, stopMono: this.stopMono, startTime: nsToTime(this.startWallNs), lastTime: this.lastTime });
  }

  /**
   * The capture's clock now: the time a frame arriving now would be stamped with (never before the newest frame).
   * A quiet capture's pipeline runs on it (pipeline/live-pacer.ts).
   */
  now(): PacketTime {
    const mono = this.stopMono ?? process.hrtime.bigint();
    let ns = this.startWallNs + (mono - this.startMono);
    // frames are stamped in whole microseconds: the clock must not run ahead of the next frame's stamp
    ns -= ns % 1000n;
    if (ns < this.lastNs) ns = this.lastNs;
    return nsToTime(ns);
  }

  private packet(nbytes: number, truncatedByBuffer: boolean): void {
    if (this.stopped) return;
    const mono = process.hrtime.bigint();
    let ns = this.startWallNs + (mono - this.startMono);
    // microseconds: an arrival stamp taken in JavaScript is late by far more than a nanosecond, and the -w file
    // should not claim a precision the clock does not have
    ns -= ns % 1000n;
    if (ns < this.lastNs) ns = this.lastNs;
    this.lastNs = ns;
    const captured = Math.max(0, Math.min(nbytes, this.buffer.length));
    // copied: the addon overwrites the buffer with the next packet, and the pipeline may hold frames
    // (unless the caller copies at once itself: copyFrames false)
    const view = this.buffer.subarray(0, captured);
    const data = this.frameArena ? this.frameArena.copy(view) : view;
    const problems: Problem[] = [];
    let original = captured;
    if (truncatedByBuffer) {
      // cap reports the cut but not the length on the wire: the IP header's length is the best lower bound
      original = Math.max(captured + 1, ipDerivedLength(data, this.linkType) ?? 0);
      problems.push(
        captureProblem('live-snaplen-cut', `frame cut to the ${this.snaplen}-byte snaplen; original length at least ${original} (from the IP header)`),
      );
    }
    const time = nsToTime(ns);
    this.lastTime = time;
    const frame: CaptureFrame = {
      number: ++this.frameNumber,
      tsSec: time.tsSec,
      tsNsec: time.tsNsec,
      linkType: this.linkType,
      interfaceId: 0,
      capturedLength: captured,
      originalLength: original,
      data,
      problems,
    };
    countLiveFrame(this.st, this.window, frame, mono);
    this.delivering = true;
    try {
      // a copy: a handler may remove itself (or another) while the frame is being delivered
      for (const h of this.handlers.slice()) h(frame);
    } catch (err) {
      // an exception must not escape into the addon's native callback; later handlers miss this frame
      this.failure = err;
      this.stop();
    } finally {
      this.delivering = false;
    }
    if (this.stopped) this.finishStop();
  }
}

/**
 * Open a live capture. Throws LiveCaptureError (one-line message) when `cap` is missing, the interface does
 * not exist, the filter does not compile, the process may not capture, or the link type is not one keyscope
 * decodes.
 */
export function openLiveCapture(opts: LiveCaptureOptions): LiveCapture {
  const loaded = opts.cap ?? loadCap();
  if (loaded instanceof LiveCaptureError) throw loaded;
  const cap = loaded;
  const device = opts.device;
  const filter = opts.filter ?? '';
  const snaplen = opts.snaplen ?? DEFAULT_LIVE_SNAPLEN;
  if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 65535) throw new LiveCaptureError('failed', `snaplen must be 1…65535, not ${snaplen}`);
  const bufferSize = opts.bufferSize ?? DEFAULT_LIVE_BUFFER_SIZE;
  if (!Number.isInteger(bufferSize) || bufferSize < 1 || bufferSize > 0x7fffffff) throw new LiveCaptureError('failed', `bad capture buffer size ${bufferSize}`);
  if (device.length === 0) throw new LiveCaptureError('no-such-device', 'no interface given');

  const list = cap.Cap.deviceList ?? cap.deviceList;
  if (list) {
    let devices: CapDevice[] | undefined;
    try {
      devices = list();
    } catch {
      // listing needs no privileges on Linux, but if it fails, let open() give the real reason
    }
    if (devices && !devices.some((d) => d.name === device)) {
      const names = devices.map((d) => d.name).slice(0, 12).join(', ');
      throw new LiveCaptureError('no-such-device', `no such interface: ${quote(device)} (interfaces: ${names})`);
    }
  }

  if (filter.trim().length > 0) {
    // A failed open leaks the activated pcap handle (see the file comment): let a small probe take that hit.
    const probe = new cap.Cap();
    parkedHandles.push(probe);
    try {
      probe.open(device, filter, PROBE_BUFFER_SIZE, Buffer.alloc(64));
    } catch (err) {
      throw openError(err, device, filter);
    }
    probe.close();
  }

  const handle = new cap.Cap();
  parkedHandles.push(handle);
  const buffer = Buffer.alloc(snaplen);
  let linkTypeName: string;
  try {
    linkTypeName = handle.open(device, filter, bufferSize, buffer);
  } catch (err) {
    // the addon may hold the buffer pointer even after a failed open
    parkedBuffers.push(buffer);
    throw openError(err, device, filter);
  }
  const linkType = linkTypeFromCap(linkTypeName);
  if (linkType === undefined || !DECODED_LINK_TYPES.has(linkType)) {
    handle.close();
    throw new LiveCaptureError('unsupported-link', `interface ${quote(device)} has link type ${quote(linkTypeName)}, which keyscope does not decode`);
  }
  return new LiveCapture(handle, buffer, { device, filter, linkType, linkTypeName, snaplen, ...(opts.copyFrames === false ? { copyFrames: false } : {}) });
}

/** ARPHRD_LOOPBACK, an interface's type in /sys/class/net/IFACE/type. */
const ARPHRD_LOOPBACK = 772;

/** cap's snapshot length, fixed in the addon (it keeps at most 65535 bytes a frame, whatever keyscope asks). */
export const CAP_MAX_SNAPLEN = 65535;

/** A number an interface's /sys/class/net/IFACE/ATTR holds (Linux); undefined where it cannot be read. */
export function sysNetNumber(device: string, attr: string): number | undefined {
  if (!/^[\w.:@-]+$/.test(device)) return undefined;
  try {
    return Number(fs.readFileSync(`/sys/class/net/${device}/${attr}`, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Whether `device` is a loopback interface (Linux; false where it cannot be told). */
export function isLoopbackInterface(device: string): boolean {
  return sysNetNumber(device, 'type') === ARPHRD_LOOPBACK;
}

function openError(err: unknown, device: string, filter: string): LiveCaptureError {
  const msg = firstLine(err instanceof Error ? err.message : String(err));
  if (/operation not permitted|permission denied|you don't have permission/i.test(msg)) {
    return new LiveCaptureError('permission', `no permission to capture on ${quote(device)} (${msg}): run as root or give node CAP_NET_RAW and CAP_NET_ADMIN`);
  }
  if (/no such device/i.test(msg)) return new LiveCaptureError('no-such-device', `no such interface: ${quote(device)}`);
  if (/filter|syntax error/i.test(msg)) return new LiveCaptureError('bad-filter', `bad capture filter ${quote(filter)}: ${msg}`);
  if (/network is down|not up/i.test(msg)) return new LiveCaptureError('failed', `interface ${quote(device)} is down (${msg})`);
  return new LiveCaptureError('failed', `cannot capture on ${quote(device)}: ${msg}`);
}

/** The frame length the IP header claims (link header + IP total length), when the bytes show one. */
function ipDerivedLength(data: Buffer, linkType: number): number | undefined {
  let off: number;
  switch (linkType) {
    case LinkType.ETHERNET: {
      off = 14;
      let type = data.length >= 14 ? data.readUInt16BE(12) : 0;
      while ((type === 0x8100 || type === 0x88a8) && data.length >= off + 4) {
        type = data.readUInt16BE(off + 2);
        off += 4;
      }
      break;
    }
    case LinkType.LINUX_SLL:
      off = 16;
      break;
    case LinkType.LINUX_SLL2:
      off = 20;
      break;
    case LinkType.NULL:
      off = 4;
      break;
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      off = 0;
      break;
    default:
      return undefined;
  }
  if (data.length < off + 8) return undefined;
  const version = data[off] >> 4;
  if (version === 4) return off + data.readUInt16BE(off + 2);
  if (version === 6) return off + 40 + data.readUInt16BE(off + 4);
  return undefined;
}

function nsToTime(ns: bigint): PacketTime {
  return { tsSec: Number(ns / 1_000_000_000n), tsNsec: Number(ns % 1_000_000_000n) };
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}

/** Interface names and filters are user input, shown back in messages: quoted, control characters escaped. */
function quote(s: string): string {
  return `'${escapeText(s, 200)}'`;
}

/** Interfaces libpcap can capture on (name, description, addresses); throws LiveCaptureError when cap is missing. */
export function listLiveInterfaces(capModule?: CapModule): CapDevice[] {
  const loaded = capModule ?? loadCap();
  if (loaded instanceof LiveCaptureError) throw loaded;
  const list = loaded.Cap.deviceList ?? loaded.deviceList;
  if (!list) return [];
  try {
    return list();
  } catch (err) {
    throw new LiveCaptureError('failed', `cannot list interfaces: ${firstLine(err instanceof Error ? err.message : String(err))}`);
  }
}

/** How many captures are open (for tests and diagnostics). */
export function openLiveCaptureCount(): number {
  return openCaptures.size;
}
