/**
 * Real bytes, late segments: captures/http-digest-loopback.pcap (MBMS MSK request POSTs with HTTP Digest, real curl
 * and Apache on loopback) with records moved so that a request's data segment comes after the server's ACK of it, as
 * a capture merged from two taps or kernel queues shows it (the timestamps stay the ones recorded, so they go back
 * where a record moved). keyscope's pipeline (the CLI, and the Dissector for the loss estimate) must see the requests
 * tshark sees with out-of-order reassembly on, and count none of the late bytes as capture loss.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { estimateCaptureLoss } from '../../src/capture/live-stats';
import { readCapture } from '../../src/capture/reader';
import { Dissector } from '../../src/pipeline/dissector';
import type { TcpReassemblyStats } from '../../src/reassembly/tcp';
import { capturePath, cliPath } from '../support/repo';
import { tsharkFields } from '../support/tshark';

const SOURCE = capturePath('http-digest-loopback.pcap');
const HTTP_PORTS = ['-d', 'tcp.port==18080,http', '-d', 'tcp.port==18081,http'];
const TIMEOUT_MS = 60_000;

/** Classic little-endian pcap: file header and whole records (record header included). */
function pcapRecords(buf: Buffer): { header: Buffer; records: Buffer[] } {
  assert.equal(buf.readUInt32LE(0), 0xa1b2c3d4, 'little-endian microsecond pcap expected');
  const records: Buffer[] = [];
  let pos = 24;
  while (pos + 16 <= buf.length) {
    const end = pos + 16 + buf.readUInt32LE(pos + 8);
    records.push(buf.subarray(pos, end));
    pos = end;
  }
  return { header: buf.subarray(0, 24), records };
}

/**
 * Writes the source capture with each `[frame, after]` pair applied in turn (frame moved right behind `after`, both
 * original frame numbers) and the frames in `drop` left out. Returns the file and, per new frame number, the original.
 */
function rewrite(dir: string, name: string, moves: Array<[number, number]>, drop: number[] = []): { file: string; original: number[] } {
  const { header, records } = pcapRecords(readFileSync(SOURCE));
  const order = records.map((_, i) => i + 1).filter((f) => !drop.includes(f));
  for (const [frame, after] of moves) {
    if (drop.includes(frame)) continue;
    order.splice(order.indexOf(frame), 1);
    order.splice(order.indexOf(after) + 1, 0, frame);
  }
  const file = path.join(dir, name);
  writeFileSync(file, Buffer.concat([header, ...order.map((f) => records[f - 1])]));
  return { file, original: [0, ...order] };
}

interface HttpJson {
  kind: string;
  method?: string;
  uri?: string;
  connection: number;
  responseFrame?: number;
  status?: number;
}

interface FrameJson {
  frame: number;
  /** One message, or an array when the frame completes several. */
  http?: HttpJson | HttpJson[];
  problems: Array<{ code: string }>;
}

function httpOf(f: FrameJson): HttpJson[] {
  return f.http === undefined ? [] : Array.isArray(f.http) ? f.http : [f.http];
}

function keyscopeFrames(file: string): FrameJson[] {
  const out = execFileSync(process.execPath, [cliPath(), 'dissect', '--json', file], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: TIMEOUT_MS });
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as FrameJson)
    .filter((f) => typeof f.frame === 'number');
}

/** `frame method uri` of every HTTP request, as keyscope shows them (on the frame that completes the request). */
function keyscopeRequests(frames: FrameJson[]): string[] {
  return frames.flatMap((f) => httpOf(f).filter((m) => m.kind === 'request').map((m) => `${f.frame} ${m.method} ${m.uri}`));
}

function tsharkRequests(file: string, outOfOrder: boolean): string[] {
  const extra = outOfOrder ? HTTP_PORTS : [...HTTP_PORTS, '-o', 'tcp.reassemble_out_of_order:FALSE'];
  return tsharkFields(file, ['frame.number', 'http.request.method', 'http.request.uri'], [...extra, '-Y', 'http.request']).map((r) => r.join(' '));
}

async function dissectorStats(file: string): Promise<TcpReassemblyStats> {
  const d = new Dissector(() => undefined);
  const summary = await readCapture(file, (f) => d.frame(f));
  d.finish();
  assert.equal(summary.fatal, undefined);
  return d.tcpStats;
}

