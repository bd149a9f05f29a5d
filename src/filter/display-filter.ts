/**
 * Wireshark display filters (`-Y`): parse with the peggy grammar, resolve every name against the field registry and
 * every literal against its field's type, and compile to a predicate over a FrameView.
 *
 * Semantics follow Wireshark 4.0: a comparison is false when the field is absent; with several occurrences `==`, `<`,
 * `contains`, `matches` and `in` hold when any occurrence does, `!=` when every occurrence differs (`~=`/`!==` any
 * differs, `===` all equal); `ip.addr == 10.0.0.0/8` is a subnet test; `matches` is a case-insensitive regular expression
 * (as Wireshark's PCRE2 default). A field on the right of a comparison is compared occurrence against occurrence.
 */
import * as net from 'node:net';
// type only: peggy (≈ 6 MB of RSS) is loaded by the first filter compiled (-Y), not by every run
import type * as Peggy from 'peggy';
type Parser = Peggy.Parser;
import { lookupField } from '../fields/registry';
import type { FieldDef, FieldValue, FrameView } from '../fields/types';
import { FILTER_GRAMMAR } from './grammar';

/** A filter that cannot be used: `offset` is where in the filter text the caret goes. */
export class FilterError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'FilterError';
  }
}

interface Span {
  start: number;
  end: number;
}
interface StringNode {
  kind: 'string';
  value: string;
  raw?: boolean;
  at: Span;
}
interface WordNode {
  kind: 'word';
  value: string;
  at: Span;
}
type OperandNode = StringNode | WordNode;
type CmpOp = 'eq' | 'ne' | 'all_eq' | 'any_ne' | 'gt' | 'ge' | 'lt' | 'le' | 'contains' | 'matches';
type SetItemNode = { value: OperandNode } | { range: [OperandNode, OperandNode] };
type Node =
  | { kind: 'or' | 'and'; left: Node; right: Node; at: Span }
  | { kind: 'not'; expr: Node; at: Span }
  | { kind: 'exists'; operand: OperandNode; at: Span }
  | { kind: 'cmp'; op: CmpOp; left: OperandNode; right: OperandNode; at: Span }
  | { kind: 'in'; left: OperandNode; set: SetItemNode[]; at: Span };

export type FramePredicate = (v: FrameView) => boolean;

export interface DisplayFilter {
  text: string;
  test: FramePredicate;
  /** Every field the filter names (so a caller can tell what it reads). */
  fields: FieldDef[];
}

let parser: Parser | undefined;

function parseTree(text: string): Node {
  parser ??= (require('peggy') as typeof Peggy).generate(FILTER_GRAMMAR);
  try {
    return parser.parse(text) as Node;
  } catch (err) {
    const e = err as { message?: string; location?: { start: { offset: number } } };
    if (e.location) throw new FilterError(e.message ?? 'syntax error', e.location.start.offset);
    throw err;
  }
}

/** Parse and compile a display filter. Throws FilterError (with the offset for the caret) when it cannot be used. */
export function compileFilter(text: string): DisplayFilter {
  if (text.trim() === '') throw new FilterError('empty display filter', 0);
  const tree = parseTree(text);
  const fields: FieldDef[] = [];
  const test = compileNode(tree, fields);
  return { text, test, fields };
}

function fieldOf(w: OperandNode, fields: FieldDef[]): FieldDef {
  if (w.kind !== 'word') throw new FilterError(`a string cannot stand alone: "${w.value}" is not a field`, w.at.start);
  const f = lookupField(w.value);
  if (!f) throw new FilterError(`"${w.value}" is neither a field nor a protocol name (keyscope fields lists them)`, w.at.start);
  if (!fields.includes(f)) fields.push(f);
  return f;
}

const isField = (o: OperandNode) => o.kind === 'word' && lookupField(o.value) !== undefined;

const SWAPPED: Partial<Record<CmpOp, CmpOp>> = { gt: 'lt', lt: 'gt', ge: 'le', le: 'ge' };

