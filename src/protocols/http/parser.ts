/**
 * Incremental HTTP/1.x parser for one TCP connection, fed with the reassembler's in-order chunks and gaps per direction.
 * Requests and responses are paired in order (keep-alive, pipelining); interim 1xx responses do not consume the request.
 * Bytes are consumed as they arrive: a body is never buffered beyond the body limit, a header block never beyond the
 * header limit, and any number or length taken from the wire is checked before it is used.
 */
import type { Problem } from '../../common/problem';
import { httpProblem, type HttpProblemCode } from './problems';
import { escapeBytes, escapeText } from '../../common/escape';
import { isJsSpace, isTcharCode } from '../../common/ascii';
import type { PacketTime } from '../../common/time';
import type {
  StreamChunk,
  StreamDirection,
  StreamGap,
  TcpCloseReason,
  TcpConnectionInfo,
  TcpStreamHandler,
} from '../../reassembly/types';
import { parseAuthHeaders } from './auth';
import { HEADER_SPELLINGS, lowerName } from './names';
import { DEFAULT_MAX_TCP_CONNECTIONS } from '../../reassembly/tcp';
import { DEFAULT_HTTP_LIMITS, type HttpHeader, type HttpLimits, type HttpMessage } from './types';
import { MBMS_CONTENT_TYPES, isMbmsMediaType, parseMbmsBody } from '../mbms/xml';

export interface HttpSink {
  /** A message, when complete or cut. Requests get `responseFrame` later, when their response starts. */
  message(msg: HttpMessage): void;
  /** A finding that belongs to no message (bytes skipped, gap between messages, a stream that is not HTTP). */
  problem?(connId: number, frame: number, p: Problem): void;
  /**
   * A request dropped from the pending list (more than `maxPendingRequests` unanswered): no response will be paired
   * with it, so whoever waits for its response should stop waiting.
   */
  forgotten?(msg: HttpMessage): void;
}

export interface HttpParserOptions {
  limits?: Partial<HttpLimits>;
  /** Parse application/mbms-*+xml bodies into `msg.mbms` (default true). */
  parseMbms?: boolean;
}

type State =
  | 'start'
  | 'head'
  | 'body'
  | 'until-close'
  | 'chunk-size'
  | 'chunk-data'
  | 'chunk-crlf'
  | 'trailers'
  | 'resync'
  | 'tunnel'
  | 'dead';

const LF = 0x0a;
/** The definitions requestLine() and isStatusLine() read by hand. */
export const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) (HTTP\/\d\.\d)$/;
export const STATUS_LINE = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/;
const KNOWN_METHODS = 'GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH|TRACE|CONNECT';

/**
 * REQUEST_LINE and STATUS_LINE read without a match array (issue #14: the start line's match was a fifth of the
 * parser's garbage), the regular expressions kept as the definition (test/protocols/http/start-line.test.ts compares
 * them). requestLine() gives the position of the space before the version (-1: not a request line); the method ends
 * at the first space.
 */
export function requestLine(t: string): number {
  const n = t.length;
  let i = 0;
  while (i < n && isTcharCode(t.charCodeAt(i))) i++;
  if (i === 0 || t.charCodeAt(i) !== 0x20) return -1;
  const us = ++i;
  while (i < n && !isJsSpace(t.charCodeAt(i))) i++;
  if (i === us || t.charCodeAt(i) !== 0x20) return -1;
  return isVersionAt(t, i + 1) && i + 9 === n ? i : -1;
}

/** STATUS_LINE: `HTTP/d.d ddd`, then the end or a space and a reason without a line terminator. */
export function isStatusLine(t: string): boolean {
  const n = t.length;
  if (n < 12 || !isVersionAt(t, 0) || t.charCodeAt(8) !== 0x20 || !isDigitCode(t.charCodeAt(9)) || !isDigitCode(t.charCodeAt(10)) || !isDigitCode(t.charCodeAt(11))) return false;
  if (n === 12) return true;
  if (t.charCodeAt(12) !== 0x20) return false;
  for (let i = 13; i < n; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029) return false;
  }
  return true;
}

/** `HTTP/d.d` at i. */
function isVersionAt(t: string, i: number): boolean {
  return t.startsWith('HTTP/', i) && isDigitCode(t.charCodeAt(i + 5)) && t.charCodeAt(i + 6) === 0x2e && isDigitCode(t.charCodeAt(i + 7));
}

function isDigitCode(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}


/** The version at i (`HTTP/d.d`, checked) as sent, the common ones without a new string. */
function versionAt(t: string, i: number): string {
  if (t.startsWith('HTTP/1.', i)) {
    const minor = t.charCodeAt(i + 7);
    if (minor === 0x31) return 'HTTP/1.1';
    if (minor === 0x30) return 'HTTP/1.0';
  }
  return t.slice(i, i + 8);
}
/** A request line that starts in the middle of a line (after the unframed tail of a cut body). */
const REQUEST_LINE_INSIDE = new RegExp(`(?:${KNOWN_METHODS}) \\S+ HTTP\\/1\\.\\d$`);
const STATUS_LINE_INSIDE = /HTTP\/1\.\d \d{3}(?: [^\r\n]*)?$/;
/** Longest line kept while scanning for a message start; the rest of a longer line is skipped. */
const RESYNC_LINE_LIMIT = 8192;
/** Before any message was found in a direction, give up after this many bytes: the stream is not HTTP. */
const INITIAL_SNIFF_BYTES = 16 * 1024;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Header bytes as text: UTF-8 when they are valid UTF-8 (so that hashing the text as UTF-8, as Digest does, gives back
 * the bytes sent), ISO-8859-1 otherwise (every byte kept as one character).
 */
function headerText(bytes: Buffer, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (bytes[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return bytes.toString('latin1', start, end);
  try {
    return UTF8.decode(bytes.subarray(start, end));
  } catch {
    return bytes.toString('latin1', start, end);
  }
}

/** A non-empty run of tchar (was a regular expression test per header line). */
function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTcharCode(s.charCodeAt(i))) return false;
  return true;
}

/**
 * Header names as MBMS clients and servers spell them (names.ts), by length: a name sent exactly so is this shared
 * string, not a new one per header line (and compares by identity in the lookups after it).
 */
const KNOWN_HEADER_NAMES: string[][] = [];
for (const n of HEADER_SPELLINGS) (KNOWN_HEADER_NAMES[n.length] ??= []).push(n);

/**
 * Media types sent as their lower-case form: the shared string, without the lower-cased copy toLowerCase makes even
 * when nothing changes (and with its hash kept, for the lookups by content type after it).
 */
const KNOWN_MEDIA_TYPES = new Map<string, string>();
for (const t of [...Object.keys(MBMS_CONTENT_TYPES), 'application/mikey', 'text/plain', 'text/html', 'application/xml', 'text/xml', 'application/json']) KNOWN_MEDIA_TYPES.set(t, t);

