/** docs/fields.md is generated from the registry (`keyscope fields --markdown`); `keyscope fields` lists the same fields. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from '../support/proc';
import { cliPath, repoRoot } from '../support/repo';
import { fieldsMarkdown } from '../../src/fields/docs';
import { allFields } from '../../src/fields/registry';

test('docs/fields.md is what the registry generates (regenerate: keyscope fields --markdown > docs/fields.md)', () => {
  const committed = fs.readFileSync(path.join(repoRoot(), 'docs', 'fields.md'), 'utf8');
  assert.equal(committed, fieldsMarkdown());
});

test('keyscope fields lists every registered field once, with its type and description', { timeout: 60_000 }, () => {
  const r = spawnSync(process.execPath, [cliPath(), 'fields'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  const names = r.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
  assert.deepEqual(names.map((c) => c[0]), allFields().map((f) => f.name));
  assert.equal(new Set(names.map((c) => c[0])).size, names.length, 'names are unique');
  for (const c of names) {
    assert.equal(c.length, 4, c.join('|'));
    assert.ok(c[3].length > 0, `${c[0]} has a description`);
  }
  const mikey = spawnSync(process.execPath, [cliPath(), 'fields', 'mikey.mbms'], { encoding: 'utf8' });
  assert.ok(mikey.stdout.trimEnd().split('\n').every((l) => l.startsWith('mikey.mbms.')));
});

test('every field name is dotted lower-case under its layer, as Wireshark names fields', () => {
  for (const f of allFields()) assert.match(f.name, /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/, f.name);
});
