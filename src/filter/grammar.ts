/**
 * Display-filter grammar (the part of Wireshark's syntax users type most), for peggy.
 *
 * Why peggy: it is a maintained PEG parser generator whose parse errors carry the exact offset and what was expected,
 * which is what the one-line caret message needs; the grammar stays readable as a grammar instead of combinator code.
 * The parser is generated once, the first time a filter is parsed (a few milliseconds), so the build stays plain `tsc`.
 *
 * The grammar only builds the tree. Whether a literal fits its field (an address for ip.src, a number for tcp.port) is
 * decided afterwards against the field registry, exactly as Wireshark resolves "unparsed" values by the field's type.
 */
export const FILTER_GRAMMAR = String.raw`
{{
  function loc(l) { return { start: l.start.offset, end: l.end.offset }; }
}}

Filter = _ e:Or _ { return e; }

Or = first:And rest:(_ OrOp _ And)* {
  return rest.reduce((a, r) => ({ kind: 'or', left: a, right: r[3], at: a.at }), first);
}
OrOp = "||" / "or"i !IdChar / "xor"i !IdChar { error('xor is not supported; write (a && !b) || (!a && b)'); }

And = first:Not rest:(_ AndOp _ Not)* {
  return rest.reduce((a, r) => ({ kind: 'and', left: a, right: r[3], at: a.at }), first);
}
AndOp = "&&" / "and"i !IdChar

Not = ("!" !"=" / "not"i !IdChar) _ e:Not { return { kind: 'not', expr: e, at: loc(location()) }; }
    / Primary

Primary = "(" _ e:Or _ ")" { return e; }
        / Relation

Relation = left:Operand _ op:CmpOp _ right:Operand {
             return { kind: 'cmp', op: op, left: left, right: right, at: loc(location()) };
           }
         / left:Operand _ ("in"i !IdChar) _ set:Set {
             return { kind: 'in', left: left, set: set, at: loc(location()) };
           }
         / left:Operand _ ("not"i !IdChar) _ ("in"i !IdChar) _ set:Set {
             return { kind: 'not', expr: { kind: 'in', left: left, set: set, at: loc(location()) }, at: loc(location()) };
           }
         / f:Operand { return { kind: 'exists', operand: f, at: f.at }; }

CmpOp "a comparison operator"
  = "===" { return 'all_eq'; } / "==" { return 'eq'; } / "!==" { return 'any_ne'; } / "~=" { return 'any_ne'; } / "!=" { return 'ne'; }
      / ">=" { return 'ge'; } / "<=" { return 'le'; } / ">" { return 'gt'; } / "<" { return 'lt'; }
      / "~" { return 'matches'; }
      / w:$("eq"i / "ne"i / "all_eq"i / "any_eq"i / "all_ne"i / "any_ne"i / "gt"i / "ge"i / "lt"i / "le"i / "contains"i / "matches"i) !IdChar {
          const x = w.toLowerCase();
          return x === 'any_eq' ? 'eq' : x === 'all_ne' ? 'ne' : x;
        }

Set = "{" _ items:SetItems? _ "}" { return items ?? []; }
SetItems = first:SetItem rest:(_ ","? _ SetItem)* { return [first, ...rest.map((r) => r[3])]; }
SetItem = lo:Operand _ ".." _ hi:Operand { return { range: [lo, hi] }; }
        / v:Operand { return { value: v }; }

Operand "a field or a value"
  = s:String { return s; }
        / w:Word { return w; }

String = '"' chars:StrChar* '"' { return { kind: 'string', value: chars.join(''), at: loc(location()) }; }
       / "r\"" chars:$[^"]* '"' { return { kind: 'string', value: chars, raw: true, at: loc(location()) }; }
StrChar = [^"\\]
        / "\\" c:[\\"'] { return c; }
        / "\\n" { return '\n'; } / "\\t" { return '\t'; } / "\\r" { return '\r'; } / "\\0" { return '\0'; }
        / "\\x" h:$([0-9a-fA-F] [0-9a-fA-F]) { return String.fromCharCode(parseInt(h, 16)); }
        / "\\" c:. { return '\\' + c; }

// A field name, number, address (IPv4, IPv6, CIDR), MAC or byte string: resolved against the field type later.
// A dot is part of a word unless it starts ".." (a range in a set).
Word = w:$(WordChar ("." !"." / WordChar)*) { return { kind: 'word', value: w, at: loc(location()) }; }
WordChar = [a-zA-Z0-9_:/\-]
IdChar = [a-zA-Z0-9_.]

_ "whitespace" = [ \t\r\n]*
`;
