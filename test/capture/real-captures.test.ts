/**
 * Every capture under captures/cap-* read by readCapture must agree with tshark on the same file: frame count,
 * per-frame epoch time (exact, 9 digits), original and captured length, pcapng interface id and section,
 * link type, packet comments and the frame bytes (MD5 of each frame).
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { formatEpoch } from '../../src/common/time';
import { WTAP_ENCAP_TO_LINKTYPE, capturePath, readAll, repoRoot, tempDir, tsharkFields } from './helpers';

const FIELDS = [
  'frame.number',
  'frame.time_epoch',
  'frame.len',
  'frame.cap_len',
  'frame.interface_id',
  'frame.section_number',
  'frame.encap_type',
  'frame.md5_hash',
  'frame.comment',
];

interface Expectation {
  format: 'pcap' | 'pcapng';
  compressed?: boolean;
  frames: number;
  linkTypes: number[];
}

const CAPTURES: Record<string, Expectation> = {
  'cap-lo-udp.pcap': { format: 'pcap', frames: 13, linkTypes: [1] },
  'cap-lo-udp-snap96.pcap': { format: 'pcap', frames: 13, linkTypes: [1] },
  'cap-lo-udp-nano.pcap': { format: 'pcap', frames: 13, linkTypes: [1] },
  'cap-lo-http.pcap': { format: 'pcap', frames: 25, linkTypes: [1] },
  'cap-lo-http-nsec.pcap': { format: 'pcap', frames: 25, linkTypes: [1] },
  'cap-lo-http-be.pcap': { format: 'pcap', frames: 25, linkTypes: [1] },
  'cap-lo-udp-nano-be.pcap': { format: 'pcap', frames: 13, linkTypes: [1] },
  'cap-any-sll2-udp.pcap': { format: 'pcap', frames: 13, linkTypes: [276] },
  'cap-any-sll-udp.pcap': { format: 'pcap', frames: 13, linkTypes: [113] },
  'cap-lo-udp.pcapng': { format: 'pcapng', frames: 13, linkTypes: [1] },
  'cap-lo-udp-nano.pcapng': { format: 'pcapng', frames: 13, linkTypes: [1] },
  'cap-lo-udp-comments.pcapng': { format: 'pcapng', frames: 13, linkTypes: [1] },
  'cap-lo-http.pcap.gz': { format: 'pcap', compressed: true, frames: 25, linkTypes: [1] },
  'cap-lo-udp-nano-gzipped.pcapng': { format: 'pcapng', compressed: true, frames: 13, linkTypes: [1] },
  'cap-merged-eth-sll2.pcapng': { format: 'pcapng', frames: 26, linkTypes: [1, 276] },
  'cap-two-sections.pcapng': { format: 'pcapng', frames: 26, linkTypes: [1, 113] },
};

const tsharkCache = new Map<string, string[][]>();

async function compareWithTshark(file: string, expect: Expectation, chunkSize?: number): Promise<void> {
  let rows: string[][] | undefined = tsharkCache.get(file);
  if (rows === undefined) {
    rows = tsharkFields(file, FIELDS, ['-o', 'frame.generate_md5_hash:TRUE']);
    tsharkCache.set(file, rows);
  }
  const { frames, summary } = await readAll(file, chunkSize);
  assert.equal(summary.fatal, undefined);
  assert.deepEqual(summary.problems, []);
  assert.equal(summary.format, expect.format);
  assert.equal(summary.compressed, expect.compressed ?? false);
  assert.equal(summary.frames, frames.length);
  assert.equal(frames.length, expect.frames, 'frame count (expected)');
  assert.equal(frames.length, rows.length, 'frame count (tshark)');
  const linkTypes = new Set<number>();
  for (let i = 0; i < rows.length; i++) {
    const [number, epoch, len, caplen, ifid, section, encap, md5, comment]: string[] = rows[i];
    const f = frames[i];
    const where = `${path.basename(file)} frame ${number}`;
    assert.equal(f.number, Number(number), where);
    assert.equal(formatEpoch(f), epoch, `${where}: time`);
    assert.equal(f.originalLength, Number(len), `${where}: frame.len`);
    assert.equal(f.capturedLength, Number(caplen), `${where}: frame.cap_len`);
    assert.equal(f.data.length, f.capturedLength, where);
    assert.equal(createHash('md5').update(f.data).digest('hex'), md5, `${where}: bytes`);
    assert.equal(f.linkType, WTAP_ENCAP_TO_LINKTYPE[encap], `${where}: link type (encap ${encap})`);
    linkTypes.add(f.linkType);
    if (expect.format === 'pcapng') {
      assert.equal(f.interfaceId, Number(ifid), `${where}: interface id`);
      assert.equal(f.section, Number(section) - 1, `${where}: section`);
    } else {
      assert.equal(f.interfaceId, 0, where);
      assert.equal(ifid, '', where);
    }
    assert.equal((f.comments ?? []).join('|'), comment, `${where}: comments`);
    // Normal snaplen truncation (caplen < len) is not a problem.
    assert.deepEqual(f.problems, [], where);
  }
  assert.deepEqual([...linkTypes].sort((a, b) => a - b), expect.linkTypes);
}

for (const [name, expect] of Object.entries(CAPTURES)) {
  test(`${name} agrees with tshark`, async () => {
    await compareWithTshark(capturePath(name), expect);
  });
}

test('every cap-* capture in captures/ is covered by this test', () => {
  const present = fs.readdirSync(path.join(repoRoot(), 'captures')).filter((n) => n.startsWith('cap-'));
  assert.deepEqual(present.sort(), Object.keys(CAPTURES).sort());
});

test('small read chunks give the same frames (records straddling chunk boundaries)', async () => {
  for (const name of ['cap-lo-http.pcap', 'cap-two-sections.pcapng', 'cap-lo-udp-nano-gzipped.pcapng']) {
    for (const chunkSize of [1, 7, 100, 4096, 65536]) await compareWithTshark(capturePath(name), CAPTURES[name], chunkSize);
  }
});

test('snaplen truncation in cap-lo-udp-snap96.pcap is seen as caplen < len', async () => {
  const { frames } = await readAll(capturePath('cap-lo-udp-snap96.pcap'));
  const cut = frames.filter((f) => f.capturedLength < f.originalLength);
  assert.ok(cut.length >= 10, `${cut.length} truncated frames`);
  for (const f of cut) assert.equal(f.capturedLength, 96);
});

test('gzip is recognised by content, not by the file name', async () => {
  const dir = tempDir();
  try {
    const renamed = path.join(dir, 'no-suffix');
    fs.copyFileSync(capturePath('cap-lo-http.pcap.gz'), renamed);
    await compareWithTshark(renamed, CAPTURES['cap-lo-http.pcap.gz']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a readable stream source works like a path', async () => {
  const file = capturePath('cap-merged-eth-sll2.pcapng');
  const a = await readAll(file);
  const b = await readAll(fs.createReadStream(file, { highWaterMark: 333 }));
  assert.deepEqual(b.frames, a.frames);
  assert.equal(b.summary.bytes, fs.statSync(file).size);
});