function compileNode(n: Node, fields: FieldDef[]): FramePredicate {
  switch (n.kind) {
    case 'or': {
      const a = compileNode(n.left, fields);
      const b = compileNode(n.right, fields);
      return (v) => a(v) || b(v);
    }
    case 'and': {
      const a = compileNode(n.left, fields);
      const b = compileNode(n.right, fields);
      return (v) => a(v) && b(v);
    }
    case 'not': {
      const a = compileNode(n.expr, fields);
      return (v) => !a(v);
    }
    case 'exists': {
      const f = fieldOf(n.operand, fields);
      return (v) => f.values(v).length > 0;
    }
    case 'in': {
      const f = fieldOf(n.left, fields);
      const matchers = n.set.map((item) => {
        if ('value' in item) {
          const lit = literal(f, item.value, 'eq');
          return (x: FieldValue) => lit.eq(x);
        }
        const lo = literal(f, item.range[0], 'ge');
        const hi = literal(f, item.range[1], 'le');
        return (x: FieldValue) => lo.cmp(x) >= 0 && hi.cmp(x) <= 0;
      });
      if (matchers.length === 0) throw new FilterError('empty set', n.at.end - 1);
      return (v) => f.values(v).some((x) => matchers.some((m) => m(x)));
    }
    case 'cmp': {
      let { left, right, op } = n;
      if (!isField(left) && isField(right)) {
        // `1 < tcp.port`: the field goes left
        [left, right] = [right, left];
        op = SWAPPED[op] ?? op;
        if (op === 'contains' || op === 'matches') throw new FilterError(`the left side of "${op}" must be a field`, n.left.at.start);
      }
      const f = fieldOf(left, fields);
      if (isField(right)) return fieldVsField(f, fieldOf(right, fields), op, n.at.start);
      return comparison(f, op, literal(f, right, op));
    }
  }
}

/**
 * A literal resolved for field `f`: `eq(x)` = an occurrence equals it (for a CIDR literal: lies in the subnet), `cmp(x)`
 * orders the occurrence against it (occurrence minus literal, in sign).
 */
interface Literal {
  eq(x: FieldValue): boolean;
  cmp(x: FieldValue): number;
  contains?(x: FieldValue): boolean;
  matches?(x: FieldValue): boolean;
}

function comparison(f: FieldDef, op: CmpOp, lit: Literal): FramePredicate {
  switch (op) {
    case 'eq':
      return (v) => f.values(v).some((x) => lit.eq(x));
    case 'ne':
      return (v) => {
        const xs = f.values(v);
        return xs.length > 0 && xs.every((x) => !lit.eq(x));
      };
    case 'all_eq':
      return (v) => {
        const xs = f.values(v);
        return xs.length > 0 && xs.every((x) => lit.eq(x));
      };
    case 'any_ne':
      return (v) => f.values(v).some((x) => !lit.eq(x));
    case 'gt':
      return (v) => f.values(v).some((x) => lit.cmp(x) > 0);
    case 'ge':
      return (v) => f.values(v).some((x) => lit.cmp(x) >= 0);
    case 'lt':
      return (v) => f.values(v).some((x) => lit.cmp(x) < 0);
    case 'le':
      return (v) => f.values(v).some((x) => lit.cmp(x) <= 0);
    case 'contains': {
      const c = lit.contains as (x: FieldValue) => boolean;
      return (v) => f.values(v).some((x) => c(x));
    }
    case 'matches': {
      const m = lit.matches as (x: FieldValue) => boolean;
      return (v) => f.values(v).some((x) => m(x));
    }
  }
}

const COMPARABLE_TYPES: ReadonlySet<FieldDef['type']> = new Set(['bool', 'uint', 'framenum', 'time', 'string', 'bytes', 'ipv4', 'ipv6', 'ether']);