/** /^\d+$/ without a match: ASCII digits only, at least one. */
function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function knownHeaderName(bytes: Buffer, start: number, end: number): string | undefined {
  const list = KNOWN_HEADER_NAMES[end - start];
  if (list === undefined) return undefined;
  next: for (const n of list) {
    for (let i = 0; i < n.length; i++) if (bytes[start + i] !== n.charCodeAt(i)) continue next;
    return n;
  }
  return undefined;
}

/**
 * Shared by every idle line buffer and every empty body: a zero-length Buffer still costs two heap objects, and a capture
 * can hold tens of thousands of connections open (nothing can be written into it).
 */
const EMPTY = Buffer.alloc(0);
/** No values of a header (shared, never written: headComplete makes an array on a header's first value). */
const NONE: string[] = [];
/** The time of a direction that has seen no bytes yet (replaced, never mutated). */
const NO_TIME: PacketTime = Object.freeze({ tsSec: 0, tsNsec: 0 });

/** A growable byte buffer for partial lines: appends are amortised O(1), so a slow drip stays linear. */
class LineBuffer {
  private buf = EMPTY;
  length = 0;
  /** Appends data[start, end). */
  append(data: Buffer, start: number, end: number): void {
    const n = end - start;
    if (this.length + n > this.buf.length) {
      const next = Buffer.alloc(Math.max(256, (this.length + n) * 2));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    data.copy(this.buf, this.length, start, end);
    this.length += n;
  }
  /** The backing store: its first `length` bytes are the line so far (valid until the next append or clear). */
  bytes(): Buffer {
    return this.buf;
  }
  clear(): void {
    this.length = 0;
    if (this.buf.length > 65536) this.buf = EMPTY;
  }
  /** Bytes allocated (what the buffer costs, idle or not). */
  capacity(): number {
    return this.buf.length;
  }
  /** Empty, its storage given back. */
  release(): void {
    this.length = 0;
    this.buf = EMPTY;
  }
}

interface Building {
  msg: HttpMessage;
  bodyParts: Buffer[];
  bodyKept: number;
  lastChunkSeq: number;
  headBytes: number;
  expectContinue: boolean;
  bodyLimitReported: boolean;
  /** A final response to this request was seen (for Expect: 100-continue without a body). */
  answered: boolean;
  /** The shared budget took the body kept so far: the rest is counted, not kept. */
  bodyShed: boolean;
}

interface Direction {
  dir: StreamDirection;
  state: State;
  line: LineBuffer;
  /** Stream offset of line[0] (or of the next byte when line is empty). */
  lineStart: number;
  /** The current partial line is beyond the limit: skip to its end. */
  lineOverflow: boolean;
  cur?: Building;
  remaining: number;
  expected: number;
  chunkSeq: number;
  chunkFrames: number[];
  chunkFrame: number;
  chunkTime: PacketTime;
  resyncSkipped: number;
  resyncStartFrame: number;
  anyMessage: boolean;
  ended: boolean;
  /** Frames and time of the chunks that carried the current partial line (a message's start line). */
  lineFrames: number[];
  /** How many of lineFrames are the current line's (the rest is storage kept for the next line). */
  lineFrameCount: number;
  lineTime: PacketTime;
  /** Bytes of this direction counted in the shared budget's in-progress total (HttpSharedBudget). */
  charged: number;
}

function newDirection(dir: StreamDirection): Direction {
  return {
    dir,
    state: 'start',
    line: new LineBuffer(),
    lineStart: 0,
    lineOverflow: false,
    remaining: 0,
    expected: -1,
    chunkSeq: 0,
    chunkFrames: [],
    chunkFrame: 0,
    chunkTime: NO_TIME,
    resyncSkipped: 0,
    resyncStartFrame: 0,
    anyMessage: false,
    ended: false,
    lineFrames: [],
    lineFrameCount: 0,
    lineTime: NO_TIME,
    charged: 0,
  };
}

/**
 * Bounds shared by the parsers of all connections (HttpStreamHandler): what the per-connection limits (HttpLimits)
 * would multiply by the number of connections. Derived from --max-memory by src/pipeline/memory-budget.ts.
 */
export interface HttpSharedLimits {
  /** Requests awaiting a response on all connections together; beyond it the oldest, on whichever connection, is forgotten. */
  maxPendingRequests: number;
  /** Estimated bytes of those requests (HTTP_PENDING_REQUEST_COST each, plus header and kept body bytes); beyond it the oldest is forgotten. */
  maxPendingBytes: number;
  /**
   * Bytes of the messages in progress on all connections together: header lines read, body bytes kept, partial lines
   * (line buffers, allocated). Beyond it the largest loses what it kept, down to HTTP_SHED_LOW_WATER of the bound.
   */
  maxInProgressBytes: number;
}

/** Without a memory budget (a handler made on its own): generous, but still a bound. */
export const DEFAULT_HTTP_SHARED_LIMITS: HttpSharedLimits = {
  maxPendingRequests: 65_536,
  maxPendingBytes: 128 * 1024 * 1024,
  maxInProgressBytes: 128 * 1024 * 1024,
};

/**
 * Estimated heap cost of a request object awaiting its response beyond its header and body bytes (headers array and
 * strings' overhead, frame list, problems): measured ≈ 1 KB with a short head.
 */
export const HTTP_PENDING_REQUEST_COST = 1024;
/** Shedding messages in progress goes down to this share of maxInProgressBytes, so it does not rescan at every chunk. */
export const HTTP_SHED_LOW_WATER = 0.75;

/**
 * The state the shared bounds count: every request awaiting a response (oldest first, on all connections) and the
 * bytes of the messages in progress. One per HttpStreamHandler; each of its parsers reports to it.
 */
export class HttpSharedBudget {
  readonly limits: HttpSharedLimits;
  /** Requests awaiting a response, oldest first, with their parser. */
  private readonly pending = new Map<HttpMessage, HttpConnectionParser>();
  private pendingBytes = 0;
  /** Estimated bytes of the messages in progress (the sum of every direction's `charged`). */
  inProgressBytes = 0;
  /** Requests forgotten by the shared bound, and messages that lost their bytes to it (counted, reported once each). */
  forgotten = 0;
  private forgottenAt: { connId: number; frame: number } | undefined;
  shed = 0;
  private shedAt: { connId: number; frame: number } | undefined;

  constructor(
    private readonly sink: HttpSink,
    /** The parsers whose messages in progress may be shed (the handler's). */
    private readonly parsers: () => Iterable<HttpConnectionParser>,
    limits: Partial<HttpSharedLimits> = {},
  ) {
    this.limits = { ...DEFAULT_HTTP_SHARED_LIMITS, ...limits };
  }

  get pendingRequests(): number {
    return this.pending.size;
  }

  static pendingCost(m: HttpMessage): number {
    return HTTP_PENDING_REQUEST_COST + m.headerLength + m.body.length;
  }

