/**
 * docs/problem-codes.md must document every problem code the dissectors can emit, with the severity the source gives
 * it, and nothing else.
 *
 * The codes are found in the source with the TypeScript compiler (the repository's own devDependency), not with a
 * regular expression: a code is a string that reaches the `code` parameter of `problem()` (src/common/problem.ts),
 * directly or through any chain of helpers that forward it (`this.add(out, 'code', …)`, `p.add('code', …)`,
 * `this.report(d, 'code', …)`, `incomplete(p, reason, 'code', …)`, local arrow functions…). Helpers are discovered,
 * not listed: a function whose parameter reaches `code` becomes a helper, and its own call sites are followed. Code,
 * severity and layer expressions are resolved through literals, conditionals (the two branches of `c ? 'a' : 'b'`
 * paired with `c ? 'warning' : 'note'`), `const` variables, object properties and element accesses on constant tables.
 * Anything that cannot be resolved this way fails the test with its location, so a new pattern cannot slip codes past
 * the check silently. As a second net, every string literal in an emitting file that is shaped like the codes of that
 * file (`<prefix>-…` with a prefix the file already uses) must be a known code or listed in NOT_CODES below.
 *
 * The procedure diagnostics of the analyzer (src/correlate/catalog.ts, docs/diagnostics.md) are another catalogue and
 * are left out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { repoRoot } from '../support/repo';

const ROOT = repoRoot();
const SRC = path.join(ROOT, 'src');
const DOC = path.join(ROOT, 'docs', 'problem-codes.md');
const PROBLEM_TS = path.join(SRC, 'common', 'problem.ts');
const CATALOG_TS = path.join(SRC, 'correlate', 'catalog.ts');
const SEVERITIES = ['error', 'warning', 'note', 'chat'] as const;

/**
 * String literals in emitting files that look like problem codes but are not (checked by the second net).
 * Each needs a reason; keep this list short.
 */
const NOT_CODES: ReadonlyMap<string, string> = new Map([
  ['gtp-u', 'layer name of GTP-U problems and TunnelInfo.kind'],
  ['end-of-capture', 'IncompleteReason / stream end reason'],
  ['auth-int', 'Digest qop value (prefix shared with auth-failed)'],
]);

interface Site {
  code: string;
  severity: string;
  /** Layer string, or '?' when it is computed (e.g. `layerOf(version)`). */
  layer: string;
  where: string;
}

type Resolved =
  | { kind: 'values'; values: string[] }
  | { kind: 'param'; fn: ts.SignatureDeclaration; index: number }
  | { kind: 'unresolved'; text: string };

type Slot = { kind: 'values'; values: string[] } | { kind: 'param'; index: number };
interface Template {
  layer: Slot;
  code: Slot;
  severity: Slot;
}

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listTs(p));
    else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

function where(node: ts.Node): string {
  const sf = node.getSourceFile();
  const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
  return `${path.relative(ROOT, sf.fileName)}:${line + 1}`;
}

function strip(e: ts.Expression): ts.Expression {
  for (;;) {
    if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isNonNullExpression(e) || ts.isSatisfiesExpression(e)) e = e.expression;
    else return e;
  }
}

function isFunctionLike(n: ts.Node): n is ts.SignatureDeclaration & { body?: ts.Node } {
  return (
    ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n) ||
    ts.isConstructorDeclaration(n) || ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n)
  );
}

/** The name a function is called by: its own, or that of the variable or property holding it. */
function calleeName(fn: ts.Node): string | undefined {
  if ((ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn)) && fn.name && (ts.isIdentifier(fn.name) || ts.isPrivateIdentifier(fn.name))) return fn.name.text;
  const parent = fn.parent;
  if ((ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) && parent) {
    if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && ts.isIdentifier(parent.name)) return parent.name.text;
  }
  return undefined;
}

function nameOfCall(call: ts.CallExpression): string | undefined {
  const c = strip(call.expression);
  if (ts.isIdentifier(c)) return c.text;
  if (ts.isPropertyAccessExpression(c)) return c.name.text;
  return undefined;
}

class Extractor {
  readonly program: ts.Program;
  readonly checker: ts.TypeChecker;
  readonly sites: Site[] = [];
  readonly unresolved: string[] = [];
  private readonly callsByName = new Map<string, ts.CallExpression[]>();
  private readonly templates = new Map<ts.Node, Set<string>>();

