import type { CaptureFrame } from '../capture/types';
import type { Problem } from '../common/problem';
import { decodeProblem } from '../decode/problems';
import { reassemblyProblem } from '../reassembly/problems';
import type { PacketTime } from '../common/time';
import { LayerCursor, NextLayer } from '../decode/cursor';
import { decodeGtpU, GTPU_PORT, GtpMessageType, gtpMessageName } from '../decode/gtpu';
import { IpProtocol, ipProtocolName } from '../decode/ipproto';
import { decodeIpv4 } from '../decode/ipv4';
import { decodeIpv6, walkIpv6Extensions } from '../decode/ipv6';
import { decodeLink } from '../decode/link';
import { decodeTcp } from '../decode/tcp';
import type { DecodedPacket, IpLayerInfo, TunnelInfo, UdpInfo } from '../decode/types';
import { decodeUdp } from '../decode/udp';
import { IpFragmentReassembler, type IncompleteDatagram, type IpFragmentOptions } from '../reassembly/ip-fragments';

export interface PacketDecoderOptions {
  fragments?: IpFragmentOptions;
  /** GTP-U encapsulations unwrapped before giving up (default 4). */
  maxTunnelDepth?: number;
  /** UDP port that carries GTP-U (default 2152). */
  gtpUPort?: number;
}

/** The payload of every TCP segment without data (read only: a zero-length view has nothing to write). */
const NO_PAYLOAD: Buffer = Buffer.alloc(0);
const REASSEMBLED_NOTE = ' (offset within the reassembled datagram payload)';

/**
 * Frame → DecodedPacket: link, IP (with fragment reassembly), UDP/TCP, GTP-U unwrapped to the inner packet. Stateful only
 * through the fragment reassembler, whose timeouts run on packet time. Never throws on packet content.
 */
export class PacketDecoder {
  private readonly cur = new LayerCursor();
  private readonly reassembler: IpFragmentReassembler;
  private readonly maxTunnelDepth: number;
  private readonly gtpUPort: number;
  // the frame being decoded, for the reassembler
  private frameNumber = 0;
  private time: PacketTime = { tsSec: 0, tsNsec: 0 };
  private snapCut = false;

  constructor(options: PacketDecoderOptions = {}) {
    this.reassembler = new IpFragmentReassembler(options.fragments);
    this.maxTunnelDepth = options.maxTunnelDepth ?? 4;
    this.gtpUPort = options.gtpUPort ?? GTPU_PORT;
  }

  /** Datagrams waiting for fragments. */
  get pendingDatagrams(): number {
    return this.reassembler.pendingDatagrams;
  }

  /**
   * Decodes one frame. The record's `payload` may be a view into `frame.data`: copy it if it must outlive the frame.
   * Problems from the capture stage (`frame.problems`) come first in the record's problem list.
   */
  decode(frame: CaptureFrame): DecodedPacket {
    const problems: Problem[] = frame.problems.length > 0 ? frame.problems.slice() : [];
    const data = frame.data;
    const cur = this.cur;
    cur.reset(0, frame.capturedLength < data.length ? frame.capturedLength : data.length);
    this.frameNumber = frame.number;
    this.time = frame;
    this.snapCut = frame.capturedLength < frame.originalLength;
    cur.frameCut = this.snapCut;

    const link = decodeLink(frame.linkType, data, cur, problems);
    const pkt: DecodedPacket = {
      tsSec: frame.tsSec,
      tsNsec: frame.tsNsec,
      frame: frame.number,
      length: frame.originalLength,
      capturedLength: frame.capturedLength,
      link,
      problems,
    };
    if (this.reassembler.pendingDatagrams > 0) this.reassembler.expire(frame, problems);
    if (cur.next !== NextLayer.NONE) this.decodeIp(pkt, data, cur.next, 0);
    else if (cur.stopName !== undefined) pkt.protocolName = cur.stopName;
    return pkt;
  }

