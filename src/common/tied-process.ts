/**
 * Child processes that die with this one, however it ends.
 *
 * A helper such as tcpdump must never outlive the keyscope process (or test) that started it: an orphan keeps
 * capturing, holds the pipes its parent's parent waits on, and makes a failed test suite hang. Killing a wrapper
 * (`timeout`, `sh`) does not kill what it started, so every tied child gets a process group of its own and is
 * always signalled as a group. Three layers, each covering what the previous cannot:
 * - `killGroup()` signals the whole group (normal stop and abort paths);
 * - an `exit` hook kills every group still registered when this process exits (a thrown error, a failed test,
 *   `process.exit()`);
 * - the kernel's parent-death signal (`setpriv --pdeathsig`, util-linux) kills the child when this process dies
 *   without running any code at all (SIGKILL, a crash).
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** The signal the kernel sends a tied child when its parent dies without cleaning up. */
const PARENT_DEATH_SIGNAL = 'KILL';

const live = new Set<ChildProcess>();
let hooked = false;
let setprivChecked: boolean | undefined;

function hasSetpriv(): boolean {
  if (setprivChecked === undefined) {
    const r = spawnSync('setpriv', ['--help'], { stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8', timeout: 5000 });
    setprivChecked = r.status === 0 && r.stdout.includes('--pdeathsig');
  }
  return setprivChecked;
}

/** Signal a tied child's whole process group; quiet when it is already gone. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is gone already; EPERM cannot happen for our own children
  }
}

function killAllOnExit(): void {
  for (const child of live) killGroup(child, 'SIGKILL');
  live.clear();
}

/**
 * Spawn `command` in a process group of its own, tied to this process: it is killed (with its group) when this
 * process exits or dies. `options.detached` is always set; everything else is passed to `spawn`.
 */
export function spawnTied(command: string, args: readonly string[], options: Omit<SpawnOptions, 'detached'> = {}): ChildProcess {
  if (!hooked) {
    hooked = true;
    process.on('exit', killAllOnExit);
  }
  // setpriv execs the command, so the pid (and the process group) stay the command's own
  const [file, argv] = hasSetpriv() ? ['setpriv', ['--pdeathsig', PARENT_DEATH_SIGNAL, '--', command, ...args]] : [command, [...args]];
  const child = spawn(file, argv, { ...options, detached: true });
  live.add(child);
  const forget = () => {
    // the leader is gone; anything it left in its group goes with it
    killGroup(child, 'SIGKILL');
    live.delete(child);
  };
  child.once('exit', forget);
  child.once('error', () => live.delete(child));
  return child;
}

/** Resolves when the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
}
