/**
 * The diagnostic catalog: each code declared once, in one room, with severity, meaning and evidence; docs/diagnostics.md
 * generated from it (`npm run docs`) and read back row by row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DIAGNOSTICS, DIAGNOSTIC_ROOMS } from '../../src/correlate/catalog';
import { DIAGNOSTICS_DOC, renderDiagnosticsDoc } from '../../scripts/diagnostics-doc';
import { repoRoot } from '../support/repo';

const text = fs.readFileSync(path.join(repoRoot(), DIAGNOSTICS_DOC), 'utf8');

test('every diagnostic is declared in exactly one room, with a meaning and its evidence', () => {
  const seen = new Map<string, string>();
  for (const r of DIAGNOSTIC_ROOMS) {
    assert.ok(fs.existsSync(path.join(repoRoot(), r.file)), r.file);
    for (const [code, info] of Object.entries(r.diagnostics)) {
      assert.equal(seen.get(code), undefined, `${code} declared in ${seen.get(code)} and in ${r.room}`);
      seen.set(code, r.room);
      assert.ok(info.meaning.length > 20 && info.evidence.length > 5, code);
    }
  }
  assert.deepEqual([...seen.keys()].sort(), Object.keys(DIAGNOSTICS).sort());
});

test('docs/diagnostics.md is generated from the catalog (npm run docs)', () => {
  assert.equal(text, renderDiagnosticsDoc(text), 'run npm run docs');
});

test('docs/diagnostics.md tables read back = the catalog', () => {
  const rows = text
    .split('\n')
    .map((l) => /^\| `([a-z0-9-]+)` \| (\w+) \| (.+) \| (.+) \|$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2], m[3], m[4]]);
  const expected = DIAGNOSTIC_ROOMS.flatMap((r) => Object.entries(r.diagnostics).map(([code, i]) => [code, i.severity, i.meaning, i.evidence]));
  assert.deepEqual(rows, expected);
});