  addPending(m: HttpMessage, parser: HttpConnectionParser): void {
    this.pending.set(m, parser);
    this.pendingBytes += HttpSharedBudget.pendingCost(m);
    const l = this.limits;
    while (this.pending.size > l.maxPendingRequests || (this.pendingBytes > l.maxPendingBytes && this.pending.size > 1)) {
      const [oldest, owner] = this.pending.entries().next().value as [HttpMessage, HttpConnectionParser];
      this.removePending(oldest);
      owner.forgetPending(oldest);
      this.forgotten++;
      const at = { connId: m.connId, frame: m.firstFrame };
      if (this.forgotten === 1) {
        this.sink.problem?.(at.connId, at.frame, httpProblem('http-pending-budget', `more than ${l.maxPendingRequests} requests (or ${l.maxPendingBytes} bytes of them) awaiting a response on all connections; the oldest forgotten (frame ${oldest.firstFrame}, connection ${oldest.connId}); further ones are counted`));
      }
      this.forgottenAt = at;
    }
  }

  removePending(m: HttpMessage): void {
    if (this.pending.delete(m)) this.pendingBytes -= HttpSharedBudget.pendingCost(m);
  }

  /** A direction's in-progress bytes changed by `delta`; over the bound, the largest messages in progress are shed. */
  charge(delta: number, connId: number, frame: number): void {
    this.inProgressBytes += delta;
    if (this.inProgressBytes <= this.limits.maxInProgressBytes) return;
    const target = this.limits.maxInProgressBytes * HTTP_SHED_LOW_WATER;
    const all: { parser: HttpConnectionParser; dir: StreamDirection; bytes: number }[] = [];
    for (const parser of this.parsers()) {
      for (const dir of [0, 1] as const) {
        const bytes = parser.chargedBytes(dir);
        if (bytes > 0) all.push({ parser, dir, bytes });
      }
    }
    all.sort((a, b) => b.bytes - a.bytes);
    for (const x of all) {
      if (this.inProgressBytes <= target) break;
      if (x.parser.shed(x.dir)) this.noteShed(connId, frame, x.bytes, x.parser.connId);
    }
  }

  /** One message in progress lost its kept bytes to the bound (reported on the first, counted after). */
  noteShed(connId: number, frame: number, bytes: number, owner = connId): void {
    this.shed++;
    if (this.shed === 1) {
      this.sink.problem?.(connId, frame, httpProblem('http-message-budget', `HTTP messages in progress on all connections hold more than ${this.limits.maxInProgressBytes} bytes; one (connection ${owner}, ${bytes} bytes) lost what it kept; the largest go first, further ones are counted`));
    }
    this.shedAt = { connId, frame };
  }

  /** End of capture: the counts beyond the first of each kind, once. */
  finish(): void {
    if (this.forgotten > 1 && this.forgottenAt) {
      this.sink.problem?.(this.forgottenAt.connId, this.forgottenAt.frame, httpProblem('http-pending-budget', `${this.forgotten} requests in all were forgotten unanswered by the shared bound (${this.limits.maxPendingRequests} requests, ${this.limits.maxPendingBytes} bytes; last at frame ${this.forgottenAt.frame})`));
    }
    if (this.shed > 1 && this.shedAt) {
      this.sink.problem?.(this.shedAt.connId, this.shedAt.frame, httpProblem('http-message-budget', `${this.shed} messages in progress in all lost their kept bytes to the shared bound (${this.limits.maxInProgressBytes} bytes; last at frame ${this.shedAt.frame})`));
    }
    this.forgotten = 0;
    this.shed = 0;
  }
}

export class HttpConnectionParser {
  private readonly limits: HttpLimits;
  private readonly dirs: [Direction, Direction] = [newDirection(0), newDirection(1)];
  /** Requests whose final response has not started yet, oldest first. */
  private readonly pending: HttpMessage[] = [];
  private nextId = 1;
  private readonly parseMbms: boolean;
  /**
   * Requests forgotten because too many were pending. Only the first overflow is reported on its message; the rest are
   * counted and reported once when the connection ends, so a flood of pipelined requests costs one problem, not one each.
   */
  private forgottenCount = 0;
  private forgottenFrame = 0;

  constructor(
    readonly connId: number,
    private readonly sink: HttpSink,
    options: HttpParserOptions = {},
    /** Bounds shared with the other connections' parsers (none: only the per-connection limits). */
    private readonly shared?: HttpSharedBudget,
  ) {
    this.limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
    this.parseMbms = options.parseMbms ?? true;
  }

  /** A message of this direction has begun (its start line was read) and not ended yet. */
  inProgress(dir: StreamDirection): boolean {
    return this.dirs[dir].cur !== undefined;
  }

  data(dir: StreamDirection, chunk: StreamChunk): void {
    const d = this.dirs[dir];
    let data = chunk.data;
    if (d.state === 'tunnel' || d.state === 'dead' || data.length === 0) {
      d.expected = chunk.streamOffset + data.length;
      return;
    }
    if (d.expected < 0) {
      d.expected = chunk.streamOffset;
      d.lineStart = chunk.streamOffset;
    }
    if (chunk.streamOffset > d.expected) {
      this.gap(dir, { ...chunk, streamOffset: d.expected, length: chunk.streamOffset - d.expected, frame: chunk.frame });
      if ((d.state as State) === 'tunnel' || (d.state as State) === 'dead') return;
    } else if (chunk.streamOffset < d.expected) {
      // overlap with bytes already consumed: only the new tail counts
      const skip = d.expected - chunk.streamOffset;
      if (skip >= data.length) return;
      data = data.subarray(skip);
    }
    d.chunkSeq++;
    d.chunkFrames = chunk.frames.length > 0 ? chunk.frames : [chunk.frame];
    d.chunkFrame = chunk.frame;
    d.chunkTime = { tsSec: chunk.tsSec, tsNsec: chunk.tsNsec };
    const base = d.expected;
    d.expected = base + data.length;
    try {
      this.consume(d, data, base);
    } catch (e) {
      // a bug must not take the whole capture down; the stream is abandoned and the fact reported
      this.report(d, 'http-internal-error', `HTTP parser failed: ${escapeText(String(e), 200)}`);
      this.abandon(d, 'dead');
    }
    this.settle(chunk.frame);
  }

  /** Bytes of this direction's message in progress as the shared budget counts them. */
  chargedBytes(dir: StreamDirection): number {
    return this.dirs[dir].charged;
  }

  /** What a direction keeps for its message in progress: header lines read, body bytes kept, its line buffer. */
  private inProgressCost(d: Direction): number {
    return (d.cur ? d.cur.headBytes + d.cur.bodyKept : 0) + d.line.capacity();
  }

  /** Brings the shared budget's in-progress count up to date with both directions (after every entry point). */
  private settle(frame: number): void {
    const shared = this.shared;
    if (!shared) return;
    for (const d of this.dirs) {
      const cost = this.inProgressCost(d);
      if (cost === d.charged) continue;
      const delta = cost - d.charged;
      d.charged = cost;
      shared.charge(delta, this.connId, frame);
    }
  }

