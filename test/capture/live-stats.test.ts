/** The live counters' arithmetic: the rate over whole seconds of a monotonic clock, and the TCP loss estimate. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from '../support/proc';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RateWindow, estimateCaptureLoss } from '../../src/capture/live-stats';
import { Dissector } from '../../src/pipeline/dissector';
import { readCapture } from '../../src/capture/reader';
import { capturePath } from '../support/repo';
import { tsharkFields } from '../support/tshark';

const S = 1_000_000_000n;

test('RateWindow: packets and bytes per second over the completed seconds of the window', () => {
  const start = 1000n * S;
  const w = new RateWindow(5);
  // 10 packets of 100 bytes in each of seconds 1000..1006, 0 in 1007, 4 in 1008
  for (let sec = 0n; sec < 7n; sec++) for (let i = 0n; i < 10n; i++) w.add(start + sec * S + i * 1000n, 100);
  for (let i = 0n; i < 4n; i++) w.add(start + 8n * S + i, 50);
  // at 1008.5: completed seconds 1003..1007 = 10+10+10+10+0 packets
  const r = w.rate(start + 8n * S + S / 2n, start);
  assert.equal(r.packetsPerSecond, 40 / 5);
  assert.equal(r.bytesPerSecond, 4000 / 5);
  // long silence: everything has left the window
  assert.deepEqual(w.rate(start + 60n * S, start), { packetsPerSecond: 0, bytesPerSecond: 0 });
});

test('RateWindow: a capture younger than a second is measured over its elapsed time', () => {
  const start = 5n * S + S / 10n;
  const w = new RateWindow(5);
  for (let i = 0; i < 30; i++) w.add(start + BigInt(i) * 1_000_000n, 10);
  const r = w.rate(start + S / 2n, start);
  assert.equal(r.packetsPerSecond, 60);
  assert.equal(r.bytesPerSecond, 600);
});

test('estimateCaptureLoss: ACKed-but-unseen bytes over what TCP carried', () => {
  assert.deepEqual(estimateCaptureLoss({ bytesDelivered: 0, gapBytes: 0, ackedUnseenBytes: 0 }), { lostBytes: 0, gapBytes: 0, ratio: 0 });
  assert.deepEqual(estimateCaptureLoss({ bytesDelivered: 900, gapBytes: 300, ackedUnseenBytes: 100 }), { lostBytes: 100, gapBytes: 300, ratio: 0.1 });
});

test('estimateCaptureLoss on a bundled capture without loss is 0, and matches the Dissector\'s counters', async () => {
  const d = new Dissector(() => undefined);
  const summary = await readCapture(capturePath('tcp-http-loopback.pcap'), (f) => d.frame(f));
  d.finish();
  assert.equal(summary.fatal, undefined);
  const loss = estimateCaptureLoss(d.tcpStats);
  assert.ok(d.tcpStats.bytesDelivered > 0);
  assert.equal(loss.lostBytes, d.tcpStats.ackedUnseenBytes);
  assert.equal(loss.gapBytes, d.tcpStats.gapBytes);
  assert.equal(loss.lostBytes, 0);
});

test('estimateCaptureLoss counts a data segment cut out of a capture (editcap) as ACKed-but-unseen, to the byte (tshark tcp.len)', async () => {
  const original = capturePath('tcp-http-loopback.pcap');
  // a data segment in the middle of the first connection: its bytes are ACKed by the peer
  const data = tsharkFields(original, ['frame.number', 'tcp.stream', 'tcp.len']).filter(([, s, len]) => s === '0' && Number(len) > 0);
  const [victim, , victimLen] = data[Math.floor(data.length / 2)];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-loss-'));
  try {
    const lossy = path.join(dir, 'lossy.pcap');
    execFileSync('editcap', [original, lossy, victim], { stdio: 'ignore' });
    const d = new Dissector(() => undefined);
    await readCapture(lossy, (f) => d.frame(f));
    d.finish();
    const loss = estimateCaptureLoss(d.tcpStats);
    assert.equal(loss.lostBytes, Number(victimLen));
    assert.ok(loss.gapBytes >= loss.lostBytes);
    assert.ok(loss.ratio > 0 && loss.ratio < 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
