/**
 * Copies of live frames, kept out of Node's shared Buffer pool (issue #12, docs/memory-budgets.md "The analysis
 * process of `keyscope live`").
 *
 * A live engine must copy each frame (its reader reuses its buffer). `Buffer.from(frame)` puts a frame smaller than
 * 4 KiB into Node's shared 8 KiB pool slab, the one every small `Buffer.from` of the program also uses — the MIKEY
 * tracker's RAND, IDi, IDr and timestamp copies of a pending delivery among them. Such a long-lived 16-byte copy then
 * keeps its whole slab alive, full of dead frames: at 50 k packets/s the analysis process held ≈ 3 200 slabs
 * (26 MiB of array buffers, `analyze` of the same frames 9 MiB), up to MAX_TRACKED × 8 KiB for the tracker alone.
 * Here frames are copied into chunks of their own, so the pool holds only the program's small copies, packed densely,
 * and a frame's chunk is freed once its frames are (as `analyze`'s frames are views into its reader's chunks).
 */

/** Bytes of one chunk frames are copied into (a frame that no longer fits starts the next chunk). */
export const FRAME_ARENA_CHUNK_BYTES = 64 * 1024;
/** Frames longer than this get a buffer of their own instead of a place in a chunk (no chunk is wasted on them). */
export const FRAME_ARENA_MAX_SHARED_BYTES = FRAME_ARENA_CHUNK_BYTES / 4;

export class FrameArena {
  private chunk: Buffer;
  private used = 0;

  constructor(private readonly chunkBytes: number = FRAME_ARENA_CHUNK_BYTES, private readonly maxShared: number = FRAME_ARENA_MAX_SHARED_BYTES) {
    this.chunk = Buffer.allocUnsafeSlow(chunkBytes);
  }

  /** A copy of `data` that shares no memory with `data` nor with Node's Buffer pool. */
  copy(data: Uint8Array): Buffer {
    const n = data.length;
    if (n > this.maxShared) {
      const own = Buffer.allocUnsafeSlow(n);
      own.set(data);
      return own;
    }
    if (n > this.chunk.length - this.used) {
      this.chunk = Buffer.allocUnsafeSlow(this.chunkBytes);
      this.used = 0;
    }
    const start = this.used;
    this.chunk.set(data, start);
    this.used = start + n;
    return this.chunk.subarray(start, start + n);
  }
}
