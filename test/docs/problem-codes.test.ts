/**
 * docs/problem-codes.md and the problem catalogs (src/capture/problems.ts, src/decode/problems.ts, ...) must say the
 * same thing: the page is generated from the catalogs (`npm run docs`), and its tables are read back and compared
 * with them both ways (code, severity, layer, meaning). Call sites emit by catalog key, so the type checker already
 * guarantees that every code emitted is declared (the two @ts-expect-error lines below prove a free string fails).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { captureProblem } from '../../src/capture/problems';
import { layersOf, type ProblemSpec } from '../../src/common/problem';
import { DIAGNOSTICS } from '../../src/correlate/catalog';
import { decodeProblem } from '../../src/decode/problems';
import { httpProblem } from '../../src/protocols/http/problems';
import { mbmsProblem } from '../../src/protocols/mbms/problems';
import { mikeyProblem } from '../../src/protocols/mikey/problems';
import { reassemblyProblem } from '../../src/reassembly/problems';
import { DOC_PATH, PROBLEM_SECTIONS, renderProblemCodesDoc } from '../../scripts/problem-codes';
import { repoRoot } from '../support/repo';

const doc = readFileSync(path.join(repoRoot(), DOC_PATH), 'utf8');
const REPORTERS = [captureProblem, decodeProblem, reassemblyProblem, httpProblem, mbmsProblem, mikeyProblem];

interface Row {
  severity: string;
  layers: string[];
  meaning: string;
  line: number;
}

/** Table rows with `code`, `severity`, `layer` and `meaning` columns, by code. */
function docRows(): { rows: Map<string, Row>; twice: string[] } {
  const rows = new Map<string, Row>();
  const twice: string[] = [];
  let cols: Record<string, number> | undefined;
  doc.split('\n').forEach((l, i) => {
    if (!l.startsWith('|')) return void (cols = undefined);
    const c = l.slice(1, -1).split('|').map((x) => x.trim());
    if (cols === undefined) return void (cols = Object.fromEntries(c.map((name, k) => [name, k])));
    if (cols.code === undefined || cols.meaning === undefined || /^-+$/.test(c[0])) return;
    const code = c[cols.code].replace(/^`|`$/g, '');
    if (rows.has(code)) twice.push(code);
    rows.set(code, {
      severity: c[cols.severity], layers: [...c[cols.layer].matchAll(/`([^`]+)`/g)].map((m) => m[1]), meaning: c[cols.meaning], line: i + 1,
    });
  });
  return { rows, twice };
}

test('docs/problem-codes.md is what npm run docs generates from the catalogs', () => {
  assert.ok(doc === renderProblemCodesDoc(), `${DOC_PATH} is out of date: run npm run docs`);
});

test('every code of the catalogs is in the doc with its severity, layer and meaning, and the doc has no other', () => {
  const { rows, twice } = docRows();
  assert.deepEqual(twice, [], 'codes documented twice');
  const declared = new Map<string, ProblemSpec>();
  for (const r of REPORTERS) for (const [code, spec] of Object.entries(r.codes)) declared.set(code, spec);
  const wrong: string[] = [];
  for (const [code, spec] of declared) {
    const row = rows.get(code);
    if (!row) wrong.push(`${code}: not in the doc`);
    else {
      if (row.severity !== spec.severity) wrong.push(`${code}: severity ${spec.severity}, doc line ${row.line} says ${row.severity}`);
      if (row.layers.join() !== layersOf(spec).join()) wrong.push(`${code}: layer ${layersOf(spec).join('/')}, doc line ${row.line} says ${row.layers.join('/')}`);
      if (row.meaning !== spec.meaning) wrong.push(`${code}: meaning differs on doc line ${row.line}`);
    }
  }
  for (const [code, row] of rows) if (!declared.has(code)) wrong.push(`${code}: documented on line ${row.line}, declared in no catalog`);
  assert.deepEqual(wrong, []);
  assert.ok(declared.size > 150, `${declared.size} codes`);
});

test('each code is declared once, in one doc section, and is no analyzer diagnostic', () => {
  const seen = new Map<string, string>();
  const twice: string[] = [];
  for (const s of PROBLEM_SECTIONS) for (const code of Object.keys(s.codes)) {
    if (seen.has(code)) twice.push(`${code} in "${seen.get(code)}" and "${s.title}"`);
    seen.set(code, s.title);
  }
  assert.deepEqual(twice, []);
  // the reporters are built from the same declarations: the union of their codes is the set of documented codes
  const emitted = REPORTERS.flatMap((r) => Object.keys(r.codes));
  assert.equal(emitted.length, new Set(emitted).size, 'a code declared by two reporters');
  assert.deepEqual(new Set(emitted), new Set(seen.keys()));
  assert.deepEqual(emitted.filter((c) => c in DIAGNOSTICS), [], 'a problem code that is also a diagnostic code');
});

test('a problem takes its severity and layer from the catalog; a code shared by layers names its layer', () => {
  assert.deepEqual(decodeProblem('ipv4-bad-ihl', 'm', 14, 1), { code: 'ipv4-bad-ihl', severity: 'error', message: 'm', layer: 'ipv4', offset: 14, length: 1 });
  assert.deepEqual(reassemblyProblem.as('ipv6', 'ip-fragment-timeout', 'm'), { code: 'ip-fragment-timeout', severity: 'warning', message: 'm', layer: 'ipv6' });
  // @ts-expect-error a code no catalog declares does not compile
  assert.throws(() => decodeProblem('ipv4-no-such-code', 'm'));
  // @ts-expect-error a code shared by ipv4 and ipv6 cannot be emitted without its layer
  void (() => reassemblyProblem('ip-fragment-timeout', 'm'));
});
