/**
 * Replay of a capture at its own pace: frames are handed on when their packet time, scaled by `speed`, has come
 * on the wall clock. Reading is throttled by a bounded queue (the input is pulled only while the queue is short),
 * so a long capture never sits in memory. Pacing is the only use of wall time; the pipeline still sees packet time.
 */
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { readCapture } from '../capture/reader';
import type { CaptureFrame, CaptureSummary } from '../capture/types';
import { toEpochSeconds } from '../common/time';

export interface ReplayOptions {
  /** Capture time runs this many times faster than the wall clock (1 = real time). */
  speed: number;
  /** Frames queued ahead of the replay clock at most (default 5000). */
  maxQueued?: number;
  /** Bytes read per chunk (default 64 KiB: a chunk's frames are what the queue may overshoot by). */
  chunkSize?: number;
  /** Frames handed on per turn of the event loop at most (default 2000), so keys and redraws keep working. */
  batch?: number;
}

export class CaptureReplay {
  private readonly queue: CaptureFrame[] = [];
  private head = 0;
  private readonly maxQueued: number;
  private readonly chunkSize: number;
  private readonly batch: number;
  private readingDone = false;
  private wakeReader: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private paused = false;
  /** Wall ms when packet time `base` was (or would have been) due. */
  private originWall = 0;
  private base: number | undefined;
  private pausedAt = 0;
  private summary: CaptureSummary | undefined;
  private readonly input: NodeJS.ReadableStream;
  private readonly own: boolean;
  private resolveDone!: (s: CaptureSummary) => void;
  private rejectDone!: (e: unknown) => void;
  readonly done: Promise<CaptureSummary>;

  constructor(
    source: string | NodeJS.ReadableStream,
    private readonly onFrame: (f: CaptureFrame) => void,
    private readonly options: ReplayOptions,
  ) {
    this.maxQueued = options.maxQueued ?? 5000;
    this.chunkSize = options.chunkSize ?? 64 * 1024;
    this.batch = options.batch ?? 2000;
    this.own = typeof source === 'string' && source !== '-';
    this.input = typeof source === 'string' ? (source === '-' ? process.stdin : fs.createReadStream(source, { highWaterMark: this.chunkSize })) : source;
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
  }

  start(): void {
    const self = this;
    const input = this.input;
    // The capture bytes pass through this generator, which waits while the queue is full: backpressure by pull.
    async function* gated(): AsyncGenerator<Buffer> {
      for await (const chunk of input as AsyncIterable<Buffer | string>) {
        if (self.stopped) return;
        yield typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
        while (!self.stopped && self.queue.length - self.head >= self.maxQueued) {
          await new Promise<void>((r) => (self.wakeReader = r));
        }
        if (self.stopped) return;
      }
    }
    const stream = Readable.from(gated(), { objectMode: false });
    readCapture(stream, (f) => {
      // frame.data may be a view into a reused buffer: the queue outlives the callback
      this.queue.push({ ...f, data: Buffer.from(f.data) });
      this.schedule(0);
    }).then(
      (summary) => {
        this.summary = summary;
        this.readingDone = true;
        if (this.own) (this.input as fs.ReadStream).destroy();
        this.schedule(0);
      },
      (err) => {
        this.stop();
        this.rejectDone(err);
      },
    );
  }

  setPaused(paused: boolean): void {
    if (paused === this.paused || this.stopped) return;
    this.paused = paused;
    if (paused) {
      this.pausedAt = Date.now();
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
    } else {
      // the replay clock resumes where it stopped
      this.originWall += Date.now() - this.pausedAt;
      this.schedule(0);
    }
  }

  /** Stop reading and pacing; `done` resolves with what was read so far. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeReader?.();
    if (this.own) (this.input as fs.ReadStream).destroy();
    this.resolveDone(this.summary ?? { format: 'unknown', compressed: false, frames: 0, bytes: 0, problems: [], aborted: true });
  }

  /** Frames waiting for their time. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  private schedule(ms: number): void {
    if (this.stopped || this.paused || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
  }

  private pump(): void {
    if (this.stopped || this.paused) return;
    let handed = 0;
    while (this.head < this.queue.length && handed < this.batch) {
      const f = this.queue[this.head];
      const t = toEpochSeconds(f);
      if (this.base === undefined) {
        this.base = t;
        this.originWall = Date.now();
      }
      const due = this.originWall + ((t - this.base) * 1000) / this.options.speed;
      const wait = due - Date.now();
      if (wait > 0) {
        this.compact();
        this.schedule(wait);
        return;
      }
      this.queue[this.head++] = undefined as unknown as CaptureFrame;
      handed++;
      this.onFrame(f);
      if (this.stopped) return;
    }
    this.compact();
    if (this.head < this.queue.length) this.schedule(0);
    else if (this.readingDone) {
      this.stopped = true;
      this.resolveDone(this.summary as CaptureSummary);
    }
  }

  private compact(): void {
    if (this.head > 0 && (this.head >= 1024 || this.head === this.queue.length)) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.queue.length < this.maxQueued) {
      const w = this.wakeReader;
      this.wakeReader = undefined;
      w?.();
    }
  }
}
