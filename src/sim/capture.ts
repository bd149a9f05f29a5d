/**
 * Records a simulator run with tcpdump on `lo` (`-U -s 0 -Z root`, a filter on the run's /16 and ports, bounded by
 * `maxSeconds`), killed when the run ends — also when it fails, and with its process group, so it never outlives
 * the run (src/common/tied-process.ts). tcpdump writes to a temporary file under /tmp that is moved into place only
 * when the capture is complete.
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { exited, killGroup, spawnTied } from '../common/tied-process';

/** How long tcpdump may take to say it is listening before the run gives up. */
const LISTEN_TIMEOUT_MS = 10_000;
/** After a stop, how long tcpdump may take to flush and exit on SIGINT before it is killed. */
const STOP_GRACE_MS = 5000;
/** Time for the kernel's packet socket to settle, and for `-U`'s last packets to reach the file. */
const SETTLE_MS = 300;

export interface TcpdumpHandle {
  /** Stop capturing (SIGINT, so tcpdump flushes) and wait for it; copies the file to `out`. */
  stop(): Promise<void>;
  /** Kill without keeping anything (error paths). */
  abort(): Promise<void>;
}

export class CaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureError';
  }
}

/**
 * Start tcpdump on `lo` with `filter`, writing to `out` when stopped. Resolves once tcpdump says it is listening.
 * `maxSeconds` bounds tcpdump's life (SIGINT, so it still writes a valid file); it dies with this process anyway.
 */
export async function startTcpdump(out: string | NodeJS.WritableStream, filter: string, maxSeconds: number): Promise<TcpdumpHandle> {
  const dir = mkdtempSync(path.join(tmpdir(), 'keyscope-sim-'));
  const tmp = path.join(dir, 'capture.pcap');
  // a stream gets the pcap as it is written (`keyscope sim --capture - | keyscope dissect -`)
  const toStream = typeof out !== 'string';
  const child: ChildProcess = spawnTied('tcpdump', ['-i', 'lo', '-U', '-s', '0', '-Z', 'root', '-n', '-w', toStream ? '-' : tmp, filter], {
    stdio: ['ignore', toStream ? 'pipe' : 'ignore', 'pipe'],
  });
  const lifetime = setTimeout(() => killGroup(child, 'SIGINT'), Math.ceil(maxSeconds * 1000));
  lifetime.unref();
  child.once('exit', () => clearTimeout(lifetime));
  const piped = toStream && child.stdout ? new Promise<void>((resolve) => {
    child.stdout?.on('end', () => resolve());
    child.stdout?.on('error', () => resolve());
  }) : Promise.resolve();
  if (toStream) child.stdout?.pipe(out, { end: false });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new CaptureError(`tcpdump did not start listening within ${LISTEN_TIMEOUT_MS / 1000} s: ${stderr.trim()}`)), LISTEN_TIMEOUT_MS);
      const check = () => {
        if (stderr.includes('listening on')) {
          clearTimeout(t);
          resolve();
        }
      };
      child.stderr?.on('data', check);
      child.once('error', (e) => {
        clearTimeout(t);
        reject(new CaptureError(`cannot run tcpdump: ${e.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new CaptureError(`tcpdump exited (${code}) before listening: ${stderr.trim()}`));
      });
    });
  } catch (e) {
    killGroup(child, 'SIGKILL');
    await exited(child);
    cleanup();
    throw e;
  }
  // let the kernel's packet socket settle before the first packet we care about
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  let done = false;
  return {
    async stop() {
      if (done) return;
      done = true;
      // give -U's last packets time to reach the file
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      killGroup(child, 'SIGINT');
      const t = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
      await exited(child);
      await piped;
      clearTimeout(t);
      if (typeof out !== 'string') return void cleanup();
      try {
        if (!existsSync(tmp) || statSync(tmp).size < 24) throw new CaptureError(`tcpdump wrote no capture: ${stderr.trim()}`);
        copyFileSync(tmp, out);
      } finally {
        cleanup();
      }
    },
    async abort() {
      if (done) return;
      done = true;
      killGroup(child, 'SIGKILL');
      await exited(child);
      cleanup();
    },
  };
}
