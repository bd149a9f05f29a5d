/**
 * The dissection pipeline's share of the memory budget (`--max-memory`, default DEFAULT_MAX_MEMORY_MB): the bounds of
 * the state kept between frames — open TCP connections with their HTTP parsers, closed connections remembered, frames
 * held back, out-of-order TCP data, IP fragments — derived from the same budget as the correlator's
 * (src/correlate/options.ts liveStateBytes: one split between the two), with the measured cost of each item.
 * docs/memory-budgets.md has the table. Options given explicitly (DissectorOptions.tcp, .decoder.fragments,
 * .maxHeldFrames, .maxHeldBytes) win over the derived ones.
 */
import { DEFAULT_MAX_MEMORY_MB, liveStateBytes, roundDown } from '../correlate/options';

/**
 * Measured heap cost of one item of each budgeted kind of the pipeline, in bytes (Node 20, x64; live heap after a full
 * collection, plus the buffers outside the heap, on the captures of test/support/adversarial.ts).
 */
export const PIPELINE_ITEM_COSTS = {
  /**
   * An open TCP connection with its HTTP parser and an unfinished request (a short head): measured ≈ 3.5 KB of heap
   * and ≈ 0.4 KB of buffers per connection (never-closed flows, 1 000 → 16 384 connections). A message in progress
   * adds its own header and body bytes, bounded per connection by HttpLimits (maxHeaderBytes, maxBodyBytes).
   */
  connection: 4_000,
  /** A closed connection remembered for its final ACKs and retransmitted FINs. */
  closedConnection: 400,
  /**
   * One byte of held frames as the Dissector estimates it (captured bytes, HTTP header and body bytes, and a per-object
   * allowance: HELD_FRAME_COST): the estimate is of the heap they keep alive, so one.
   */
  heldByte: 1,
  /** A held frame at least (its records without payload): the frame count bound follows the byte bound. */
  heldFrame: 1_024,
  /** One byte of out-of-order TCP data (a copy, outside the heap). */
  outOfOrderByte: 1,
  /** A held out-of-order TCP segment's record beside its bytes. */
  outOfOrderSegment: 200,
  /** One byte of IP fragments awaiting the rest of their datagram (copies). */
  fragmentByte: 1,
  /** A datagram being reassembled (its record and key, beside its bytes). */
  pendingDatagram: 600,
  /**
   * A request awaiting its response, on any connection (HttpSharedBudget counts HTTP_PENDING_REQUEST_COST plus its
   * header and body bytes): measured ≈ 1.1 KB of heap for a GET with a short head (pipelined requests, 20 k pending).
   */
  pendingRequest: 1_100,
  /** One byte of an HTTP message in progress (header lines read, body bytes kept, line buffers): the bytes themselves. */
  inProgressByte: 1,
  /**
   * A conversation the field context numbers (tcp.stream, udp.stream: src/fields/context.ts, for frame output and -Y),
   * counted once in each of its two maps (TCP, UDP). Measured: 250 B for an IPv4 TCP conversation (its key and its
   * record, 20 k and 70 k conversations), 400 B with IPv6 addresses: 400 B per map, 800 B for both.
   */
  conversation: 800,
} as const;

/**
 * Shares of the pipeline's live-state budget. Connections first (each costs a few KB and a busy capture has many),
 * held frames next (an HTTP response or a cut message waited for), then the byte buffers of reassembly.
 */
export const PIPELINE_BUDGET_SHARES = {
  connections: 0.38,
  closedConnections: 0.05,
  heldFrames: 0.2,
  outOfOrder: 0.1,
  fragments: 0.06,
  /** Requests awaiting a response on all connections (HttpSharedLimits.maxPendingRequests, .maxPendingBytes). */
  pendingRequests: 0.07,
  /** HTTP messages in progress on all connections (HttpSharedLimits.maxInProgressBytes). */
  inProgress: 0.07,
  /** Conversations the field context numbers for frame output and -Y (FieldContext's maxConversations). */
  conversations: 0.07,
} as const;

/** The pipeline's bounds that fit a memory budget (what DissectorOptions, TcpReassemblerOptions and IpFragmentOptions take). */
export interface PipelineBudget {
  /** Open TCP connections (TcpReassemblerOptions.maxConnections), and HTTP parsers (one per connection). */
  maxConnections: number;
  /** Closed TCP connections remembered (TcpReassemblerOptions.maxClosedConnections). */
  maxClosedConnections: number;
  /** DissectorOptions.maxHeldFrames and .maxHeldBytes. */
  maxHeldFrames: number;
  maxHeldBytes: number;
  /** TcpReassemblerOptions: out-of-order bytes in all, per connection and per direction, and segments held. */
  maxBufferedBytes: number;
  maxBufferedPerConnection: number;
  maxBufferedPerDirection: number;
  maxHeldSegments: number;
  maxHeldSegmentsPerDirection: number;
  /** IpFragmentOptions: fragment bytes held and datagrams being reassembled. */
  maxFragmentBytes: number;
  maxPendingDatagrams: number;
  /** HttpSharedLimits: requests awaiting a response on all connections (count and estimated bytes), bytes of messages in progress. */
  maxPendingRequests: number;
  maxPendingBytes: number;
  maxInProgressBytes: number;
  /** TCP conversations and UDP conversations (each) the field context numbers (src/fields/context.ts maxConversations). */
  maxConversations: number;
}

