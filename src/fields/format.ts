/** Field values as text, as `tshark -T fields` prints them (so the two can be compared byte for byte). */
import { escapeText } from '../common/escape';
import type { FieldDef, FieldValue } from './types';

export function formatValue(def: FieldDef, v: FieldValue): string {
  switch (def.type) {
    case 'protocol':
      // tshark prints the protocol's tree label here; keyscope prints the filter name
      return def.name;
    case 'none':
      return '1';
    case 'bool':
      return v === true ? '1' : '0';
    case 'uint':
    case 'framenum':
      if (def.base === 'hex' && typeof v === 'number') return `0x${(v >>> 0).toString(16).padStart(def.hexDigits ?? 1, '0')}`;
      return String(v);
    case 'bytes':
      return Buffer.isBuffer(v) ? v.toString('hex') : String(v);
    case 'string':
      // text from packets never reaches a terminal raw
      return escapeText(String(v));
    default:
      return String(v);
  }
}

/** The text of one value in the `-V` tree: the field's display, else as `-T fields` prints it. */
export function displayValue(def: FieldDef, v: FieldValue): string {
  return def.display ? def.display(v) : formatValue(def, v);
}

/** One `-V` tree line of a field's value (without indentation): `Label: value`, `[Label: value]` or the value alone. */
export function treeLine(def: FieldDef, v: FieldValue): string {
  const text = displayValue(def, v);
  if (def.inline) return text;
  return def.generated ? `[${def.label ?? def.name}: ${text}]` : `${def.label ?? def.name}: ${text}`;
}