function fieldVsField(a: FieldDef, b: FieldDef, op: CmpOp, at: number): FramePredicate {
  const kind = (t: FieldDef['type']) => (t === 'framenum' ? 'uint' : t);
  if (kind(a.type) !== kind(b.type) || !COMPARABLE_TYPES.has(a.type)) throw new FilterError(`${a.name} (${a.type}) and ${b.name} (${b.type}) cannot be compared`, at);
  if (op === 'contains' || op === 'matches') throw new FilterError(`"${op}" needs a literal on the right`, at);
  const order = (x: FieldValue, y: FieldValue) => orderValues(a.type, x, y);
  const pairs = (v: FrameView, ok: (d: number) => boolean, all: boolean) => {
    const xs = a.values(v);
    const ys = b.values(v);
    if (xs.length === 0 || ys.length === 0) return false;
    const hit = (x: FieldValue) => ys.some((y) => ok(order(x, y)));
    return all ? xs.every((x) => ys.every((y) => ok(order(x, y)))) : xs.some(hit);
  };
  switch (op) {
    case 'eq':
      return (v) => pairs(v, (d) => d === 0, false);
    case 'ne':
      return (v) => pairs(v, (d) => d !== 0, true);
    case 'all_eq':
      return (v) => pairs(v, (d) => d === 0, true);
    case 'any_ne':
      return (v) => pairs(v, (d) => d !== 0, false);
    case 'gt':
      return (v) => pairs(v, (d) => d > 0, false);
    case 'ge':
      return (v) => pairs(v, (d) => d >= 0, false);
    case 'lt':
      return (v) => pairs(v, (d) => d < 0, false);
    case 'le':
      return (v) => pairs(v, (d) => d <= 0, false);
  }
}

function orderValues(type: FieldDef['type'], x: FieldValue, y: FieldValue): number {
  switch (type) {
    case 'bytes':
      return Buffer.compare(x as Buffer, y as Buffer);
    case 'ipv4':
      return Math.sign(ipv4Number(x as string) - ipv4Number(y as string));
    case 'ipv6': {
      const d = ipv6Number(x as string) - ipv6Number(y as string);
      return d < 0n ? -1 : d > 0n ? 1 : 0;
    }
    case 'time':
      return Math.sign(Number(x) - Number(y));
    case 'bool':
      return Number(x) - Number(y);
    default:
      return x < y ? -1 : x > y ? 1 : 0;
  }
}

// ---- literals -------------------------------------------------------------------------------------------------------