  /**
   * The shared budget takes what this direction keeps for its message in progress: a body's kept bytes (the rest of the
   * body is counted, not kept), or a header block or start line being read (the message is skipped, as one over the
   * header limit). Returns false when there was nothing to take.
   */
  shed(dir: StreamDirection): boolean {
    const d = this.dirs[dir];
    if (d.charged === 0) return false;
    const b = d.cur;
    if (b && d.state !== 'head') {
      b.bodyParts = [];
      b.bodyKept = 0;
      b.bodyShed = true;
      if (d.line.length === 0) d.line.release();
    } else if (b || d.line.length > 0) {
      // a header block or a line being read: the message is skipped, and the rest of the line
      const partialLine = d.line.length > 0;
      d.cur = undefined;
      d.line.release();
      if (d.state === 'start' || d.state === 'head') this.enterResync(d, d.chunkFrame);
      d.lineOverflow = partialLine;
    } else d.line.release(); // an idle line buffer
    const cost = this.inProgressCost(d);
    const delta = cost - d.charged;
    d.charged = cost;
    if (this.shared) this.shared.inProgressBytes += delta;
    return delta < 0;
  }

  /** The shared budget forgets one of this connection's requests awaiting a response (the oldest on all connections). */
  forgetPending(m: HttpMessage): void {
    const i = this.pending.indexOf(m);
    if (i === 0) this.pending.shift();
    else if (i > 0) this.pending.splice(i, 1);
    this.sink.forgotten?.(m);
  }

  private pendingPush(m: HttpMessage): void {
    this.pending.push(m);
    this.shared?.addPending(m, this);
  }

  private pendingShift(): HttpMessage | undefined {
    const m = this.pending.shift();
    if (m) this.shared?.removePending(m);
    return m;
  }

  gap(dir: StreamDirection, gap: StreamGap): void {
    try {
      this.onGap(dir, gap);
    } catch (e) {
      const d = this.dirs[dir];
      this.report(d, 'http-internal-error', `HTTP parser failed: ${escapeText(String(e), 200)}`);
      this.abandon(d, 'dead');
    }
    this.settle(gap.frame);
  }

  private onGap(dir: StreamDirection, gap: StreamGap): void {
    const d = this.dirs[dir];
    const end = gap.streamOffset + gap.length;
    if (d.expected >= 0 && end <= d.expected) return;
    const lost = d.expected >= 0 && gap.streamOffset < d.expected ? end - d.expected : gap.length;
    d.expected = end;
    d.chunkFrame = gap.frame;
    if (d.state === 'tunnel' || d.state === 'dead') return;
    const b = d.cur;
    switch (d.state) {
      case 'body':
      case 'chunk-data':
        if (b && lost < d.remaining) {
          b.msg.bodyLength += lost;
          b.msg.bodyLost += lost;
          d.remaining -= lost;
          this.msgProblem(b, 'http-gap-in-body', `${lost} body bytes not captured`, d.lineStart - b.msg.streamOffset);
          d.lineStart = end;
          return;
        }
        if (b) {
          b.msg.bodyLength += d.remaining;
          b.msg.bodyLost += d.remaining;
          this.msgProblem(b, 'http-gap-cut-message', `message cut by ${lost} bytes not captured`);
          b.msg.complete = false;
          this.finish(d);
        }
        break;
      case 'until-close':
        if (b) {
          b.msg.bodyLength += lost;
          b.msg.bodyLost += lost;
          this.msgProblem(b, 'http-gap-in-body', `${lost} body bytes not captured`);
          d.lineStart = end;
          return;
        }
        break;
      case 'start':
        if (d.line.length === 0) this.report(d, 'http-gap', `${lost} bytes not captured between messages`, gap.frame);
        else this.report(d, 'http-gap-in-header', `start line cut by ${lost} bytes not captured`, gap.frame);
        break;
      case 'head':
      case 'chunk-size':
      case 'chunk-crlf':
      case 'trailers':
        if (b && d.state !== 'head') {
          this.msgProblem(b, 'http-gap-cut-message', `message cut by ${lost} bytes not captured`);
          b.msg.complete = false;
          this.finish(d);
        } else {
          this.report(d, 'http-gap-in-header', `message header cut by ${lost} bytes not captured`, gap.frame);
          d.cur = undefined;
        }
        break;
      case 'resync':
        d.resyncSkipped += lost;
        d.line.clear();
        d.lineStart = end;
        return;
    }
    d.cur = undefined;
    d.line.clear();
    d.lineOverflow = false;
    d.lineStart = end;
    this.enterResync(d, gap.frame);
  }

  end(dir: StreamDirection, reason: TcpCloseReason, time: PacketTime): void {
    try {
      this.onEnd(dir, reason, time);
    } catch (e) {
      const d = this.dirs[dir];
      this.report(d, 'http-internal-error', `HTTP parser failed: ${escapeText(String(e), 200)}`);
      this.abandon(d, 'dead');
    }
    // an ended direction keeps nothing: its line buffer goes too, so the shared count drops to what is really held
    this.dirs[dir].line.release();
    this.settle(this.dirs[dir].chunkFrame);
  }

  private onEnd(dir: StreamDirection, reason: TcpCloseReason, time: PacketTime): void {
    const d = this.dirs[dir];
    if (d.ended) return;
    d.ended = true;
    const b = d.cur;
    if (b) {
      b.msg.lastTime = time;
      if (d.state === 'until-close') this.finish(d);
      else if (d.state === 'head' || (d.state === 'start' && d.line.length > 0)) {
        this.report(d, 'http-incomplete-header', `stream ended (${reason}) inside a message header`);
      } else if (d.state !== 'tunnel' && d.state !== 'dead') {
        b.msg.complete = false;
        this.msgProblem(b, reason === 'end-of-capture' ? 'http-end-of-capture' : 'http-truncated', `stream ended (${reason}) before the end of the message`);
        this.finish(d);
      }
    } else if (d.state === 'start' && d.line.length > 0) {
      this.report(d, 'http-incomplete-header', `stream ended (${reason}) inside a start line`);
    } else if (d.state === 'resync' && d.resyncSkipped > 0) {
      this.report(d, 'http-skipped', `${d.resyncSkipped} bytes skipped without finding another message`, d.resyncStartFrame);
    }
    d.cur = undefined;
    d.line.clear();
    d.state = 'dead';
    const other = this.dirs[dir === 0 ? 1 : 0];
    if (other.ended && this.forgottenCount > 1) {
      const p = httpProblem('http-too-many-pending', `${this.forgottenCount} requests in all were forgotten unanswered on this connection (more than ${this.limits.maxPendingRequests} pending; last at frame ${this.forgottenFrame})`);
      this.sink.problem?.(this.connId, this.forgottenFrame, p);
      this.forgottenCount = 0;
    }
    if (other.ended && this.pending.length > 0) {
      const first = this.pending[0];
      const p = httpProblem('http-no-response', `${this.pending.length} request(s) got no response in the capture (first ${escapeText(first.method ?? '')} ${escapeText(first.uri ?? '', 200)})`);
      this.sink.problem?.(this.connId, first.firstFrame, p);
      if (this.shared) for (const m of this.pending) this.shared.removePending(m);
      this.pending.length = 0;
    }
  }

