/**
 * Streaming behaviour: the push parser gives the same frames however the bytes are chunked (a record split at
 * any byte boundary still parses), standard input is processed as it arrives, and an AbortSignal stops reading.
 */
import { strict as assert } from 'node:assert';
import { spawn } from '../support/proc';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { CaptureParser } from '../../src/capture/parser';
import { readCapture } from '../../src/capture/reader';
import type { CaptureSummary } from '../../src/capture/types';
import { capturePath, pcapHeader, pcapRecord, readAll, udpFrame, type CopiedFrame } from './helpers';

function parseChunks(chunks: Buffer[]): { frames: CopiedFrame[]; summary: CaptureSummary } {
  const frames: CopiedFrame[] = [];
  const p = new CaptureParser((f) => frames.push({ ...f, data: Buffer.from(f.data) }));
  for (const c of chunks) p.push(c);
  return { frames, summary: p.end() };
}

for (const name of ['cap-lo-http.pcap', 'cap-lo-udp-comments.pcapng', 'cap-lo-http-be.pcap', 'cap-two-sections.pcapng']) {
  test(`${name}: split into two chunks at every byte boundary gives identical frames`, async () => {
    const bytes = fs.readFileSync(capturePath(name));
    const whole = parseChunks([bytes]);
    assert.ok(whole.frames.length > 10);
    assert.deepEqual(whole.summary.problems, []);
    assert.deepEqual(await readAll(capturePath(name)).then((r) => r.frames), whole.frames);
    for (let cut = 0; cut <= bytes.length; cut++) {
      // copies, so a frame view into a chunk cannot hide a parser that kept a stale reference
      const r = parseChunks([Buffer.from(bytes.subarray(0, cut)), Buffer.from(bytes.subarray(cut))]);
      assert.equal(r.frames.length, whole.frames.length, `cut at ${cut}`);
      assert.deepEqual(r.frames, whole.frames, `cut at ${cut}`);
      assert.deepEqual(r.summary.problems, [], `cut at ${cut}`);
    }
  });
}

test('one byte at a time, and three-way splits around record boundaries', () => {
  const bytes = fs.readFileSync(capturePath('cap-merged-eth-sll2.pcapng'));
  const whole = parseChunks([bytes]);
  const single: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) single.push(bytes.subarray(i, i + 1));
  assert.deepEqual(parseChunks(single).frames, whole.frames);
  for (let a = 0; a < 200; a += 3) {
    for (let b = a; b < a + 150; b += 7) {
      const r = parseChunks([bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]);
      assert.deepEqual(r.frames, whole.frames, `cuts ${a} ${b}`);
    }
  }
});

test('a truncated file split anywhere reports the same problem', () => {
  const bytes = fs.readFileSync(capturePath('cap-lo-udp.pcapng'));
  const cutFile = bytes.subarray(0, bytes.length - 10);
  const whole = parseChunks([cutFile]);
  assert.deepEqual(whole.summary.problems.map((p) => p.code), ['pcapng-truncated-block']);
  for (let cut = 0; cut <= cutFile.length; cut += 5) {
    const r = parseChunks([cutFile.subarray(0, cut), cutFile.subarray(cut)]);
    assert.deepEqual(r.frames, whole.frames);
    assert.deepEqual(r.summary.problems, whole.summary.problems);
  }
});

/** Reads lines from a child's stdout as they come. */
function lineReader(stream: NodeJS.ReadableStream): () => Promise<string> {
  let buffered = '';
  const waiting: Array<(l: string) => void> = [];
  const lines: string[] = [];
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buffered += d;
    let i: number;
    while ((i = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      const w = waiting.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  return () => {
    const l = lines.shift();
    return l !== undefined ? Promise.resolve(l) : new Promise((resolve) => waiting.push(resolve));
  };
}

test('standard input: a child reading "-" handles each frame before the next one is even written', async () => {
  const ext = path.extname(__filename);
  const child = spawn(process.execPath, [...process.execArgv.filter((a) => !a.startsWith('--test')), path.join(__dirname, `stdin-child${ext}`)], {
    env: { ...process.env, KEYSCOPE_STDIN_CHILD: '1' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  // A hung child must fail the test rather than hang the suite.
  const guard = setTimeout(() => child.kill(), 60000);
  try {
    const nextLine = lineReader(child.stdout);
    const records = [0, 1, 2, 3].map((i) => pcapRecord({ tsSec: 1700000000 + i, tsFrac: 1000 * i, data: udpFrame(`live ${i}`) }));
    child.stdin.write(Buffer.concat([pcapHeader({ nanosecond: true }), records[0]]));
    for (let i = 0; i < records.length; i++) {
      const line = JSON.parse(await nextLine()) as { number: number; tsSec: number; tsNsec: number; data: string };
      assert.equal(line.number, i + 1);
      assert.equal(line.tsSec, 1700000000 + i);
      assert.equal(line.tsNsec, 1000 * i);
      assert.equal(line.data, udpFrame(`live ${i}`).toString('hex'));
      const next = records[i + 1];
      if (next !== undefined) {
        // split the next record mid-header: the child must wait for the rest, then deliver it
        child.stdin.write(next.subarray(0, 5));
        child.stdin.write(next.subarray(5));
      }
    }
    child.stdin.end();
    const { summary } = JSON.parse(await nextLine()) as { summary: CaptureSummary };
    assert.equal(summary.format, 'pcap');
    assert.equal(summary.frames, 4);
    assert.deepEqual(summary.problems, []);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
  } finally {
    clearTimeout(guard);
    child.kill();
  }
});

test('stream source: frames arrive before the stream ends, and an AbortSignal stops reading', async () => {
  const input = new PassThrough();
  const ac = new AbortController();
  const seen: number[] = [];
  let firstFrame!: () => void;
  const gotFirst = new Promise<void>((r) => (firstFrame = r));
  const done = readCapture(
    input,
    (f) => {
      seen.push(f.number);
      if (f.number === 1) firstFrame();
    },
    { signal: ac.signal },
  );
  input.write(Buffer.concat([pcapHeader(), pcapRecord({ tsSec: 1, tsFrac: 0, data: udpFrame('a') })]));
  await gotFirst;
  input.write(pcapRecord({ tsSec: 2, tsFrac: 0, data: udpFrame('b') }).subarray(0, 20));
  ac.abort();
  const summary = await done;
  assert.equal(summary.aborted, true);
  assert.equal(summary.frames, 1);
  assert.deepEqual(seen, [1]);
  // the half record at the abort point is not damage in the capture
  assert.deepEqual(summary.problems, []);
  assert.equal(summary.fatal, undefined);
});

test('an already-aborted signal reads nothing', async () => {
  const summary = await readCapture(capturePath('cap-lo-udp.pcap'), () => assert.fail('no frames'), { signal: AbortSignal.abort() });
  assert.equal(summary.aborted, true);
  assert.equal(summary.frames, 0);
});

test('an exception from the frame handler rejects readCapture (even one that looks like an I/O error)', async () => {
  const err = Object.assign(new Error('handler failed'), { code: 'ENOENT', syscall: 'open' });
  await assert.rejects(
    readCapture(capturePath('cap-lo-udp.pcap'), (f) => {
      if (f.number === 3) throw err;
    }),
    (e) => e === err,
  );
});
