/**
 * Pipelined requests without responses (issue #13, item 2): the problem is stored once per connection (plus one count
 * when the connection ends), the pending list obeys `maxPendingRequests`, and frames held back for responses obey the
 * held-frame bounds (frames and bytes) while the capture is read, not only at its end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCapture } from '../../src/capture/reader';
import { Dissector } from '../../src/pipeline/dissector';
import { pipelinedRequests } from '../support/adversarial';

async function run(requests: number, options: ConstructorParameters<typeof Dissector>[1]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-pipe-'));
  try {
    const file = path.join(dir, 'pipe.pcap');
    pipelinedRequests(file, requests);
    let emittedBeforeEnd = 0;
    let reading = true;
    const codes = new Map<string, string[]>();
    let messages = 0;
    const d = new Dissector((f) => {
      if (reading) emittedBeforeEnd++;
      messages += f.http?.length ?? 0;
      for (const p of f.problems) codes.set(p.code, [...(codes.get(p.code) ?? []), p.message]);
    }, options);
    const summary = await readCapture(file, (f) => d.frame(f));
    reading = false;
    d.finish();
    return { frames: summary.frames, emittedBeforeEnd, codes, messages };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('20 000 unanswered pipelined requests: one too-many-pending problem and one count, all messages shown', { timeout: 60_000 }, async () => {
  const r = await run(20_000, { http: { limits: { maxPendingRequests: 100 } } });
  assert.equal(r.messages, 20_000);
  const pending = r.codes.get('http-too-many-pending') ?? [];
  assert.equal(pending.length, 2, pending.join('\n'));
  assert.match(pending[0], /more than 100 requests without a response/);
  assert.match(pending[1], /^19900 requests in all were forgotten/);
});

test('frames held back for responses are bounded in number and in bytes while the capture is read', { timeout: 60_000 }, async () => {
  // the pending lists are unbounded here (per connection and over all), so only the held-frame bounds release the frames
  const http = { limits: { maxPendingRequests: 1e9 } };
  const httpShared = { maxPendingRequests: 1e9, maxPendingBytes: 1e15 };
  const byFrames = await run(20_000, { http, httpShared, maxHeldFrames: 50 });
  assert.ok(byFrames.emittedBeforeEnd >= byFrames.frames - 51, `${byFrames.emittedBeforeEnd} of ${byFrames.frames} emitted before the end`);
  // each segment carries 32 requests (~1.5 KB of headers plus their message objects): 64 KiB holds only a few
  const byBytes = await run(20_000, { http, httpShared, maxHeldBytes: 64 * 1024 });
  assert.ok(byBytes.emittedBeforeEnd >= byBytes.frames - 100, `${byBytes.emittedBeforeEnd} of ${byBytes.frames} emitted before the end`);
  const unbounded = await run(20_000, { http, httpShared, maxHeldFrames: 1e9, maxHeldBytes: 1e12, maxHoldSeconds: 1e9 });
  assert.ok(unbounded.emittedBeforeEnd < 5, 'without bounds every frame waits for the first response');
  // with the default pending limit (1024), a request forgotten unanswered holds its frame no longer
  const forgotten = await run(20_000, { maxHeldFrames: 1e9, maxHeldBytes: 1e12, maxHoldSeconds: 1e9 });
  assert.ok(forgotten.emittedBeforeEnd >= forgotten.frames - 100, `${forgotten.emittedBeforeEnd} of ${forgotten.frames} emitted before the end`);
});

test('400 k unanswered pipelined requests at the default limits: a handful of problems, not one per request; every message shown', { timeout: 120_000 }, async () => {
  // the case 2: 398,976 http-too-many-pending problems on frame 4, kept on frames held for responses
  const r = await run(400_000, {});
  assert.equal(r.messages, 400_000);
  const all = [...r.codes.values()].reduce((n, l) => n + l.length, 0);
  assert.ok(all <= 6, `problems: ${JSON.stringify([...r.codes.entries()].map(([c, l]) => [c, l.length]))}`);
  const pending = r.codes.get('http-too-many-pending') ?? [];
  assert.ok(pending.length <= 2, pending.join('\n'));
  // the pending list over all connections (HttpSharedLimits) or the connection's own forgets the rest, and says how many
  const counted = [...r.codes.values()].flat().map((m) => /^(\d+) requests in all were forgotten/.exec(m)).filter((m) => m !== null);
  assert.ok(counted.length >= 1, [...r.codes.values()].flat().join('\n'));
  const forgotten = Math.max(...counted.map((m) => Number(m[1])));
  assert.ok(forgotten >= 400_000 - 1_100 && forgotten < 400_000, `forgotten ${forgotten}`);
  // frames were not held to the end for responses that never come
  assert.ok(r.emittedBeforeEnd >= r.frames - 100, `${r.emittedBeforeEnd} of ${r.frames} emitted before the end`);
});
