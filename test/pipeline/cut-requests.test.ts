/**
 * Requests cut by the end of the capture (issue #13, item 3): each stays on its own connection, UE and last frame —
 * its own frame number, time and addresses — whatever frame ends the capture, and so does a request cut by a gap that
 * the reordering timer declares on another connection's packet. Checked through the real CLI (dissect --json and
 * analyze --json) on captures built with the lab. With more cut requests than the held-frame bound keeps, the frames
 * of the first ones are emitted before the capture ends: their requests are then shown on the last frame, and still
 * reach the correlator on their own connection and UE (HttpFrameRecord.src/dst), one transaction each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawnSync } from '../support/proc';
import { cliPath } from '../support/repo';
import { BMSC, BMSC_FQDN, Lab, type LabUe } from '../correlate/lab';
import { ethernet, ipv4, tcp, udp } from '../decode/craft';
import { analyzeCapture } from '../../src/pipeline/analyzer';
import type { KeyDeliveryTransaction } from '../../src/correlate/types';


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


/** What ends a capture of cut requests. */
type Ending = 'unrelated-udp' | 'ue-udp' | 'ue-new-connection' | 'server-ack';

/** The last frame: unrelated UDP from another host, a datagram of UE 1, a SYN of UE 1 to the BM-SC on a new connection, a bare ACK from the BM-SC to UE 1. */
function lastFrame(lab: Lab, ue: LabUe, ending: Ending): void {
  const frame =
    ending === 'unrelated-udp' ? ipv4({ src: '10.50.0.1', dst: '10.50.0.2', protocol: 17 }, udp(5353, 5353, Buffer.from('unrelated')))
    : ending === 'ue-udp' ? ipv4({ src: ue.address, dst: '10.50.0.2', protocol: 17 }, udp(40000, 53, Buffer.from('dns?')))
    : ending === 'ue-new-connection' ? ipv4({ src: ue.address, dst: BMSC, protocol: 6 }, tcp({ sport: 61000, dport: 80, seq: 77, ack: 0, flags: 0x02 }, Buffer.alloc(0)))
    : ipv4({ src: BMSC, dst: ue.address, protocol: 6 }, tcp({ sport: 80, dport: 61001, seq: 5, ack: 9, flags: 0x10 }, Buffer.alloc(0)));
  lab.raw(2, ethernet(0x0800, frame));
}

/** `n` UEs (at most 254: the lab's addresses), each with a cut MSK request on its own connection, then `ending`. */
function manyCut(n: number, name: string, ending: Ending = 'unrelated-udp'): { pcap: string; dir: string; ues: LabUe[] } {
  const lab = new Lab();
  const ues = Array.from({ length: n }, (_, i) => lab.ue(i + 1));
  ues.forEach((ue, i) => lab.exchange(ue, 1 + i * 0.001, cutRequest(lab), undefined));
  lastFrame(lab, ues[0], ending);
  const w = lab.write(name);
  return { pcap: w.pcap, dir: w.dir, ues };
}

/** One transaction per UE, each on its own UE with its request step on its own frame, ended by the end of the capture. */
function checkTransactions(txs: { ue: string; closedBy?: string; steps: { kind: string; frame: number }[] }[], ues: LabUe[], closedBy: string): void {
  assert.equal(txs.length, ues.length, 'one transaction per cut request');
  const seen = new Set<number>();
  for (const ue of ues) {
    const own = txs.filter((t) => t.ue === ue.address);
    assert.equal(own.length, 1, `UE ${ue.address} has its own transaction`);
    assert.equal(own[0].closedBy, closedBy, `UE ${ue.address}: closed by the end of the capture`);
    const req = own[0].steps.find((s) => s.kind === 'request');
    assert.ok(req, `UE ${ue.address}: a request step`);
    assert.ok(!seen.has(req.frame), `UE ${ue.address}: a request frame of its own (${req.frame})`);
    seen.add(req.frame);
  }
}

test('more cut requests than the held-frame bound keeps: each still reaches the correlator on its own UE (in process, maxHeldFrames 8)', { timeout: 60_000 }, async () => {
  const w = manyCut(40, 'cut-many-inproc');
  try {
    const txs: KeyDeliveryTransaction[] = [];
    let shownElsewhere = 0;
    await analyzeCapture(w.pcap, {
      transaction: (t) => txs.push(t),
      dissectedFrame: (f) => {
        for (const h of f.http ?? []) if (h.message.lastFrame !== f.packet.frame) shownElsewhere++;
      },
    }, { dissector: { maxHeldFrames: 8 } });
    // the bound was hit: most requests ended after their own frame had been emitted
    assert.ok(shownElsewhere >= 30, `requests shown on another frame: ${shownElsewhere}`);
    checkTransactions(txs, w.ues, 'end-of-capture');
  } finally {
    fs.rmSync(w.dir, { recursive: true, force: true });
  }
});

test('more cut requests than the held-frame bound of --max-memory 150 keeps: one transaction per UE through the CLI', { timeout: 60_000 }, () => {
  // 200 requests: fewer than the open transactions of --max-memory 150 (230), more than its held frames (490) can keep
  const w = manyCut(200, 'cut-many-cli');
  try {
    const out = keyscope(['analyze', '--json', '--max-memory', '150', w.pcap]);
    const txs = out.filter((r) => r.type === 'transaction') as unknown as { ue: string; closedBy?: string; steps: { kind: string; frame: number }[] }[];
    checkTransactions(txs, w.ues, 'end-of-capture');
    // and dissect shows every request once, the ones whose frames left early on the last frame
    const frames = keyscope(['dissect', '--json', '--max-memory', '150', w.pcap]) as unknown as Frame[];
    const shown = frames.reduce((n, f) => n + httpOf(f).length, 0);
    assert.equal(shown, w.ues.length);
    assert.ok(httpOf(frames[frames.length - 1]).length > 0, 'some requests ended on the last frame (the bound was hit)');
  } finally {
    fs.rmSync(w.dir, { recursive: true, force: true });
  }
});

for (const ending of ['ue-udp', 'ue-new-connection', 'server-ack'] as const) {
  test(`more cut requests than the held-frame bound keeps, the capture ending on ${ending}: one transaction per UE (in process, maxHeldFrames 8)`, { timeout: 60_000 }, async () => {
    const w = manyCut(60, `cut-many-${ending}`, ending);
    try {
      const txs: KeyDeliveryTransaction[] = [];
      const shownOn = new Map<number, number>();
      let requests = 0;
      await analyzeCapture(w.pcap, {
        transaction: (t) => txs.push(t),
        dissectedFrame: (f) => {
          for (const h of f.http ?? []) {
            requests++;
            if (h.message.lastFrame !== f.packet.frame) shownOn.set(f.packet.frame, (shownOn.get(f.packet.frame) ?? 0) + 1);
          }
        },
      }, { dissector: { maxHeldFrames: 8 } });
      assert.equal(requests, w.ues.length, 'every request shown once');
      const elsewhere = [...shownOn.values()].reduce((a, b) => a + b, 0);
      assert.ok(elsewhere >= 40, `requests shown on another frame: ${elsewhere}`);
      // the UE's own frame at the end must not pull the other UEs' requests into its transaction
      checkTransactions(txs.filter((t) => t.procedure !== 'register'), w.ues, 'end-of-capture');
      for (const t of txs) assert.ok(t.ueAddresses.length === 1, `${t.id}: one UE address (${t.ueAddresses.join(', ')})`);
    } finally {
      fs.rmSync(w.dir, { recursive: true, force: true });
    }
  });
}