  // ---- byte consumption -------------------------------------------------------------------------------------------

  private consume(d: Direction, data: Buffer, base: number): void {
    let pos = 0;
    let guard = 0;
    while (pos < data.length) {
      if (guard++ > data.length + 16) throw new Error('no progress');
      const state: State = d.state;
      switch (state) {
        case 'tunnel':
        case 'dead':
          return;
        case 'body':
        case 'chunk-data': {
          const b = d.cur as Building;
          if (state === 'body' && b.expectContinue && b.answered && b.msg.bodyLength === 0 && this.looksLikeRequestStart(data, pos)) {
            this.msgProblem(b, 'http-expect-no-body', 'client sent no body after a final response to Expect: 100-continue');
            this.finish(d);
            continue;
          }
          const n = Math.min(d.remaining, data.length - pos);
          this.addBody(d, b, data.subarray(pos, pos + n));
          d.remaining -= n;
          pos += n;
          d.lineStart = base + pos;
          if (d.remaining === 0) {
            if (state === 'body') this.finish(d);
            else d.state = 'chunk-crlf';
          }
          break;
        }
        case 'until-close': {
          const b = d.cur as Building;
          this.addBody(d, b, data.subarray(pos));
          pos = data.length;
          d.lineStart = base + pos;
          break;
        }
        default: {
          // line-oriented states
          const limit =
            state === 'chunk-size' || state === 'chunk-crlf'
              ? this.limits.maxChunkLineBytes
              : state === 'resync'
                ? RESYNC_LINE_LIMIT
                : this.limits.maxHeaderBytes;
          const nl = data.indexOf(LF, pos);
          const end = nl < 0 ? data.length : nl + 1;
          // the line's bytes are data[pieceStart, end): no view object unless the line spans chunks
          const pieceStart = pos;
          const pieceLength = end - pieceStart;
          const lineStartOffset = d.lineStart;
          if (d.cur && state !== 'start' && state !== 'resync') this.touch(d, d.cur);
          pos = end;
          if (nl >= 0) d.lineStart = base + pos;
          if (d.lineOverflow) {
            // skipping the rest of an overlong line
            if (d.state === 'resync') d.resyncSkipped += pieceLength;
            if (nl >= 0) d.lineOverflow = false;
            this.checkSniffBudget(d);
            break;
          }
          if (d.line.length + pieceLength > limit) {
            const partial = d.line.length + pieceLength;
            d.line.clear();
            if (state === 'start') this.enterResync(d, d.chunkFrame);
            else if (state !== 'resync') this.lineTooLong(d, state);
            if (d.state === 'resync') d.resyncSkipped += partial;
            d.lineOverflow = nl < 0;
            this.checkSniffBudget(d);
            break;
          }
          if (d.line.length === 0) {
            // emptied by its count, not by `length = 0`: that gives the array's storage back, and the next push
            // allocated it again — once per line read (issue #14 round 3)
            d.lineFrameCount = 0;
            d.lineTime = d.chunkTime;
          }
          for (const f of d.chunkFrames) if (d.lineFrameCount === 0 || d.lineFrames[d.lineFrameCount - 1] !== f) d.lineFrames[d.lineFrameCount++] = f;
          if (nl < 0) {
            d.line.append(data, pieceStart, end);
            this.checkSniffBudget(d);
            break;
          }
          // a line wholly inside this chunk is used in place; only a line spanning chunks is copied
          let line: Buffer;
          let ls: number;
          let le: number;
          if (d.line.length === 0) {
            line = data;
            ls = pieceStart;
            le = end;
          } else {
            d.line.append(data, pieceStart, end);
            line = d.line.bytes();
            ls = 0;
            le = d.line.length;
          }
          const rawLength = le - ls;
          le--; // LF
          if (le > ls && line[le - 1] === 0x0d) le--;
          this.onLine(d, line, ls, le, lineStartOffset, rawLength);
          d.line.clear();
          this.checkSniffBudget(d);
        }
      }
    }
  }

  private checkSniffBudget(d: Direction): void {
    if (d.state === 'resync') {
      if (d.resyncSkipped > this.limits.maxResyncBytes || (!d.anyMessage && d.resyncSkipped > INITIAL_SNIFF_BYTES)) {
        this.report(
          d,
          d.anyMessage ? 'http-skipped' : 'http-not-http',
          d.anyMessage
            ? `${d.resyncSkipped} bytes skipped without finding another message; giving the stream up`
            : `no HTTP message start in the first ${d.resyncSkipped} bytes; not parsed as HTTP`,
          d.resyncStartFrame,
        );
        d.state = 'dead';
        d.line.clear();
      }
    } else if (d.state === 'start' && !d.anyMessage && d.line.length > INITIAL_SNIFF_BYTES) {
      d.line.clear();
      this.enterResync(d, d.chunkFrame);
      d.resyncSkipped = INITIAL_SNIFF_BYTES + 1;
      this.checkSniffBudget(d);
    }
  }

  private lineTooLong(d: Direction, state: State): void {
    const b = d.cur;
    if (state === 'head' && b) {
      this.report(d, 'http-header-too-large', `header block longer than ${this.limits.maxHeaderBytes} bytes; message skipped`);
    } else if (b) {
      this.msgProblem(b, state === 'trailers' ? 'http-trailer-too-long' : 'http-chunk-line-too-long', `${state} line too long`);
      b.msg.complete = false;
      this.finish(d);
    }
    d.cur = undefined;
    this.enterResync(d, d.chunkFrame);
  }

  /** One line, line[ls, le) without its CRLF (or LF). */
  private onLine(d: Direction, line: Buffer, ls: number, le: number, lineOffset: number, rawLength: number): void {
    switch (d.state) {
      case 'start': {
        if (le === ls) return; // RFC 9112 §2.2: empty lines before a request line are ignored
        const text = line.toString('latin1', ls, le);
        const sp = requestLine(text);
        if (sp >= 0 || isStatusLine(text)) {
          this.startMessage(d, text, lineOffset, sp);
          return;
        }
        this.report(d, d.anyMessage ? 'http-bad-start-line' : 'http-not-http-start', `not an HTTP start line: ${escapeBytes(line.subarray(ls, le), 80)}`);
        this.enterResync(d, d.chunkFrame);
        d.resyncSkipped += rawLength;
        return;
      }
      case 'resync': {
        const text = line.toString('latin1', ls, le);
        let at = -1;
        const sp = requestLine(text);
        if (sp >= 0 || isStatusLine(text)) at = 0;
        else {
          const m = REQUEST_LINE_INSIDE.exec(text) ?? STATUS_LINE_INSIDE.exec(text);
          if (m) at = m.index;
        }
        if (at < 0) {
          d.resyncSkipped += rawLength;
          return;
        }
        d.resyncSkipped += at;
        if (d.resyncSkipped > 0) {
          this.report(d, 'http-resync', `skipped ${d.resyncSkipped} bytes to the next message start`, d.resyncStartFrame);
        }
        d.resyncSkipped = 0;
        d.state = 'start';
        // a start found inside the line is lexed here (rare); one at the line's start already was
        const startLine = text.slice(at);
        this.startMessage(d, startLine, lineOffset + at, at === 0 ? sp : requestLine(startLine));
        return;
      }
      case 'head':
        this.headLine(d, line, ls, le, lineOffset);
        return;
      case 'chunk-size':
        this.chunkSizeLine(d, line, ls, le, lineOffset);
        return;
      case 'chunk-crlf': {
        const b = d.cur as Building;
        if (le !== ls) {
          this.msgProblem(b, 'http-chunk-no-crlf', 'chunk data not followed by CRLF', lineOffset - b.msg.streamOffset);
          d.state = 'chunk-size';
          this.chunkSizeLine(d, line, ls, le, lineOffset);
          return;
        }
        d.state = 'chunk-size';
        return;
      }
      case 'trailers': {
        const b = d.cur as Building;
        if (le === ls) {
          this.finish(d);
          return;
        }
        this.headerField(b, b.msg.trailers, line, ls, le, lineOffset);
        return;
      }
      default:
        return;
    }
  }

