/**
 * PcapWriter and PcapngWriter: output checked by tshark and capinfos against the source capture (same frames,
 * bytes and timestamps), packet comments seen by tshark, and the temporary-file + rename rule.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { PcapWriter } from '../../src/capture/pcap-writer';
import { PcapngWriter } from '../../src/capture/pcapng-writer';
import { capturePath, readAll, runTool, tempDir, tsharkFields, udpFrame } from './helpers';

const FIELDS = ['frame.time_epoch', 'frame.len', 'frame.cap_len', 'frame.md5_hash', 'frame.encap_type'];
const MD5 = ['-o', 'frame.generate_md5_hash:TRUE'];

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = tempDir();
    try {
      await fn(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** tshark's per-frame epoch cut to microseconds, as a microsecond pcap stores it. */
function toMicro(epoch: string): string {
  return epoch.slice(0, epoch.indexOf('.') + 7) + '000';
}

test(
  'PcapWriter nanosecond: tshark sees identical frames and timestamps',
  withDir(async (dir) => {
    const src = capturePath('cap-lo-udp-nano.pcap');
    const out = path.join(dir, 'out.pcap');
    const w = await PcapWriter.create(out, { linkType: 1, nanosecond: true });
    const { frames } = await readAll(src);
    for (const f of frames) w.write(f);
    await w.commit();
    assert.deepEqual(tsharkFields(out, FIELDS, MD5), tsharkFields(src, FIELDS, MD5));
    const info = runTool('capinfos', [out]);
    assert.match(info, /File type:\s+Wireshark\/tcpdump\/\.\.\. - nanosecond pcap/);
    assert.match(info, /Number of packets:\s+13\n/);
    assert.deepEqual(fs.readFileSync(out), fs.readFileSync(src), 'same bytes as tcpdump wrote');
  }),
);

test(
  'PcapWriter microsecond: timestamps truncated to the microsecond, frames identical',
  withDir(async (dir) => {
    const src = capturePath('cap-lo-udp-nano.pcap');
    const out = path.join(dir, 'out.pcap');
    const w = new PcapWriter(out, { linkType: 1 });
    const { frames } = await readAll(src);
    for (const f of frames) w.write(f);
    await w.close();
    const expected = tsharkFields(src, FIELDS, MD5).map(([t, ...rest]) => [toMicro(t), ...rest]);
    assert.deepEqual(tsharkFields(out, FIELDS, MD5), expected);
    assert.match(runTool('capinfos', [out]), /File timestamp precision:\s+microseconds \(6\)/);
  }),
);

test(
  'PcapWriter snaplen cuts long frames and keeps their original length; link type mismatch is refused',
  withDir(async (dir) => {
    const out = path.join(dir, 'cut.pcap');
    const w = new PcapWriter(out, { linkType: 1, snaplen: 64 });
    const long = udpFrame('x'.repeat(100));
    w.write({ tsSec: 1700000000, tsNsec: 1500, data: long });
    w.write({ tsSec: 1700000001, tsNsec: 0, data: long.subarray(0, 50), originalLength: 1500 });
    assert.throws(() => w.write({ tsSec: 1, tsNsec: 0, data: long, linkType: 113 }), /use PcapngWriter/);
    assert.throws(() => w.write({ tsSec: 1, tsNsec: 1e9, data: long }), RangeError);
    await w.commit();
    assert.deepEqual(tsharkFields(out, ['frame.time_epoch', 'frame.len', 'frame.cap_len']), [
      ['1700000000.000001000', String(long.length), '64'],
      ['1700000001.000000000', '1500', '50'],
    ]);
  }),
);

