/**
 * Sharding `analyze` by UE (docs/sharding.md): every shard reads and header-decodes every frame, and only the frames
 * whose *UE end* hashes to the shard go on into reassembly, HTTP/MIKEY and the correlator. The decision uses the
 * decoded IP and UDP/TCP headers only (for GTP-U the inner packet), never the payload, and state learned from
 * headers alone: every shard sees every header in the same order, so every shard takes the same decision for every
 * frame and each frame has exactly one owner.
 *
 * The UE end, as the correlator joins a UE (src/correlate/ues.ts: by address and B-TID):
 * - TCP: the client end, i.e. the end with the higher port (the ephemeral one). The client's address is remembered
 *   as a UE address (every UE registers over HTTP before it is sent keys);
 * - UDP and anything else over IP, IP fragments without a transport header included: the end that is a remembered UE
 *   address (MIKEY over UDP 2269 runs between the BM-SC and the UE with port 2269 at both ends, so the ports do not
 *   tell); with both ends remembered, the lower address;
 * - everything else goes to the first shard: multicast and broadcast destinations, the MTK group address (which
 *   never opens a TCP connection, in the simulator's loopback captures as in a real network), traffic of a UE not
 *   seen on TCP yet, frames without an IP layer. So the MTK room, its transactions and statistics live in one shard
 *   and count once, and an ACK to an MTK message from a UE of another shard is the one crossing left (docs/sharding.md).
 */
import type { DecodedPacket } from '../decode/types';
import { fnv1a32 } from '../common/fnv';
import { OldestKeys } from '../common/oldest-key';

/** One shard of N: `index` is 0-based (`--shard 1/2` is index 0 of count 2). */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Upper bound of N in `--shard K/N` (and of `--jobs`). */
export const MAX_SHARDS = 256;

/** `K/N` (1 ≤ K ≤ N ≤ MAX_SHARDS) → the shard, or an error text. */
export function parseShard(text: string): ShardSpec | string {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return 'K/N, e.g. 1/2 (shard K of N, 1 ≤ K ≤ N)';
  const k = Number(m[1]);
  const n = Number(m[2]);
  if (n < 1 || n > MAX_SHARDS) return `N between 1 and ${MAX_SHARDS}`;
  if (k < 1 || k > n) return `K between 1 and N (${n})`;
  return { index: k - 1, count: n };
}

function isGroupAddress(a: string, version: 4 | 6): boolean {
  if (version === 6) return a.charCodeAt(0) === 0x66 /* f */ && a.charCodeAt(1) === 0x66;
  const first = parseInt(a, 10);
  return (first >= 224 && first <= 239) || a === '255.255.255.255';
}

export class ShardRouter {
  /** UE addresses (TCP clients) in the order first seen; the oldest is forgotten past `maxUes`. */
  private readonly ues = new Set<string>();
  private readonly oldestUe = new OldestKeys(this.ues);

  /** @param maxUes UE addresses remembered (the correlator's UE table bound, from --max-memory). */
  constructor(
    private readonly shard: ShardSpec,
    private readonly maxUes: number,
  ) {}

  /** Whether the frame's UE end hashes to this shard. Call once per frame, in capture order (it learns UE addresses). */
  owns(p: DecodedPacket): boolean {
    return this.shardOf(p) === this.shard.index;
  }

  /** Whether this shard owns traffic between two addresses without transport ports (an incomplete IP datagram). */
  ownsPair(src: string, dst: string, version: 4 | 6): boolean {
    return this.pairShard(src, dst, version) === this.shard.index;
  }

  private shardOf(p: DecodedPacket): number {
    const ip = p.ip;
    if (ip === undefined) return 0;
    const t = p.transport;
    if (t !== undefined && t.kind === 'tcp' && t.srcPort !== t.dstPort) {
      const client = t.srcPort > t.dstPort ? ip.src : ip.dst;
      this.learn(client);
      return this.pick(client);
    }
    return this.pairShard(ip.src, ip.dst, ip.version);
  }

  private pairShard(src: string, dst: string, version: 4 | 6): number {
    if (isGroupAddress(dst, version)) return 0;
    const srcUe = this.ues.has(src);
    const dstUe = this.ues.has(dst);
    if (srcUe && dstUe) return this.pick(src < dst ? src : dst);
    if (srcUe) return this.pick(src);
    if (dstUe) return this.pick(dst);
    return 0;
  }

  private learn(ue: string): void {
    const ues = this.ues;
    if (ues.has(ue)) return;
    ues.add(ue);
    // in constant time at the bound (a fresh `values().next()` walks the deleted entries: docs/performance.md round 3)
    this.oldestUe.trim(this.maxUes);
  }

  private pick(ue: string): number {
    return this.shard.count === 1 ? 0 : fnv1a32(ue) % this.shard.count;
  }
}
