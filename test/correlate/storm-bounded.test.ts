/**
 * Issue #12: during a storm that lasts as long as the capture, the request-storm rule remembered every UE it had
 * reported (UE states the UE table had long evicted among them): memory grew with the capture. At most maxUes now.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StormRules } from '../../src/correlate/rules/storm';
import type { RoomContext } from '../../src/correlate/context';
import type { Tx, UeState } from '../../src/correlate/model';

test('a capture-long request storm keeps at most maxUes reported UEs; each new UE is still reported', { timeout: 30_000 }, () => {
  const clock = { now: 0 };
  let reports = 0;
  const ctx = { options: { stormUes: 5, stormWindow: 1, maxUes: 100 }, clock, findings: { report: () => reports++ } } as unknown as RoomContext;
  const rules = new StormRules(ctx);
  const ues = 5000;
  for (let i = 0; i < ues; i++) {
    clock.now = i / 1000; // 1 000 requests per second, each from a new UE: a storm all along
    rules.request({ id: `ue${i}` } as unknown as UeState, {} as Tx, i + 1);
  }
  const reported = (rules as unknown as { reported: Set<UeState> }).reported;
  assert.ok(reported.size <= 100, `${reported.size} UEs remembered`);
  assert.equal(reports, ues, 'every UE of the storm is reported once (the first five when the storm begins)');
});