test(
  'writers: nothing under the target name before commit, temp file beside it, none left after commit or abort',
  withDir(async (dir) => {
    const target = path.join(dir, 'final.pcap');
    const w = new PcapWriter(target, { linkType: 1 });
    for (let i = 0; i < 5000; i++) w.write({ tsSec: 1700000000 + i, tsNsec: 0, data: udpFrame(`frame ${i}`.repeat(10)) });
    assert.equal(fs.existsSync(target), false);
    const during = fs.readdirSync(dir);
    assert.equal(during.length, 1);
    assert.match(during[0], /^\.final\.pcap\..*\.tmp$/);
    await w.commit();
    assert.deepEqual(fs.readdirSync(dir), ['final.pcap']);
    assert.match(runTool('capinfos', [target]), /Number of packets:\s+5000\n/);
    assert.throws(() => w.write({ tsSec: 1, tsNsec: 0, data: udpFrame('late') }), /already closed/);
    await w.abort(); // after commit: no effect
    assert.ok(fs.existsSync(target));

    // abort: the earlier file under the target name is left untouched, the temp file removed
    const before = fs.readFileSync(target);
    const failed = new PcapWriter(target, { linkType: 1 });
    failed.write({ tsSec: 1, tsNsec: 0, data: udpFrame('never published') });
    await failed.abort();
    assert.deepEqual(fs.readdirSync(dir), ['final.pcap']);
    assert.deepEqual(fs.readFileSync(target), before);

    const ng = new PcapngWriter(path.join(dir, 'x.pcapng'), { linkType: 1 });
    ng.write({ tsSec: 1, tsNsec: 0, data: udpFrame('never published') });
    await ng.abort();
    assert.deepEqual(fs.readdirSync(dir), ['final.pcap']);
  }),
);

test(
  'PcapngWriter: one IDB per link type, nanosecond times, several packet comments per frame; checked by tshark and capinfos',
  withDir(async (dir) => {
    const src = capturePath('cap-two-sections.pcapng'); // Ethernet (ns) then Linux SLL (us)
    const out = path.join(dir, 'annotated.pcapng');
    const w = await PcapngWriter.create(out);
    const { frames } = await readAll(src);
    const comments = (n: number): string[] =>
      n % 5 === 0 ? [] : n % 3 === 0 ? [`frame ${n}: MIKEY, MSK`, 'second note', 'third: ✓ UTF-8'] : [`frame ${n}`];
    for (const f of frames) w.write({ ...f, comments: comments(f.number) });
    await w.commit();

    const rows = tsharkFields(out, [...FIELDS, 'frame.interface_id', 'frame.comment'], MD5);
    const expected = tsharkFields(src, FIELDS, MD5);
    assert.equal(rows.length, frames.length);
    rows.forEach((row, i) => {
      assert.deepEqual(row.slice(0, FIELDS.length), expected[i], `frame ${i + 1}`);
      assert.equal(row[FIELDS.length], frames[i].linkType === 1 ? '0' : '1', `frame ${i + 1} interface`);
      assert.equal(row[FIELDS.length + 1], comments(i + 1).join('|'), `frame ${i + 1} comments`);
    });
    const info = runTool('capinfos', [out]);
    assert.match(info, /Number of interfaces in file: 2/);
    assert.match(info, /File timestamp precision:\s+nanoseconds \(9\)/);

    // and our own reader gets the same frames back, comments included
    const back = await readAll(out);
    assert.equal(back.frames.length, frames.length);
    back.frames.forEach((f, i) => {
      assert.deepEqual([f.tsSec, f.tsNsec, f.linkType, f.originalLength], [frames[i].tsSec, frames[i].tsNsec, frames[i].linkType, frames[i].originalLength]);
      assert.deepEqual(f.data, frames[i].data);
      assert.deepEqual(f.comments ?? [], comments(i + 1));
    });
  }),
);

test(
  'PcapngWriter microsecond mode and default link type',
  withDir(async (dir) => {
    const src = capturePath('cap-lo-udp.pcapng');
    const out = path.join(dir, 'us.pcapng');
    const w = new PcapngWriter(out, { nanosecond: false, linkType: 1 });
    const { frames } = await readAll(src);
    for (const f of frames) w.write({ tsSec: f.tsSec, tsNsec: f.tsNsec, data: f.data, originalLength: f.originalLength });
    assert.throws(() => new PcapngWriter(path.join(dir, 'y.pcapng')).write({ tsSec: 0, tsNsec: 0, data: Buffer.alloc(1) }), /no default link type/);
    await w.commit();
    assert.deepEqual(tsharkFields(out, FIELDS, MD5), tsharkFields(src, FIELDS, MD5));
    assert.match(runTool('capinfos', [out]), /File timestamp precision:\s+microseconds \(6\)/);
  }),
);