  /** A message starts with `startLine`: a request line when `sp` (requestLine's result for it) is ≥ 0, else a status line. */
  private startMessage(d: Direction, startLine: string, offset: number, sp: number): void {
    const id = this.nextId++;
    const msg: HttpMessage = {
      id,
      connId: this.connId,
      direction: d.dir,
      kind: 'request',
      version: '',
      interim: false,
      headers: [],
      headersDropped: 0,
      trailers: [],
      headerLength: 0,
      framing: 'none',
      body: EMPTY,
      bodyLength: 0,
      bodyTruncated: false,
      bodyLost: 0,
      complete: true,
      streamOffset: offset,
      frames: d.lineFrameCount > 0 ? d.lineFrames.slice(0, d.lineFrameCount) : [...d.chunkFrames],
      firstFrame: (d.lineFrameCount > 0 ? d.lineFrames[0] : undefined) ?? d.chunkFrames[0] ?? d.chunkFrame,
      lastFrame: d.chunkFrame,
      firstTime: d.lineFrameCount > 0 ? d.lineTime : d.chunkTime,
      lastTime: d.chunkTime,
      problems: [],
    };
    const b: Building = {
      msg,
      bodyParts: [],
      bodyKept: 0,
      lastChunkSeq: d.chunkSeq,
      headBytes: startLine.length + 2,
      expectContinue: false,
      bodyLimitReported: false,
      answered: false,
      bodyShed: false,
    };
    if (startLine === 'PRI * HTTP/2.0') {
      // the HTTP/2 connection preface: binary frames follow, nothing more to read as HTTP/1
      this.report(d, 'http2-preface', 'HTTP/2 connection preface; the stream is not parsed');
      d.cur = undefined;
      d.state = 'dead';
      return;
    }
    if (sp >= 0) {
      const ms = startLine.indexOf(' ');
      msg.kind = 'request';
      msg.method = ms === 3 && startLine.startsWith('GET') ? 'GET' : ms === 4 && startLine.startsWith('POST') ? 'POST' : startLine.slice(0, ms);
      msg.uri = startLine.slice(ms + 1, sp);
      msg.version = versionAt(startLine, sp + 1);
    } else {
      // a status line (the caller checked)
      msg.kind = 'response';
      msg.version = versionAt(startLine, 0);
      msg.status = (startLine.charCodeAt(9) - 0x30) * 100 + (startLine.charCodeAt(10) - 0x30) * 10 + (startLine.charCodeAt(11) - 0x30);
      msg.reason = startLine.length > 12 ? startLine.slice(13) : '';
      msg.interim = msg.status >= 100 && msg.status < 200;
    }
    if (!msg.version.startsWith('HTTP/1.')) {
      this.msgProblem(b, 'http-version', `unsupported HTTP version ${escapeText(msg.version)}`, 0);
    }
    d.cur = b;
    d.anyMessage = true;
    d.state = 'head';
  }

  private headLine(d: Direction, line: Buffer, ls: number, le: number, lineOffset: number): void {
    const b = d.cur as Building;
    b.headBytes += le - ls + 2;
    if (b.headBytes > this.limits.maxHeaderBytes) {
      this.lineTooLong(d, 'head');
      return;
    }
    if (le === ls) {
      b.msg.headerLength = lineOffset + 2 - b.msg.streamOffset;
      this.headComplete(d);
      return;
    }
    this.headerField(b, b.msg.headers, line, ls, le, lineOffset);
  }

  /** A header field line, line[ls, le) (not empty). */
  private headerField(b: Building, into: HttpHeader[], line: Buffer, ls: number, le: number, lineOffset: number): void {
    const rel = lineOffset - b.msg.streamOffset;
    if (line[ls] === 0x20 || line[ls] === 0x09) {
      const last = into[into.length - 1];
      this.msgProblem(b, 'http-obs-fold', 'obsolete line folding in a header', rel);
      if (last) last.value = (last.value + ' ' + line.toString('latin1', ls, le).trim()).trim();
      return;
    }
    let at = line.indexOf(0x3a, ls);
    if (at >= le) at = -1;
    const colon = at < 0 ? -1 : at - ls;
    if (colon <= 0) {
      this.msgProblem(b, 'http-bad-header-line', `header line without a name: ${escapeBytes(line.subarray(ls, le), 80)}`, rel);
      return;
    }
    const last = line[at - 1];
    let name = knownHeaderName(line, ls, at) ?? line.toString('latin1', ls, at);
    if (last === 0x20 || last === 0x09) {
      this.msgProblem(b, 'http-header-space-before-colon', `whitespace before the colon in ${escapeText(name)}`, rel);
      name = name.trimEnd();
    }
    if (!isToken(name)) {
      this.msgProblem(b, 'http-bad-header-name', `invalid header name ${escapeText(name, 80)}`, rel);
    }
    if (into.length >= this.limits.maxHeaders) {
      if (b.msg.headersDropped === 0)
        this.msgProblem(b, 'http-too-many-headers', `more than ${this.limits.maxHeaders} header fields; the rest are counted, not kept`, rel);
      b.msg.headersDropped++;
      return;
    }
    let vs = at + 1;
    while (vs < le && (line[vs] === 0x20 || line[vs] === 0x09)) vs++;
    // trailing blanks are single bytes in UTF-8 and Latin-1 alike: dropping them before decoding is the same as after
    let ve = le;
    while (ve > vs && (line[ve - 1] === 0x20 || line[ve - 1] === 0x09)) ve--;
    const value = headerText(line, vs, ve);
    into.push({ name, value, offset: rel, valueOffset: rel + (vs - ls) });
  }

