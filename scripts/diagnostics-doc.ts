/**
 * Writes the "## Diagnostics" section of docs/diagnostics.md from the correlator's catalogs (one table per room of
 * src/correlate/rules/, each diagnostic with its severity, meaning and evidence): `npm run docs`. With `--check` it
 * writes nothing and exits 1 when the file differs. test/correlate/catalog.test.ts keeps the committed file equal.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DIAGNOSTIC_ROOMS } from '../src/correlate/catalog';
import type { DiagnosticInfo } from '../src/correlate/diagnostic-info';

export const DIAGNOSTICS_DOC = path.join('docs', 'diagnostics.md');
const HEADING = '## Diagnostics\n';

function cell(text: string, where: string): string {
  if (/[|\n]/.test(text)) throw new Error(`${where}: a table cell cannot hold '|' or a line break`);
  return text;
}

/** The section's text, from its heading up to (not including) the next `## ` heading. */
export function renderDiagnosticsSection(): string {
  const out = [
    HEADING,
    'Each diagnostic is declared once, in the room of the correlator that raises it, with the evidence the capture must',
    'hold for it to fire: a capture that starts or ends in the middle of a procedure is normal, not a fault, so nothing',
    'fires on what may lie outside the capture. A deadline the capture did not reach decides nothing (the transaction is',
    '`incomplete`), and a rule that looks backwards (registration, earlier MSKs, the message an ACK answers) fires only',
    'when the capture shows the contrary. Every diagnostic cites the frames of its evidence. This section is generated',
    'from the catalogs (`npm run docs`).',
    '',
  ];
  for (const r of DIAGNOSTIC_ROOMS) {
    out.push(`### ${r.room} (\`${r.file}\`)`, '', '| code | severity | meaning | fires only when the capture shows |', '|---|---|---|---|');
    for (const [code, info] of Object.entries(r.diagnostics) as [string, DiagnosticInfo][])
      out.push(`| \`${code}\` | ${info.severity} | ${cell(info.meaning, code)} | ${cell(info.evidence, code)} |`);
    out.push('');
  }
  return out.join('\n');
}

/** docs/diagnostics.md with its Diagnostics section replaced by the generated one. */
export function renderDiagnosticsDoc(current: string): string {
  const start = current.indexOf(HEADING);
  if (start < 0) throw new Error(`${DIAGNOSTICS_DOC} has no "${HEADING.trim()}" heading`);
  const next = current.indexOf('\n## ', start + HEADING.length);
  const end = next < 0 ? current.length : next + 1;
  return current.slice(0, start) + renderDiagnosticsSection() + current.slice(end);
}

function main(): void {
  const file = path.join(__dirname, '..', '..', DIAGNOSTICS_DOC);
  const current = readFileSync(file, 'utf8');
  const wanted = renderDiagnosticsDoc(current);
  if (process.argv.includes('--check')) {
    if (wanted !== current) {
      process.stderr.write(`${DIAGNOSTICS_DOC} is out of date: run npm run docs\n`);
      process.exitCode = 1;
    }
    return;
  }
  if (wanted !== current) writeFileSync(file, wanted);
  process.stdout.write(`wrote ${DIAGNOSTICS_DOC}\n`);
}

if (require.main === module) main();
