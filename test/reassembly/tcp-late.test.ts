/**
 * Segments the capture shows only after the peer's ACK of them ("ACKed unseen segment" in Wireshark): a capture
 * merged from two taps or several queues. They are awaited for the reordering window, delivered as if in order, and
 * not counted as capture loss; bytes still missing when the window passes become a gap.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_REORDER_WINDOW_SECONDS, TcpReassembler } from '../../src/reassembly/tcp';
import type { TcpReassemblerOptions } from '../../src/reassembly/tcp';
import { ACK, FIN, PacketMaker, Recorder, SYN } from './tcp-helpers';

const C = 1001; // client's first data sequence number (ISN 1000)
const S = 5001; // server's
const REQ1 = 'POST /keys HTTP/1.1\r\nContent-Length: 11\r\n\r\n';
const REQ2 = '<msk-req/>\n';
const RESP = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';

function setup(options?: TcpReassemblerOptions): { rec: Recorder; r: TcpReassembler; m: PacketMaker; t: { now: number } } {
  const rec = new Recorder();
  const r = new TcpReassembler(rec, options);
  const m = new PacketMaker();
  const t = { now: 10 };
  r.packet(m.c({ seq: C - 1, flags: SYN, time: t.now }));
  r.packet(m.s({ seq: S - 1, ack: C, flags: SYN | ACK, time: t.now }));
  r.packet(m.c({ seq: C, ack: S, flags: ACK, time: t.now }));
  return { rec, r, m, t };
}

/** Events of the streams, in the order the consumer saw them. */
function trace(rec: Recorder): string[] {
  return rec.events.flatMap((e) => {
    if (e.kind === 'data') return [`${e.dir}:${e.text}`];
    if (e.kind === 'gap') return [`${e.dir}:gap ${e.offset}+${e.length}`];
    if (e.kind === 'end') return [`${e.dir}:end ${e.reason}`];
    return [];
  });
}