  private headComplete(d: Direction): void {
    const b = d.cur as Building;
    const msg = b.msg;
    // one pass over the headers for the four this method reads (was a filter per name, 4 % of analyze's profile)
    // arrays only for the headers present (most messages have no Expect and no Transfer-Encoding)
    let ctFirst: string | undefined;
    let expect: string[] = NONE;
    let te: string[] = NONE;
    let cl: string[] = NONE;
    for (const h of msg.headers) {
      const n = h.name.length;
      if (n !== 6 && n !== 12 && n !== 14 && n !== 17) continue;
      const l = lowerName(h.name);
      if (l === 'content-type') ctFirst ??= h.value;
      else if (l === 'content-length') cl = cl === NONE ? [h.value] : (cl.push(h.value), cl);
      else if (l === 'expect') expect = expect === NONE ? [h.value] : (expect.push(h.value), expect);
      else if (l === 'transfer-encoding') te = te === NONE ? [h.value] : (te.push(h.value), te);
    }
    // parsed now, not at the end of the body: the other direction may need the credentials first (an early 401)
    const auth = parseAuthHeaders(msg.headers, msg.problems);
    if (auth) msg.auth = auth;
    const ct = ctFirst;
    if (ct !== undefined) {
      const semi = ct.indexOf(';');
      const raw = semi < 0 ? ct : ct.slice(0, semi);
      msg.contentType = KNOWN_MEDIA_TYPES.get(raw) ?? raw.trim().toLowerCase();
    }
    let noBody = false;
    let tunnelAfter = false;
    if (msg.kind === 'request') {
      b.expectContinue = expect.some((v) => v.toLowerCase() === '100-continue');
      if (this.pending.length >= this.limits.maxPendingRequests) {
        const dropped = this.pendingShift() as HttpMessage;
        if (this.forgottenCount === 0)
          this.msgProblem(b, 'http-too-many-pending', `more than ${this.limits.maxPendingRequests} requests without a response; oldest forgotten (frame ${dropped.firstFrame}); further ones on this connection are counted`);
        this.forgottenCount++;
        this.forgottenFrame = msg.firstFrame;
        this.sink.forgotten?.(dropped);
      }
      this.pendingPush(msg);
    } else {
      const req = this.pending[0];
      if (req) {
        msg.requestFrame = req.firstFrame;
        msg.request = req;
      } else {
        this.msgProblem(b, 'http-response-without-request', 'response to a request not in the capture');
      }
      const status = msg.status ?? 0;
      if (msg.interim && status !== 101) {
        noBody = true;
      } else {
        // 101 answers the request for good: the connection then carries another protocol
        if (status === 101) {
          noBody = true;
          tunnelAfter = true;
        }
        if (req) {
          this.pendingShift();
          req.responseFrame = msg.firstFrame;
          // the client may skip a body it promised with Expect: 100-continue
          const rd = this.dirs[req.direction];
          if (rd.cur && rd.cur.msg === req) rd.cur.answered = true;
        }
        if (req?.method === 'HEAD' || status === 204 || status === 304) noBody = true;
        if (req?.method === 'CONNECT' && status >= 200 && status < 300) {
          noBody = true;
          tunnelAfter = true;
        }
      }
    }
    if (noBody) {
      msg.framing = 'none';
      this.finish(d);
      if (tunnelAfter) {
        for (const x of this.dirs) this.abandon(x, 'tunnel');
      }
      return;
    }
    if (te.length > 0) {
      const codings = te.join(',').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
      if (cl.length > 0) this.msgProblem(b, 'http-te-and-cl', 'both Transfer-Encoding and Content-Length; Transfer-Encoding wins');
      if (codings[codings.length - 1] === 'chunked') {
        msg.framing = 'chunked';
        d.state = 'chunk-size';
        return;
      }
      this.msgProblem(b, msg.kind === 'request' ? 'http-bad-transfer-encoding' : 'http-response-transfer-encoding', `Transfer-Encoding ${escapeText(te.join(', '), 80)} does not end in chunked; body read to the end of the stream`);
      msg.framing = 'until-close';
      d.state = 'until-close';
      return;
    }
    if (cl.length > 0) {
      // one Content-Length of digits (every message but a malformed one): no joined, split and trimmed copies, no Set
      const single = cl.length === 1 && isDigits(cl[0]);
      const values = single ? cl : cl.join(',').split(',').map((s) => s.trim());
      const v = values[0];
      if (!single && (new Set(values).size !== 1 || !/^\d+$/.test(v))) {
        this.msgProblem(b, 'http-bad-content-length', `invalid Content-Length ${escapeText(cl.join(', '), 80)}`);
        if (msg.kind === 'request') {
          this.finish(d);
          this.enterResync(d, d.chunkFrame);
        } else {
          msg.framing = 'until-close';
          d.state = 'until-close';
        }
        return;
      }
      const digits = v.replace(/^0+(?=\d)/, '');
      if (digits.length > 15) {
        this.msgProblem(b, 'http-content-length-huge', `Content-Length ${escapeText(v, 40)} is beyond what the parser counts; body read to the end of the stream`);
        msg.framing = 'until-close';
        d.state = 'until-close';
        return;
      }
      const n = parseInt(digits, 10);
      msg.framing = 'content-length';
      if (n === 0) {
        this.finish(d);
        return;
      }
      d.remaining = n;
      d.state = 'body';
      return;
    }
    if (msg.kind === 'request') {
      msg.framing = 'none';
      this.finish(d);
      return;
    }
    msg.framing = 'until-close';
    d.state = 'until-close';
  }

  private chunkSizeLine(d: Direction, line: Buffer, ls: number, le: number, lineOffset: number): void {
    const b = d.cur as Building;
    const text = line.toString('latin1', ls, le);
    const m = /^[ \t]*([0-9A-Fa-f]+)[ \t]*(;.*)?$/.exec(text);
    if (!m) {
      this.msgProblem(b, 'http-bad-chunk-size', `bad chunk size line: ${escapeText(text, 60)}`, lineOffset - b.msg.streamOffset);
      b.msg.complete = false;
      this.finish(d);
      this.enterResync(d, d.chunkFrame);
      return;
    }
    const hex = m[1].replace(/^0+(?=[0-9A-Fa-f])/, '');
    if (hex.length > 12) {
      this.msgProblem(b, 'http-chunk-size-overflow', `chunk size ${escapeText(m[1], 40)} too large`, lineOffset - b.msg.streamOffset);
      b.msg.complete = false;
      this.finish(d);
      this.enterResync(d, d.chunkFrame);
      return;
    }
    const size = parseInt(hex, 16);
    if (size === 0) {
      d.state = 'trailers';
      return;
    }
    d.remaining = size;
    d.state = 'chunk-data';
  }

