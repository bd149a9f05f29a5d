/**
 * Hand-made capture bytes: every malformed case the readers must survive, and valid corner cases (byte order
 * switching between sections, if_tsresol forms, if_tsoffset, Simple and obsolete Packet Blocks, unknown
 * blocks). Where the bytes are a valid capture, tshark reading the same file is the reference.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { CaptureParser } from '../../src/capture/parser';
import { formatEpoch } from '../../src/common/time';
import {
  WTAP_ENCAP_TO_LINKTYPE,
  block,
  epb,
  i64,
  idb,
  obsoletePb,
  pcapHeader,
  pcapRecord,
  readAll,
  shb,
  spb,
  tempDir,
  ticks,
  tsharkFields,
  u8,
  udpFrame,
  type CopiedFrame,
} from './helpers';
import type { CaptureSummary } from '../../src/capture/types';

function parse(bytes: Buffer): { frames: CopiedFrame[]; summary: CaptureSummary } {
  const frames: CopiedFrame[] = [];
  const p = new CaptureParser((f) => frames.push({ ...f, data: Buffer.from(f.data) }));
  p.push(bytes);
  return { frames, summary: p.end() };
}

/** Parse through readCapture from a real file (exercises the streaming path) and check it agrees with `parse`. */
async function parseFile(bytes: Buffer, name = 'crafted.pcap'): Promise<{ frames: CopiedFrame[]; summary: CaptureSummary; file: string; dir: string }> {
  const dir = tempDir();
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  const r = await readAll(file);
  return { ...r, file, dir };
}

