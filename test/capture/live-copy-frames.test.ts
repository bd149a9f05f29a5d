/**
 * openLiveCapture's copyFrames option, with a stand-in for the cap addon: by default a frame's data is a copy (the
 * addon overwrites its buffer with the next packet); with copyFrames false it is a view of that buffer, for a caller
 * that copies at once (the capture process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openLiveCapture, type CapHandle, type CapModule } from '../../src/capture/live';
import type { CaptureFrame } from '../../src/capture/types';

function fakeCap(): { cap: CapModule; deliver(bytes: number[]): void } {
  let buffer: Buffer | undefined;
  let listener: ((nbytes: number, truncated: boolean) => void) | undefined;
  class FakeCap implements CapHandle {
    open(_device: string, _filter: string, _bufSize: number, buf: Buffer): string {
      buffer = buf;
      return 'ETHERNET';
    }
    close(): boolean {
      return true;
    }
    on(_event: 'packet', l: (nbytes: number, truncated: boolean) => void): unknown {
      listener = l;
      return this;
    }
    removeAllListeners(): unknown {
      return this;
    }
  }
  return {
    cap: { Cap: FakeCap },
    deliver(bytes) {
      (buffer as Buffer).set(bytes);
      listener?.(bytes.length, false);
    },
  };
}

for (const copyFrames of [undefined, false] as const) {
  test(`copyFrames ${copyFrames === undefined ? 'by default' : 'false'}: ${copyFrames === false ? 'a view of the addon buffer' : 'a copy'}`, () => {
    const fake = fakeCap();
    const capture = openLiveCapture({ device: 'fake0', cap: fake.cap, snaplen: 64, ...(copyFrames === false ? { copyFrames } : {}) });
    const seen: Array<{ frame: CaptureFrame; during: number[] }> = [];
    capture.onFrame((f) => seen.push({ frame: f, during: [...f.data] }));
    fake.deliver([1, 2, 3]);
    fake.deliver([4, 5]);
    capture.stop();
    assert.deepEqual(seen.map((s) => s.during), [[1, 2, 3], [4, 5]], 'each frame holds its packet during the callback');
    assert.deepEqual(seen.map((s) => s.frame.capturedLength), [3, 2]);
    const first = [...(seen[0]?.frame.data ?? [])];
    if (copyFrames === false) assert.deepEqual(first, [4, 5, 3], 'a view: overwritten by the next packet');
    else assert.deepEqual(first, [1, 2, 3], 'a copy: kept');
  });
}
