/**
 * Write failures (a full disk, an I/O error, a file-size limit) are the environment's fault, not keyscope's: they end
 * a run with one line naming what could not be written and why, exit code 2, never a stack trace.
 */

/** Short, lower-case reasons for the errno codes a write can end with; anything else keeps its own first line. */
const REASONS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EFBIG: 'file too large',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOENT: 'no such directory',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'file exists',
  EBADF: 'bad file descriptor',
};

/** Why an I/O operation failed, in a few words. */
export function ioReason(err: unknown): string {
  if (err instanceof OutputError) return err.reason;
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && typeof e.code === 'string' && REASONS[e.code] !== undefined) return REASONS[e.code];
  return String(e instanceof Error ? e.message : e).split('\n')[0];
}

/** A write to `target` (a file path, or "standard output") failed; `message` is "cannot write TARGET: REASON". */
export class OutputError extends Error {
  readonly reason: string;
  /** The errno code of the underlying failure (ENOSPC, EIO, …), when there is one. */
  readonly code: string | undefined;

  constructor(readonly target: string, cause: unknown) {
    const reason = ioReason(cause);
    super(`cannot write ${target}: ${reason}`);
    this.name = 'OutputError';
    this.reason = reason;
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}
