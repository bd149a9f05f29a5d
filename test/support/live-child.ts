/**
 * What the live-capture tests share: a child process whose output is collected as it comes, waiting for a condition
 * with a deadline (the child's output in the error), and a UDP sender/receiver pair on loopback addresses.
 */
import * as dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { spawn, spawnSync, type ChildProcess } from './proc';
import { cliPath } from './repo';
import { tsharkFields } from './tshark';

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

/**
 * The UDP datagrams of a bundled capture, ready to be sent again on lo: one socket per source address of the file,
 * bound to that (loopback) address on a port of its own, and a capture filter that names those ports so other
 * traffic on lo stays out. `send(i)` sends datagram i; `close()` closes the sockets.
 */
export async function replayableDatagrams(file: string, keys: string): Promise<{ count: number; filter: string; send: (i: number) => Promise<void>; close: () => void }> {
  const dissected = spawnSync(process.execPath, [cliPath(), 'dissect', '--keys', keys, '--json', file], { encoding: 'utf8' }).stdout;
  const datagrams = dissected
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { src: string; dst: string; dstPort: number });
  const payloads = tsharkFields(file, ['udp.payload']).map(([hex]) => Buffer.from(hex.replace(/:/g, ''), 'hex'));
  if (payloads.length !== datagrams.length) throw new Error(`${file}: tshark sees ${payloads.length} UDP payloads, keyscope ${datagrams.length} frames`);
  const senders = new Map<string, dgram.Socket>();
  const close = () => {
    for (const s of senders.values()) s.close();
  };
  try {
    for (const d of datagrams) {
      if (senders.has(d.src)) continue;
      const s = dgram.createSocket('udp4');
      senders.set(d.src, s);
      await new Promise<void>((resolve) => s.bind(0, d.src, resolve));
    }
  } catch (err) {
    close();
    throw err;
  }
  const ports = [...senders.values()].map((s) => (s.address() as AddressInfo).port);
  const dstPorts = [...new Set(datagrams.map((d) => d.dstPort))];
  const dst = dstPorts.length === 1 ? `udp dst port ${dstPorts[0]}` : `udp and (${dstPorts.map((p) => `dst port ${p}`).join(' or ')})`;
  const filter = `${dst} and (${ports.map((p) => `src port ${p}`).join(' or ')})`;
  const send = (i: number) => {
    const d = datagrams[i];
    const s = senders.get(d.src) as dgram.Socket;
    return new Promise<void>((resolve, reject) => s.send(payloads[i], d.dstPort, d.dst, (err) => (err ? reject(err) : resolve())));
  };
  return { count: datagrams.length, filter, send, close };
}
