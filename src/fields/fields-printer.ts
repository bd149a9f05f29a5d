/**
 * `-T fields -e FIELD … -E …`: one line per frame, the values of each named field, as tshark prints them. Values of a
 * field that occurs more than once are joined by the aggregator (`,` by default, as tshark).
 */
import type { LineOutput } from '../report/output';
import { formatValue } from './format';
import type { FieldDef, FrameView } from './types';

export interface FieldsFormat {
  /** Between fields (default tab). */
  separator: string;
  /** Between occurrences of one field (default `,`). */
  aggregator: string;
  /** First line: the field names. */
  header: boolean;
  /** Quote each field: `d` double, `s` single, `n` none (default). */
  quote: 'd' | 's' | 'n';
  /** Which occurrences: `a` all (default), `f` first, `l` last. */
  occurrence: 'a' | 'f' | 'l';
}

export const DEFAULT_FIELDS_FORMAT: Readonly<FieldsFormat> = { separator: '\t', aggregator: ',', header: false, quote: 'n', occurrence: 'a' };

/** tshark's spelling of separators: `/t` tab, `/s` space, otherwise the character itself. */
function separatorText(s: string): string {
  if (s === '/t') return '\t';
  if (s === '/s') return ' ';
  return s;
}

/**
 * Applies one `-E name=value` to `fmt`. Returns an error text for an unknown name or value (tshark's option set:
 * separator, aggregator, header, quote, occurrence).
 */
export function applyFieldsOption(fmt: FieldsFormat, option: string): string | undefined {
  const eq = option.indexOf('=');
  if (eq < 0) return `-E ${option}: expected name=value`;
  const name = option.slice(0, eq);
  const value = option.slice(eq + 1);
  switch (name) {
    case 'separator':
      if (value === '') return '-E separator= needs a character';
      fmt.separator = separatorText(value);
      return undefined;
    case 'aggregator':
      if (value === '') return '-E aggregator= needs a character';
      fmt.aggregator = separatorText(value);
      return undefined;
    case 'header':
      if (value !== 'y' && value !== 'n') return '-E header= takes y or n';
      fmt.header = value === 'y';
      return undefined;
    case 'quote':
      if (value !== 'd' && value !== 's' && value !== 'n') return '-E quote= takes d, s or n';
      fmt.quote = value;
      return undefined;
    case 'occurrence':
      if (value !== 'a' && value !== 'f' && value !== 'l') return '-E occurrence= takes a, f or l';
      fmt.occurrence = value;
      return undefined;
    default:
      return `-E ${name}: unknown (separator, aggregator, header, quote, occurrence)`;
  }
}

export class FieldsPrinter {
  private headerDone = false;

  constructor(
    private readonly out: LineOutput,
    private readonly fields: readonly FieldDef[],
    private readonly format: FieldsFormat = DEFAULT_FIELDS_FORMAT,
  ) {}

  print(view: FrameView): void {
    const fmt = this.format;
    const q = fmt.quote === 'd' ? '"' : fmt.quote === 's' ? "'" : '';
    if (fmt.header && !this.headerDone) {
      this.headerDone = true;
      this.out.line(this.fields.map((f) => q + f.name + q).join(fmt.separator));
    }
    this.out.line(this.fields.map((f) => {
      let vals = f.values(view);
      if (vals.length > 1 && fmt.occurrence !== 'a') vals = fmt.occurrence === 'f' ? vals.slice(0, 1) : vals.slice(-1);
      // tshark leaves an absent field empty, also inside quotes
      return vals.length === 0 ? '' : q + vals.map((v) => formatValue(f, v)).join(fmt.aggregator) + q;
    }).join(fmt.separator));
  }
}
