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

/** What `-Y` accepts and what of Wireshark's display-filter language it leaves out (and why). */
const FILTER_SYNTAX: readonly string[] = [
  '## Display filters (`-Y`)',
  '',
  '`-Y` works on `dissect`, `live` and `export` (frames written, plus the segments their HTTP messages came from), and on',
  '`analyze` and `dash` (frames given to the correlator). It selects frames after full dissection: reassembly, request/',
  'response matching and MIKEY key tracking see every frame, as with tshark\'s two-pass `-2 -Y`.',
  '',
  '- presence: `mikey`, `http.request`, `mikey.mbms.mtk_id`',
  '- comparisons: `==` `!=` `<` `<=` `>` `>=` (also `eq ne lt le gt ge`), `===` (all occurrences equal), `~=`/`!==` (any',
  '  occurrence differs); `!=` holds when every occurrence differs, as in Wireshark 4; a comparison on an absent field is false',
  '- `contains` (text and bytes), `matches` / `~` (regular expression, case-insensitive unless it starts with `(?-i)`)',
  '- `&&` `||` `!` (also `and or not`), parentheses',
  '- `in {a, b, c}`, ranges `{1..10}`, `not in {…}`; whitespace also separates set elements',
  '- literals: numbers (decimal, `0x` hex, `0` octal, `0b` binary), strings `"…"` with `\\` escapes, raw strings `r"…"`, one',
  '  unquoted word for a text field, bytes `aa:bb:cc` / `aa-bb` / `aabbcc`, IPv4/IPv6 addresses and subnets `127.82.0.0/16`,',
  '  MAC addresses; a field on the right compares occurrence against occurrence (`tcp.srcport > tcp.dstport`)',
  '',
  'An error is the reason, the filter and a caret under the place, and exit code 64.',
  '',
  'Left out of Wireshark\'s language, and why: slices (`eth.src[0:3]`): the registry gives values, not their bytes in',
  'the frame; the layer operator (`ip.src#2`): values are in layer order (outer header of a GTP-U tunnel first) and',
  '`-T fields -E occurrence=f|l` picks the outer or inner one, but `-Y` cannot name a layer yet; functions (`len()`, `upper()`, `count()`) and arithmetic (`tcp.len + 1`):',
  'rarely typed at a capture of key deliveries, and each would need its own typing rules; `xor`: rare (an error says how to',
  'write it); display macros (`${name}`), field references (`${tcp.port}`) and value-string names (`mikey.type == "PSK"`):',
  'need Wireshark\'s profile and value tables; `bitwise_and` / `&`: no field here needs a mask that a bool field does not',
  'already name; hostnames in address comparisons: keyscope never resolves names; protocols compared as bytes',
  '(`frame contains "GET"`, `udp contains 01:02`): the registry keeps decoded values, not the bytes of each layer (a',
  'protocol is tested for presence only, and says so); character constants (`\'a\'`): no keyscope field is a character.',
  'Quantifiers (`any tcp.port == 80`, `all …`) and a leading dot (`.tcp.port`) are Wireshark 4.2 syntax that tshark 4.0,',
  'the version keyscope is tested against, does not have either.',
  '',
  'Checked against src/filter/grammar.ts: each of these is a one-line syntax or type error with a caret, never a silent',
  'mismatch.',
  '',
  '## `-V` and `--json` read the same registry',
  '',
  'A field is declared once (name, type, description, `-V` label, `--json` path, extractor). The `-V` blocks of the frame,',
  'link, VLAN, IP, UDP, TCP and GTP-U headers are built from it: each line is a field\'s label and its `-T fields` value',
  '(relative TCP sequence numbers included). `--json` keeps its documented shape; each field names where its values',
  'are (`json` path, e.g. `tcp.seq_raw` → `tcp.seq`). test/fields/outputs.test.ts checks on every bundled capture and a',
  'generated GTP-U/IPv6/VLAN/fragment capture that the `-V` header blocks are exactly the registry\'s lines, that every',
  'field with a path has its values there, and that every `--json` leaf is a field\'s path or listed (with the reason)',
  'as JSON-only: summary columns (`src`, `srcPort`, …), names beside codes (`dataTypeName`), offsets and lengths of',
  'MIKEY payloads, key material, the MBMS XML body decode and the Digest parameters as sent.',
  '',
  'Not derived yet: the HTTP and MIKEY blocks of `-V` are their protocol trees (src/protocols/http/output.ts,',
  'src/protocols/mikey/output.ts), richer than the registry (every payload with offsets, SP parameters, key data); the',
  'registry\'s http/digest/mikey fields read the same decoded objects, and their `--json` values are held to the fields,',
  'but the tree lines are not generated from the labels.',
  '',
];

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
  out.push(...FILTER_SYNTAX);
  for (const l of FIELD_LAYERS) {
    out.push(`## ${l.name}: ${l.title}`, '', '| Field | Type | Origin | Description |', '| --- | --- | --- | --- |');
    for (const f of l.fields) out.push(`| \`${f.name}\` | ${f.type} | ${tsharkNote(f)} | ${escapeCell(f.description)} |`);
    out.push('');
  }
  return out.join('\n');
}