const MIB = 1024 * 1024;
/** Per-connection and per-direction out-of-order caps, and per-direction segments, when the budget allows more. */
const MAX_OUT_OF_ORDER_PER_CONNECTION = 8 * MIB;
const MAX_OUT_OF_ORDER_PER_DIRECTION = 4 * MIB;
const MAX_SEGMENTS_PER_DIRECTION = 4096;
/** Floors, so that the smallest budget still reassembles a handful of connections. */
const MIN_CONNECTIONS = 256;
const MIN_HELD_FRAMES = 256;
const MIN_BUFFERED_BYTES = 256 * 1024;
const MIN_PENDING_DATAGRAMS = 64;
/** At least one connection's worth of pending requests (HttpLimits.maxPendingRequests) and of a message in progress (64 KiB head + some body). */
const MIN_PENDING_REQUESTS = 1024;
const MIN_IN_PROGRESS_BYTES = 1 * MIB;

/**
 * The pipeline's bounds for `megabytes` of --max-memory: the pipeline's share of the live state (liveStateBytes), split
 * by PIPELINE_BUDGET_SHARES and divided by PIPELINE_ITEM_COSTS, counts rounded down to two significant digits.
 */
export function pipelineBudgetFromMemory(megabytes: number = DEFAULT_MAX_MEMORY_MB): PipelineBudget {
  const live = liveStateBytes(megabytes, 'pipeline');
  const share = (k: keyof typeof PIPELINE_BUDGET_SHARES): number => live * PIPELINE_BUDGET_SHARES[k];
  const c = PIPELINE_ITEM_COSTS;
  const maxConnections = Math.max(MIN_CONNECTIONS, roundDown(share('connections') / c.connection));
  const maxClosedConnections = Math.max(MIN_CONNECTIONS, roundDown(share('closedConnections') / c.closedConnection));
  const maxHeldBytes = Math.max(MIN_HELD_FRAMES * c.heldFrame, Math.floor(share('heldFrames') / c.heldByte));
  const maxHeldFrames = Math.max(MIN_HELD_FRAMES, roundDown(maxHeldBytes / c.heldFrame));
  // out of order: half the share for bytes, half for segment records (tiny hostile segments)
  const maxBufferedBytes = Math.max(MIN_BUFFERED_BYTES, Math.floor(share('outOfOrder') / 2 / c.outOfOrderByte));
  const maxHeldSegments = Math.max(MIN_HELD_FRAMES, roundDown(share('outOfOrder') / 2 / c.outOfOrderSegment));
  const maxFragmentBytes = Math.max(MIN_BUFFERED_BYTES, Math.floor(share('fragments') / 2 / c.fragmentByte));
  const maxPendingDatagrams = Math.max(MIN_PENDING_DATAGRAMS, roundDown(share('fragments') / 2 / c.pendingDatagram));
  const maxPendingBytes = Math.max(MIN_PENDING_REQUESTS * c.pendingRequest, Math.floor(share('pendingRequests')));
  const maxPendingRequests = Math.max(MIN_PENDING_REQUESTS, roundDown(maxPendingBytes / c.pendingRequest));
  const maxInProgressBytes = Math.max(MIN_IN_PROGRESS_BYTES, Math.floor(share('inProgress') / c.inProgressByte));
  const maxConversations = Math.max(MIN_CONNECTIONS, roundDown(share('conversations') / c.conversation));
  return {
    maxConnections,
    maxClosedConnections,
    maxHeldFrames,
    maxHeldBytes,
    maxBufferedBytes,
    maxBufferedPerConnection: Math.min(MAX_OUT_OF_ORDER_PER_CONNECTION, maxBufferedBytes),
    maxBufferedPerDirection: Math.min(MAX_OUT_OF_ORDER_PER_DIRECTION, Math.floor(maxBufferedBytes / 2)),
    maxHeldSegments,
    maxHeldSegmentsPerDirection: Math.min(MAX_SEGMENTS_PER_DIRECTION, maxHeldSegments),
    maxFragmentBytes,
    maxPendingDatagrams,
    maxPendingRequests,
    maxPendingBytes,
    maxInProgressBytes,
    maxConversations,
  };
}

/** `given` with the keys whose value is undefined left out (so a spread of it does not erase a derived bound). */
export function definedOnly<T extends object>(given: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (given) for (const k of Object.keys(given) as (keyof T)[]) if (given[k] !== undefined) out[k] = given[k];
  return out;
}
