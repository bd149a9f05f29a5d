/**
 * Building blocks of the registry's declarations (src/fields/registry.ts and the protocol files beside it): a plain
 * field, and a node field, read from one node of a protocol tree (an HTTP message, a MIKEY payload, a key sub-payload).
 * A node field's values in a frame are those of every node of its kind, in tree order, and the `-V` tree prints a
 * node's lines from the same declaration (`lines`), so the tree shows exactly the registry's values under its labels.
 */
import { escapeBytes } from '../common/escape';
import { treeLine } from './format';
import type { FieldDef, FieldType, FieldValue, FrameView, TsharkRelation } from './types';

export type Extractor = (v: FrameView) => FieldValue[];
export type FieldMore = Partial<Pick<FieldDef, 'base' | 'hexDigits' | 'tshark' | 'label' | 'json' | 'display' | 'generated' | 'inline'>>;

export function field(name: string, type: FieldType, description: string, values: Extractor, more: FieldMore = {}): FieldDef {
  return { name, type, description, values, ...more };
}
export const same: { tshark: TsharkRelation } = { tshark: 'same' };
export const hex = (digits: number): FieldMore => ({ base: 'hex', hexDigits: digits, tshark: 'same' });
export const one = <T extends FieldValue>(x: T | undefined | null): FieldValue[] => (x === undefined || x === null ? [] : [x]);

/** A field of a node kind: `at(n)` gives the values one node holds. */
export interface NodeField<N> extends FieldDef {
  at(n: N): FieldValue[];
}

/**
 * A field read from one node: `of` gives the node's value(s), `nodes` every node of the kind in the frame, in tree order.
 */
export function nodeField<N>(nodes: (v: FrameView) => N[], name: string, type: FieldType, description: string,
  of: (n: N) => FieldValue | readonly FieldValue[] | undefined | null, more: FieldMore = {}): NodeField<N> {
  const at = (n: N): FieldValue[] => {
    const x = of(n);
    return x === undefined || x === null ? [] : Array.isArray(x) ? [...(x as readonly FieldValue[])] : [x as FieldValue];
  };
  return { name, type, description, values: (v) => nodes(v).flatMap(at), at, ...more };
}

/** The tree lines of the given fields for node `n`, in the order given, each indented by `pad`. */
export function lines<N>(pad: string, n: N, ...fields: NodeField<N>[]): string[] {
  return fields.flatMap((f) => f.at(n).map((x) => pad + treeLine(f, x)));
}

/** The tree line of one value of a field, indented by `pad`. */
export function line(pad: string, f: FieldDef, x: FieldValue): string {
  return pad + treeLine(f, x);
}

/** Tree display of a code with its name (`HMAC-SHA-1-160 (1)`), as tshark shows value strings. */
export const named = (table: Readonly<Record<number, string>>, unknown = (n: number) => `Unknown (${n})`) => (x: FieldValue): string =>
  typeof x === 'number' ? `${table[x] ?? unknown(x)} (${x})` : String(x);

/** Tree display of bytes: hex, cut after `max` bytes with `…` (the whole value is in `-T fields`); text (a mask) as it is. */
export const shortHex = (max = 64) => (x: FieldValue): string => {
  if (!Buffer.isBuffer(x)) return String(x);
  const h = x.subarray(0, max).toString('hex');
  return x.length > max ? `${h}…` : h;
};

/** Tree display of bytes that are text: escaped, cut after `max` bytes with `…`. */
export const textBytes = (max: number) => (x: FieldValue): string =>
  Buffer.isBuffer(x) ? `${escapeBytes(x.subarray(0, max), max)}${x.length > max ? '…' : ''}` : String(x);