  private addBody(d: Direction, b: Building, bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.touch(d, b);
    b.msg.bodyLength += bytes.length;
    // under the shared bound's pressure the rest of the body is counted, not kept (the prefix kept stays whole)
    if (!b.bodyShed && this.shared !== undefined && this.shared.inProgressBytes > this.shared.limits.maxInProgressBytes) {
      b.bodyShed = true;
      this.shared.noteShed(this.connId, d.chunkFrame, b.bodyKept);
    }
    const room = b.bodyShed ? 0 : this.limits.maxBodyBytes - b.bodyKept;
    if (room > 0) {
      const keep = bytes.length <= room ? bytes : bytes.subarray(0, room);
      b.bodyParts.push(Buffer.from(keep)); // chunk buffers may be reused by the reader
      b.bodyKept += keep.length;
    }
    if (b.msg.bodyLength > this.limits.maxBodyBytes && !b.bodyLimitReported) {
      b.bodyLimitReported = true;
      this.msgProblem(b, 'http-body-limit', `body longer than ${this.limits.maxBodyBytes} bytes; the rest is counted, not kept`);
    }
  }

  /** Records that the current chunk contributed bytes to a message. */
  private touch(d: Direction, b: Building): void {
    b.msg.lastFrame = d.chunkFrame;
    b.msg.lastTime = d.chunkTime;
    if (b.lastChunkSeq === d.chunkSeq) return;
    b.lastChunkSeq = d.chunkSeq;
    for (const f of d.chunkFrames) if (b.msg.frames[b.msg.frames.length - 1] !== f) b.msg.frames.push(f);
  }

  private finish(d: Direction): void {
    const b = d.cur;
    if (!b) return;
    d.cur = undefined;
    d.state = 'start';
    d.remaining = 0;
    const msg = b.msg;
    msg.body = b.bodyParts.length === 1 ? b.bodyParts[0] : Buffer.concat(b.bodyParts);
    msg.bodyTruncated = msg.body.length < msg.bodyLength;
    if (msg.trailers.length > 0) {
      const fromTrailers = parseAuthHeaders(msg.trailers, msg.problems);
      if (fromTrailers) {
        const auth = (msg.auth ??= { challenges: [], credentials: [], info: [] });
        auth.challenges.push(...fromTrailers.challenges);
        auth.credentials.push(...fromTrailers.credentials);
        auth.info.push(...fromTrailers.info);
      }
    }
    // msg.contentType is lower case (set from the Content-Type header above)
    if (this.parseMbms && msg.contentType && isMbmsMediaType(msg.contentType) && msg.body.length > 0) {
      if (msg.bodyTruncated) {
        msg.problems.push(httpProblem('mbms-body-incomplete', 'MBMS body incomplete; not parsed', msg.headerLength));
      } else {
        const r = parseMbmsBody(msg.contentType, msg.body);
        msg.mbms = r.body;
        for (const p of r.problems) msg.problems.push({ ...p, offset: p.offset === undefined ? undefined : p.offset + msg.headerLength });
      }
    }
    if (msg.kind === 'request' && b.answered === false && msg.responseFrame === undefined) {
      // still pending: pairing happens when the response header arrives
    }
    this.sink.message(msg);
  }

  private enterResync(d: Direction, frame: number): void {
    if (d.state === 'dead' || d.state === 'tunnel') return;
    d.state = 'resync';
    d.resyncSkipped = 0;
    d.resyncStartFrame = frame;
  }

  private abandon(d: Direction, state: 'tunnel' | 'dead'): void {
    if (d.cur && state === 'tunnel') {
      d.cur.msg.complete = false;
      this.finish(d);
    }
    d.cur = undefined;
    d.line.clear();
    d.state = state;
  }

  private looksLikeRequestStart(data: Buffer, pos: number): boolean {
    const head = data.subarray(pos, pos + 16).toString('latin1');
    return new RegExp(`^(?:${KNOWN_METHODS}) `).test(head);
  }

  private msgProblem(b: Building, code: HttpProblemCode, message: string, offset?: number): void {
    b.msg.problems.push(httpProblem(code, message, offset));
  }

  private report(d: Direction, code: HttpProblemCode, message: string, frame?: number): void {
    this.sink.problem?.(this.connId, frame ?? d.chunkFrame, httpProblem(code, message));
  }
}

/**
 * TcpStreamHandler that runs an HttpConnectionParser per connection. `accept` picks the connections to parse
 * (default: all; streams that are not HTTP are given up after a few KiB).
 */
export class HttpStreamHandler implements TcpStreamHandler {
  private readonly parsers = new Map<number, HttpConnectionParser>();
  private readonly ignored = new Set<number>();
  /** The bounds over all connections (requests awaiting a response, messages in progress). */
  readonly shared: HttpSharedBudget;

  constructor(
    private readonly sink: HttpSink,
    private readonly options: HttpParserOptions & {
      accept?: (conn: TcpConnectionInfo) => boolean;
      /** Connections parsed at once; the oldest is closed beyond this (default: the TCP reassembler's, 16 384). */
      maxConnections?: number;
      /** Bounds over all connections together (default DEFAULT_HTTP_SHARED_LIMITS; the Dissector derives them from --max-memory). */
      shared?: Partial<HttpSharedLimits>;
    } = {},
  ) {
    this.shared = new HttpSharedBudget(sink, () => this.parsers.values(), options.shared);
  }

  /** End of capture, after every connection has ended: the shared bounds' counts. */
  finish(): void {
    this.shared.finish();
  }

  private parserFor(conn: TcpConnectionInfo): HttpConnectionParser | undefined {
    let p = this.parsers.get(conn.id);
    if (p) return p;
    if (this.ignored.has(conn.id)) return undefined;
    if (this.options.accept && !this.options.accept(conn)) {
      this.ignored.add(conn.id);
      if (this.ignored.size > 100_000) this.ignored.clear();
      return undefined;
    }
    const max = this.options.maxConnections ?? DEFAULT_MAX_TCP_CONNECTIONS;
    if (this.parsers.size >= max) {
      const [oldId, oldest] = this.parsers.entries().next().value as [number, HttpConnectionParser];
      const t = { tsSec: 0, tsNsec: 0 };
      oldest.end(0, 'evicted', t);
      oldest.end(1, 'evicted', t);
      this.parsers.delete(oldId);
    }
    p = new HttpConnectionParser(conn.id, this.sink, this.options, this.shared);
    this.parsers.set(conn.id, p);
    return p;
  }

  data(conn: TcpConnectionInfo, dir: StreamDirection, chunk: StreamChunk): void {
    this.parserFor(conn)?.data(dir, chunk);
  }

  gap(conn: TcpConnectionInfo, dir: StreamDirection, gap: StreamGap): void {
    this.parserFor(conn)?.gap(dir, gap);
  }

  private endedDirs = new Map<number, number>();

  /** A message of this connection and direction has begun and not ended yet. */
  inProgress(connId: number, dir: StreamDirection): boolean {
    return this.parsers.get(connId)?.inProgress(dir) ?? false;
  }

  end(conn: TcpConnectionInfo, dir: StreamDirection, reason: TcpCloseReason, time: PacketTime): void {
    const p = this.parsers.get(conn.id);
    if (!p) return;
    p.end(dir, reason, time);
    const mask = (this.endedDirs.get(conn.id) ?? 0) | (1 << dir);
    if (mask === 3) {
      this.parsers.delete(conn.id);
      this.endedDirs.delete(conn.id);
    } else this.endedDirs.set(conn.id, mask);
  }
}
