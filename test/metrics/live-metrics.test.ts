/**
 * `keyscope live --metrics` on lo: the MIKEY datagrams of a bundled capture sent again over loopback are counted by
 * the running capture's endpoint as `analyze --metrics` counts them in the file (messages by BM-SC, key group and
 * kind; ACKs due), and the capture counters follow the frames. Skips when live capture is not possible here (the
 * optional `cap` module, root or CAP_NET_RAW).
 *
 * Network: the senders bind the capture's own loopback source addresses on ports of their own; the capture filter
 * names those ports, so other traffic on lo stays out. The endpoints listen on 127.184.0.1 (this helper's /16).
 * Children are tied (test/support/proc.ts) and killed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { killGroup, spawnSync } from '../support/proc';
import { replayableDatagrams, startWatched, until } from '../support/live-child';
import { capturePath, cliPath } from '../support/repo';
import { parseExposition, sumBy } from './exposition';

const HOST = '127.184.0.1';
const GUARD_MS = 60_000;

const canCapture = (() => {
  const r = spawnSync(process.execPath, [cliPath(), 'live', '-D'], { encoding: 'utf8' });
  return r.status === 0 && / lo|\.lo\b/.test(r.stdout);
})();

async function scrape(url: string) {
  return parseExposition(await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text());
}

test('live --metrics counts the MIKEY messages of traffic replayed on lo as analyze --metrics counts them in the file', { skip: !canCapture && 'live capture is not available here (cap module, permissions)' }, async () => {
  const file = capturePath('mikey-mbms-kinds.pcap');
  const keys = capturePath('mikey-mbms-kinds.keys');

  // the file's figures: analyze with the endpoint kept open until scraped
  const offline = startWatched(process.execPath, [cliPath(), 'analyze', '--keys', keys, '--metrics', `${HOST}:0`, '--metrics-linger', '600', file]);
  let expected;
  try {
    await until('analyze to finish', () => /input ended/.test(offline.err()), offline, GUARD_MS);
    expected = await scrape(/metrics at (http:\S+)/.exec(offline.err())?.[1] ?? '');
  } finally {
    killGroup(offline.child, 'SIGKILL');
  }

  const replay = await replayableDatagrams(file, keys);
  const filter = replay.filter;
  const live = startWatched(process.execPath, [cliPath(), 'live', '-i', 'lo', '-f', filter, '--keys', keys, '--metrics', `${HOST}:0`]);
  try {
    await until('the capture to start', () => /capturing on/.test(live.err()), live, GUARD_MS);
    const url = /metrics at (http:\S+)/.exec(live.err())?.[1] ?? '';
    const before = await scrape(url);
    assert.deepEqual(sumBy(before, 'keyscope_capture_packets_total', []), { '': 0 });
    // cap has no drop counter: no series, rather than a 0 that would claim no drops
    assert.deepEqual(sumBy(before, 'keyscope_capture_dropped_packets_total', []), {});
    assert.deepEqual(sumBy(before, 'keyscope_info', ['command']), { live: 1 });
    for (let i = 0; i < replay.count; i++) await replay.send(i);
    let got = before;
    const end = Date.now() + GUARD_MS;
    const messages = (s: typeof got) => sumBy(s, 'keyscope_mikey_messages_total', ['bmsc', 'key_group', 'kind']);
    while (sumBy(got, 'keyscope_capture_packets_total', [])[''] < replay.count || JSON.stringify(messages(got)) !== JSON.stringify(messages(expected))) {
      assert.ok(Date.now() < end, `live counted ${JSON.stringify(messages(got))}, the file ${JSON.stringify(messages(expected))}`);
      await new Promise((r) => setTimeout(r, 200));
      got = await scrape(url);
    }
    assert.ok(Object.keys(messages(got)).length > 0);
    assert.deepEqual(sumBy(got, 'keyscope_capture_packets_total', []), { '': replay.count });
    assert.deepEqual(sumBy(got, 'keyscope_mikey_acks_expected_total', ['bmsc', 'key_group']), sumBy(expected, 'keyscope_mikey_acks_expected_total', ['bmsc', 'key_group']));
    assert.ok(sumBy(got, 'keyscope_capture_last_packet_timestamp_seconds', [])[''] > Date.now() / 1000 - 600);
    killGroup(live.child, 'SIGTERM');
    assert.equal(await live.exit, 0, live.err());
  } finally {
    killGroup(live.child, 'SIGKILL');
    replay.close();
  }
});
