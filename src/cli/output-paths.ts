/**
 * A command never writes over one of its own inputs: `export -w x.pcap x.pcap` would replace the capture it is still
 * reading with a fraction of it. The check compares files, not names: the same device and inode is the same file,
 * whatever path, symlink or hard link leads to it. Like editcap and tshark, keyscope refuses before it opens anything.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { escapeText } from '../common/escape';

/** A path given on the command line and the option that gave it ("-w", "--keys", "capture"). */
export interface PathArg {
  option: string;
  path: string | undefined;
}

/** Exit code when an output is an input: a usage error, like any other contradictory command line. */
export const SAME_FILE_EXIT_CODE = 64;

function identity(p: string): { dev: number; ino: number } | undefined {
  try {
    // stat, not lstat: a symlink to the input is the input
    const st = fs.statSync(p);
    return { dev: st.dev, ino: st.ino };
  } catch {
    // absent (the usual case for an output) or unreadable: the command reports that itself
    return undefined;
  }
}

/**
 * The first output that is also an input, or another output, as a one-line message; undefined when all differ.
 * `-` (standard input or output) and absent options are skipped.
 */
export function outputClash(outputs: readonly PathArg[], inputs: readonly PathArg[]): string | undefined {
  const real = (list: readonly PathArg[]) => list.filter((a): a is { option: string; path: string } => a.path !== undefined && a.path !== '-');
  const ins = real(inputs).map((a) => ({ ...a, resolved: path.resolve(a.path), id: identity(a.path) }));
  const outs = real(outputs).map((a) => ({ ...a, resolved: path.resolve(a.path), id: identity(a.path) }));
  const same = (a: (typeof outs)[number], b: (typeof outs)[number]) =>
    a.resolved === b.resolved || (a.id !== undefined && b.id !== undefined && a.id.dev === b.id.dev && a.id.ino === b.id.ino);
  for (const [i, o] of outs.entries()) {
    const input = ins.find((x) => same(o, x));
    if (input) return `${o.option} ${escapeText(o.path)} is the ${input.option} ${escapeText(input.path)} (the same file); refusing to overwrite an input`;
    const other = outs.slice(0, i).find((x) => same(o, x));
    if (other) return `${o.option} ${escapeText(o.path)} and ${other.option} ${escapeText(other.path)} are the same file`;
  }
  return undefined;
}

/** Prints the clash for `command` and returns its exit code, or returns undefined when the outputs are safe. */
export function refuseOutputClash(command: string, outputs: readonly PathArg[], inputs: readonly PathArg[]): number | undefined {
  const clash = outputClash(outputs, inputs);
  if (clash === undefined) return undefined;
  process.stderr.write(`keyscope ${command}: ${clash}\n`);
  return SAME_FILE_EXIT_CODE;
}
