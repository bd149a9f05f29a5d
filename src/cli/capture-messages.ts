import type { CaptureSummary } from '../capture/types';
import { escapeText } from '../common/escape';

/** How messages name the input. */
export function sourceName(source: string): string {
  return source === '-' ? 'standard input' : source;
}

/**
 * Damage found after good frames (a truncated last record, a bad block): one line each on standard error, with its
 * code so it can be looked up in docs/problem-codes.md. The run itself did its job: this does not change the exit code.
 */
export function reportCaptureProblems(source: string, summary: CaptureSummary): void {
  for (const p of summary.problems) {
    const at = p.offset !== undefined ? ` at file offset ${p.offset}` : '';
    process.stderr.write(`keyscope: ${escapeText(sourceName(source))}: ${p.severity} ${p.code}${at}: ${escapeText(p.message)}\n`);
  }
}
