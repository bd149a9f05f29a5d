/**
 * Deadlines on packet time (issue #13: "timers are removed when cancelled"): a cancelled timer leaves the heap at once
 * and never fires; the rest fire in (time, insertion) order. Through the correlator: with --max-transactions 10, the
 * pending deadlines stay within the open-transaction bound while 10 000 V-flagged pushes go by (each eviction cancels
 * its ACK deadline), instead of one deadline per push for the whole ACK timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PacketTimers } from '../../src/correlate/timers';
import { Analyzer } from '../../src/pipeline/analyzer';
import { readCapture } from '../../src/capture/reader';
import { writeUnackedPushes } from './adversarial';

test('a cancelled timer leaves the heap at once and never fires; the rest fire in order', { timeout: 30_000 }, () => {
  const timers = new PacketTimers();
  let x = 12345;
  const rand = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const fired: number[] = [];
  const all = Array.from({ length: 10_000 }, (_, i) => {
    const at = Math.floor(rand() * 1000);
    return { i, at, t: timers.set(at, () => fired.push(i)) };
  });
  const cancelled = new Set<number>();
  for (const e of all) {
    if (rand() < 0.5) {
      timers.cancel(e.t);
      timers.cancel(e.t); // twice: no effect
      cancelled.add(e.i);
    }
  }
  assert.equal(timers.size, all.length - cancelled.size);
  timers.expire(Infinity);
  assert.equal(timers.size, 0);
  assert.equal(fired.length, all.length - cancelled.size);
  assert.ok(fired.every((i) => !cancelled.has(i)), 'a cancelled timer fired');
  const expected = all.filter((e) => !cancelled.has(e.i)).sort((a, b) => a.at - b.at || a.i - b.i).map((e) => e.i);
  assert.deepEqual(fired, expected);
  // cancelling after firing is harmless
  timers.cancel(all[0].t);
  assert.equal(timers.size, 0);
});

test('evicted transactions take their deadlines with them: pending timers stay within the open-transaction bound', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyscope-timers-'));
  try {
    const cap = path.join(dir, 'pushes.pcap');
    await writeUnackedPushes(cap, 10_000, 2_000);
    const a = new Analyzer({}, { correlator: { maxOpenTransactions: 10 } });
    // the correlator's timer heap is private: read it for this check only
    const timers = (a.correlator as unknown as { timers: PacketTimers }).timers;
    assert.ok(timers instanceof PacketTimers);
    let most = 0;
    await readCapture(cap, (f) => {
      a.frame(f);
      most = Math.max(most, timers.size);
    });
    // an open push holds at most a few deadlines (its ACK timeout and the like); 10 000 pushes within one ACK timeout
    // would hold 10 000 if an eviction left its deadline behind
    assert.ok(most <= 10 * 3, `at most ${most} pending deadlines`);
    a.finish();
    assert.equal(a.stats().evicted.transactions, 10_000 - 10);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a deadline that can only return leaves at once: no pending pull timeout of an answered request, no ACK timeout of an ACKed message (sim-faults.pcap)', { timeout: 60_000 }, async () => {
  const { capturePath } = await import('../support/repo');
  const { loadKeyFile } = await import('../../src/protocols/keys');
  // the scenario's compressed timings (README), so that deadlines pass inside the capture
  const a = new Analyzer({}, {
    dissector: { keys: loadKeyFile(capturePath('sim-faults.keys')) },
    correlator: { ackTimeout: 0.72, deliveryTimeout: 0.72, pullTimeout: 0.72, stormUes: 5, stormWindow: 0.05 },
  });
  interface Pending { index: number; fire: unknown; a: unknown; b: unknown }
  const c = a.correlator as unknown as {
    book: { openTransactions(): { timers: Pending[] }[] };
    http: { requestDeadline: unknown };
    delivery: { ackDeadline: unknown };
  };
  let requestsWaiting = 0;
  let acksWaiting = 0;
  const summary = await readCapture(capturePath('sim-faults.pcap'), (f) => {
    a.frame(f);
    for (const tx of c.book.openTransactions()) {
      for (const t of tx.timers) {
        // fired ones stay listed until the transaction's next deadline prunes them
        if (t.index < 0) continue;
        if (t.fire === c.http.requestDeadline) {
          assert.equal((t.a as { answered: boolean }).answered, false, 'pull timeout of an answered request still pending');
          requestsWaiting++;
        } else if (t.fire === c.delivery.ackDeadline) {
          const d = t.b as { acked: boolean; ackInvalid: boolean };
          assert.ok(!d.acked && !d.ackInvalid, 'ACK timeout of an answered message still pending');
          acksWaiting++;
        }
      }
    }
  });
  a.finish();
  assert.equal(summary.fatal, undefined);
  // the check saw deadlines that still had work to do
  assert.ok(requestsWaiting > 0 && acksWaiting > 0, `${requestsWaiting} request and ${acksWaiting} ACK deadlines seen pending`);
});
