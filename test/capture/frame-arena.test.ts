/**
 * Issue #12: the live analysis process's array buffers grew with every long-lived small copy it took (the MIKEY
 * tracker's RAND, IDi, IDr, timestamp of each pending delivery): the engines copied each frame with Buffer.from, into
 * Node's shared 8 KiB pool, so each such copy pinned a slab of dead frames. FrameArena keeps frames out of the pool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FRAME_ARENA_CHUNK_BYTES, FRAME_ARENA_MAX_SHARED_BYTES, FrameArena } from '../../src/capture/frame-arena';
import { readCapture } from '../../src/capture/reader';
import type { CaptureFrame } from '../../src/capture/types';
import { Analyzer } from '../../src/pipeline/analyzer';
import type { Diagnostic } from '../../src/correlate/types';
import { capturePath } from '../support/repo';

/** The real frames of a MIKEY capture, copied (the reader's views live only during the call). */
async function realFrames(name: string): Promise<CaptureFrame[]> {
  const frames: CaptureFrame[] = [];
  const summary = await readCapture(capturePath(name), (f) => frames.push({ ...f, data: Buffer.from(f.data) }));
  assert.equal(summary.fatal, undefined);
  assert.ok(frames.length > 0);
  return frames;
}

/** Bytes a long-lived small copy takes of each frame, as the MIKEY tracker copies a RAND (16 bytes). */
const KEPT = 16;

/** Distinct memory blocks the kept small copies hold alive, when frames are copied with `copyFrame`. */
function pinnedBlocks(frames: CaptureFrame[], rounds: number, copyFrame: (d: Uint8Array) => Buffer): { blocks: number; kept: number } {
  const kept: Buffer[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const f of frames) {
      const data = copyFrame(f.data);
      // every 8th frame leaves a long-lived copy behind (a delivery waiting for its ACK), the rest die
      if (kept.length < rounds * frames.length && (r * frames.length + f.number) % 8 === 0) kept.push(Buffer.from(data.subarray(Math.max(0, data.length - KEPT))));
    }
  }
  return { blocks: new Set(kept.map((b) => b.buffer)).size, kept: kept.length };
}

test('frames copied by FrameArena leave Node\'s Buffer pool to the small long-lived copies: they pin a few slabs, not one each', { timeout: 60_000 }, async () => {
  const frames = await realFrames('mikey-mbms-kinds.pcap');
  const rounds = Math.ceil(4000 / frames.length);
  const arena = new FrameArena();
  const withArena = pinnedBlocks(frames, rounds, (d) => arena.copy(d));
  assert.ok(withArena.kept >= 400, `${withArena.kept} copies kept`);
  // packed densely: kept × 16 bytes over 8 KiB slabs (one more for the slab in use, one for a slab another allocation began)
  const dense = Math.ceil((withArena.kept * KEPT) / Buffer.poolSize) + 2;
  assert.ok(withArena.blocks <= dense, `${withArena.kept} kept copies pin ${withArena.blocks} blocks (at most ${dense})`);
  // what the engines did before: the frames themselves went into the pool, and the copies pinned slab after slab
  const pooled = pinnedBlocks(frames, rounds, (d) => Buffer.from(d));
  console.log(`${withArena.kept} kept copies pin ${withArena.blocks} blocks with FrameArena, ${pooled.blocks} with Buffer.from frames`);
  assert.ok(pooled.blocks > 4 * dense, `with Buffer.from frames: ${pooled.kept} kept copies pin ${pooled.blocks} blocks`);
});

test('FrameArena: exact, independent copies; chunks of FRAME_ARENA_CHUNK_BYTES, long frames on their own', { timeout: 30_000 }, () => {
  const arena = new FrameArena();
  const src = Buffer.alloc(1000, 7);
  const a = arena.copy(src);
  src.fill(9);
  assert.ok(a.equals(Buffer.alloc(1000, 7)), 'the copy does not follow its source');
  assert.equal(a.buffer.byteLength, FRAME_ARENA_CHUNK_BYTES);
  const b = arena.copy(Buffer.alloc(10, 1));
  assert.equal(b.buffer, a.buffer, 'small frames share a chunk');
  assert.ok(a.equals(Buffer.alloc(1000, 7)), 'a later copy does not overwrite an earlier one');
  const big = arena.copy(Buffer.alloc(FRAME_ARENA_MAX_SHARED_BYTES + 1, 3));
  assert.equal(big.buffer.byteLength, FRAME_ARENA_MAX_SHARED_BYTES + 1);
  // a chunk that is full starts the next one
  const seen = new Set<ArrayBufferLike>();
  for (let i = 0; i < 200; i++) seen.add(arena.copy(Buffer.alloc(1500, i)).buffer);
  assert.ok(seen.size >= Math.floor((200 * 1500) / FRAME_ARENA_CHUNK_BYTES));
  assert.equal(arena.copy(Buffer.alloc(0)).length, 0);
});

test('the analysis of frames copied through FrameArena is that of the file (real MIKEY and HTTP captures)', { timeout: 60_000 }, async () => {
  for (const name of ['mikey-mbms-kinds.pcap', 'sim-faults.pcap']) {
    const frames = await realFrames(name);
    const run = (copy: (d: Uint8Array) => Buffer) => {
      const out: { diagnostics: Diagnostic[]; transactions: unknown[] } = { diagnostics: [], transactions: [] };
      const a = new Analyzer({ diagnostic: (d) => out.diagnostics.push(d), transaction: (t) => out.transactions.push(t) });
      // a scratch buffer reused for every frame, as the live engines' readers reuse theirs
      const scratch = Buffer.alloc(65536);
      for (const f of frames) {
        f.data.copy(scratch);
        a.frame({ ...f, data: copy(scratch.subarray(0, f.data.length)) });
        scratch.fill(0xee);
      }
      a.finish();
      assert.ok(out.transactions.length > 0 && out.diagnostics.length > 0, `${name}: nothing analysed`);
      return JSON.stringify(out);
    };
    const arena = new FrameArena();
    assert.equal(run((d) => arena.copy(d)), run((d) => Buffer.from(d)), name);
  }
});
