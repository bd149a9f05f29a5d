/**
 * The simulator live on loopback (root: tcpdump on lo): a short scenario with a few UEs is recorded, dissected with
 * the key file the run wrote, and checked on the real bytes — Digest verified, every MIKEY MAC verified, ACKs
 * answering their deliveries, the injected faults visible; and the seed makes two runs' message sequences identical.
 * Every run is bounded (a few seconds) and closes its sockets and tcpdump even when an assertion fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { readCapture } from '../../src/capture/reader';
import { tmpdir } from 'node:os';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as path from 'node:path';
import { normaliseScenario, scenarioAddresses } from '../../src/sim/scenario';
import { simulate } from '../../src/sim/record';
import { runScenario, type SimRunResult } from '../../src/sim/run';
import { parseKeyFile } from '../../src/protocols/keys';
import { cleanProblems, faultVisible } from './evidence';
import { acksFrom, hasCredentials, isHttp, isMikey, mikeyTo, viewCapture } from './view';

function smallScenario(network: string, httpPort: number, seed = 7) {
  return normaliseScenario({
    name: 'live-test',
    seed,
    network,
    httpPort,
    ues: [
      { count: 2 },
      { count: 1, faults: ['dropped-ack'] },
      { count: 1, faults: ['wrong-password'] },
      { count: 1, faults: ['delivery-before-200'] },
      { count: 1, faults: ['ignored-solicited-pull'] },
      { count: 1, faults: ['replayed-counter'] },
      { count: 1, variant: 'B' },
    ],
    groupFaults: ['mtk-v-set'],
    timing: { startMs: 100, staggerMs: 80, settleMs: 300, pushStaggerMs: 20, mtkIntervalMs: 300, mtkRepeat: 1, delayMs: 500 },
    durationSeconds: 20,
  });
}

test('live run on loopback, captured with tcpdump: procedures with real bytes, faults on the wire', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keyscope-sim-test-'));
  try {
    const sc = smallScenario('127.95.0.0/16', 18295);
    const pcap = path.join(dir, 'live.pcap');
    const keys = path.join(dir, 'live.keys');
    const r = await simulate(sc, { capture: pcap, keysOut: keys });
    assert.equal(r.timedOut, false);
    const view = await viewCapture(pcap, keys);
    const ues = r.ues;
    const clean = ues.filter((u) => u.faults.length === 0);
    // every credentialed request verifies with the written key file, except the wrong password
    for (const i of view.items.filter(isHttp)) {
      if (i.message.kind !== 'request' || !hasCredentials(i.message)) continue;
      const ue = ues.find((u) => u.address === i.src);
      assert.equal(i.message.verified, !ue?.faults.includes('wrong-password'), `frame ${i.frame} Digest from ${i.src}`);
    }
    // every MIKEY MAC verifies (MSK messages with the MUK, MTKs with the MSK, ACKs with the delivery's keys)
    for (const m of view.items.filter(isMikey)) assert.equal(m.analysis.verified, true, `frame ${m.frame} ${m.analysis.mbms?.kind}`);
    for (const u of clean) {
      assert.deepEqual(cleanProblems(view, { address: u.address, btid: u.btid }), [], u.address);
      // pull, push and solicited pull each delivered and ACKed, the ACK answering its delivery
      const deliveries = mikeyTo(view, u.address, 'msk-delivery');
      assert.ok(deliveries.length >= 3, `${u.address}: ${deliveries.length} deliveries`);
      for (const d of deliveries) assert.ok(acksFrom(view, u.address).some((a) => a.analysis.answersFrame === d.frame && a.analysis.verified === true));
      assert.equal(mikeyTo(view, u.address, 'solicited-pull-trigger').length, 1);
    }
    const variantB = ues.find((u) => u.variant === 'B');
    assert.ok(variantB);
    assert.ok(view.items.filter(isMikey).some((m) => m.carrier === 'http' && m.dst === variantB.address && m.analysis.mbms?.kind === 'msk-delivery'));
    assert.ok(acksFrom(view, variantB.address).some((a) => a.carrier === 'http' && a.analysis.verified === true));
    const timing = sc.timing;
    for (const u of ues) {
      for (const f of u.faults) assert.ok(faultVisible(view, { address: u.address, btid: u.btid }, f, timing), `${f} visible on ${u.address}`);
    }
    // the dropped ACK: a delivery with V to that UE and no ACK from it at all for that delivery
    const dropped = ues.find((u) => u.faults.includes('dropped-ack'));
    assert.ok(dropped);
    const firstDelivery = mikeyTo(view, dropped.address, 'msk-delivery')[0];
    assert.equal(firstDelivery.analysis.mbms?.v, true);
    assert.ok(!acksFrom(view, dropped.address).some((a) => a.analysis.answersFrame === firstDelivery.frame));
    assert.ok(view.items.filter(isMikey).some((m) => m.analysis.mbms?.kind === 'mtk-delivery' && m.analysis.mbms.v), 'MTK with V set');
    // nothing but the run's own /16 was captured
    const net16 = scenarioAddresses(sc).filter.split(' ')[1];
    assert.equal(net16, '127.95.0.0/16');
    for (const i of view.items) assert.ok(i.src.startsWith('127.95.') && i.dst.startsWith('127.95.'));
    // the key file parses and names every UE
    const parsed = parseKeyFile(readFileSync(keys, 'utf8'));
    assert.deepEqual(parsed.errors, []);
    assert.equal(parsed.store.naf.size, ues.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function sequences(r: SimRunResult): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of r.events) {
    const k = `${e.actor}:${e.ue ?? ''}`;
    (out[k] ??= []).push(`${e.kind} ${e.detail ?? ''}`);
  }
  return out;
}

/** Per UE (and for the group address), the bytes of every MIKEY message and every HTTP message, in order. */
function wireSequences(v: Awaited<ReturnType<typeof viewCapture>>, bmsc: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const i of v.items) {
    const peer = i.src === bmsc ? i.dst : i.src;
    if (i.kind === 'mikey') (out[peer] ??= []).push(`mikey ${i.carrier} ${i.src}>${i.dst} ${i.analysis.message?.raw.toString('hex')}`);
    else {
      const m = i.message;
      const headers = m.headers.map((h) => `${h.name}: ${h.value}`).join('|');
      (out[peer] ??= []).push(`http ${m.method ?? m.status} ${m.uri ?? ''} ${headers} ${m.body.toString('hex')}`);
    }
  }
  return out;
}