/** A valid crafted file: our frames must match tshark's reading of it exactly. */
async function assertMatchesTshark(bytes: Buffer, name: string): Promise<CopiedFrame[]> {
  const { frames, summary, file, dir } = await parseFile(bytes, name);
  try {
    assert.equal(summary.fatal, undefined);
    assert.deepEqual(summary.problems, []);
    const rows = tsharkFields(file, ['frame.number', 'frame.time_epoch', 'frame.len', 'frame.cap_len', 'frame.interface_id', 'frame.section_number', 'frame.encap_type', 'frame.comment']);
    assert.equal(frames.length, rows.length, 'frame count vs tshark');
    rows.forEach(([num, epoch, len, caplen, ifid, section, encap, comment], i) => {
      const f = frames[i];
      assert.equal(f.number, Number(num));
      // tshark shows no time for a Simple Packet Block (it has none); we give 0.
      assert.equal(formatEpoch(f), epoch === '' ? '0.000000000' : epoch, `frame ${num} time`);
      assert.equal(f.originalLength, Number(len), `frame ${num} len`);
      assert.equal(f.capturedLength, Number(caplen), `frame ${num} caplen`);
      assert.equal(f.interfaceId, ifid === '' ? 0 : Number(ifid), `frame ${num} interface`);
      if (section !== '') assert.equal(f.section, Number(section) - 1, `frame ${num} section`);
      assert.equal(f.linkType, WTAP_ENCAP_TO_LINKTYPE[encap], `frame ${num} link type`);
      assert.equal((f.comments ?? []).join('|'), comment, `frame ${num} comments`);
    });
    return frames;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const F1 = udpFrame('first');
const F2 = udpFrame('second frame');
const F3 = udpFrame('third');
const LONG = udpFrame('a payload long enough to be cut by a small snaplen');

// ---- classic pcap ---------------------------------------------------------------------------------------

test('bad magic is fatal with a one-line message', async () => {
  const bytes = Buffer.concat([Buffer.from('GIF89a not a capture file at all........')]);
  const { frames, summary } = parse(bytes);
  assert.equal(frames.length, 0);
  assert.match(summary.fatal ?? '', /^not a pcap or pcapng file \(magic 47494638\)$/);
  const r = await parseFile(bytes);
  fs.rmSync(r.dir, { recursive: true });
  assert.equal(r.summary.fatal, summary.fatal);
});

test('empty input and 1-3 byte inputs are fatal', () => {
  assert.match(parse(Buffer.alloc(0)).summary.fatal ?? '', /empty input/);
  assert.match(parse(Buffer.from([0xd4, 0xc3, 0xb2])).summary.fatal ?? '', /too short/);
});

test('truncated global header is fatal', () => {
  for (const n of [4, 10, 23]) {
    const { summary } = parse(pcapHeader().subarray(0, n));
    assert.equal(summary.format, 'pcap');
    assert.match(summary.fatal ?? '', new RegExp(`truncated pcap file header: ${n} of 24 bytes`));
  }
});

test('a header-only pcap has no frames and no problems', () => {
  const { frames, summary } = parse(pcapHeader());
  assert.equal(frames.length, 0);
  assert.equal(summary.fatal, undefined);
  assert.deepEqual(summary.problems, []);
});

test('truncated record header: earlier frames kept, file-level problem', () => {
  const good = pcapRecord({ tsSec: 1, tsFrac: 2, data: F1 });
  const bytes = Buffer.concat([pcapHeader(), good, pcapRecord({ tsSec: 3, tsFrac: 4, data: F2 }).subarray(0, 9)]);
  const { frames, summary } = parse(bytes);
  assert.equal(frames.length, 1);
  assert.equal(summary.fatal, undefined);
  assert.equal(summary.problems.length, 1);
  assert.equal(summary.problems[0].code, 'pcap-truncated-record-header');
  assert.equal(summary.problems[0].offset, 24 + good.length);
});

test('truncated record data: earlier frames kept, file-level problem', async () => {
  const bytes = Buffer.concat([pcapHeader(), pcapRecord({ tsSec: 1, tsFrac: 2, data: F1 }), pcapRecord({ tsSec: 3, tsFrac: 4, data: F2 }).subarray(0, 30)]);
  const { frames, summary } = parse(bytes);
  assert.equal(frames.length, 1);
  assert.equal(summary.problems[0].code, 'pcap-truncated-record');
  assert.match(summary.problems[0].message, /14 of 54 captured bytes present/);
  // Same through the file reader (tshark also reads the first frame and then complains).
  const r = await parseFile(bytes);
  fs.rmSync(r.dir, { recursive: true });
  assert.deepEqual(r.frames, frames);
  assert.deepEqual(r.summary.problems, summary.problems);
});

test('hostile caplen 0xFFFFFFFF: problem and stop, no giant allocation', () => {
  const bytes = Buffer.concat([
    pcapHeader(),
    pcapRecord({ tsSec: 1, tsFrac: 0, data: F1 }),
    pcapRecord({ tsSec: 2, tsFrac: 0, data: F2, caplen: 0xffffffff }),
    pcapRecord({ tsSec: 3, tsFrac: 0, data: F3 }),
  ]);
  const { frames, summary } = parse(bytes);
  assert.equal(frames.length, 1);
  assert.equal(summary.stopped, true);
  assert.equal(summary.fatal, undefined);
  assert.equal(summary.problems[0].code, 'pcap-record-too-large');
  assert.equal(summary.problems[0].severity, 'error');
});

test('caplen just over the limit at the end of input costs no buffer for data that never comes', () => {
  // 16 MiB - 1 claimed with snaplen 16 MiB: allowed, but the input ends: truncated record, memory not reserved.
  const header = pcapHeader({ snaplen: 16 * 1024 * 1024 });
  const rec = pcapRecord({ tsSec: 1, tsFrac: 0, data: F1, caplen: 16 * 1024 * 1024 - 1 });
  const p = new CaptureParser(() => assert.fail('no frame expected'));
  const before = process.memoryUsage().arrayBuffers;
  p.push(Buffer.concat([header, rec]));
  assert.ok(process.memoryUsage().arrayBuffers - before < 4 * 1024 * 1024);
  const summary = p.end();
  assert.equal(summary.problems[0].code, 'pcap-truncated-record');
});

test('caplen over snaplen and caplen over len are frame problems; caplen < len is not', () => {
  const bytes = Buffer.concat([
    pcapHeader({ snaplen: 50 }),
    pcapRecord({ tsSec: 1, tsFrac: 0, data: LONG.subarray(0, 50), len: LONG.length }), // ordinary snaplen cut
    pcapRecord({ tsSec: 2, tsFrac: 0, data: F2 }), // 54 > snaplen 50
    pcapRecord({ tsSec: 3, tsFrac: 0, data: F1.subarray(0, 40), len: 30 }), // caplen 40 > len 30
  ]);
  const { frames, summary } = parse(bytes);
  assert.deepEqual(summary.problems, []);
  assert.equal(frames.length, 3);
  assert.deepEqual(frames[0].problems, []);
  assert.equal(frames[0].capturedLength, 50);
  assert.equal(frames[0].originalLength, LONG.length);
  assert.deepEqual(frames[1].problems.map((p) => p.code), ['pcap-caplen-over-snaplen']);
  assert.deepEqual(frames[2].problems.map((p) => p.code), ['pcap-caplen-over-len']);
});

test('big-endian nanosecond pcap matches tshark', async () => {
  const bytes = Buffer.concat([
    pcapHeader({ le: false, nanosecond: true }),
    pcapRecord({ tsSec: 1700000000, tsFrac: 123456789, data: F1 }, false),
    pcapRecord({ tsSec: 1700000001, tsFrac: 999999999, data: F2 }, false),
  ]);
  const frames = await assertMatchesTshark(bytes, 'be-nsec.pcap');
  assert.equal(formatEpoch(frames[1]), '1700000001.999999999');
});

test('sub-second field of a second or more is clamped inside its second, with a problem naming the record offset', () => {
  const { frames } = parse(Buffer.concat([pcapHeader(), pcapRecord({ tsSec: 10, tsFrac: 2500000, data: F1 }), pcapRecord({ tsSec: 11, tsFrac: 0, data: F1 })]));
  // µs file: the last microsecond of second 10, not 12.5 s (carrying would put it after the next frame)
  assert.equal(formatEpoch(frames[0]), '10.999999000');
  assert.deepEqual(frames[0].problems.map((p) => p.code), ['pcap-bad-timestamp']);
  assert.match(frames[0].problems[0].message, /record at file offset 24\b/);
  assert.deepEqual(frames[1].problems, []);
  const ns = parse(Buffer.concat([pcapHeader({ nanosecond: true }), pcapRecord({ tsSec: 10, tsFrac: 0xffffffff, data: F1 })])).frames;
  assert.equal(formatEpoch(ns[0]), '10.999999999');
});

test('modified (Kuznetzov) pcap is named in the fatal message', () => {
  const h = pcapHeader();
  h.writeUInt32LE(0xa1b2cd34, 0);
  assert.match(parse(h).summary.fatal ?? '', /Kuznetzov/);
});

// ---- pcapng ---------------------------------------------------------------------------------------------

const T0 = 1700000000n;

test('pcapng: EPB comments (several), unknown and statistics blocks skipped; matches tshark', async () => {
  const bytes = Buffer.concat([
    shb(),
    idb(1, 262144, true, [{ code: 9, value: u8(9) }]),
    epb({ interfaceId: 0, ...ticks(T0 * 1000000000n + 5n), data: F1 }, true, [
      { code: 1, value: Buffer.from('one') },
      { code: 1, value: Buffer.from('two, with comma') },
    ]),
    block(0x12345678, Buffer.alloc(40)),
    block(5, Buffer.alloc(12)), // Interface Statistics Block
    epb({ interfaceId: 0, ...ticks(T0 * 1000000000n + 999999999n), data: F2 }),
  ]);
  const frames = await assertMatchesTshark(bytes, 'comments.pcapng');
  assert.deepEqual(frames[0].comments, ['one', 'two, with comma']);
  assert.equal(frames[1].comments, undefined);
});

test('pcapng: Custom Blocks are skipped (tshark 4.0 lists them as pseudo-frames; they carry no packet)', () => {
  const { frames, summary } = parse(
    Buffer.concat([
      shb(),
      idb(1, 0),
      block(0x0bad, Buffer.from('custom block, copyable')),
      block(0x40000bad, Buffer.from('custom block, not copyable')),
      epb({ interfaceId: 0, high: 0, low: 1, data: F1 }),
    ]),
  );
  assert.deepEqual(summary.problems, []);
  assert.deepEqual(frames.map((f) => f.number), [1]);
});

test('pcapng: second section in the other byte order; interface ids restart, frame numbers continue', async () => {
  const bytes = Buffer.concat([
    shb(true),
    idb(1, 262144, true),
    epb({ interfaceId: 0, ...ticks(T0 * 1000000n + 1n), data: F1 }, true),
    shb(false),
    idb(113, 262144, false, [{ code: 9, value: u8(3) }]),
    idb(1, 65535, false, [{ code: 9, value: u8(9) }]),
    epb({ interfaceId: 1, ...ticks(T0 * 1000000000n + 7n), data: F2 }, false),
    epb({ interfaceId: 0, ...ticks(T0 * 1000n + 999n), data: Buffer.alloc(16 + F3.length - 14, 0) }, false),
    shb(true),
    idb(1, 0, true),
    epb({ interfaceId: 0, ...ticks(T0 * 1000000n + 2n), data: F3 }, true),
  ]);
  const frames = await assertMatchesTshark(bytes, 'mixed-order.pcapng');
  assert.deepEqual(
    frames.map((f) => [f.number, f.section, f.interfaceId, f.linkType]),
    [
      [1, 0, 0, 1],
      [2, 1, 1, 1],
      [3, 1, 0, 113],
      [4, 2, 0, 1],
    ],
  );
  assert.equal(formatEpoch(frames[2]), '1700000000.999000000');
});

test('pcapng: if_tsresol power-of-2 and power-of-10 forms, fast and BigInt paths, match tshark', async () => {
  const resols = [0x80 | 20, 0x80 | 30, 0x80 | 32, 0x80 | 33, 0x80 | 7, 3, 6, 9, 10];
  const parts: Buffer[] = [shb()];
  for (const r of resols) parts.push(idb(1, 262144, true, [{ code: 9, value: u8(r) }]));
  resols.forEach((r, i) => {
    const perSecond = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
    // The whole tick count must fit 64 bits: fine resolutions get an earlier base time.
    const base = T0 * perSecond < 1n << 63n ? T0 : (1n << 63n) / perSecond - 1n;
    // a fraction close to 1 s exercises the truncation of sub-nanosecond ticks
    parts.push(epb({ interfaceId: i, ...ticks(base * perSecond + perSecond - 1n), data: F1 }));
    parts.push(epb({ interfaceId: i, ...ticks(base * perSecond + perSecond / 3n), data: F2 }));
  });
  const frames = await assertMatchesTshark(Buffer.concat(parts), 'tsresol.pcapng');
  assert.equal(frames.length, resols.length * 2);
  // 2^-20 s ticks: (2^20 - 1) / 2^20 s = 0.999999046... s, truncated to nanoseconds
  assert.equal(formatEpoch(frames[0]), '1700000000.999999046');
});

test('pcapng: if_tsresol 2^-40 and 10^-12 (tshark 4.0 computes rem * 1e9 in 64 bits and wraps, so exact arithmetic is the reference)', () => {
  const { frames } = parse(
    Buffer.concat([
      shb(),
      idb(1, 0, true, [{ code: 9, value: u8(0x80 | 40) }]),
      idb(1, 0, true, [{ code: 9, value: u8(12) }]),
      epb({ interfaceId: 0, ...ticks(8388607n * (1n << 40n) + (1n << 40n) - 1n), data: F1 }),
      epb({ interfaceId: 1, ...ticks(9223371n * 10n ** 12n + 10n ** 12n - 1n), data: F1 }),
      epb({ interfaceId: 1, ...ticks(9223371n * 10n ** 12n + 123456789012n), data: F1 }),
    ]),
  );
  // (2^40 - 1) * 1e9 / 2^40 = 999999999.99909... ns, truncated
  assert.equal(formatEpoch(frames[0]), '8388607.999999999');
  assert.equal(formatEpoch(frames[1]), '9223371.999999999');
  assert.equal(formatEpoch(frames[2]), '9223371.123456789');
});

test('pcapng: if_tsoffset is added (positive and negative)', async () => {
  const bytes = Buffer.concat([
    shb(),
    idb(1, 262144, true, [{ code: 14, value: i64(1000n) }]),
    idb(1, 262144, true, [{ code: 14, value: i64(-5n) }, { code: 9, value: u8(9) }]),
    epb({ interfaceId: 0, ...ticks(1000000n * 3n + 250000n), data: F1 }),
    epb({ interfaceId: 1, ...ticks(T0 * 1000000000n), data: F2 }),
  ]);
  const frames = await assertMatchesTshark(bytes, 'tsoffset.pcapng');
  assert.equal(formatEpoch(frames[0]), '1003.250000000');
  assert.equal(formatEpoch(frames[1]), '1699999995.000000000');
});

test('pcapng: Simple Packet Block uses the interface 0 snaplen; obsolete Packet Block is read; both match tshark', async () => {
  const long = udpFrame('a simple packet block payload that is longer than the snaplen');
  const bytes = Buffer.concat([
    shb(),
    idb(1, 60, true),
    idb(113, 0, true),
    spb(long.subarray(0, 60), long.length),
    spb(F1, F1.length),
    obsoletePb({ interfaceId: 1, ...ticks(T0 * 1000000n + 42n), data: F2 }, true, [{ code: 1, value: Buffer.from('old style') }]),
  ]);
  const frames = await assertMatchesTshark(bytes, 'spb.pcapng');
  assert.equal(frames[0].capturedLength, 60);
  assert.equal(frames[0].originalLength, long.length);
  assert.deepEqual(frames[2].comments, ['old style']);
  assert.equal(frames[2].linkType, 113);
});

test('pcapng: a Simple Packet Block holding fewer bytes than its original length keeps the frame with a frame-level warning', () => {
  const { frames, summary } = parse(Buffer.concat([shb(), idb(1, 0), spb(F1.subarray(0, 20), F1.length)]));
  assert.deepEqual(summary.problems, []);
  assert.equal(frames.length, 1);
  assert.equal(frames[0].capturedLength, 20);
  assert.deepEqual(frames[0].problems.map((p) => [p.code, p.severity, p.layer]), [['pcapng-spb-short', 'warning', 'pcapng']]);
});

test('pcapng: block total length below 12, not a multiple of 4, or mismatched: problem, stop, frames before kept', () => {
  const good = Buffer.concat([shb(), idb(1, 0), epb({ interfaceId: 0, high: 0, low: 1, data: F1 })]);
  const after = epb({ interfaceId: 0, high: 0, low: 2, data: F2 });
  const cases: Array<[string, Buffer]> = [
    ['pcapng-bad-block-length', block(6, Buffer.alloc(20), true, { leading: 8 })],
    ['pcapng-bad-block-length', block(6, Buffer.alloc(20), true, { leading: 30 })],
    ['pcapng-block-length-mismatch', block(6, Buffer.alloc(20), true, { trailing: 36 })],
    ['pcapng-block-too-large', block(6, Buffer.alloc(20), true, { leading: 0xfffffffc })],
  ];
  for (const [code, bad] of cases) {
    const { frames, summary } = parse(Buffer.concat([good, bad, after]));
    assert.equal(frames.length, 1, code);
    assert.equal(summary.stopped, true);
    assert.equal(summary.fatal, undefined);
    assert.deepEqual(summary.problems.map((p) => p.code), [code]);
    assert.equal(summary.problems[0].offset, good.length + (code === 'pcapng-block-length-mismatch' ? bad.length - 4 : 4));
  }
});

test('pcapng: packet block for an undeclared interface is skipped with a problem', () => {
  const { frames, summary } = parse(
    Buffer.concat([shb(), idb(1, 0), epb({ interfaceId: 3, high: 0, low: 1, data: F1 }), epb({ interfaceId: 0, high: 0, low: 2, data: F2 })]),
  );
  assert.equal(frames.length, 1);
  assert.equal(frames[0].number, 1);
  assert.deepEqual(summary.problems.map((p) => p.code), ['pcapng-unknown-interface']);
  assert.notEqual(summary.stopped, true);
});

test('pcapng: EPB caplen past its block is skipped with a problem; options overrunning the block are a frame problem', () => {
  const e = epb({ interfaceId: 0, high: 0, low: 1, data: F1 });
  e.writeUInt32LE(1000, 20); // caplen
  const opt = epb({ interfaceId: 0, high: 0, low: 2, data: F2 }, true, [{ code: 1, value: Buffer.from('abcd') }]);
  opt.writeUInt16LE(200, 28 + 56 + 2); // comment length now overruns
  const { frames, summary } = parse(Buffer.concat([shb(), idb(1, 0), e, opt]));
  assert.deepEqual(summary.problems.map((p) => p.code), ['pcapng-bad-caplen']);
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0].problems.map((p) => p.code), ['pcapng-bad-packet-option']);
});