  /** End of capture: the datagrams still missing fragments, each with its problem. */
  flush(): IncompleteDatagram[] {
    return this.reassembler.flush();
  }

  /**
   * IP layer at the cursor. Returns false when no IP header could be read (pkt.ip untouched), true once pkt.ip is set.
   */
  private decodeIp(pkt: DecodedPacket, data: Buffer, next: NextLayer, depth: number): boolean {
    const cur = this.cur;
    const problems = pkt.problems;
    if (next === NextLayer.IP_BY_VERSION) {
      const v = cur.offset < cur.end ? data[cur.offset] >> 4 : -1;
      if (v === 4) next = NextLayer.IPV4;
      else if (v === 6) next = NextLayer.IPV6;
      else {
        if (v < 0) problems.push(decodeProblem('ip-missing', 'no bytes where an IP packet was expected', cur.offset, 0));
        else problems.push(decodeProblem('ip-bad-version', `IP version ${v} is neither 4 nor 6`, cur.offset, 1));
        return false;
      }
    }
    const ip = next === NextLayer.IPV4 ? decodeIpv4(data, cur, problems, this.snapCut) : decodeIpv6(data, cur, problems, this.snapCut);
    if (ip === undefined) return false;
    pkt.ip = ip;
    if (cur.stopName !== undefined) {
      pkt.protocolName = cur.stopName;
      return true;
    }
    const fragment = ip.fragment;
    if (fragment === undefined) {
      const claimed = cur.truncated ? ip.totalLength - ip.headerLength : cur.end - cur.offset;
      this.decodeTransport(pkt, ip, data, claimed, depth);
      return true;
    }

    const fragName = ip.version === 4 ? 'IPv4 fragment' : 'IPv6 fragment';
    if (cur.truncated) {
      problems.push(reassemblyProblem.as(ip.version === 4 ? 'ipv4' : 'ipv6', 'ip-fragment-truncated', 'fragment not captured whole: not reassembled', cur.offset));
      pkt.protocolName = fragName;
      return true;
    }
    const done = this.reassembler.add(
      {
        version: ip.version,
        src: ip.src,
        dst: ip.dst,
        protocol: ip.protocol,
        id: fragment.id,
        offset: fragment.offset,
        moreFragments: fragment.moreFragments,
        data: data.subarray(cur.offset, cur.end),
        frame: this.frameNumber,
        time: this.time,
        header: ip,
        dataOffset: cur.offset,
      },
      problems,
    );
    if (done === undefined) {
      pkt.protocolName = fragName;
      return true;
    }

    // the datagram is whole: decode what it carries from the reassembled bytes
    const whole = done.ip;
    whole.frameHeader = ip;
    pkt.ip = whole;
    const mark = problems.length;
    const payload = done.payload;
    cur.reset(0, payload.length);
    if (whole.version === 6) {
      walkIpv6Extensions(payload, cur, whole, problems, whole.protocol, false);
      if (whole.fragment !== undefined) {
        // a Fragment header inside a reassembled payload: fragments of fragments are not reassembled again
        problems.push(decodeProblem('ipv6-nested-fragment', 'Fragment header inside a reassembled datagram', cur.offset - 8, 8));
        delete whole.fragment;
        cur.stopName = 'IPv6 fragment';
      }
      if (cur.stopName !== undefined) pkt.protocolName = cur.stopName;
    }
    if (cur.stopName === undefined) this.decodeTransport(pkt, whole, payload, cur.end - cur.offset, depth);
    for (let i = mark; i < problems.length; i++) {
      const p = problems[i];
      if (p.offset !== undefined && !p.message.endsWith(REASSEMBLED_NOTE)) p.message += REASSEMBLED_NOTE;
    }
    return true;
  }

