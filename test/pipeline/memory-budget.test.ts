/**
 * The dissection pipeline's bounds come from the one memory budget (--max-memory): derived values grow with the budget,
 * the correlator's and the pipeline's shares add up, and a bound given explicitly still wins.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CaptureFrame } from '../../src/capture/types';
import { BUDGET_SHARES, DEFAULT_MAX_MEMORY_MB, ITEM_COSTS, LATENCY_KINDS, LIVE_SHARE, MEMORY_RESERVE_MB, STATE_SHARES, budgetFromMemory, liveStateBytes } from '../../src/correlate/options';
import { Dissector } from '../../src/pipeline/dissector';
import { PIPELINE_BUDGET_SHARES, PIPELINE_ITEM_COSTS, pipelineBudgetFromMemory } from '../../src/pipeline/memory-budget';
import { ethernet, ipv4, tcp } from '../decode/craft';

function syn(i: number): CaptureFrame {
  const data = ethernet(0x0800, ipv4({ src: `10.9.${(i >> 8) & 255}.${i & 255}`, dst: '10.8.0.1', protocol: 6 }, tcp({ sport: 20000, dport: 80, seq: 1, ack: 0, flags: 0x02 }, Buffer.alloc(0))));
  return { number: i + 1, tsSec: 1_800_000_000, tsNsec: i * 1000, linkType: 1, interfaceId: 0, capturedLength: data.length, originalLength: data.length, data, problems: [] };
}

/** Open TCP connections the Dissector follows after `n` SYNs from distinct clients. */
function openConnections(n: number, options: ConstructorParameters<typeof Dissector>[1]): number {
  const d = new Dissector(() => {}, options);
  for (let i = 0; i < n; i++) d.frame(syn(i));
  return d.tcpStats.activeConnections;
}

describe('pipeline memory budget', { timeout: 60_000 }, () => {
  it('splits one live-state budget between the correlator and the pipeline', () => {
    assert.equal(STATE_SHARES.correlator + STATE_SHARES.pipeline, 1);
    const sum = Object.values(PIPELINE_BUDGET_SHARES).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9, `pipeline shares add up to ${sum}`);
    const total = (DEFAULT_MAX_MEMORY_MB - MEMORY_RESERVE_MB) * 1024 * 1024 * LIVE_SHARE;
    assert.ok(Math.abs(liveStateBytes(DEFAULT_MAX_MEMORY_MB, 'correlator') + liveStateBytes(DEFAULT_MAX_MEMORY_MB, 'pipeline') - total) < 1);
  });

  it('derives every pipeline bound from --max-memory, growing with it, within the pipeline share', () => {
    const small = pipelineBudgetFromMemory(150);
    const def = pipelineBudgetFromMemory();
    const big = pipelineBudgetFromMemory(1000);
    assert.deepEqual(def, pipelineBudgetFromMemory(DEFAULT_MAX_MEMORY_MB));
    for (const k of Object.keys(def) as (keyof typeof def)[]) {
      assert.ok(small[k] <= def[k] && def[k] <= big[k], `${k}: ${small[k]} ≤ ${def[k]} ≤ ${big[k]}`);
      assert.ok(Number.isInteger(def[k]) && def[k] > 0, k);
    }
    assert.ok(small.maxConnections < def.maxConnections && def.maxConnections < big.maxConnections);
    // the worst case of every kind at once fits the pipeline's share
    const c = PIPELINE_ITEM_COSTS;
    const worst =
      def.maxConnections * c.connection + def.maxClosedConnections * c.closedConnection + def.maxHeldBytes * c.heldByte +
      def.maxBufferedBytes * c.outOfOrderByte + def.maxHeldSegments * c.outOfOrderSegment + def.maxFragmentBytes * c.fragmentByte +
      def.maxPendingDatagrams * c.pendingDatagram + def.maxConversations * c.conversation;
    assert.ok(worst <= liveStateBytes(DEFAULT_MAX_MEMORY_MB, 'pipeline') * 1.001, `${worst} bytes`);
    // the correlator's bounds shrink with the budget too
    assert.ok(budgetFromMemory(150).maxUes < budgetFromMemory(DEFAULT_MAX_MEMORY_MB).maxUes);
  });

  it('derives every correlator bound from --max-memory; the worst case of every kind at once fits the correlator share', () => {
    const sum = Object.values(BUDGET_SHARES).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9, `correlator shares add up to ${sum}`);
    for (const mb of [DEFAULT_MAX_MEMORY_MB, 400, 1000]) {
      const b = budgetFromMemory(mb);
      const c = ITEM_COSTS;
      const worst =
        b.maxOpenTransactions * c.openTransaction + b.maxUes * c.ue + b.maxAckIndex * c.ackIndexEntry + b.maxMukCounters * c.mukCounter +
        b.maxAckTableRows * c.ackTableRow + b.maxHeldFindingBytes * c.heldFindingByte + b.maxConnections * c.connection +
        b.maxLatencySamples * LATENCY_KINDS * c.latencySample + b.maxMtkStreams * c.mtkStream + b.maxMtkStatistics * c.mtkStatistics;
      assert.ok(worst <= liveStateBytes(mb, 'correlator') * 1.001, `${mb} MB: ${worst} bytes`);
    }
    const small = budgetFromMemory(150);
    const def = budgetFromMemory(DEFAULT_MAX_MEMORY_MB);
    for (const k of Object.keys(def) as (keyof typeof def)[]) assert.ok(small[k] <= def[k] && def[k] <= budgetFromMemory(1000)[k], k);
    assert.ok(small.maxHeldFindingBytes < def.maxHeldFindingBytes && small.maxConnections < def.maxConnections && small.maxLatencySamples < def.maxLatencySamples);
  });

  it('follows as many connections as the budget allows, and an explicit maxConnections wins', () => {
    const n = pipelineBudgetFromMemory(150).maxConnections + 200;
    assert.equal(openConnections(n, { maxMemory: 150 }), pipelineBudgetFromMemory(150).maxConnections);
    assert.equal(openConnections(n, { maxMemory: 150, tcp: { maxConnections: n + 10 } }), n);
    assert.equal(openConnections(n, { tcp: { maxConnections: 100 } }), 100);
    // an option object with the key present but undefined does not erase the derived bound
    assert.equal(openConnections(n, { maxMemory: 150, tcp: { maxConnections: undefined } }), pipelineBudgetFromMemory(150).maxConnections);
  });
});