function literal(f: FieldDef, o: OperandNode, op: CmpOp): Literal {
  const at = o.at.start;
  const bad = (what: string) => new FilterError(`"${o.value}" is not ${what} (${f.name} is ${f.type})`, at);
  if (f.type === 'protocol' || f.type === 'none') throw new FilterError(`${f.name} has no value to compare; test its presence: ${f.name}`, at);
  if (op === 'matches') {
    if (f.type !== 'string') throw new FilterError(`"matches" applies to text fields; ${f.name} is ${f.type}`, at);
    return stringLiteral(o.value, at, op);
  }
  if (op === 'contains' && f.type !== 'string' && f.type !== 'bytes') throw new FilterError(`"contains" applies to text and byte fields; ${f.name} is ${f.type}`, at);
  switch (f.type) {
    case 'uint':
    case 'framenum': {
      const n = parseInteger(o.value);
      if (n === undefined || o.kind === 'string') throw bad('a whole number');
      return { eq: (x) => x === n, cmp: (x) => Math.sign((x as number) - n) };
    }
    case 'time': {
      const n = o.kind === 'word' && /^-?\d+(\.\d+)?$/.test(o.value) ? Number(o.value) : NaN;
      if (Number.isNaN(n)) throw bad('a number of seconds');
      return { eq: (x) => Number(x) === n, cmp: (x) => Math.sign(Number(x) - n) };
    }
    case 'bool': {
      const s = o.value.toLowerCase();
      let b: boolean;
      if (s === 'true') b = true;
      else if (s === 'false') b = false;
      else {
        const n = parseInteger(o.value);
        if (n === undefined) throw bad('a boolean (1, 0, true, false)');
        b = n !== 0;
      }
      return { eq: (x) => x === b, cmp: (x) => Number(x) - Number(b) };
    }
    case 'string':
      return stringLiteral(o.value, at, op);
    case 'bytes': {
      const bytes = o.kind === 'string' ? Buffer.from(o.value, 'utf8') : parseBytes(o.value);
      if (!bytes) throw bad('a byte string (aa:bb:cc, aabbcc, or "text")');
      return {
        eq: (x) => (x as Buffer).equals(bytes),
        cmp: (x) => Buffer.compare(x as Buffer, bytes),
        contains: (x) => (x as Buffer).includes(bytes),
      };
    }
    case 'ipv4': {
      const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/.exec(o.value);
      if (!m || !net.isIPv4(m[1]) || (m[2] !== undefined && Number(m[2]) > 32)) throw bad('an IPv4 address or subnet (a.b.c.d/n)');
      const bits = m[2] === undefined ? 32 : Number(m[2]);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      const base = (ipv4Number(m[1]) & mask) >>> 0;
      return { eq: (x) => ((ipv4Number(x as string) & mask) >>> 0) === base, cmp: (x) => Math.sign(ipv4Number(x as string) - ipv4Number(m[1])) };
    }
    case 'ipv6': {
      const slash = o.value.lastIndexOf('/');
      const addr = slash >= 0 ? o.value.slice(0, slash) : o.value;
      const bits = slash >= 0 ? Number(o.value.slice(slash + 1)) : 128;
      if (!net.isIPv6(addr) || !Number.isInteger(bits) || bits < 0 || bits > 128) throw bad('an IPv6 address or prefix (addr/n)');
      const shift = BigInt(128 - bits);
      const base = ipv6Number(addr) >> shift;
      const n = ipv6Number(addr);
      return { eq: (x) => ipv6Number(x as string) >> shift === base, cmp: (x) => { const d = ipv6Number(x as string) - n; return d < 0n ? -1 : d > 0n ? 1 : 0; } };
    }
    case 'ether': {
      const b = parseBytes(o.value);
      if (!b || b.length !== 6) throw bad('a MAC address (aa:bb:cc:dd:ee:ff)');
      const s = [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
      return { eq: (x) => String(x).toLowerCase() === s, cmp: (x) => { const y = String(x).toLowerCase(); return y < s ? -1 : y > s ? 1 : 0; } };
    }
  }
}

function stringLiteral(s: string, at: number, op: CmpOp): Literal {
  const lit: Literal = {
    eq: (x) => x === s,
    cmp: (x) => (String(x) < s ? -1 : String(x) > s ? 1 : 0),
    contains: (x) => String(x).includes(s),
  };
  if (op === 'matches') {
    let re: RegExp;
    try {
      // Wireshark's matches is case-insensitive unless the pattern says otherwise; JS has no inline (?-i), so a leading
      // (?-i) or (?c) is taken as "case-sensitive"
      const cs = /^\(\?(-i|c)\)/.exec(s);
      re = cs ? new RegExp(s.slice(cs[0].length), 'u') : new RegExp(s.replace(/^\(\?i\)/, ''), 'iu');
    } catch (err) {
      throw new FilterError(`bad regular expression: ${(err as Error).message}`, at);
    }
    lit.matches = (x) => re.test(String(x));
  }
  return lit;
}

/** Decimal, 0x hex, 0b binary or leading-0 octal, as Wireshark reads integers. */
function parseInteger(s: string): number | undefined {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) n = parseInt(s.slice(2), 16);
  else if (/^0[bB][01]+$/.test(s)) n = parseInt(s.slice(2), 2);
  else if (/^0[0-7]+$/.test(s)) n = parseInt(s.slice(1), 8);
  else if (/^-?\d+$/.test(s)) n = Number(s);
  else return undefined;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `aa:bb:cc`, `aa-bb-cc`, `aa.bb.cc` or `aabbcc`. */
function parseBytes(s: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{1,2}([:.-][0-9a-fA-F]{1,2})*$/.test(s) && /[:.-]/.test(s)) return Buffer.from(s.split(/[:.-]/).map((h) => parseInt(h, 16)));
  if (/^([0-9a-fA-F]{2})+$/.test(s)) return Buffer.from(s, 'hex');
  return undefined;
}

function ipv4Number(s: string): number {
  const p = s.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

function ipv6Number(s: string): bigint {
  // expand `::` and an embedded IPv4 tail, then read eight 16-bit groups
  let text = s;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4Number(v4[1]);
    text = text.slice(0, v4.index) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

/** The message for a filter that cannot be used: the reason, the filter, and a caret under the offending position. */
export function filterErrorLines(text: string, err: FilterError, escape: (s: string) => string): string[] {
  const before = escape(text.slice(0, err.offset));
  return [`display filter: ${escape(err.message)}`, `    ${escape(text)}`, `    ${' '.repeat([...before].length)}^`];
}