  constructor(readonly files: string[]) {
    this.program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
      strict: true, noEmit: true, skipLibCheck: true, esModuleInterop: true, resolveJsonModule: true, types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules', '@types')],
    });
    this.checker = this.program.getTypeChecker();
    for (const f of files) {
      const sf = this.program.getSourceFile(f);
      if (!sf) continue;
      const visit = (n: ts.Node): void => {
        if (ts.isCallExpression(n)) {
          const name = nameOfCall(n);
          if (name !== undefined) {
            let list = this.callsByName.get(name);
            if (!list) this.callsByName.set(name, (list = []));
            list.push(n);
          }
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
  }

  run(): void {
    const sf = this.program.getSourceFile(PROBLEM_TS);
    const problemFn = sf?.statements.find((s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === 'problem');
    assert.ok(problemFn, 'src/common/problem.ts exports function problem()');
    const queue: [ts.SignatureDeclaration, Template][] = [];
    const addTemplate = (fn: ts.SignatureDeclaration, t: Template): void => {
      const key = JSON.stringify(t);
      let set = this.templates.get(fn);
      if (!set) this.templates.set(fn, (set = new Set()));
      if (set.has(key)) return;
      set.add(key);
      queue.push([fn, t]);
    };
    addTemplate(problemFn, { layer: { kind: 'param', index: 0 }, code: { kind: 'param', index: 1 }, severity: { kind: 'param', index: 2 } });
    while (queue.length > 0) {
      const [fn, t] = queue.shift()!;
      const name = calleeName(fn);
      if (name === undefined) {
        this.unresolved.push(`${where(fn)}: an anonymous function forwards a problem code; give it a name or pass the code as a literal`);
        continue;
      }
      const calls = (this.callsByName.get(name) ?? []).filter((c) => this.checker.getResolvedSignature(c)?.declaration === fn);
      if (calls.length === 0 && fn !== problemFn) {
        this.unresolved.push(`${where(fn)}: ${name}() forwards a problem code but no call of it was found`);
      }
      for (const call of calls) this.callSite(call, t, addTemplate);
    }
    this.objectLiterals();
  }

  private callSite(call: ts.CallExpression, t: Template, addTemplate: (fn: ts.SignatureDeclaration, t: Template) => void): void {
    const slots = [t.layer, t.code, t.severity];
    const exprs: (ts.Expression | string[] | undefined)[] = slots.map((s) => (s.kind === 'values' ? s.values : call.arguments[s.index]));
    for (const branch of splitConditionals(exprs)) {
      const res: Resolved[] = branch.map((e) =>
        e === undefined ? { kind: 'unresolved', text: '(argument missing)' } : Array.isArray(e) ? { kind: 'values', values: e } : this.resolve(e, 0),
      );
      // a computed layer (layerOf(version), a `layer` variable) is allowed: the documentation says which layers
      const codeOrSeverity = [['code', res[1]], ['severity', res[2]]] as const;
      const bad = codeOrSeverity.find(([, r]) => r.kind === 'unresolved');
      if (bad) {
        this.unresolved.push(`${where(call)}: cannot resolve the ${bad[0]} of a problem: ${(bad[1] as { text: string }).text}`);
        continue;
      }
      const params = res.filter((r): r is Extract<Resolved, { kind: 'param' }> => r.kind === 'param');
      if (params.length > 0) {
        const fn = params[0].fn;
        if (params.some((p) => p.fn !== fn)) {
          this.unresolved.push(`${where(call)}: problem code, severity and layer come from parameters of different functions`);
          continue;
        }
        const slot = (r: Resolved): Slot =>
          r.kind === 'param' ? { kind: 'param', index: r.index } : r.kind === 'values' ? { kind: 'values', values: r.values } : { kind: 'values', values: ['?'] };
        addTemplate(fn, { layer: slot(res[0]), code: slot(res[1]), severity: slot(res[2]) });
        continue;
      }
      const layers = res[0].kind === 'values' ? res[0].values : ['?'];
      const codes = (res[1] as { values: string[] }).values;
      const sevs = (res[2] as { values: string[] }).values;
      for (const code of codes) for (const severity of sevs) for (const layer of layers) this.sites.push({ code, severity, layer, where: where(call) });
    }
  }

  /** `{ code: '…', severity: '…', layer: '…', message }` built by hand rather than with problem(). */
  private objectLiterals(): void {
    for (const f of this.files) {
      if (f === PROBLEM_TS) continue;
      const sf = this.program.getSourceFile(f);
      if (!sf) continue;
      const visit = (n: ts.Node): void => {
        if (ts.isObjectLiteralExpression(n)) {
          const props = new Map<string, ts.Expression>();
          for (const p of n.properties) {
            if (ts.isPropertyAssignment(p) && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) props.set(p.name.text, p.initializer);
            else if (ts.isShorthandPropertyAssignment(p)) props.set(p.name.text, p.name);
          }
          const code = props.get('code');
          const severity = props.get('severity');
          const layer = props.get('layer');
          if (code && severity && layer && props.has('message')) {
            const rc = this.resolve(code, 0);
            const rs = this.resolve(severity, 0);
            const rl = this.resolve(layer, 0);
            // a copy of an existing problem (`code: p.code`) is not a new code; a helper building one by hand is
            if (rc.kind === 'param' || rs.kind === 'param') this.unresolved.push(`${where(n)}: a Problem object built by hand from parameters: use problem()`);
            else if (rc.kind === 'values' && rs.kind === 'unresolved') this.unresolved.push(`${where(n)}: a Problem object built by hand with a severity that cannot be resolved`);
            else if (rc.kind === 'values' && rs.kind === 'values') for (const c of rc.values) for (const s of rs.values) for (const l of rl.kind === 'values' ? rl.values : ['?']) this.sites.push({ code: c, severity: s, layer: l, where: where(n) });
          }
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
  }

  resolve(expr: ts.Expression, depth: number): Resolved {
    const e = strip(expr);
    const fail: Resolved = { kind: 'unresolved', text: e.getText().slice(0, 80) };
    if (depth > 8) return fail;
    if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return { kind: 'values', values: [e.text] };
    if (ts.isConditionalExpression(e)) return union(this.resolve(e.whenTrue, depth + 1), this.resolve(e.whenFalse, depth + 1), fail);
    if (ts.isBinaryExpression(e) && (e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken || e.operatorToken.kind === ts.SyntaxKind.BarBarToken)) {
      return union(this.resolve(e.left, depth + 1), this.resolve(e.right, depth + 1), fail);
    }
    if (ts.isIdentifier(e) || ts.isPropertyAccessExpression(e)) {
      let sym = this.checker.getSymbolAtLocation(ts.isIdentifier(e) ? e : e.name);
      if (sym && sym.flags & ts.SymbolFlags.Alias) sym = this.checker.getAliasedSymbol(sym);
      const decl = sym?.valueDeclaration ?? sym?.declarations?.[0];
      if (!decl) return fail;
      if (ts.isParameter(decl) && isFunctionLike(decl.parent)) {
        return { kind: 'param', fn: decl.parent, index: decl.parent.parameters.indexOf(decl) };
      }
      if (ts.isVariableDeclaration(decl) && decl.initializer && ts.isVariableDeclarationList(decl.parent) && (decl.parent.flags & ts.NodeFlags.Const) !== 0) {
        return this.resolve(decl.initializer, depth + 1);
      }
      if ((ts.isPropertyAssignment(decl) || ts.isPropertyDeclaration(decl)) && decl.initializer) return this.resolve(decl.initializer, depth + 1);
      return fail;
    }
    if (ts.isElementAccessExpression(e)) {
      // a table of codes indexed by something computed: any of its values
      const sym = this.checker.getSymbolAtLocation(strip(e.expression));
      const decl = sym?.valueDeclaration;
      let init = decl && (ts.isVariableDeclaration(decl) || ts.isPropertyDeclaration(decl)) ? decl.initializer : undefined;
      if (init) init = strip(init);
      const elems = init && ts.isObjectLiteralExpression(init)
        ? init.properties.map((p) => (ts.isPropertyAssignment(p) ? p.initializer : undefined))
        : init && ts.isArrayLiteralExpression(init) ? [...init.elements] : undefined;
      if (!elems) return fail;
      let acc: Resolved = { kind: 'values', values: [] };
      for (const x of elems) acc = x ? union(acc, this.resolve(x, depth + 1), fail) : fail;
      return acc;
    }
    return fail;
  }
}

function union(a: Resolved, b: Resolved, fail: Resolved): Resolved {
  if (a.kind === 'values' && b.kind === 'values') return { kind: 'values', values: [...new Set([...a.values, ...b.values])] };
  return a.kind === 'unresolved' ? a : b.kind === 'unresolved' ? b : fail;
}

/**
 * `c ? 'http-skipped' : 'http-not-http'` as code with `c ? 'warning' : 'note'` as severity means two pairs, not four:
 * arguments that are conditionals on the same condition are split together.
 */
function splitConditionals(exprs: (ts.Expression | string[] | undefined)[]): (ts.Expression | string[] | undefined)[][] {
  const conds = exprs.map((e) => (e !== undefined && !Array.isArray(e) && ts.isConditionalExpression(strip(e)) ? (strip(e) as ts.ConditionalExpression) : undefined));
  for (let i = 0; i < conds.length; i++) {
    const ci = conds[i];
    if (!ci) continue;
    const text = ci.condition.getText();
    const same = conds.map((c) => c !== undefined && c.condition.getText() === text);
    if (same.filter(Boolean).length < 2) continue;
    const t = exprs.map((e, k) => (same[k] ? conds[k]!.whenTrue : e));
    const f = exprs.map((e, k) => (same[k] ? conds[k]!.whenFalse : e));
    return [...splitConditionals(t), ...splitConditionals(f)];
  }
  return [exprs];
}

/** Keys of DIAGNOSTICS in src/correlate/catalog.ts: the analyzer's own catalogue. */
function diagnosticCodes(): Set<string> {
  const out = new Set<string>();
  if (!existsSync(CATALOG_TS)) return out;
  const sf = ts.createSourceFile(CATALOG_TS, readFileSync(CATALOG_TS, 'utf8'), ts.ScriptTarget.ES2022, true);
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === 'DIAGNOSTICS' && n.initializer) {
      const init = strip(n.initializer);
      if (ts.isObjectLiteralExpression(init)) {
        for (const p of init.properties) if (p.name && (ts.isStringLiteral(p.name) || ts.isIdentifier(p.name))) out.add(p.name.text);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

interface DocRow {
  codes: string[];
  severities: Set<string>;
  layers: Set<string>;
  line: number;
}

/** Table rows of the doc whose header has `code` and `severity` columns; codes are the backticked names in the code cell. */
function readDoc(): DocRow[] {
  const rows: DocRow[] = [];
  const lines = readFileSync(DOC, 'utf8').split('\n');
  let cols: { code: number; severity: number; layer: number } | undefined;
  const cells = (l: string) => l.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (!l.trim().startsWith('|')) {
      cols = undefined;
      continue;
    }
    const c = cells(l);
    if (cols === undefined) {
      const lower = c.map((x) => x.toLowerCase());
      const code = lower.indexOf('code');
      const severity = lower.indexOf('severity');
      cols = code >= 0 && severity >= 0 ? { code, severity, layer: lower.indexOf('layer') } : { code: -1, severity: -1, layer: -1 };
      continue;
    }
    if (cols.code < 0 || /^[-: ]+$/.test(c.join(''))) continue;
    const codes = [...(c[cols.code] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const severities = new Set(SEVERITIES.filter((s) => new RegExp(`\\b${s}\\b`).test(c[cols!.severity] ?? '')));
    const layers = new Set(cols.layer >= 0 ? [...(c[cols.layer] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]) : []);
    rows.push({ codes, severities, layers, line: i + 1 });
  }
  return rows;
}

const files = listTs(SRC);
const extractor = new Extractor(files);
extractor.run();
const excluded = diagnosticCodes();
const sites = extractor.sites.filter((s) => !excluded.has(s.code));
const byCode = new Map<string, Site[]>();
for (const s of sites) {
  let list = byCode.get(s.code);
  if (!list) byCode.set(s.code, (list = []));
  list.push(s);
}

test('every problem code in src can be traced to a literal', () => {
  assert.deepEqual(extractor.unresolved, [], `problem codes the extractor cannot follow:\n  ${extractor.unresolved.join('\n  ')}`);
});

test('the extraction sees every way codes are emitted', () => {
  // one code per pattern in use: problem(), this.add(out, …), p.add(…), local arrow add(…), report/msgProblem,
  // blockProblem/stopOrFatal, incomplete() two helpers deep, and paired conditionals
  for (const code of [
    'pcap-record-too-large', 'pcapng-bad-byte-order-magic', 'pcapng-short-block', 'gzip-corrupt', 'eth-truncated',
    'ip-fragment-evicted', 'ip-fragment-incomplete', 'tcp-retransmission-mismatch', 'http-not-http', 'http-skipped',
    'http-gap-in-body', 'nonce-unknown', 'mbms-xml-malformed', 'mikey-truncated', 'mikey-null-mac', 'mikey-mac-invalid',
  ]) {
    assert.ok(byCode.has(code), `${code} not extracted`);
  }
  assert.deepEqual([...new Set(byCode.get('http-not-http')!.map((s) => s.severity))], ['note']);
  assert.deepEqual([...new Set(byCode.get('http-skipped')!.map((s) => s.severity))], ['warning']);
  assert.ok(byCode.size > 150, `only ${byCode.size} codes extracted`);
});

test('second net: code-shaped literals in emitting files are all known codes', () => {
  const emitting = new Map<string, Set<string>>();
  for (const s of sites) {
    const file = s.where.replace(/:\d+$/, '');
    let prefixes = emitting.get(file);
    if (!prefixes) emitting.set(file, (prefixes = new Set()));
    if (s.code.includes('-')) prefixes.add(s.code.slice(0, s.code.indexOf('-') + 1));
  }
  const missed: string[] = [];
  for (const [file, prefixes] of emitting) {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/'([a-z][a-z0-9]*-[a-z0-9-]*[a-z0-9])'/g)) {
      const lit = m[1];
      if (byCode.has(lit) || excluded.has(lit) || NOT_CODES.has(lit)) continue;
      if (![...prefixes].some((p) => lit.startsWith(p))) continue;
      if (!missed.includes(`${file}: '${lit}'`)) missed.push(`${file}: '${lit}'`);
    }
  }
  assert.deepEqual(missed, [], `code-shaped strings that the extraction did not find as problem codes (add to NOT_CODES with a reason if they are not codes):\n  ${missed.join('\n  ')}`);
});

test('docs/problem-codes.md documents every code with its severity', () => {
  const rows = readDoc();
  const documented = new Map<string, DocRow>();
  for (const r of rows) for (const c of r.codes) documented.set(c, r);
  const missing: string[] = [];
  const wrongSeverity: string[] = [];
  const wrongLayer: string[] = [];
  for (const [code, list] of [...byCode].sort(([a], [b]) => a.localeCompare(b))) {
    const sevs = [...new Set(list.map((s) => s.severity))].sort();
    const layers = [...new Set(list.map((s) => s.layer))].filter((l) => l !== '?').sort();
    const row = documented.get(code);
    const at = [...new Set(list.map((s) => s.where))].join(', ');
    if (!row) {
      missing.push(`${code} (severity ${sevs.join('/')}, layer ${layers.join('/') || '?'}) at ${at}`);
      continue;
    }
    const docSevs = [...row.severities].sort();
    if (sevs.join() !== docSevs.join()) wrongSeverity.push(`${code}: source ${sevs.join('/')}, doc line ${row.line} says ${docSevs.join('/') || 'nothing'}`);
    const lackLayer = layers.filter((l) => !row.layers.has(l));
    if (lackLayer.length > 0) wrongLayer.push(`${code}: layer ${lackLayer.join('/')} not named on doc line ${row.line}`);
  }
  const report = [
    ...(missing.length > 0 ? [`problem codes missing from docs/problem-codes.md (add a table row each):`, ...missing] : []),
    ...(wrongSeverity.length > 0 ? [`severities in docs/problem-codes.md that differ from the source:`, ...wrongSeverity] : []),
    ...(wrongLayer.length > 0 ? [`layers missing in docs/problem-codes.md:`, ...wrongLayer] : []),
  ];
  assert.equal(report.length, 0, report.join('\n  '));
});

test('docs/problem-codes.md names no code that src no longer emits', () => {
  const stale: string[] = [];
  const seen = new Map<string, number>();
  const twice: string[] = [];
  for (const r of readDoc()) {
    for (const c of r.codes) {
      if (!byCode.has(c)) stale.push(`${c} (line ${r.line})${excluded.has(c) ? ': an analyzer diagnostic, documented in docs/diagnostics.md' : ''}`);
      if (seen.has(c)) twice.push(`${c} (lines ${seen.get(c)} and ${r.line})`);
      seen.set(c, r.line);
    }
  }
  assert.deepEqual(stale, [], `docs/problem-codes.md documents codes no source emits:\n  ${stale.join('\n  ')}`);
  assert.deepEqual(twice, [], `codes documented twice:\n  ${twice.join('\n  ')}`);
});
