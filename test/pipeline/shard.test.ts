/**
 * The shard router on real bytes (captures/sim-faults.pcap, decoded by PacketDecoder): every frame has exactly one
 * owner among N routers fed the same frames; both directions of a TCP connection have the same one; a UE's MIKEY
 * datagrams go where its HTTP goes; the MTK group address and traffic of no known UE go to the first shard.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCapture } from '../../src/capture/reader';
import type { DecodedPacket } from '../../src/decode/types';
import { PacketDecoder } from '../../src/pipeline/packet-decoder';
import { parseShard, ShardRouter } from '../../src/pipeline/shard';
import { capturePath } from '../support/repo';

/** The sim's BM-SC and MTK group address (captures/README.md: sim-faults). */
const BMSC = '127.82.0.1';
const GROUP = '127.82.0.2';

async function route(n: number): Promise<{ packet: DecodedPacket; owners: number[] }[]> {
  const decoder = new PacketDecoder();
  const routers = Array.from({ length: n }, (_, index) => new ShardRouter({ index, count: n }, 1000));
  const out: { packet: DecodedPacket; owners: number[] }[] = [];
  await readCapture(capturePath('sim-faults.pcap'), (f) => {
    const packet = decoder.decode(f);
    const owners = routers.map((r, i) => (r.owns(packet) ? i : -1)).filter((i) => i >= 0);
    // the decoded record keeps only what the assertions read (the payload is a view into a reused buffer)
    out.push({ packet: { ...packet, payload: undefined }, owners });
  });
  return out;
}

test('parseShard: K/N, 1-based, bounded', () => {
  assert.deepEqual(parseShard('1/2'), { index: 0, count: 2 });
  assert.deepEqual(parseShard(' 3/3 '), { index: 2, count: 3 });
  for (const bad of ['0/2', '3/2', '1/0', '1/257', 'a/b', '1/2/3', '']) assert.equal(typeof parseShard(bad), 'string', bad);
});

for (const n of [2, 3]) {
  test(`sim-faults in ${n} shards: one owner per frame, TCP connections and UEs whole, MTK in the first shard`, { timeout: 60_000 }, async () => {
    const frames = await route(n);
    assert.equal(frames.length, 1229);
    for (const { packet, owners } of frames) assert.equal(owners.length, 1, `frame ${packet.frame}: owners ${owners.join(',')}`);
    const ownerOf = new Map<string, number>();
    const shardOfUe = new Map<string, Set<number>>();
    for (const { packet: p, owners } of frames) {
      const t = p.transport;
      if (!p.ip || !t) continue;
      const ue = p.ip.src === BMSC ? p.ip.dst : p.ip.src;
      if (t.kind === 'tcp') {
        const conn = [`${p.ip.src}:${t.srcPort}`, `${p.ip.dst}:${t.dstPort}`].sort().join(' ');
        assert.equal(ownerOf.get(conn) ?? owners[0], owners[0], `frame ${p.frame}: connection ${conn} split`);
        ownerOf.set(conn, owners[0]);
      }
      if (ue === GROUP) assert.equal(owners[0], 0, `frame ${p.frame}: MTK to the group in the first shard`);
      else {
        const s = shardOfUe.get(ue) ?? new Set<number>();
        s.add(owners[0]);
        shardOfUe.set(ue, s);
      }
    }
    for (const [ue, shards] of shardOfUe) assert.equal(shards.size, 1, `UE ${ue} in shards ${[...shards].join(',')}`);
    // the split is not degenerate: every shard owns some UEs
    const used = new Set([...shardOfUe.values()].flatMap((s) => [...s]));
    assert.equal(used.size, n);
  });
}