test('the seed makes two runs identical: identities, keys and every message on the wire, byte for byte', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keyscope-sim-seed-'));
  try {
    const runs: { r: SimRunResult; wire: Record<string, string[]> }[] = [];
    for (const name of ['a', 'b']) {
      const sc = smallScenario('127.96.0.0/16', 18296, 11);
      const pcap = path.join(dir, `${name}.pcap`);
      const keys = path.join(dir, `${name}.keys`);
      const r = await simulate(sc, { capture: pcap, keysOut: keys });
      runs.push({ r, wire: wireSequences(await viewCapture(pcap, keys), scenarioAddresses(sc).bmsc) });
    }
    const [a, b] = runs;
    assert.equal(a.r.keyFile, b.r.keyFile);
    assert.deepEqual(a.r.expected, b.r.expected);
    assert.deepEqual(sequences(a.r), sequences(b.r));
    assert.deepEqual(a.r.ues.map((u) => u.msks), b.r.ues.map((u) => u.msks));
    assert.ok(Object.keys(a.wire).length >= 8);
    assert.deepEqual(a.wire, b.wire);
    const c = await runScenario(smallScenario('127.96.0.0/16', 18296, 12));
    assert.notEqual(c.keyFile, a.r.keyFile);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // every socket was closed: the addresses and ports are free again
  const srv = net.createServer();
  await new Promise<void>((res, rej) => {
    srv.once('error', rej);
    srv.listen({ host: '127.96.0.1', port: 18296, exclusive: true }, () => res());
  });
  await new Promise<void>((res) => srv.close(() => res()));
});

test('the duration bound cuts a run short and still closes every socket', async () => {
  const sc = normaliseScenario({ ...smallScenario('127.94.0.0/16', 18294), durationSeconds: 1 });
  const r = await runScenario(sc);
  assert.equal(r.timedOut, true);
  assert.ok(r.wallSeconds < 8, String(r.wallSeconds));
  assert.ok(r.events.some((e) => e.kind === 'duration-bound-reached'));
  const srv = net.createServer();
  await new Promise<void>((res, rej) => {
    srv.once('error', rej);
    srv.listen({ host: '127.94.0.1', port: 18294, exclusive: true }, () => res());
  });
  await new Promise<void>((res) => srv.close(() => res()));
  for (const host of ['127.94.0.1', '127.94.0.2', '127.94.0.10']) {
    const u = dgram.createSocket('udp4');
    await new Promise<void>((res, rej) => {
      u.once('error', rej);
      u.bind({ address: host, port: 2269, exclusive: true }, () => res());
    });
    await new Promise<void>((res) => u.close(() => res()));
  }
});

test('capture to a stream (`--capture -`): a pcap readable as it is written, every MIKEY message verified', async () => {
  const sc = normaliseScenario({
    name: 'stream', network: '127.93.0.0/16', httpPort: 18293, ues: [{ count: 10, deregister: false }], durationSeconds: 3,
    timing: { startMs: 50, mtkIntervalMs: 300, mtkRepeat: 1 }, load: { pushRate: 10, rampSeconds: 0.5 },
  });
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  let live = 0;
  const reading = readCapture(stream, () => void live++);
  const r = await simulate(sc, { capture: stream });
  stream.end();
  const summary = await reading;
  assert.equal(summary.fatal, undefined);
  assert.ok(live > 50, String(live));
  // the same bytes, dissected with the run's key file: every MIKEY message verifies
  const dir = mkdtempSync(path.join(tmpdir(), 'keyscope-sim-stream-'));
  try {
    writeFileSync(path.join(dir, 's.pcap'), Buffer.concat(chunks));
    writeFileSync(path.join(dir, 's.keys'), r.keyFile);
    const view = await viewCapture(path.join(dir, 's.pcap'), path.join(dir, 's.keys'));
    assert.equal(view.frames, live);
    const mikey = view.items.filter(isMikey);
    assert.ok(mikey.length >= 20, String(mikey.length));
    for (const m of mikey) assert.equal(m.analysis.verified, true, `frame ${m.frame}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
