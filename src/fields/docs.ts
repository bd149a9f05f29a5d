/** The field list as `keyscope fields` prints it and as docs/fields.md holds it (generated from the registry). */
import { FIELD_LAYERS } from './registry';
import type { FieldDef } from './types';

function tsharkNote(f: FieldDef): string {
  if (f.tshark === 'same') return 'tshark';
  if (f.tshark === 'presence') return 'tshark (presence)';
  return 'keyscope';
}

/** One line per field, tab separated: name, type, origin, description (like `tshark -G fields`, fewer columns). */
export function fieldLines(prefix?: string): string[] {
  const out: string[] = [];
  for (const l of FIELD_LAYERS) {
    for (const f of l.fields) {
      if (prefix !== undefined && f.name !== prefix && !f.name.startsWith(prefix + '.')) continue;
      out.push(`${f.name}\t${f.type}\t${tsharkNote(f)}\t${f.description}`);
    }
  }
  return out;
}

const escapeCell = (s: string) => s.replace(/\|/g, '\\|');

/** docs/fields.md. A test checks the committed file equals this text: regenerate with `keyscope fields --markdown`. */
export function fieldsMarkdown(): string {
  const out: string[] = [
    '# Fields',
    '',
    '<!-- Generated from src/fields/registry.ts by `keyscope fields --markdown > docs/fields.md`; test/fields/docs.test.ts checks it. -->',
    '',
    'Every field keyscope can name, for `-Y` display filters and `-T fields -e`. **tshark** means tshark has the field',
    'under the same name and meaning, and `-T fields` prints what tshark 4.0 prints (tested on every bundled capture);',
    '**tshark (presence)** means the protocol is tshark\'s too but only its presence is shared (tshark prints a tree',
    'label as its value); **keyscope** fields are keyscope\'s own. Types: `protocol` and `none` only exist or not;',
    '`uint` (decimal, `0x…` or octal literals), `bool` (1/0, true/false), `time` (seconds), `string` (quoted, or one',
    'word), `bytes` (`aa:bb:cc`, `aabbcc` or `"text"`), `ipv4`/`ipv6` (address or subnet `a.b.c.d/n`), `ether` (MAC).',
    '',
  ];
  for (const l of FIELD_LAYERS) {
    out.push(`## ${l.name}: ${l.title}`, '', '| Field | Type | Origin | Description |', '| --- | --- | --- | --- |');
    for (const f of l.fields) out.push(`| \`${f.name}\` | ${f.type} | ${tsharkNote(f)} | ${escapeCell(f.description)} |`);
    out.push('');
  }
  return out.join('\n');
}