test('pcapng: truncated or damaged first Section Header Block is fatal', () => {
  const s = shb();
  assert.match(parse(s.subarray(0, 10)).summary.fatal ?? '', /truncated pcapng Section Header Block/);
  assert.match(parse(s.subarray(0, 20)).summary.fatal ?? '', /truncated pcapng Section Header Block/);
  const badBom = Buffer.from(s);
  badBom.writeUInt32LE(0x11223344, 8);
  assert.match(parse(badBom).summary.fatal ?? '', /bad byte-order magic/);
  const badVersion = Buffer.from(s);
  badVersion.writeUInt16LE(2, 12);
  assert.match(parse(badVersion).summary.fatal ?? '', /version 2\.0/);
});

test('pcapng: a later damaged SHB stops reading without losing earlier frames', () => {
  const later = shb(false);
  later.writeUInt32LE(0x11223344, 8);
  const { frames, summary } = parse(Buffer.concat([shb(), idb(1, 0), epb({ interfaceId: 0, high: 0, low: 1, data: F1 }), later]));
  assert.equal(frames.length, 1);
  assert.equal(summary.fatal, undefined);
  assert.deepEqual(summary.problems.map((p) => p.code), ['pcapng-bad-byte-order-magic']);
});

test('pcapng: truncated last block is a file-level problem', () => {
  const last = epb({ interfaceId: 0, high: 0, low: 2, data: F2 });
  const { frames, summary } = parse(Buffer.concat([shb(), idb(1, 0), epb({ interfaceId: 0, high: 0, low: 1, data: F1 }), last.subarray(0, 40)]));
  assert.equal(frames.length, 1);
  assert.deepEqual(summary.problems.map((p) => p.code), ['pcapng-truncated-block']);
  assert.match(summary.problems[0].message, /40 of 88 bytes present/);
});

