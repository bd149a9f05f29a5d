/**
 * Expert info, in the manner of Wireshark: a malformed or suspicious field becomes a Problem
 * and decoding goes on. Dissectors return these; they never throw on packet content.
 *
 * Like Wireshark's `ei_register_info`, every code is declared once, in the catalog of the layer that emits it
 * (src/capture/problems.ts, src/decode/problems.ts, ...), with its severity, layer and meaning. Call sites emit by
 * key through the catalog's reporter, so a code that is not declared does not compile and a call site cannot choose
 * another severity. docs/problem-codes.md is generated from the catalogs (`npm run docs`).
 */
export type Severity = 'error' | 'warning' | 'note' | 'chat';

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { chat: 0, note: 1, warning: 2, error: 3 };

export interface Problem {
  /** Stable machine-readable code, e.g. `ipv4-bad-ihl`, `mikey-truncated`, declared in a layer's problem catalog. */
  code: string;
  severity: Severity;
  /** One line for a person. Any text taken from a packet must already be escaped (see escape.ts). */
  message: string;
  /** Which layer found it: `pcap`, `pcapng`, `eth`, `ipv4`, `tcp`, `http`, `mikey`, ... */
  layer: string;
  /**
   * Byte offset of the offending field. For link/network/transport layers it is counted from the start of the
   * frame; for application PDUs (an HTTP message, a MIKEY message) from the start of that PDU.
   */
  offset?: number;
  length?: number;
}

/** Capture-stage problems: about the capture file (standard error, file offsets) or about one frame. */
export type ProblemScope = 'file' | 'frame';

/** The declaration of one problem code. */
export interface ProblemSpec {
  readonly severity: Severity;
  /** The layer string its problems carry; a list when the code is shared by layers (IP fragments: ipv4 and ipv6). */
  readonly layer: string | readonly string[];
  /** What it means on the wire, for docs/problem-codes.md (one table cell: no line breaks, no `|`). */
  readonly meaning: string;
  /** Capture stage only: where the problem goes. */
  readonly scope?: ProblemScope;
}

export type ProblemCodes = Readonly<Record<string, ProblemSpec>>;

/** One table of docs/problem-codes.md: a heading, the text before the table, and the codes. */
export interface ProblemSection {
  readonly title: string;
  /** Markdown shown between the heading and the table (offsets, limits, where the problems are attached). */
  readonly intro: string;
  readonly codes: ProblemCodes;
}

/** Codes of a catalog whose problems always carry one layer. */
export type SingleLayerCode<C extends ProblemCodes> = { [K in keyof C & string]: C[K]['layer'] extends string ? K : never }[keyof C & string];
/** Codes shared by several layers: the call site names the layer. */
export type SharedCode<C extends ProblemCodes> = Exclude<keyof C & string, SingleLayerCode<C>>;
/** The layers a shared code may carry. */
export type LayerOf<S extends ProblemSpec> = S['layer'] extends readonly (infer L)[] ? L : S['layer'];

export interface Reporter<C extends ProblemCodes> {
  /** A problem of a declared code: severity and layer come from the catalog. */
  <K extends SingleLayerCode<C>>(code: K, message: string, offset?: number, length?: number): Problem;
  /** A problem of a code shared by layers, in one of its declared layers. */
  as<K extends SharedCode<C>>(layer: LayerOf<C[K]>, code: K, message: string, offset?: number, length?: number): Problem;
  readonly codes: C;
}

function make(code: string, spec: ProblemSpec, layer: string, message: string, offset?: number, length?: number): Problem {
  const p: Problem = { code, severity: spec.severity, message, layer };
  if (offset !== undefined) p.offset = offset;
  if (length !== undefined) p.length = length;
  return p;
}

/** The emitting function of a catalog; `codes` is the catalog itself (its literal types make the codes a union). */
export function reporter<const C extends ProblemCodes>(codes: C): Reporter<C> {
  const fn = (code: string, message: string, offset?: number, length?: number): Problem => {
    const spec = codes[code];
    return make(code, spec, spec.layer as string, message, offset, length);
  };
  const as = (layer: string, code: string, message: string, offset?: number, length?: number): Problem => make(code, codes[code], layer, message, offset, length);
  return Object.assign(fn, { as, codes }) as unknown as Reporter<C>;
}

/** The layers of a spec, as a list. */
export function layersOf(spec: ProblemSpec): readonly string[] {
  return typeof spec.layer === 'string' ? [spec.layer] : spec.layer;
}
