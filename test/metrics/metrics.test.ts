/**
 * The metrics sink and endpoint on their own: `--metrics` address forms, the bound on `bmsc`/`key_group` values, the
 * sink tee, usage and listen errors, `analyze -` serving while a stream is still coming, and that asking for metrics
 * changes nothing in analyze's records (the correlator stays what it was).
 *
 * Network: 127.184.0.0/16 (shared with prometheus.test.ts; ports are free ones, picked by the system).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { KeyscopeMetrics, METRICS_DEFAULTS, OVERFLOW_LABEL_VALUE } from '../../src/metrics/metrics';
import { MetricsServer, parseMetricsAddress } from '../../src/metrics/server';
import { teeSinks } from '../../src/pipeline/tee-sink';
import type { Measurement } from '../../src/correlate/types';
import { spawn, spawnSync } from '../support/proc';
import { startWatched, until } from '../support/live-child';
import { capturePath, cliPath } from '../support/repo';
import { parseExposition, sumBy } from './exposition';

const HOST = '127.184.0.1';
const GUARD_MS = 60_000;
const FAULT_OPTIONS = ['--keys', capturePath('sim-faults.keys'), '--ack-timeout', '0.72', '--delivery-timeout', '0.72', '--pull-timeout', '0.72', '--storm-ues', '5', '--storm-window', '0.05'];

test('--metrics [HOST:]PORT: loopback unless a host is given; IPv6 in brackets; bad forms refused', () => {
  assert.deepEqual(parseMetricsAddress('9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseMetricsAddress(':9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseMetricsAddress('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464 });
  assert.deepEqual(parseMetricsAddress('localhost:0'), { host: 'localhost', port: 0 });
  assert.deepEqual(parseMetricsAddress('[::1]:9464'), { host: '::1', port: 9464 });
  for (const bad of ['', 'abc', '70000', '::1:9464', 'host:', 'a b:1', '-1']) assert.throws(() => parseMetricsAddress(bad), Error, bad);
});

test('bmsc and key_group keep their first N values; the rest count under "other" and in the overflow counter', async () => {
  assert.equal(METRICS_DEFAULTS.maxLabelValues, 100);
  const m = new KeyscopeMetrics({ maxLabelValues: 2, processMetrics: false });
  const feed = (x: Measurement) => m.sink.measurement?.(x);
  for (let i = 0; i < 5; i++) {
    feed({ type: 'ack-due', bmsc: `10.0.0.${i}`, keyGroup: '00f110:0001' });
    feed({ type: 'acked', bmsc: `10.0.0.${i}`, keyGroup: `00f110:000${i}`, seconds: 0.01 });
  }
  const samples = parseExposition(await m.text());
  assert.deepEqual(sumBy(samples, 'keyscope_mikey_acks_expected_total', ['bmsc']), { '10.0.0.0': 1, '10.0.0.1': 1, [OVERFLOW_LABEL_VALUE]: 3 });
  // the key_group label met 00f110:0001 first (from ack-due), then 0000; 0002… are folded
  assert.deepEqual(sumBy(samples, 'keyscope_mikey_acks_total', ['key_group']), { '00f110:0001': 1, '00f110:0000': 1, [OVERFLOW_LABEL_VALUE]: 3 });
  assert.deepEqual(sumBy(samples, 'keyscope_metrics_label_overflow_total', ['label']), { bmsc: 6, key_group: 3 });
  // a second scrape adds nothing that did not happen
  const again = parseExposition(await m.text());
  assert.deepEqual(sumBy(again, 'keyscope_metrics_label_overflow_total', ['label']), { bmsc: 6, key_group: 3 });
  // latency samples land in the step histogram (mikey_to_ack comes from the statistics as a latency measurement)
  feed({ type: 'latency', step: 'mikeyToAck', seconds: 0.0015 });
  const h = parseExposition(await m.text());
  assert.deepEqual(sumBy(h, 'keyscope_step_latency_seconds_bucket', ['le'], { step: 'mikey_to_ack' })['0.002'], 1);
  assert.deepEqual(sumBy(h, 'keyscope_step_latency_seconds_bucket', ['le'], { step: 'mikey_to_ack' })['0.001'], 0);
});

test('teeSinks hands each event to every sink that takes it, and has no method none of them has', () => {
  const seen: string[] = [];
  const tee = teeSinks({ diagnostic: () => seen.push('a') }, undefined, { diagnostic: () => seen.push('b'), transaction: () => seen.push('t') });
  assert.equal(tee.measurement, undefined);
  assert.equal(tee.captureFrame, undefined);
  tee.diagnostic?.({} as never);
  tee.transaction?.({} as never);
  assert.deepEqual(seen, ['a', 'b', 't']);
  const one = { anomaly: () => undefined };
  assert.equal(teeSinks(one, undefined), one);
});

test('the endpoint answers /metrics only, GET or HEAD', async () => {
  const m = new KeyscopeMetrics({ processMetrics: false, command: 'analyze' });
  const server = await MetricsServer.start(m, { host: HOST, port: 0 });
  try {
    const base = server.url.replace(/\/metrics$/, '');
    assert.equal((await fetch(`${base}/nothing`)).status, 404);
    assert.equal((await fetch(server.url, { method: 'POST' })).status, 405);
    const head = await fetch(server.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    const text = await (await fetch(server.url)).text();
    assert.match(text, /^# HELP keyscope_/m);
    assert.match(text, /^keyscope_info\{command="analyze"\} 1$/m);
  } finally {
    await server.close();
  }
});

test('usage and listen errors: a bad address is a usage error (64), a taken port one line and exit 2, nothing on stdout', async () => {
  const bad = spawnSync(process.execPath, [cliPath(), 'analyze', '--metrics', 'nope', capturePath('sim-faults.pcap')], { encoding: 'utf8' });
  assert.equal(bad.status, 64, bad.stderr);
  assert.match(bad.stderr, /--metrics/);
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, HOST, r));
  try {
    const port = (taken.address() as net.AddressInfo).port;
    const busy = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const c = startWatched(process.execPath, [cliPath(), 'analyze', '--metrics', `${HOST}:${port}`, capturePath('sim-faults.pcap')]);
      void c.exit.then((status) => resolve({ status, stdout: c.out(), stderr: c.err() }));
    });
    assert.equal(busy.status, 2);
    assert.equal(busy.stdout, '');
    assert.equal(busy.stderr, `keyscope analyze: --metrics ${HOST}:${port}: cannot listen: EADDRINUSE\n`);
  } finally {
    taken.close();
  }
});

test('analyze --json prints the same records with --metrics as without (the correlator does not change)', () => {
  const run = (extra: string[]) => spawnSync(process.execPath, [cliPath(), 'analyze', ...FAULT_OPTIONS, '--json', ...extra, capturePath('sim-faults.pcap')], { encoding: 'utf8' });
  const plain = run([]);
  const served = run(['--metrics', `${HOST}:0`]);
  assert.equal(plain.status, 1);
  assert.equal(served.status, 1);
  assert.equal(served.stdout, plain.stdout);
  assert.match(served.stderr, /metrics at http:\/\/127\.184\.0\.1:\d+\/metrics/);
});

/** The byte offsets where each record of a little-endian microsecond pcap file ends. */
function pcapRecordEnds(buf: Buffer): number[] {
  assert.equal(buf.readUInt32LE(0), 0xa1b2c3d4, 'a little-endian µs pcap');
  const ends: number[] = [];
  for (let o = 24; o + 16 <= buf.length; ) {
    o += 16 + buf.readUInt32LE(o + 8);
    ends.push(o);
  }
  return ends;
}