describe('late request segments in a real capture (ACK written before the data)', () => {
  // frame 8: the Digest-authenticated MSK request POST (753 bytes); frame 9 is the server's 200 response, which ACKs it
  // frame 18: the first MSK request POST of the second connection (194 bytes); frame 19 is the server's pure ACK of it
  // frame 22: the second connection's POST with a wrong password; frame 23 the 401, ACKing it
  const MOVES: Array<[number, number]> = [
    [8, 9],
    [18, 19],
    [22, 23],
  ];
  const LATE_BYTES = 753 + 194 + 753;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keyscope-late-'));
  const original = SOURCE;
  const late = rewrite(dir, 'late.pcap', MOVES);
  // the same, but the first POST of the second connection never reaches the capture at all
  const lost = rewrite(dir, 'lost.pcap', MOVES, [18]);

  it('tshark needs out-of-order reassembly for these requests; keyscope sees the same requests as tshark with it', () => {
    {
      const withOoo = tsharkRequests(late.file, true);
      const withoutOoo = tsharkRequests(late.file, false);
      assert.equal(withOoo.length, tsharkRequests(original, true).length, 'every request of the original capture');
      assert.ok(withoutOoo.length < withOoo.length, 'without out-of-order reassembly tshark misses the moved requests');
      const frames = keyscopeFrames(late.file);
      assert.deepEqual(keyscopeRequests(frames), withOoo);
      // the moved POSTs are among them; the note is given once per connection, on its first late segment (8 and 18)
      for (const [moved] of MOVES) {
        const at = late.original.indexOf(moved);
        assert.ok(withOoo.some((r) => r.startsWith(`${at} POST /keymanagement?requesttype=msk-request`)), `frame ${moved} → ${at}`);
      }
      assert.deepEqual(
        frames.filter((f) => f.problems.some((p) => p.code === 'tcp-late-segment')).map((f) => late.original[f.frame]),
        [8, 18],
      );
    }
  });

  it('gives every request the same response as in the original capture, and the same findings but the late-segment notes', () => {
    const before = keyscopeFrames(original);
    const after = keyscopeFrames(late.file);
    const summarize = (frames: FrameJson[], toOriginal: (f: number) => number): string[] =>
      frames
        .flatMap((f) => [
          ...httpOf(f).map((m) => `${toOriginal(f.frame)} ${m.kind} ${m.method ?? m.status} ${m.uri ?? ''} → ${m.responseFrame === undefined ? '-' : toOriginal(m.responseFrame)}`),
          ...f.problems.filter((p) => p.code !== 'tcp-late-segment').map((p) => `${toOriginal(f.frame)} ${p.code}`),
        ])
        .sort();
    assert.deepEqual(
      summarize(after, (f) => late.original[f]),
      summarize(before, (f) => f),
    );
  });

  it('counts no late byte as capture loss, and a segment that never comes as loss to the byte', async () => {
    const st = await dissectorStats(late.file);
    assert.equal(st.gapBytes, 0);
    assert.equal(st.ackedUnseenBytes, 0);
    assert.equal(st.lateAckedBytes, LATE_BYTES);
    assert.deepEqual(estimateCaptureLoss(st), { lostBytes: 0, gapBytes: 0, ratio: 0 });

    const gone = await dissectorStats(lost.file);
    assert.equal(gone.ackedUnseenBytes, 194);
    assert.equal(gone.gapBytes, 194);
    assert.equal(gone.lateAckedBytes, LATE_BYTES - 194);
    assert.equal(estimateCaptureLoss(gone).lostBytes, 194);
    // keyscope still sees every request tshark sees; tshark never completes the stream past a hole that never fills,
    // so it also loses the intact POST after the lost one, which keyscope gives once the hole is declared (here at
    // the end of the capture, which is shorter than the reordering window)
    const seen = keyscopeRequests(keyscopeFrames(lost.file));
    const oracle = tsharkRequests(lost.file, true);
    const extra = seen.filter((r) => !oracle.includes(r));
    assert.deepEqual(seen.filter((r) => oracle.includes(r)), oracle);
    assert.deepEqual(extra.map((r) => r.replace(/^\d+ /, '')), ['POST /keymanagement?requesttype=msk-request']);
    rmSync(dir, { recursive: true, force: true });
  });
});
