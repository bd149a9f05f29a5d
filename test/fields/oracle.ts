/** keyscope's and tshark's `-T fields` rows on one capture, with separators that cannot occur in values, and their differences. */
import { execFileSync } from '../support/proc';
import { cliPath } from '../support/repo';

export const SEP = '\u0002';
export const AGG = '\u0001';
const FORMAT = ['-T', 'fields', '-E', `separator=${SEP}`, '-E', `aggregator=${AGG}`];

function rows(cmd: string, args: string[]): string[][] {
  const out = execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  return out.split('\n').filter((l) => l.length > 0).map((l) => l.split(SEP));
}

export function keyscopeRows(file: string, fields: string[], extra: string[] = []): string[][] {
  return rows(process.execPath, [cliPath(), 'dissect', ...extra, ...FORMAT, ...fields.flatMap((f) => ['-e', f]), file]);
}

export function tsharkRows(file: string, fields: string[], extra: string[] = []): string[][] {
  return rows('tshark', ['-n', '-r', file, '-o', 'tcp.reassemble_out_of_order:TRUE', ...extra, ...FORMAT, ...fields.flatMap((f) => ['-e', f])]);
}

/** `frame N field: keyscope "…" tshark "…"` for every cell where the two differ (occurrences joined by `,`). */
export function fieldDiffs(file: string, fields: string[]): { frames: [number, number]; diffs: string[] } {
  const ours = keyscopeRows(file, fields);
  const theirs = tsharkRows(file, fields);
  const diffs: string[] = [];
  for (let i = 0; i < theirs.length; i++) {
    fields.forEach((f, j) => {
      const a = (ours[i]?.[j] ?? '').split(AGG).join(',');
      const b = (theirs[i][j] ?? '').split(AGG).join(',');
      if (a !== b) diffs.push(`frame ${i + 1} ${f}: keyscope "${a}" tshark "${b}"`);
    });
  }
  return { frames: [ours.length, theirs.length], diffs };
}

/** Frame numbers `-Y filter` selects: keyscope's, and tshark's two-pass `-2 -Y`. */
export function keyscopeFrames(file: string, filter: string): number[] {
  const out = execFileSync(process.execPath, [cliPath(), 'dissect', '-Y', filter, '-T', 'fields', '-e', 'frame.number', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out.split('\n').filter(Boolean).map(Number);
}

export function tsharkFrames(file: string, filter: string): number[] {
  const out = execFileSync('tshark', ['-n', '-2', '-r', file, '-o', 'tcp.reassemble_out_of_order:TRUE', '-Y', filter, '-T', 'fields', '-e', 'frame.number'],
    { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  return out.split('\n').filter(Boolean).map(Number);
}
