/**
 * Synthetic benchmark capture: a mix that exercises every stage on the hot path — real MIKEY messages (MSK
 * deliveries, ACKs, MTK deliveries) and other UDP datagrams, in-order TCP conversations carrying HTTP requests and responses, 802.1Q-tagged frames and GTP-U
 * tunnelled UDP. Frames are built once per shape and patched (addresses, ports, sequence numbers) so that
 * generation is not what the benchmark measures; the file is streamed to disk with the project's PcapWriter.
 */
import { PcapWriter } from '../src/capture/pcap-writer';
import { buildMskAck, buildMskDelivery, buildMtkDelivery } from '../src/protocols/mikey/encode';

const ETH_IPV4 = 0x0800;

function ipv4Header(buf: Buffer, off: number, totalLength: number, proto: number, src: number, dst: number, id: number): void {
  buf[off] = 0x45;
  buf[off + 1] = 0;
  buf.writeUInt16BE(totalLength, off + 2);
  buf.writeUInt16BE(id & 0xffff, off + 4);
  buf.writeUInt16BE(0x4000, off + 6); // DF
  buf[off + 8] = 64;
  buf[off + 9] = proto;
  buf.writeUInt16BE(0, off + 10);
  buf.writeUInt32BE(src >>> 0, off + 12);
  buf.writeUInt32BE(dst >>> 0, off + 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += buf.readUInt16BE(off + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  buf.writeUInt16BE(~sum & 0xffff, off + 10);
}

function ethernet(buf: Buffer, vlan?: number): number {
  buf.fill(0x02, 0, 6);
  buf.fill(0x04, 6, 12);
  if (vlan !== undefined) {
    buf.writeUInt16BE(0x8100, 12);
    buf.writeUInt16BE(vlan, 14);
    buf.writeUInt16BE(ETH_IPV4, 16);
    return 18;
  }
  buf.writeUInt16BE(ETH_IPV4, 12);
  return 14;
}

function udpFrame(payload: Buffer, src: number, dst: number, sport: number, dport: number, vlan?: number): Buffer {
  const buf = Buffer.alloc((vlan !== undefined ? 18 : 14) + 28 + payload.length);
  const ip = ethernet(buf, vlan);
  ipv4Header(buf, ip, 28 + payload.length, 17, src, dst, sport);
  buf.writeUInt16BE(sport, ip + 20);
  buf.writeUInt16BE(dport, ip + 22);
  buf.writeUInt16BE(8 + payload.length, ip + 24);
  payload.copy(buf, ip + 28);
  return buf;
}

function gtpuFrame(inner: Buffer, teid: number, plan: AddressPlan): Buffer {
  // inner = an IPv4 packet; outer = eNB → SGW on UDP 2152
  const gtp = Buffer.alloc(8 + inner.length);
  gtp[0] = 0x30;
  gtp[1] = 0xff;
  gtp.writeUInt16BE(inner.length, 2);
  gtp.writeUInt32BE(teid, 4);
  inner.copy(gtp, 8);
  return udpFrame(gtp, plan.enb, plan.sgw, 2152, 2152);
}

/** Every address and port the generated traffic uses (IPv4 addresses as 32-bit numbers). */
export interface AddressPlan {
  /** UE n is ueBase + n (n < 256). */
  ueBase: number;
  bmsc: number;
  /** The MTK group address. */
  group: number;
  /** HTTP client c is clientBase + (c & clientMask). */
  clientBase: number;
  clientMask: number;
  /** The HTTP server and its port. */
  httpServer: number;
  httpPort: number;
  /** Other UDP (not MIKEY) from a UE to the BM-SC: source and destination port. */
  otherUdpPorts: [number, number];
  /** GTP-U tunnel endpoints. */
  enb: number;
  sgw: number;
  /**
   * MIKEY as a BM-SC sends it: every MSK delivery to a UE carries that UE's next counter and a new Key Number each
   * round, and the UE's ACK answers it (same counter, from the UE it went to). Off (the file benchmark): a pool of
   * 256 messages replayed as they are, cheap and identical to earlier measurements, but full of replays and repeats.
   */
  realistic?: boolean;
}

/**
 * The file benchmark's plan: a lab network (10/8, a multicast group). Only ever written to a file that is read back,
 * never put on a wire.
 */
export const LAB_PLAN: AddressPlan = {
  ueBase: 0x0a010000, bmsc: 0x0a640001, group: 0xe0010101, clientBase: 0x0a020000, clientMask: 0xffff,
  httpServer: 0x0a640002, httpPort: 80, otherUdpPorts: [40000, 5004], enb: 0x0a000001, sgw: 0x0a000002,
};

/**
 * The live benchmark's plan: every address in 127.172.0.0/16 (the live benchmark's own /16; the MTK group is a
 * unicast address of it, as in the simulator), ports 1727x besides MIKEY's 2269 and GTP-U's 2152, because these
 * frames are replayed onto lo. src/sim/replay.ts checks every frame before replaying it anyway.
 */
export const LOOPBACK_PLAN: AddressPlan = {
  ueBase: 0x7fac0100, bmsc: 0x7fac0001, group: 0x7fac0002, clientBase: 0x7fac8000, clientMask: 0x7fff,
  httpServer: 0x7fac0003, httpPort: 17270, otherUdpPorts: [17272, 17273], enb: 0x7fac0005, sgw: 0x7fac0006, realistic: true,
};

/** Sentinels built into a pool message so that the generator finds where to patch the counter and Key Number. */
const COUNTER_SENTINEL = 0xa5c3e1f7;
const KEY_NUMBER_SENTINEL = 0xbe3f;
/** UEs of the realistic mix (one delivery each per round). */
const REALISTIC_UES = 256;

interface PatchableMikey {
  msk: Buffer[];
  ack: Buffer[];
  /** Per message: the IDr's length differs between UEs, so do the offsets after it. */
  counterOffset: number[];
  keyNumberOffset: number[];
  ackCounterOffset: number[];
}

/** One MSK delivery and its ACK per UE, with the offsets of the fields the realistic mix rewrites per round. */
function patchablePool(ues: number): PatchableMikey {
  const keyDomain = Buffer.from('00f110', 'hex');
  const rand = Buffer.alloc(16, 0x5a);
  const mskKey = Buffer.alloc(16, 0x11);
  const counterValue = Buffer.alloc(4);
  counterValue.writeUInt32BE(COUNTER_SENTINEL);
  const msk: Buffer[] = [];
  const ack: Buffer[] = [];
  for (let i = 0; i < ues; i++) {
    const muk = Buffer.alloc(16, i & 0xff);
    const idi = 'bmsc.mnc001.mcc001.pub.3gppnetwork.org';
    const idr = `ue${i}@bsf.mnc001.mcc001.pub.3gppnetwork.org`;
    msk.push(buildMskDelivery({ keyDomainId: keyDomain, keyGroup: 1, keyNumber: KEY_NUMBER_SENTINEL, muk, rand, counter: COUNTER_SENTINEL, csbId: 0x1234 + i, idi, idr, msk: mskKey, interval: { seqL: 0, seqU: 100 }, v: true }));
    ack.push(buildMskAck({ delivery: { csbId: 0x1234 + i, rand, counterValue, idi: Buffer.from(idi), idr: Buffer.from(idr) }, muk }));
  }
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(COUNTER_SENTINEL);
  const kn = Buffer.alloc(2);
  kn.writeUInt16BE(KEY_NUMBER_SENTINEL);
  const only = (b: Buffer, what: Buffer, name: string): number => {
    const at = b.indexOf(what);
    if (at < 0 || b.indexOf(what, at + 1) >= 0) throw new Error(`bench generator: the ${name} sentinel is not found exactly once`);
    return at;
  };
  return {
    msk, ack,
    counterOffset: msk.map((m) => only(m, counter, 'counter')),
    keyNumberOffset: msk.map((m) => only(m, kn, 'Key Number')),
    ackCounterOffset: ack.map((a) => only(a, counter, 'ACK counter')),
  };
}
let PATCHABLE: PatchableMikey | undefined;
/** The counter of a MIKEY message built by this project's encoder: right after the 12-byte common header's start (CSB ID ends at 8, then the T payload header). */
const MTK_COUNTER_OFFSET = 12;

function tcpFrame(payload: Buffer, src: number, dst: number, sport: number, dport: number, seq: number, ack: number, flags: number): Buffer {
  const buf = Buffer.alloc(14 + 40 + payload.length);
  const ip = ethernet(buf);
  ipv4Header(buf, ip, 40 + payload.length, 6, src, dst, seq);
  const t = ip + 20;
  buf.writeUInt16BE(sport, t);
  buf.writeUInt16BE(dport, t + 2);
  buf.writeUInt32BE(seq >>> 0, t + 4);
  buf.writeUInt32BE(ack >>> 0, t + 8);
  buf[t + 12] = 5 << 4;
  buf[t + 13] = flags;
  buf.writeUInt16BE(65535, t + 14);
  payload.copy(buf, t + 20);
  return buf;
}

/**
 * Real MIKEY messages with real crypto: per UE an MSK delivery with V set and its ACK, and MTK deliveries to
 * the group address. Built once (a pool), replayed in the stream; the bench runs without keys, so repeats cost
 * the same as fresh messages.
 */
function mikeyPool(ues: number): { msk: Buffer[]; ack: Buffer[]; mtk: Buffer[] } {
  const keyDomain = Buffer.from('00f110', 'hex');
  const rand = Buffer.alloc(16, 0x5a);
  const mskKey = Buffer.alloc(16, 0x11);
  const msk: Buffer[] = [];
  const ack: Buffer[] = [];
  const mtk: Buffer[] = [];
  for (let i = 0; i < ues; i++) {
    const muk = Buffer.alloc(16, i & 0xff);
    const idi = 'bmsc.mnc001.mcc001.pub.3gppnetwork.org';
    const idr = `ue${i}@bsf.mnc001.mcc001.pub.3gppnetwork.org`;
    const delivery = buildMskDelivery({ keyDomainId: keyDomain, keyGroup: 1, keyNumber: 2, muk, rand, counter: 7, csbId: 0x1234 + i, idi, idr, msk: mskKey, interval: { seqL: 0, seqU: 100 }, v: true });
    msk.push(delivery);
    const counterValue = Buffer.alloc(4);
    counterValue.writeUInt32BE(7);
    ack.push(buildMskAck({ delivery: { csbId: 0x1234 + i, rand, counterValue, idi: Buffer.from(idi), idr: Buffer.from(idr) }, muk }));
  }
  for (let j = 1; j <= 64; j++) {
    mtk.push(buildMtkDelivery({ keyDomainId: keyDomain, keyGroup: 1, keyNumber: 2, msk: mskKey, rand, counter: j, csbId: 0x99, mtkId: j, mtk: Buffer.alloc(16, j) }));
  }
  return { msk, ack, mtk };
}
const POOL = mikeyPool(256);
const HTTP_REQUEST = Buffer.from(
  'POST /keymanagement?requesttype=msk-request HTTP/1.1\r\nHost: bmsc.example\r\nUser-Agent: ue 3gpp-gba\r\n' +
    'Content-Type: application/mbms-msk+xml\r\nContent-Length: 20\r\n\r\n<mbmsMSKRequest/>\r\n\r\n',
);
const HTTP_RESPONSE = Buffer.from('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="3GPP-bootstrapping@bmsc.example", nonce="abc", qop="auth-int"\r\nContent-Length: 0\r\n\r\n');

export interface GeneratedCapture {
  path: string;
  packets: number;
  bytes: number;
}

/**
 * Writes `packets` frames to `path` (pcap, microseconds), streaming; returns when the file is complete. `plan`
 * chooses the addresses (LAB_PLAN for the file benchmark, LOOPBACK_PLAN for what is replayed onto lo);
 * `spacingUs` is the time between two frames.
 */
export async function generateBenchCapture(path: string, packets: number, plan: AddressPlan = LAB_PLAN, spacingUs = 37): Promise<GeneratedCapture> {
  const writer = await PcapWriter.create(path, { linkType: 1 });
  let t = 1_700_000_000;
  let usec = 0;
  let written = 0;
  let conn = 0;
  const step = (): void => {
    usec += spacingUs;
    if (usec >= 1_000_000) {
      usec -= 1_000_000;
      t++;
    }
  };
  const put = (data: Buffer): void => {
    writer.write({ tsSec: t, tsNsec: usec * 1000, data, originalLength: data.length });
    written++;
    step();
  };
  try {
    let block = 0;
    let mtkCount = 0;
    const pool = plan.realistic ? (PATCHABLE ??= patchablePool(REALISTIC_UES)) : undefined;
    while (written < packets) {
      if (pool) {
        // 16 UDP datagrams for four UEs of this round: delivery + ACK plain, VLAN-tagged, in GTP-U and plain again;
        // four MTK deliveries to the group; four other datagrams
        const round = Math.floor((block * 4) / REALISTIC_UES);
        for (let i = 0; i < 16 && written < packets; i++) {
          const slot = i >> 1;
          const u = (block * 4 + (slot & 3)) % REALISTIC_UES;
          const ue = plan.ueBase + u;
          if (i < 8) {
            const ack = (i & 1) === 1;
            const m = Buffer.from(ack ? pool.ack[u] : pool.msk[u]);
            // the round is the UE's counter (one MIKEY message per round) and picks the MSK's Key Number
            m.writeUInt32BE((7 + round) >>> 0, ack ? pool.ackCounterOffset[u] : pool.counterOffset[u]);
            if (!ack) m.writeUInt16BE(2 + (round % 60000), pool.keyNumberOffset[u]);
            const [src, dst] = ack ? [ue, plan.bmsc] : [plan.bmsc, ue];
            if (slot === 2) put(gtpuFrame(udpFrame(m, src, dst, 2269, 2269).subarray(14), 0x1000 + u, plan));
            else put(udpFrame(m, src, dst, 2269, 2269, slot === 1 ? 100 : undefined));
          } else if (i < 12) {
            // MTK messages under the MSK: their counter rises message by message, as the BM-SC's does
            const m = Buffer.from(POOL.mtk[mtkCount & 63]);
            m.writeUInt32BE((1 + mtkCount++) >>> 0, MTK_COUNTER_OFFSET);
            put(udpFrame(m, plan.bmsc, plan.group, 2269, 2269, i === 11 ? 100 : undefined));
          } else put(udpFrame(HTTP_REQUEST.subarray(0, 120), ue, plan.bmsc, plan.otherUdpPorts[0], plan.otherUdpPorts[1]));
        }
        block++;
      } else
      // 16 UDP datagrams (two of them VLAN-tagged, one in GTP-U), then one short HTTP conversation of 6 segments
      for (let i = 0; i < 16 && written < packets; i++) {
        const n = (written >>> 4) & 0xff;
        const ue = plan.ueBase + n;
        const bmsc = plan.bmsc;
        if (i === 5) put(gtpuFrame(udpFrame(POOL.msk[n], bmsc, ue, 2269, 2269).subarray(14), 0x1000 + n, plan));
        else if (i === 6) put(gtpuFrame(udpFrame(POOL.ack[n], ue, bmsc, 2269, 2269).subarray(14), 0x1000 + n, plan));
        else if (i < 4) put(udpFrame(POOL.msk[(n + i) & 0xff], bmsc, ue, 2269, 2269));
        else if (i < 8) put(udpFrame(POOL.ack[(n + i) & 0xff], ue, bmsc, 2269, 2269, i === 7 ? 100 : undefined));
        else if (i < 12) put(udpFrame(POOL.mtk[(written >>> 4) & 63], bmsc, plan.group, 2269, 2269, i === 11 ? 100 : undefined));
        else put(udpFrame(HTTP_REQUEST.subarray(0, 120), ue, bmsc, plan.otherUdpPorts[0], plan.otherUdpPorts[1]));
      }
      if (written >= packets) break;
      const client = plan.clientBase + (conn & plan.clientMask);
      const sport = 1024 + (conn % 60000);
      conn++;
      const isn = (conn * 7919) >>> 0;
      const srv = plan.httpServer;
      const seq: Array<[Buffer, boolean, number, number, number]> = [
        [Buffer.alloc(0), true, isn, 0, 0x02],
        [Buffer.alloc(0), false, 5000, isn + 1, 0x12],
        [HTTP_REQUEST, true, isn + 1, 5001, 0x18],
        [HTTP_RESPONSE, false, 5001, isn + 1 + HTTP_REQUEST.length, 0x18],
        [Buffer.alloc(0), true, isn + 1 + HTTP_REQUEST.length, 5001 + HTTP_RESPONSE.length, 0x11],
        [Buffer.alloc(0), false, 5001 + HTTP_RESPONSE.length, isn + 2 + HTTP_REQUEST.length, 0x11],
      ];
      for (const [payload, fromClient, s, a, flags] of seq) {
        if (written >= packets) break;
        put(fromClient ? tcpFrame(payload, client, srv, sport, plan.httpPort, s, a, flags) : tcpFrame(payload, srv, client, plan.httpPort, sport, s, a, flags));
      }
    }
    await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  const { size } = await import('node:fs').then((fs) => fs.promises.stat(path));
  return { path, packets: written, bytes: size };
}
