/**
 * The correlator's small shared helpers (src/correlate/model.ts), against the plain forms they replace on hot paths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addGroup, groupCount, groupDelivered, groupMatches, type Tx } from '../../src/correlate/model';

/** The form groupMatches had: two split(':') per call (kept here as the reference). */
function groupMatchesBySplit(a: string, b: string): boolean {
  const [ad, ag] = a.split(':');
  const [bd, bg] = b.split(':');
  return (ad === '*' || bd === '*' || ad === bd) && (ag === '*' || bg === '*' || ag === bg);
}

test('groupMatches compares the `kd:kg` fields in place exactly as split(":") would', { timeout: 30_000 }, () => {
  const real = ['00f110:0101', '00f110:0202', '*:0101', '00f110:*', '*:*', 'abc:0101', '00f110:0101:0001'];
  for (const a of real) for (const b of real) assert.equal(groupMatches(a, b), groupMatchesBySplit(a, b), `${a} vs ${b}`);
  // every string of up to 5 characters over an alphabet with the separator, the wildcard and empty fields
  const alphabet = ['*', ':', 'a', 'b'];
  const all: string[] = [''];
  for (let len = 1, start = 0; len <= 5; len++) {
    const end = all.length;
    for (let i = start; i < end; i++) for (const c of alphabet) all.push(all[i] + c);
    start = end;
  }
  let x = 987654321;
  const pick = () => all[(x = (Math.imul(x, 1103515245) + 12345) >>> 0) % all.length];
  for (let i = 0; i < 200_000; i++) {
    const a = pick();
    const b = pick();
    assert.equal(groupMatches(a, b), groupMatchesBySplit(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
});

test('sortedDistinct gives what [...new Set(frames)].sort().slice(0, max) gives', { timeout: 30_000 }, async () => {
  const { sortedDistinct } = await import('../../src/correlate/correlator');
  let x = 13579;
  const rand = (n: number) => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n;
  for (let i = 0; i < 20_000; i++) {
    const frames = Array.from({ length: rand(80) }, () => rand(i % 2 === 0 ? 10 : 100_000));
    const max = 1 + rand(70);
    assert.deepEqual(sortedDistinct(frames, max), [...new Set(frames)].sort((a, b) => a - b).slice(0, max));
    // the storm rule sorts its evidence once and every report sorts it again: the same frames
    assert.deepEqual(sortedDistinct(sortedDistinct(frames, max), max), sortedDistinct(frames, max));
  }
});

test('keyRef and groupOf give the records and labels they built per call, cached or not', { timeout: 30_000 }, async () => {
  const { keyRef, groupOf, hex } = await import('../../src/correlate/model');
  const values = [undefined, 0, 1, 0x0101, 0xffff, 0x10000, -1, 1.5, NaN, -0, 2 ** 32 + 5];
  for (const kd of [undefined, '00f110', '*', 'ABCDEF', 'x'.repeat(40)])
    for (const kg of values)
      for (const kn of values) {
        const want: Record<string, unknown> = { label: `${kd ?? '*'}:${kg === undefined ? '*' : hex(kg, 4)}:${kn === undefined ? '*' : hex(kn, 4)}` };
        if (kd !== undefined) want.keyDomainId = kd;
        if (kg !== undefined) want.keyGroup = kg;
        if (kn !== undefined) want.keyNumber = kn;
        for (let i = 0; i < 2; i++) assert.deepEqual({ ...keyRef(kd, kg, kn) }, want);
        assert.equal(groupOf(kd, kg), `${kd ?? '*'}:${kg === undefined ? '*' : hex(kg, 4)}`);
      }
});

test('appendDropping gives what appendExact then splice(drop, 1) gives, in an exact array', async () => {
  const { appendDropping, appendExact } = await import('../../src/correlate/model');
  for (let n = 0; n < 12; n++) {
    const arr = Array.from({ length: n }, (_, i) => `a${i}`);
    for (let drop = 0; drop <= n; drop++) {
      const want = appendExact(arr, 'new');
      want.splice(drop, 1);
      const got = appendDropping(arr, 'new', drop);
      assert.deepEqual(got, want, `n ${n}, drop ${drop}`);
      assert.equal(got.length, n);
      assert.deepEqual(arr, Array.from({ length: n }, (_, i) => `a${i}`));
    }
  }
});

test('addGroup keeps a transaction\'s groups distinct and in order, as a Set would, across the switch from array to Set', { timeout: 30_000 }, () => {
  let x = 24680;
  const rand = (n: number) => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n;
  for (let i = 0; i < 2_000; i++) {
    const tx = { requestedGroups: [], deliveredGroups: [] } as unknown as Tx;
    const reference = new Set<string>();
    const n = rand(60);
    const spread = 1 + rand(50);
    for (let k = 0; k < n; k++) {
      const g = `00f110:${(rand(spread)).toString(16).padStart(4, '0')}`;
      addGroup(tx, 'deliveredGroups', g);
      reference.add(g);
      assert.deepEqual([...tx.deliveredGroups], [...reference]);
      assert.equal(groupCount(tx.deliveredGroups), reference.size);
    }
    for (const g of reference) assert.ok(groupDelivered(tx.deliveredGroups, g));
    assert.equal(groupDelivered(tx.deliveredGroups, 'ffffff:ffff'), false);
    assert.equal(groupCount(tx.requestedGroups), 0);
  }
});
