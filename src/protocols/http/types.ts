import type { Problem } from '../../common/problem';
import type { PacketTime } from '../../common/time';
import type { StreamDirection } from '../../reassembly/types';
import type { HttpAuthData } from './auth';
import type { MbmsBody } from '../mbms/xml';

export interface HttpHeader {
  /** Name as sent. */
  name: string;
  /** Value with surrounding whitespace removed (obs-fold continuations joined with one space). */
  value: string;
  /** Offset of the header line from the start of the message. */
  offset: number;
  /** Offset of the value's first byte from the start of the message (problems found inside the value add to it). */
  valueOffset: number;
}

export type HttpBodyFraming = 'none' | 'content-length' | 'chunked' | 'until-close';

export interface HttpMessage {
  /** Unique per parser (per TCP connection), in the order messages started. */
  id: number;
  /** TCP connection id (TcpConnectionInfo.id) the message came on. */
  connId: number;
  direction: StreamDirection;
  kind: 'request' | 'response';
  method?: string;
  uri?: string;
  /** `HTTP/1.1` etc. as sent. */
  version: string;
  status?: number;
  reason?: string;
  /** 1xx responses: they answer a request without completing it. */
  interim: boolean;
  headers: HttpHeader[];
  /** Headers beyond the count limit, counted but not kept. */
  headersDropped: number;
  /** Trailer fields of a chunked body. */
  trailers: HttpHeader[];
  /** Length of the start line plus header block, including the empty line. */
  headerLength: number;
  framing: HttpBodyFraming;
  /** The body after removing the chunked transfer coding, up to the body limit. */
  body: Buffer;
  /** Total body bytes (de-chunked), including bytes not kept and bytes lost in gaps. */
  bodyLength: number;
  /** True when body.length < bodyLength (limit reached or gap). */
  bodyTruncated: boolean;
  /** Body bytes never captured (gaps). */
  bodyLost: number;
  /** False when the message was cut (gap, end of stream before its end). */
  complete: boolean;
  /** Media type of Content-Type, lower-case, without parameters. */
  contentType?: string;
  /** Offset of the message's first byte in its direction's stream. */
  streamOffset: number;
  /** Frames that carried the message, in stream order. */
  frames: number[];
  firstFrame: number;
  lastFrame: number;
  firstTime: PacketTime;
  lastTime: PacketTime;
  /** Requests: the first frame of the (final) response, once it has been seen. */
  responseFrame?: number;
  /** Responses: the first frame of the request this answers. */
  requestFrame?: number;
  /** Responses: the request this answers (not serialised; lets Digest checks reach the credentials). */
  request?: HttpMessage;
  /** Authentication headers, parsed. */
  auth?: HttpAuthData;
  /** Set by DigestTracker: true = all Digest values checked out, false = a mismatch, null = no password known. */
  verified?: boolean | null;
  /** Parsed MBMS XML body, when Content-Type is one of the application/mbms-*+xml types. */
  mbms?: MbmsBody;
  /** Problems about this message; offsets are from the message's first byte. */
  problems: Problem[];
}

export interface HttpLimits {
  /** Start line + headers; a larger header block is reported and skipped. */
  maxHeaderBytes: number;
  /** Header fields kept per message; more are counted. */
  maxHeaders: number;
  /** Body bytes kept per message; the rest is counted. */
  maxBodyBytes: number;
  /** A chunk-size line longer than this is malformed. */
  maxChunkLineBytes: number;
  /** Bytes scanned while looking for the next message start before the parser gives the stream up. */
  maxResyncBytes: number;
  /** Requests waiting for a response, per connection. */
  maxPendingRequests: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = {
  maxHeaderBytes: 64 * 1024,
  maxHeaders: 256,
  maxBodyBytes: 1024 * 1024,
  maxChunkLineBytes: 4096,
  maxResyncBytes: 4 * 1024 * 1024,
  maxPendingRequests: 1024,
};
