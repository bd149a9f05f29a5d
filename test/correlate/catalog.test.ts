/** docs/diagnostics.md documents exactly the diagnostic catalog: every code, its severity and its meaning. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DIAGNOSTICS } from '../../src/correlate/catalog';
import { repoRoot } from '../support/repo';

test('docs/diagnostics.md table = the catalog', () => {
  const text = fs.readFileSync(path.join(repoRoot(), 'docs', 'diagnostics.md'), 'utf8');
  const rows = text
    .split('\n')
    .map((l) => /^\| `([a-z0-9-]+)` \| (\w+) \| (.+) \|$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2], m[3]]);
  assert.deepEqual(rows, Object.entries(DIAGNOSTICS).map(([code, i]) => [code, i.severity, i.meaning]));
});
