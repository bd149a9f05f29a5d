/**
 * Requests cut by the end of the capture (issue #13, item 3): each stays on its own connection, UE and last frame —
 * its own frame number, time and addresses — whatever frame ends the capture, and so does a request cut by a gap that
 * the reordering timer declares on another connection's packet. Checked through the real CLI (dissect --json and
 * analyze --json) on captures built with the lab.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawnSync } from '../support/proc';
import { cliPath } from '../support/repo';
import { BMSC, BMSC_FQDN, Lab, type LabUe } from '../correlate/lab';
import { ethernet, ipv4, tcp, udp } from '../decode/craft';


interface Json {
  [k: string]: unknown;
}

function keyscope(args: string[]): Json[] {
  const r = spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000 });
  assert.ok(r.status === 0 || r.status === 1, `exit ${r.status}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Json);
}

/** An MSK request whose body the capture cuts: the header promises the whole body, 40 bytes of it were captured. */
function cutRequest(lab: Lab): Buffer {
  const body = lab.mskRequestBody([1]);
  const head =
    `POST /keymanagement?requesttype=msk-request HTTP/1.1\r\nHost: ${BMSC_FQDN}\r\nUser-Agent: lab 3gpp-gba\r\n` +
    `Content-Type: application/mbms-msk+xml\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body.subarray(0, 40)]);
}

interface Frame {
  frame: number;
  ts: number;
  src: string;
  dst: string;
  http?: Json | Json[];
}

function httpOf(f: Frame): Json[] {
  return f.http === undefined ? [] : Array.isArray(f.http) ? f.http : [f.http];
}

/** dissect: every cut request is shown on the frame that carried its bytes, from its UE; analyze: one pull per UE at that frame. */
function check(pcap: string, ues: LabUe[]): void {
  const frames = keyscope(['dissect', '--json', pcap]) as unknown as Frame[];
  const withHttp = frames.filter((f) => httpOf(f).length > 0);
  assert.equal(withHttp.length, ues.length, 'one frame per cut request');
  for (const f of withHttp) {
    assert.equal(httpOf(f).length, 1, `frame ${f.frame} shows one request`);
    assert.equal(f.dst, BMSC);
    assert.ok(ues.some((u) => u.address === f.src), `frame ${f.frame} is from a UE (${f.src})`);
  }
  const bySrc = new Map(withHttp.map((f) => [f.src, f]));
  const out = keyscope(['analyze', '--json', pcap]);
  const txs = out.filter((r) => r.type === 'transaction');
  assert.equal(txs.length, ues.length, 'one transaction per UE');
  for (const ue of ues) {
    const own = txs.filter((t) => t.ue === ue.address);
    assert.equal(own.length, 1, `UE ${ue.address} has its own transaction`);
    const steps = own[0].steps as { kind: string; frame: number; ts: number }[];
    const req = steps.find((s) => s.kind === 'request');
    const f = bySrc.get(ue.address) as Frame;
    assert.ok(req, `UE ${ue.address}: a request step`);
    assert.equal(req.frame, f.frame, `UE ${ue.address}: the request is on its own frame`);
    assert.ok(Math.abs(req.ts - f.ts) < 1e-6, `UE ${ue.address}: the request keeps its own time (${req.ts} vs ${f.ts})`);
  }
  const stats = out.find((r) => r.type === 'stats') as Json;
  assert.ok(stats, 'a stats record');
}

test('three cut requests, the capture ends on unrelated UDP from another host', { timeout: 60_000 }, () => {
  const lab = new Lab();
  const ues = [1, 2, 3].map((n) => lab.ue(n));
  ues.forEach((ue, i) => lab.exchange(ue, 1 + i * 0.1, cutRequest(lab), undefined));
  lab.raw(2, ethernet(0x0800, ipv4({ src: '10.50.0.1', dst: '10.50.0.2', protocol: 17 }, udp(5353, 5353, Buffer.from('unrelated')))));
  const w = lab.write('cut-udp-last');
  try {
    check(w.pcap, ues);
  } finally {
    fs.rmSync(w.dir, { recursive: true, force: true });
  }
});

test('ten cut requests, the capture ends on a packet of one of the UEs', { timeout: 60_000 }, () => {
  const lab = new Lab();
  const ues = Array.from({ length: 10 }, (_, i) => lab.ue(i + 1));
  ues.forEach((ue, i) => lab.exchange(ue, 1 + i * 0.1, cutRequest(lab), undefined));
  // UE 1 again, last: a datagram to somewhere else
  lab.raw(3, ethernet(0x0800, ipv4({ src: ues[0].address, dst: '10.50.0.2', protocol: 17 }, udp(40000, 53, Buffer.from('dns?')))));
  const w = lab.write('cut-ue-last');
  try {
    check(w.pcap, ues);
  } finally {
    fs.rmSync(w.dir, { recursive: true, force: true });
  }
});

test('a request cut by a gap the reordering timer declares on another connection\'s packet stays on its own frame', { timeout: 60_000 }, () => {
  const lab = new Lab();
  const a = lab.ue(1);
  const b = lab.ue(2);
  const req = Buffer.concat([cutRequest(lab), Buffer.alloc(0)]);
  const whole = lab.mskRequestBody([1]);
  const captured = req.length;
  // UE a: handshake, the head and 40 body bytes; the rest of the body is lost by the capture but ACKed by the server
  const port = 45000;
  const c = (t: number, seq: number, ack: number, flags: number, payload: Buffer) =>
    lab.raw(t, ethernet(0x0800, ipv4({ src: a.address, dst: BMSC, protocol: 6 }, tcp({ sport: port, dport: 80, seq, ack, flags }, payload))));
  const s = (t: number, seq: number, ack: number, flags: number) =>
    lab.raw(t, ethernet(0x0800, ipv4({ src: BMSC, dst: a.address, protocol: 6 }, tcp({ sport: 80, dport: port, seq, ack, flags }, Buffer.alloc(0)))));
  c(1.0, 1000, 0, 0x02, Buffer.alloc(0));
  s(1.0001, 5000, 1001, 0x12);
  c(1.0002, 1001, 5001, 0x10, Buffer.alloc(0));
  c(1.001, 1001, 5001, 0x18, req);
  const missing = whole.length - 40;
  s(1.002, 5001, 1001 + captured + missing, 0x10);
  // UE b, two seconds later (past the reordering window): its packets make the timer fire
  lab.exchange(b, 3, cutRequest(lab), undefined);
  const w = lab.write('cut-gap-timer');
  try {
    check(w.pcap, [a, b]);
  } finally {
    fs.rmSync(w.dir, { recursive: true, force: true });
  }
});

