import type { Problem } from '../common/problem';
import type { PacketTime } from '../common/time';

/** Direction within a TCP connection: 0 = from the side that sent the first SYN (or the first packet seen), 1 = back. */
export type StreamDirection = 0 | 1;

export interface TcpEndpoints {
  /** Address/port of direction 0's sender (the client when the handshake was seen). */
  clientAddr: string;
  clientPort: number;
  serverAddr: string;
  serverPort: number;
}

export interface TcpConnectionInfo extends TcpEndpoints {
  /** Unique id per connection, like Zeek's uid; every later record refers to it. */
  id: number;
  /** Frame number of the first packet seen for this connection. */
  firstFrame: number;
  /** True when the three-way handshake was seen; false for a connection captured mid-stream. */
  handshakeSeen: boolean;
  /** Set when the connection came through a GTP-U tunnel: TEID of the first packet. */
  tunnelTeid?: number;
}

/** A contiguous run of in-order stream bytes. */
export interface StreamChunk extends PacketTime {
  /** Offset of data[0] from the start of this direction's stream (0 = first byte after the SYN). */
  streamOffset: number;
  /** Valid only during the `data` callback (in-order bytes are a view of the packet's buffer): copy what must outlive it. */
  data: Buffer;
  /** Frame that delivered (completed) these bytes. */
  frame: number;
  /** All frames that contributed bytes to this chunk, in stream order. */
  frames: number[];
}

/** Bytes that were never captured: the stream continues after them. */
export interface StreamGap extends PacketTime {
  streamOffset: number;
  length: number;
  /** Frame after which the gap was declared (the frame that carried the data following it, or the FIN). */
  frame: number;
}

/**
 * Why a direction ended. 'reused': a new SYN with another ISN arrived on the same 4-tuple while the old connection was
 * still open (its FIN/RST was not captured).
 */
export type TcpCloseReason = 'fin' | 'rst' | 'end-of-capture' | 'evicted' | 'timeout' | 'reused';

/** What the TCP reassembler tells its consumer. Called synchronously, in stream order per direction. */
export interface TcpStreamHandler {
  open?(conn: TcpConnectionInfo): void;
  data(conn: TcpConnectionInfo, dir: StreamDirection, chunk: StreamChunk): void;
  gap?(conn: TcpConnectionInfo, dir: StreamDirection, gap: StreamGap): void;
  /** One direction ended (FIN, RST, end of capture). */
  end?(conn: TcpConnectionInfo, dir: StreamDirection, reason: TcpCloseReason, time: PacketTime): void;
  /** A stream-level finding (retransmission with different data, memory budget exceeded, ...). */
  problem?(conn: TcpConnectionInfo, frame: number, p: Problem): void;
}