  /** Transport layer at the cursor; `claimed` is how many bytes the IP layer says it has (more than captured when cut). */
  private decodeTransport(pkt: DecodedPacket, ip: IpLayerInfo, data: Buffer, claimed: number, depth: number): void {
    const cur = this.cur;
    const problems = pkt.problems;
    if (ip.protocol === IpProtocol.UDP) {
      const udp = decodeUdp(data, cur, claimed, problems);
      if (udp === undefined) {
        pkt.protocolName = 'UDP';
        return;
      }
      if ((udp.dstPort === this.gtpUPort || udp.srcPort === this.gtpUPort) && this.decodeGtp(pkt, ip, udp, data, depth)) return;
      pkt.transport = udp;
      pkt.payload = data.subarray(cur.offset, cur.end);
      if (cur.truncated) pkt.payloadTruncated = true;
    } else if (ip.protocol === IpProtocol.TCP) {
      const tcp = decodeTcp(data, cur, problems);
      if (tcp === undefined) {
        pkt.protocolName = 'TCP';
        return;
      }
      pkt.transport = tcp;
      // a bad data offset leaves no payload to point at
      if (cur.stopName === undefined) {
        // segments without data (about half of a TCP capture: handshakes, ACKs, FINs) share one empty view
        pkt.payload = cur.end > cur.offset ? data.subarray(cur.offset, cur.end) : NO_PAYLOAD;
        if (cur.truncated) pkt.payloadTruncated = true;
      }
    } else {
      pkt.protocolName = ipProtocolName(ip.protocol);
    }
  }

  /**
   * GTP-U in a UDP datagram whose payload the cursor spans. Returns false when it is not GTPv1-U after all (the caller
   * keeps it as plain UDP). A G-PDU is unwrapped: the inner packet replaces ip/transport/payload, `tunnel` says how it came.
   */
  private decodeGtp(pkt: DecodedPacket, outer: IpLayerInfo, udp: UdpInfo, data: Buffer, depth: number): boolean {
    const cur = this.cur;
    const problems = pkt.problems;
    const udpStart = cur.offset;
    const udpEnd = cur.end;
    const udpTruncated = cur.truncated;
    if (depth >= this.maxTunnelDepth) {
      problems.push(decodeProblem('gtpu-too-deep', `GTP-U nested more than ${this.maxTunnelDepth} deep: not unwrapped further`, udpStart));
      return false;
    }
    const gtp = decodeGtpU(data, cur, problems);
    if (gtp === undefined) {
      cur.offset = udpStart;
      cur.end = udpEnd;
      cur.truncated = udpTruncated;
      return false;
    }
    const tunnel: TunnelInfo = {
      kind: 'gtp-u',
      outerSrc: outer.src,
      outerDst: outer.dst,
      outerSrcPort: udp.srcPort,
      outerDstPort: udp.dstPort,
      teid: gtp.teid,
      messageType: gtp.messageType,
      flags: gtp.flags,
      length: gtp.length,
      outerIp: outer,
      outerUdp: udp,
    };
    if (outer.reassembledFrom !== undefined) tunnel.outerReassembledFrom = outer.reassembledFrom;
    if (gtp.sequence !== undefined) tunnel.sequence = gtp.sequence;
    if (depth > 0) tunnel.depth = depth + 1;
    pkt.tunnel = tunnel;

    if (gtp.messageType === GtpMessageType.G_PDU && cur.stopName === undefined) {
      if (cur.offset < cur.end) {
        if (this.decodeIp(pkt, data, NextLayer.IP_BY_VERSION, depth + 1)) return true;
      } else {
        problems.push(decodeProblem('gtpu-empty-gpdu', 'G-PDU without a T-PDU', cur.offset, 0));
      }
    }
    // signalling, or a G-PDU whose content is not an IP packet: keep the outer datagram
    pkt.ip = outer;
    pkt.transport = udp;
    pkt.payload = data.subarray(udpStart, udpEnd);
    if (udpTruncated) pkt.payloadTruncated = true;
    pkt.protocolName = 'GTP-U ' + gtpMessageName(gtp.messageType);
    return true;
  }
}