test('pcapng: out-of-range if_tsresol falls back to microseconds with a problem', () => {
  const { frames, summary } = parse(
    Buffer.concat([shb(), idb(1, 0, true, [{ code: 9, value: u8(0x80 | 100) }]), epb({ interfaceId: 0, high: 0, low: 1500000, data: F1 })]),
  );
  assert.deepEqual(summary.problems.map((p) => p.code), ['pcapng-bad-tsresol']);
  assert.equal(formatEpoch(frames[0]), '1.500000000');
});

// ---- gzip -----------------------------------------------------------------------------------------------

test('truncated gzip: frames decoded so far kept, damage reported', async () => {
  const records: Buffer[] = [pcapHeader()];
  for (let i = 0; i < 200; i++) records.push(pcapRecord({ tsSec: 1000 + i, tsFrac: i, data: udpFrame(`frame ${i} `.repeat(20)) }));
  const gz = zlib.gzipSync(Buffer.concat(records), { level: 1 });
  const { frames, summary, dir } = await parseFile(gz.subarray(0, Math.floor(gz.length / 2)), 'cut.pcap.gz');
  fs.rmSync(dir, { recursive: true });
  assert.equal(summary.compressed, true);
  assert.equal(summary.fatal, undefined);
  assert.ok(frames.length > 10 && frames.length < 200, `${frames.length} frames`);
  assert.ok(summary.problems.some((p) => p.code === 'gzip-corrupt'));
  frames.forEach((f, i) => assert.equal(f.tsSec, 1000 + i));
});