test('analyze - serves while the stream is still coming, and stops serving when it ends (no linger)', async () => {
  const buf = fs.readFileSync(capturePath('sim-faults.pcap'));
  const ends = pcapRecordEnds(buf);
  const half = Math.floor(ends.length / 2);
  const child = spawn(process.execPath, [cliPath(), 'analyze', ...FAULT_OPTIONS, '--metrics', `${HOST}:0`, '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const c = { child, out: () => out, err: () => err, exit: new Promise<number | null>((resolve) => child.on('exit', (code) => setImmediate(() => resolve(code)))) };
  await until('the metrics URL', () => /metrics at http/.test(c.err()), c, GUARD_MS);
  const url = /metrics at (http:\S+)/.exec(c.err())?.[1] ?? '';
  c.child.stdin?.write(buf.subarray(0, ends[half - 1]));
  // the reader may hold the newest frames back a moment; the count climbs to the half and stays there
  let packets = 0;
  const end = Date.now() + GUARD_MS;
  while (packets < half) {
    assert.ok(Date.now() < end, `packets ${packets} of ${half}`);
    const text = await (await fetch(url)).text();
    packets = sumBy(parseExposition(text), 'keyscope_capture_packets_total', [])[''] ?? 0;
    if (packets < half) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(packets, half);
  c.child.stdin?.end(buf.subarray(ends[half - 1]));
  assert.equal(await c.exit, 1);
  await assert.rejects(fetch(url, { signal: AbortSignal.timeout(5000) }));
});
