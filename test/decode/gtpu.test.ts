import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Problem } from '../../src/common/problem';
import { LayerCursor } from '../../src/decode/cursor';
import { decodeGtpU, gtpMessageName, MAX_GTPU_EXTENSION_HEADERS, type GtpUHeader } from '../../src/decode/gtpu';
import { gtpu } from './craft';

function run(data: Buffer, truncated = false): { g: GtpUHeader | undefined; cur: LayerCursor; problems: Problem[] } {
  const cur = new LayerCursor();
  cur.reset(0, data.length);
  cur.truncated = truncated;
  const problems: Problem[] = [];
  const g = decodeGtpU(data, cur, problems);
  return { g, cur, problems };
}

const INNER = Buffer.from([0x45, 0, 0, 20]);

test('minimal G-PDU: 8-byte header, T-PDU span from the length field', () => {
  const msg = Buffer.concat([gtpu({ teid: 0x01020304 }, INNER), Buffer.alloc(3)]);
  const { g, cur, problems } = run(msg);
  assert.deepEqual(g, { version: 1, flags: 0x30, messageType: 255, length: 4, teid: 0x01020304 });
  assert.equal(cur.offset, 8);
  assert.equal(cur.end, 12);
  assert.deepEqual(problems, []);
});

test('S and PN flags: 4 optional bytes, sequence and N-PDU number read', () => {
  const { g, cur } = run(gtpu({ seq: 0x1234, npdu: 9 }, INNER));
  assert.equal(g?.sequence, 0x1234);
  assert.equal(g?.nPduNumber, 9);
  assert.equal(cur.offset, 12);
});

test('extension header chain: PDU session container then UDP port, types in order', () => {
  const { g, cur, problems } = run(gtpu({ exts: [[0x85, Buffer.from([0x10, 0x09])], [0x40, Buffer.from([0x08, 0x68, 0, 0, 0, 0])]] }, INNER));
  assert.deepEqual(g?.extensionTypes, [0x85, 0x40]);
  assert.equal(cur.offset, 8 + 4 + 4 + 8);
  assert.equal(cur.end, cur.offset + 4);
  assert.deepEqual(problems, []);
});

test('extension header with length 0 is an error and stops', () => {
  const msg = gtpu({ exts: [[0x85, Buffer.from([0, 0])]] }, INNER);
  msg[12] = 0;
  const { cur, problems } = run(msg);
  assert.equal(cur.stopName, 'GTP-U');
  assert.equal(problems[0].code, 'gtpu-bad-extension-length');
  assert.equal(problems[0].offset, 12);
});

test('extension header past the message', () => {
  const msg = gtpu({ exts: [[0x85, Buffer.from([0, 0])]] }, Buffer.alloc(0));
  msg[12] = 50;
  const { cur, problems } = run(msg);
  assert.equal(cur.stopName, 'GTP-U');
  assert.equal(problems[0].code, 'gtpu-truncated');
});

test('a chain that never ends is bounded', () => {
  const exts: Array<[number, Buffer]> = Array.from({ length: MAX_GTPU_EXTENSION_HEADERS + 3 }, () => [0x85, Buffer.from([0, 0])]);
  const { cur, problems } = run(gtpu({ exts }, INNER));
  assert.equal(cur.stopName, 'GTP-U');
  assert.equal(problems[0].code, 'gtpu-too-many-extensions');
});

test('length field past the datagram: error; with a snaplen cut the IP layer already said so', () => {
  const msg = gtpu({ length: 400 }, INNER);
  const r = run(msg);
  assert.equal(r.problems[0].code, 'gtpu-length-past-end');
  assert.equal(r.cur.truncated, true);
  assert.equal(r.cur.end, msg.length);
  assert.deepEqual(run(msg, true).problems, []);
});

test('not GTPv1-U: wrong version or GTP prime returns undefined', () => {
  const v2 = gtpu({ flags: 0x48 }, INNER);
  assert.equal(run(v2).g, undefined);
  assert.equal(run(v2).problems[0].code, 'gtpu-bad-version');
  const prime = gtpu({ flags: 0x20 }, INNER);
  assert.equal(run(prime).g, undefined);
  assert.equal(run(prime).problems[0].code, 'gtpu-not-gtp');
});

test('cut at every byte of header and optional fields', () => {
  const msg = gtpu({ seq: 1, exts: [[0x85, Buffer.from([0, 0])]] }, INNER);
  for (let cut = 0; cut < 8; cut++) {
    const r = run(msg.subarray(0, cut));
    assert.equal(r.g, undefined);
    assert.equal(r.problems[0].code, 'gtpu-truncated');
  }
  for (let cut = 8; cut < 16; cut++) {
    const r = run(msg.subarray(0, cut), true);
    assert.ok(r.g);
    assert.equal(r.cur.stopName, 'GTP-U', `cut ${cut}`);
    assert.equal(r.problems[0].code, 'gtpu-snaplen-cut');
    assert.equal(r.problems[0].severity, 'note');
  }
});

test('message type names', () => {
  assert.equal(gtpMessageName(1), 'Echo Request');
  assert.equal(gtpMessageName(254), 'End Marker');
  assert.equal(gtpMessageName(255), 'G-PDU');
  assert.equal(gtpMessageName(100), 'Unknown (100)');
});