test('gzip of garbage is fatal', async () => {
  const { summary, dir } = await parseFile(zlib.gzipSync(Buffer.from('hello, not a capture')), 'x.gz');
  fs.rmSync(dir, { recursive: true });
  assert.equal(summary.compressed, true);
  assert.match(summary.fatal ?? '', /not a pcap or pcapng file/);
});

// ---- I/O ------------------------------------------------------------------------------------------------

test('missing file and directory give a one-line fatal, no rejection', async () => {
  const dir = tempDir();
  try {
    const missing = await readAll(path.join(dir, 'nope.pcap'));
    assert.equal(missing.summary.fatal, `cannot read ${path.join(dir, 'nope.pcap')}: no such file or directory`);
    const isDir = await readAll(dir);
    assert.equal(isDir.summary.fatal, `cannot read ${dir}: is a directory`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('pcapng: interfaces per section are bounded; the next section starts afresh', () => {
  const many = idb(1, 0);
  const parts = [shb()];
  for (let i = 0; i < 65536 + 10; i++) parts.push(many);
  parts.push(epb({ interfaceId: 65535, high: 0, low: 1, data: F1 }));
  parts.push(epb({ interfaceId: 65536, high: 0, low: 2, data: F2 }));
  parts.push(shb(), idb(113, 0), epb({ interfaceId: 0, high: 0, low: 3, data: F3 }));
  const { frames, summary } = parse(Buffer.concat(parts));
  assert.deepEqual(summary.problems.map((p) => p.code), ['pcapng-too-many-interfaces', 'pcapng-unknown-interface']);
  assert.deepEqual(frames.map((f) => [f.number, f.interfaceId, f.linkType]), [
    [1, 65535, 1],
    [2, 0, 113],
  ]);
});
