/**
 * What the live-capture tests share: a child process whose output is collected as it comes, waiting for a condition
 * with a deadline (the child's output in the error), and a UDP sender/receiver pair on loopback addresses.
 */
import * as dgram from 'node:dgram';
import { spawn, type ChildProcess } from './proc';

export interface WatchedChild {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

/** Start `command` (tied to the test process) with its standard output and error collected. */
export function startWatched(command: string, args: string[]): WatchedChild {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => setImmediate(() => resolve(code))));
  return { child, out: () => out, err: () => err, exit };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `ok` until it holds; after `guardMs`, fail with the child's last output. */
export async function until(what: string, ok: () => boolean, c: WatchedChild, guardMs: number): Promise<void> {
  const end = Date.now() + guardMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}\nstdout: ${c.out().slice(-800)}\nstderr: ${c.err().slice(-800)}`);
    await sleep(20);
  }
}

/** A receiver bound to `host:port` and a sender bound to `from` (both loopback): datagrams that show on `lo`. */
export async function udpPair(host: string, port: number, from: string): Promise<{ send: (b: Buffer) => Promise<void>; close: () => void }> {
  const receiver = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => receiver.bind(port, host, resolve));
  const sender = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sender.bind(0, from, resolve));
  return {
    send: (b) => new Promise((resolve, reject) => sender.send(b, port, host, (e) => (e ? reject(e) : resolve()))),
    close: () => {
      receiver.close();
      sender.close();
    },
  };
}