describe('TcpReassembler: segments that appear after their ACK', () => {
  it('has a documented default window', () => {
    assert.equal(DEFAULT_REORDER_WINDOW_SECONDS, 0.5);
  });

  it('delivers a request segment seen after the server ACKed it, as if in order, and counts no loss', () => {
    const { rec, r, m } = setup();
    r.packet(m.s({ seq: S, ack: C + REQ1.length, time: 10.001 })); // frame 4: ACK of bytes not seen yet
    assert.equal(rec.of('gap').length, 0);
    r.packet(m.c({ seq: C, ack: S, data: REQ1, time: 10.002 })); // frame 5: the late segment
    r.packet(m.c({ seq: C + REQ1.length, ack: S, data: REQ2, time: 10.003 })); // frame 6: in order
    r.packet(m.s({ seq: S, ack: C + REQ1.length + REQ2.length, data: RESP, time: 10.004 }));
    assert.equal(rec.text(1, 0), REQ1 + REQ2);
    assert.equal(rec.text(1, 1), RESP);
    assert.deepEqual(rec.of('data').map((e) => [e.dir, e.offset, e.frame]), [
      [0, 0, 5],
      [0, REQ1.length, 6],
      [1, 0, 7],
    ]);
    const st = r.stats;
    assert.equal(st.gapBytes, 0);
    assert.equal(st.ackedUnseenBytes, 0);
    assert.equal(st.lateAckedBytes, REQ1.length);
    assert.equal(st.deferredBytes, 0);
    // reported once, on the late segment's frame
    assert.deepEqual(rec.of('problem').map((e) => [e.frame, e.problem.code, e.problem.severity]), [[5, 'tcp-late-segment', 'note']]);
  });

  it('keeps the request ahead of a response that the capture shows before the late request segment', () => {
    const { rec, r, m } = setup();
    const all = REQ1.length + REQ2.length;
    r.packet(m.c({ seq: C, ack: S, data: REQ1, time: 10.001 })); // frame 4
    r.packet(m.s({ seq: S, ack: C + all, data: RESP, time: 10.003 })); // frame 5: response, ACKing REQ2 unseen
    r.packet(m.s({ seq: S + RESP.length, ack: C + all, flags: FIN | ACK, time: 10.004 })); // frame 6
    assert.deepEqual(trace(rec), [`0:${REQ1}`]);
    assert.equal(r.stats.deferredBytes, RESP.length);
    r.packet(m.c({ seq: C + REQ1.length, ack: S, data: REQ2, time: 10.005 })); // frame 7: late REQ2
    assert.deepEqual(trace(rec), [`0:${REQ1}`, `0:${REQ2}`, `1:${RESP}`, '1:end fin']);
    // the deferred chunk keeps the frame and time it came with
    const resp = rec.of('data').find((e) => e.dir === 1);
    assert.equal(resp?.frame, 5);
    assert.equal(rec.chunks.find((ch) => ch.frame === 5)?.tsNsec, 3_000_000);
    assert.equal(r.stats.deferredBytes, 0);
    assert.equal(r.stats.gapBytes, 0);
    assert.equal(r.stats.lateAckedBytes, REQ2.length);
  });

  it('reassembles every order of two request segments and the ACK that covers both', () => {
    const orders = [
      ['ack', 'b', 'a'],
      ['ack', 'a', 'b'],
      ['b', 'ack', 'a'],
      ['a', 'ack', 'b'],
      ['b', 'a', 'ack'],
    ];
    for (const order of orders) {
      const { rec, r, m } = setup();
      let time = 10;
      for (const what of order) {
        time += 0.01;
        if (what === 'ack') r.packet(m.s({ seq: S, ack: C + REQ1.length + REQ2.length, time }));
        else if (what === 'a') r.packet(m.c({ seq: C, ack: S, data: REQ1, time }));
        else r.packet(m.c({ seq: C + REQ1.length, ack: S, data: REQ2, time }));
      }
      assert.equal(rec.text(1, 0), REQ1 + REQ2, order.join(','));
      assert.equal(r.stats.gapBytes, 0, order.join(','));
      assert.equal(r.stats.ackedUnseenBytes, 0, order.join(','));
      const lateA = order.indexOf('a') > order.indexOf('ack') ? REQ1.length : 0;
      const lateB = order.indexOf('b') > order.indexOf('ack') ? REQ2.length : 0;
      assert.equal(r.stats.lateAckedBytes, lateA + lateB, order.join(','));
      assert.equal(r.bufferedBytes, 0);
    }
  });

  it('does the same for server data the client ACKed before the capture showed it', () => {
    const { rec, r, m } = setup();
    r.packet(m.c({ seq: C, ack: S, data: REQ1 + REQ2, time: 10.001 }));
    r.packet(m.c({ seq: C + REQ1.length + REQ2.length, ack: S + RESP.length, time: 10.002 })); // client ACKs RESP
    r.packet(m.c({ seq: C + REQ1.length + REQ2.length, ack: S + RESP.length, data: 'GET / HTTP/1.1\r\n\r\n', time: 10.003 }));
    assert.equal(rec.text(1, 0), REQ1 + REQ2); // the second request waits behind the response it came after
    r.packet(m.s({ seq: S, ack: C + REQ1.length + REQ2.length, data: RESP, time: 10.004 }));
    assert.deepEqual(trace(rec), [`0:${REQ1 + REQ2}`, `1:${RESP}`, '0:GET / HTTP/1.1\r\n\r\n']);
    assert.equal(r.stats.ackedUnseenBytes, 0);
    assert.equal(r.stats.lateAckedBytes, RESP.length);
  });

  it('declares a gap that never fills once the window has passed, counting it as capture loss', () => {
    const { rec, r, m } = setup();
    r.packet(m.c({ seq: C, ack: S, data: REQ1, time: 10.0 })); // frame 4
    r.packet(m.s({ seq: S, ack: C + REQ1.length + REQ2.length, time: 10.1 })); // frame 5: REQ2 never captured
    r.packet(m.s({ seq: S, ack: C + REQ1.length + REQ2.length, data: RESP, time: 10.2 })); // deferred
    r.packet(m.c({ seq: C + REQ1.length + REQ2.length, ack: S + RESP.length, data: 'next', time: 10.55 }));
    // 0.45 s after the ACK: still waiting
    assert.deepEqual(trace(rec), [`0:${REQ1}`]);
    assert.equal(r.stats.gapBytes, 0);
    r.packet(m.c({ seq: C + REQ1.length + REQ2.length + 4, ack: S + RESP.length, data: 'more', time: 10.6 })); // frame 8
    // 'next' ACKs the response: the client sent it after receiving the response, and it comes after it
    assert.deepEqual(trace(rec), [`0:${REQ1}`, `0:gap ${REQ1.length}+${REQ2.length}`, `1:${RESP}`, '0:next', '0:more']);
    assert.equal(r.stats.ackedUnseenBytes, REQ2.length);
    assert.equal(r.stats.gapBytes, REQ2.length);
    assert.equal(r.stats.lateAckedBytes, 0);
    // declared on the connection's last packet before the window passed
    assert.deepEqual(rec.of('gap').map((e) => e.frame), [7]);
    // the bytes appearing after that are a retransmission of what was declared lost: not delivered
    r.packet(m.c({ seq: C + REQ1.length, ack: S + RESP.length, data: REQ2, time: 10.7 }));
    assert.equal(rec.text(1, 0), REQ1 + 'nextmore');
    assert.deepEqual(rec.problemCodes(), []);
  });

  it('expires the window with packet time alone (live capture idle, other connections)', () => {
    const { rec, r, m } = setup();
    r.packet(m.s({ seq: S, ack: C + 10, time: 10.1 }));
    r.advanceTime({ tsSec: 10, tsNsec: 550_000_000 });
    assert.equal(rec.of('gap').length, 0);
    r.advanceTime({ tsSec: 10, tsNsec: 600_000_000 });
    assert.deepEqual(rec.of('gap').map((e) => [e.dir, e.offset, e.length]), [[0, 0, 10]]);
    assert.equal(r.stats.ackedUnseenBytes, 10);
    // a packet of another connection moves the clock as well
    const other = new PacketMaker({ addr: '10.0.0.9', port: 41000 }, { addr: '10.0.0.2', port: 80 });
    other.frame = 100;
    r.packet(m.s({ seq: S, ack: C + 20, time: 10.7 }));
    r.packet(other.c({ seq: 1, flags: SYN, time: 11.3 }));
    assert.deepEqual(rec.of('gap').map((e) => [e.dir, e.offset, e.length]), [
      [0, 0, 10],
      [0, 10, 10],
    ]);
  });

  it('gives bytes ACKed later their own window', () => {
    const { rec, r, m } = setup();
    r.packet(m.s({ seq: S, ack: C + 10, time: 10.0 })); // [0,10) awaited from 10.0
    r.packet(m.s({ seq: S, ack: C + 20, time: 10.4 })); // [10,20) ACKed at 10.4
    r.packet(m.c({ seq: C, ack: S, data: 'aaaaaaaaaa', time: 10.45 }));
    r.advanceTime({ tsSec: 10, tsNsec: 700_000_000 });
    assert.equal(rec.of('gap').length, 0, '[10,20) has had 0.3 s only');
    r.packet(m.c({ seq: C + 10, ack: S, data: 'bbbbbbbbbb', time: 10.8 }));
    assert.equal(rec.text(1, 0), 'aaaaaaaaaabbbbbbbbbb');
    assert.equal(r.stats.gapBytes, 0);
  });

  it('declares the gap early when the deferred bytes of the other direction exceed their budget', () => {
    const { rec, r, m } = setup({ maxBufferedPerDirection: 100 });
    r.packet(m.s({ seq: S, ack: C + 10, time: 10.0 }));
    r.packet(m.s({ seq: S, ack: C + 10, data: 'x'.repeat(60), time: 10.01 }));
    assert.equal(r.stats.deferredBytes, 60);
    r.packet(m.s({ seq: S + 60, ack: C + 10, data: 'y'.repeat(60), time: 10.02 }));
    assert.deepEqual(trace(rec), ['0:gap 0+10', `1:${'x'.repeat(60)}`, `1:${'y'.repeat(60)}`]);
    assert.equal(r.stats.deferredBytes, 0);
    assert.equal(r.stats.ackedUnseenBytes, 10);
    assert.deepEqual(rec.problemCodes(), ['tcp-memory-budget']);
  });

  it('bounds deferred bytes of all connections by maxBufferedBytes', () => {
    const rec = new Recorder();
    const r = new TcpReassembler(rec, { maxBufferedBytes: 150 });
    for (let k = 0; k < 4; k++) {
      const m = new PacketMaker({ addr: '10.0.0.1', port: 40000 + k }, { addr: '10.0.0.2', port: 80 });
      m.frame = k * 10;
      r.packet(m.c({ seq: C - 1, flags: SYN, time: 10 }));
      r.packet(m.s({ seq: S - 1, ack: C, flags: SYN | ACK, time: 10 }));
      r.packet(m.s({ seq: S, ack: C + 5, data: 'z'.repeat(60), time: 10 + k / 100 }));
      assert.ok(r.stats.deferredBytes <= 150);
    }
    // the oldest waits were given up first
    assert.deepEqual(rec.of('gap').map((e) => e.conn), [1, 2]);
    assert.equal(r.stats.deferredBytes, 120);
    r.flush();
    assert.equal(r.stats.deferredBytes, 0);
    assert.equal(rec.text(3, 1), 'z'.repeat(60));
    assert.equal(rec.text(4, 1), 'z'.repeat(60));
  });

  it('with a reordering window of 0, declares the gap on the first ACK past it (captures that keep both directions in order)', () => {
    const { rec, r, m } = setup({ reorderWindowSeconds: 0 });
    r.packet(m.s({ seq: S, ack: C + REQ1.length, time: 10.001 }));
    assert.deepEqual(rec.of('gap').map((e) => [e.offset, e.length, e.frame]), [[0, REQ1.length, 4]]);
    r.packet(m.c({ seq: C, ack: S, data: REQ1, time: 10.002 }));
    assert.equal(rec.text(1, 0), '');
    assert.equal(r.stats.ackedUnseenBytes, REQ1.length);
  });

  it('ackedGapTolerance bounds the wait in ACKs however little packet time passes', () => {
    const { rec, r, m } = setup({ ackedGapTolerance: 2 });
    for (let i = 0; i < 2; i++) r.packet(m.s({ seq: S, ack: C + 10, time: 10 }));
    assert.equal(rec.of('gap').length, 0);
    r.packet(m.s({ seq: S, ack: C + 10, time: 10 }));
    assert.deepEqual(rec.of('gap').map((e) => [e.offset, e.length]), [[0, 10]]);
  });

  it('ends a connection cleanly when it closes while deferring', () => {
    const { rec, r, m } = setup();
    r.packet(m.s({ seq: S, ack: C + 10, data: 'answer', time: 10.0 })); // deferred behind [0,10)
    r.packet(m.s({ seq: S + 6, ack: C + 10, flags: FIN | ACK, time: 10.01 }));
    r.packet(m.c({ seq: C + 10, ack: S + 7, flags: FIN | ACK, time: 10.02 }));
    // the client's FIN lies beyond the hole: its direction ends at the end of the capture, after the gap, which
    // releases the server's answer and FIN
    assert.deepEqual(trace(rec), []);
    r.flush();
    assert.deepEqual(trace(rec), ['0:gap 0+10', '1:answer', '1:end fin', '0:end fin']);
    assert.equal(r.stats.deferredBytes, 0);
    assert.equal(r.stats.ackedUnseenBytes, 10);
  });
});
