/**
 * The dashboard's model and text helpers on the real records of a bundled capture: bounded memory (newest ring,
 * worst list, group rows), the chart points against the correlator's own ACK buckets, filters, and the text
 * guards (terminal escapes and blessed tags) against escape.ts's own output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeText } from '../../src/common/escape';
import type { AnalysisStats, KeyDeliveryTransaction } from '../../src/correlate/types';
import { analyzeCapture } from '../../src/pipeline/analyzer';
import { loadKeyFile } from '../../src/protocols/keys';
import { CaptureReplay } from '../../src/tui/replay';
import { bridgeGaps, ladderLines } from '../../src/tui/view';
import { DashboardModel, PacketRate, Ring, ackPoints, compareWorst, keyGroupOf, mentionsAddress, transactionMatches } from '../../src/tui/model';
import { cell, displayWidth, fit, fitColumns, safeText, tableRow, tagEscape, type Column } from '../../src/tui/text';
import { readCapture } from '../../src/capture/reader';
import { capturePath } from '../support/repo';

const CAPTURE = capturePath('sim-faults.pcap');
const CORRELATOR = { ackTimeout: 0.72, deliveryTimeout: 0.72, pullTimeout: 0.72 };

async function run(model: DashboardModel, bucketSeconds = 1): Promise<{ stats: AnalysisStats; all: KeyDeliveryTransaction[] }> {
  const all: KeyDeliveryTransaction[] = [];
  const r = await analyzeCapture(
    CAPTURE,
    {
      transaction: (t) => {
        all.push(t);
        model.transaction(t);
      },
      diagnostic: (d) => model.diagnostic(d),
      anomaly: (a) => model.anomaly(a),
    },
    { dissector: { keys: loadKeyFile(capturePath('sim-faults.keys')) }, correlator: { ...CORRELATOR, bucketSeconds } },
  );
  return { stats: r.stats, all };
}

test('memory stays bounded: newest ring, worst list and group rows keep at most their limits', async () => {
  const model = new DashboardModel({ maxTransactions: 10, maxWorst: 4, maxDiagnostics: 5, maxGroupRows: 1 });
  const { stats, all } = await run(model);
  assert.ok(all.length > 20 && stats.transactions === all.length);
  assert.equal(model.newest.length, 10);
  assert.equal(model.newest.total, all.length);
  // the ring holds the last ten that arrived, oldest first
  assert.deepEqual(
    model.newest.toArray().map((t) => t.id),
    all.slice(-10).map((t) => t.id),
  );
  assert.equal(model.diagnostics.length, 5);
  assert.ok(model.diagnostics.total > 5);
  // the worst four of all transactions, in order
  const worst = all.filter((t) => t.verdict !== 'ok').sort(compareWorst).slice(0, 4);
  assert.deepEqual(
    model.worst.map((t) => t.id),
    worst.map((t) => t.id),
  );
  assert.equal(model.worst[0].verdict, 'failed');
  // one named key group; the rest folded into (other), counting every transaction that named a key group
  assert.ok(model.byKeyGroup.size <= 2);
  const withGroups = all.filter((t) => t.requestedKeys.length + t.deliveredKeys.length > 0);
  const counted = [...model.byKeyGroup.values()].reduce((a, r) => a + r.transactions, 0);
  assert.ok(counted >= withGroups.length);
});

test('ACK chart points are the correlator buckets, merged exactly when there are too many', async () => {
  const model = new DashboardModel();
  const { stats } = await run(model, 1);
  const buckets = stats.ackOverTime.buckets;
  assert.ok(buckets.length >= 3, 'several one-second buckets');
  const same = ackPoints(stats.ackOverTime, 1000);
  // per time: the non-empty points are the buckets; any point between them is an empty second with no rate
  assert.deepEqual(
    same.filter((p) => p.requested > 0).map((p) => [p.start, p.requested, p.acked]),
    buckets.filter((b) => b.requested > 0).map((b) => [b.start, b.requested, b.acked]),
  );
  for (const p of same) assert.equal(p.rate, p.requested > 0 ? (100 * p.acked) / p.requested : null);
  for (let i = 1; i < same.length; i++) assert.equal(same[i].start - same[i - 1].start, stats.ackOverTime.bucketSeconds);
  const merged = ackPoints(stats.ackOverTime, 2);
  assert.ok(merged.length <= 2);
  assert.equal(
    merged.reduce((a, p) => a + p.requested, 0),
    stats.ack.requested,
  );
  assert.equal(
    merged.reduce((a, p) => a + p.acked, 0),
    stats.ack.acked,
  );
  // each merged point is the sum of the correlator's buckets in its span
  const sum = (from: number, to: number) => buckets.filter((b) => b.start >= from && b.start < to).reduce((a, b) => a + b.requested, 0);
  for (const p of merged) assert.equal(sum(p.start, p.start + p.seconds), p.requested);
  assert.deepEqual(ackPoints({ bucketSeconds: 60, buckets: [] }, 10), []);
});

test('ACK chart x axis is per time: seconds without deliveries keep their place with no rate (not 0 %)', () => {
  const b = (start: number, requested: number, acked: number) => ({ start, requested, acked, rate: requested > 0 ? acked / requested : 0 });
  const over = { bucketSeconds: 1, buckets: [b(100, 4, 4), b(101, 0, 0), b(103, 2, 1), b(106, 5, 0)] };
  const points = ackPoints(over, 100);
  assert.deepEqual(points.map((p) => [p.start, p.rate]), [[100, 100], [101, null], [102, null], [103, 50], [104, null], [105, null], [106, 0]]);
  // merged two seconds a point: a pair with one empty second keeps the other's exact rate; an all-empty pair has none
  const merged = ackPoints(over, 4);
  assert.deepEqual(merged.map((p) => [p.start, p.seconds, p.requested, p.rate]), [[100, 2, 4, 100], [102, 2, 2, 50], [104, 2, 0, null], [106, 2, 5, 0]]);
  // the line cannot break: an empty step is a straight connector between its neighbours, ends take the nearest value
  assert.deepEqual(bridgeGaps([100, null, null, 40, null]), [100, 80, 60, 40, 40]);
  assert.deepEqual(bridgeGaps([null, 50]), [50, 50]);
  assert.deepEqual(bridgeGaps([null, null]), [0, 0]);
});

test('filters match a UE address, a B-TID, a key group; diagnostics follow their transaction', async () => {
  const model = new DashboardModel();
  const { all } = await run(model);
  const t = all.find((x) => x.btid && x.deliveredKeys.length > 0) as KeyDeliveryTransaction;
  assert.ok(t);
  const byUe = model.transactions('newest', t.ue);
  assert.ok(byUe.length >= 1 && byUe.every((x) => x.ue.includes(t.ue) || x.ueAddresses.some((a) => a.includes(t.ue)) || (x.btid ?? '').includes(t.ue)));
  const byBtid = model.transactions('newest', (t.btid as string).slice(0, 10).toUpperCase());
  assert.ok(byBtid.some((x) => x.id === t.id), 'B-TID match ignores case');
  const group = keyGroupOf(t.deliveredKeys[0].label);
  assert.match(group, /^[0-9a-f]{6}:[0-9a-f]{4}$/);
  const byGroup = model.transactions('worst', group);
  assert.ok(byGroup.every((x) => [...x.requestedKeys, ...x.deliveredKeys].some((k) => k.label.startsWith(group))));
  assert.equal(model.transactions('newest', 'no-such-thing-anywhere').length, 0);
  for (const d of model.diagnosticList(t.ue)) {
    const own = d.transaction !== undefined ? model.findTransaction(d.transaction) : undefined;
    assert.ok(d.ue?.includes(t.ue) || d.message.includes(t.ue) || (own !== undefined && transactionMatches(own, t.ue)));
  }
});

test('a filter that is a whole address matches it exactly: 127.82.0.2 does not select 127.82.0.20–29', async () => {
  const model = new DashboardModel();
  const { all } = await run(model);
  const addresses = [...new Set(all.map((t) => t.ue))];
  const short = addresses.find((a) => addresses.some((b) => b !== a && b.startsWith(a)));
  assert.ok(short, `a UE address that begins another: ${addresses.join(' ')}`);
  const longer = addresses.filter((b) => b !== short && b.startsWith(short));
  const picked = model.transactions('newest', short);
  assert.ok(picked.length > 0);
  for (const t of picked) assert.ok(t.ue === short || t.ueAddresses.includes(short) || t.bmsc === short, `${t.id} ue ${t.ue}`);
  assert.ok(!picked.some((t) => longer.includes(t.ue) && !t.ueAddresses.includes(short)));
  for (const d of model.diagnosticList(short)) {
    const own = d.transaction !== undefined ? model.findTransaction(d.transaction) : undefined;
    assert.ok(d.ue === short || mentionsAddress(d.message, short) || (own !== undefined && transactionMatches(own, short)), `${d.code} ue ${d.ue}`);
  }
  // part of an address is still a substring match
  assert.ok(model.transactions('newest', short.split('.').slice(0, 3).join('.')).length >= picked.length);
  assert.equal(mentionsAddress('from 127.82.0.20 to x', '127.82.0.2'), false);
  assert.equal(mentionsAddress('from 127.82.0.2.', '127.82.0.2'), true);
  assert.equal(mentionsAddress('UE 127.82.0.2 (B-TID x)', '127.82.0.2'), true);
  assert.equal(mentionsAddress('to 1127.82.0.2', '127.82.0.2'), false);
});

test('text guards: escape.ts output passes unchanged, raw controls are escaped, tags stay text, widths are kept', () => {
  const raw = 'a\x1b[2Jb\x07c\\d\u202eé{bold}';
  const escaped = escapeText(raw);
  assert.equal(safeText(escaped), escaped, 'already escaped text is not escaped twice');
  assert.doesNotMatch(safeText(raw), /[\x00-\x1f\x7f\u202e]/);
  assert.equal(safeText('\x1b'), escapeText('\x1b'));
  assert.equal(tagEscape('{bold}x{/bold}'), '{open}bold{close}x{open}/bold{close}');
  assert.equal(cell('{red-fg}'), '{open}red-fg{close}');
  assert.equal(displayWidth('日本'), 4);
  assert.equal(fit('abcdef', 4), 'abc…');
  assert.equal(fit('ab', 4, 'right'), '  ab');
  assert.equal(displayWidth(fit('日本語テキスト', 7)), 7);
});

test('packet-time rate: frames per second over the last seconds of capture time', () => {
  const r = new PacketRate(5);
  assert.equal(r.rate(), 0);
  for (let s = 0; s < 10; s++) for (let i = 0; i < 4; i++) r.add(1000 + s + i / 10);
  assert.equal(r.rate(), 4);
  r.add(1020); // a gap of ten seconds without frames
  assert.equal(r.rate(), 0);
  const ring = new Ring<number>(3);
  for (let i = 0; i < 7; i++) ring.push(i);
  assert.deepEqual(ring.toArray(), [4, 5, 6]);
  assert.equal(ring.total, 7);
});

test('replay: every frame in order, the read-ahead queue bounded, a pause stops the replay clock', async () => {
  const expected: number[] = [];
  await readCapture(CAPTURE, (f) => expected.push(f.number));
  const got: number[] = [];
  let maxQueued = 0;
  let replay: CaptureReplay | undefined;
  replay = new CaptureReplay(
    CAPTURE,
    (f) => {
      got.push(f.number);
      maxQueued = Math.max(maxQueued, replay?.queued ?? 0);
    },
    { speed: 1000, maxQueued: 16, chunkSize: 2048 },
  );
  replay.start();
  await replay.done;
  assert.deepEqual(got, expected);
  // a 2 KiB chunk holds at most ~50 records of at least 40 bytes: the queue never runs far past its bound
  assert.ok(maxQueued <= 16 + 2048 / 40, `queue reached ${maxQueued}`);

  // paused before its first frame is due, a real-time replay hands on nothing; resumed, it goes on
  const seen: number[] = [];
  const slow = new CaptureReplay(CAPTURE, (f) => seen.push(f.number), { speed: 1 });
  slow.setPaused(true);
  slow.start();
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(seen.length, 0);
  slow.setPaused(false);
  for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(seen.length > 0);
  assert.equal(seen[0], 1);
  slow.stop();
  await slow.done;
});

test('table columns: the most important fit first, spare width to the flexible ones, cells tag-safe and coloured', () => {
  type K = 'a' | 'b' | 'c';
  const cols: Column<K>[] = [
    { key: 'a', title: 'A', width: 5 },
    { key: 'b', title: 'B', width: 4, flex: 1 },
    { key: 'c', title: 'C', width: 6 },
  ];
  assert.deepEqual(
    fitColumns(cols, ['c', 'a', 'b'], 12).map((c) => [c.key, c.width]),
    [['a', 5], ['c', 6]],
  );
  const wide = fitColumns(cols, ['c', 'a', 'b'], 30);
  assert.deepEqual(wide.map((c) => [c.key, c.width]), [['a', 5], ['b', 17], ['c', 6]]);
  const row = tableRow(wide, (k) => (k === 'c' ? { text: 'ok', color: 'green' } : k === 'a' ? '{bold}' : 'x'));
  assert.equal(row, `{open}bol… ${'x'.padEnd(17)} {green-fg}${'ok'.padEnd(6)}{/green-fg}`);
  assert.equal(displayWidth(row.replace(/\{open\}/g, '{').replace(/\{\/?green-fg\}/g, '')), 30);
});

test('transaction ladder: UE and BM-SC lifelines, one arrow per step in the direction it travelled, times and frames', () => {
  const t0 = { tsSec: 1_700_000_000, tsNsec: 0 };
  const at = (ms: number) => ({ tsSec: t0.tsSec, tsNsec: ms * 1_000_000 });
  const lines = ladderLines({
    ue: '127.172.1.0',
    bmsc: '127.172.0.1',
    start: t0,
    steps: [
      { kind: 'request', frame: 3, time: at(0) },
      { kind: 'challenge', frame: 5, time: at(1), status: 401 },
      { kind: 'credentials', frame: 7, time: at(2) },
      { kind: 'response', frame: 9, time: at(4), status: 200 },
      { kind: 'delivery', frame: 10, time: at(13), carrier: 'udp' },
      { kind: 'ack', frame: 11, time: at(15), carrier: 'udp' },
    ],
  });
  assert.match(lines[0], /UE 127\.172\.1\.0 +BM-SC 127\.172\.0\.1/);
  const arrows = lines.slice(1);
  assert.equal(arrows.length, 6);
  // the UE's steps point right (→ BM-SC), the BM-SC's point left (→ UE), every arrow the same width
  for (const [i, dir] of ['>', '<', '>', '<', '<', '>'].entries()) {
    assert.match(arrows[i], dir === '>' ? /\|-+ \w+.*-+>\|/ : /\|<-+ \w+.*-+\|/, arrows[i]);
  }
  assert.equal(new Set(arrows.map((l) => l.indexOf('|', l.indexOf('|') + 1) - l.indexOf('|'))).size, 1);
  assert.match(arrows[1], / challenge 401 .*#5$/);
  assert.match(arrows[4], / delivery \(udp\) .*#10$/);
  assert.match(arrows[5], /15\.0+ ms|15 ms/);
  // the header fits the lifelines: the BM-SC label starts where the arrows end
  assert.equal(lines[0].indexOf('BM-SC'), arrows[0].lastIndexOf('|') + 1);
});
