/**
 * Shared by the live capture tests on lo (live-drain, live-spool): a burst of numbered datagrams sent from another
 * process (a busy test process must not slow the sender down with it), and a wait until every datagram is either seen
 * or counted as dropped.
 */
import assert from 'node:assert/strict';
import { spawn } from '../support/proc';

/**
 * Send `n` datagrams (payload: a 32-bit sequence number, `size` bytes in all) from `from` to `host:port`. Every
 * `perTurn` datagrams the sender takes a short breath: the kernel's ring on lo holds only a few hundred packets and the
 * capture process must get to run (its own drops are what these tests are about, not the kernel's, which cap cannot
 * count).
 */
export async function udpBurst(from: string, host: string, port: number, n: number, opts: { perTurn: number; size?: number }): Promise<void> {
  const script = `
    const d = require('node:dgram').createSocket('udp4');
    d.bind(0, ${JSON.stringify(from)}, async () => {
      for (let i = 0; i < ${n}; i++) {
        const b = Buffer.alloc(${opts.size ?? 32});
        b.writeUInt32BE(i, 0);
        await new Promise((resolve, reject) => d.send(b, ${port}, ${JSON.stringify(host)}, (e) => (e ? reject(e) : resolve())));
        if (i % ${opts.perTurn} === ${opts.perTurn - 1}) await new Promise((r) => setTimeout(r, 2));
      }
      d.close();
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, 'the sender ran');
}

/** Wait until seen + dropped reach `expected`, nothing has moved for `stillMs`, or `guardMs` have passed. */
export async function settleCount(seen: () => number, dropped: () => number, expected: number, opts: { guardMs: number; stillMs: number }): Promise<void> {
  const end = Date.now() + opts.guardMs;
  let last = -1;
  let stableSince = Date.now();
  while (Date.now() < end) {
    const now = seen() + dropped();
    if (now >= expected) return;
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > opts.stillMs) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The burst tests' run: send, wait until it settles, and stop the capture whatever happened meanwhile, waiting for its
 * end (no capture process outlives the test).
 */
export async function burstAndStop(
  capture: { stop(opts?: { drain?: boolean }): void; done: Promise<unknown> },
  send: () => Promise<void>,
  settle: () => Promise<void>,
  stopOpts?: { drain?: boolean },
): Promise<void> {
  try {
    await send();
    await settle();
  } finally {
    if (stopOpts === undefined) capture.stop();
    else capture.stop(stopOpts);
    await capture.done;
  }
}
