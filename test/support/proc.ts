/**
 * Child processes for tests, bounded so that no test can hang the suite and none outlives it:
 * - `spawnSync`/`execFileSync` always have a timeout (a synchronous call blocks the event loop, so the runner's
 *   per-test timeout cannot fire while it waits) and kill with SIGKILL;
 * - `spawn` starts the process tied to the test process, in a group of its own (src/common/tied-process.ts): it
 *   dies with its group when the test ends, fails or is killed.
 */
import * as cp from 'node:child_process';
import { spawnTied } from '../../src/common/tied-process';

/** Longest a synchronous child may run in a test (tshark on the largest bundled capture takes a few seconds). */
export const SYNC_CHILD_TIMEOUT_MS = 120_000;

function bounded<T extends object | undefined>(options: T): T & { timeout: number; killSignal: NodeJS.Signals } {
  return { timeout: SYNC_CHILD_TIMEOUT_MS, killSignal: 'SIGKILL', ...(options ?? {}) } as T & { timeout: number; killSignal: NodeJS.Signals };
}

export const spawnSync = ((command: string, args: readonly string[] = [], options?: cp.SpawnSyncOptions) =>
  cp.spawnSync(command, args, bounded(options))) as typeof cp.spawnSync;

export const execFileSync = ((command: string, args: readonly string[] = [], options?: cp.ExecFileSyncOptions) =>
  cp.execFileSync(command, args, bounded(options))) as typeof cp.execFileSync;

/** `child_process.spawn` with its typings, but tied (the `detached` option is always set). */
export const spawn = ((command: string, args: readonly string[] = [], options: cp.SpawnOptions = {}) =>
  spawnTied(command, args, options)) as typeof cp.spawn;

export { killGroup, exited } from '../../src/common/tied-process';
export type { ChildProcess } from 'node:child_process';
