/**
 * The XML bodies of MBMS key management over HTTP (TS 33.246 Annex G, schemas in TS 26.346 §11.4–11.8):
 * registration, deregistration, their response, MSK request and MSK response.
 * Element local names are matched case-insensitively and namespaces only noted, because lab equipment deviates;
 * unknown elements are kept. The XML library is configured so that no entity is expanded and no DTD is read.
 */
// type only: the library is loaded by the first body the fast path declines (most runs never need it)
import type * as FastXmlParser from 'fast-xml-parser';
import type { Problem } from '../../common/problem';
import { mbmsProblem } from './problems';
import { escapeText } from '../../common/escape';
import { isJsSpace as isTrimmed, sameLowerAt } from '../../common/ascii';

export type MbmsBodyKind = 'register' | 'deregister' | 'register-response' | 'msk-request' | 'msk-response' | 'unknown';

export const MBMS_CONTENT_TYPES: Readonly<Record<string, MbmsBodyKind>> = {
  'application/mbms-register+xml': 'register',
  'application/mbms-deregister+xml': 'deregister',
  'application/mbms-register-response+xml': 'register-response',
  'application/mbms-msk+xml': 'msk-request',
  'application/mbms-msk-response+xml': 'msk-response',
};

/** Root element (lower-case local name) → kind and the namespace TS 26.346 gives it. */
const ROOTS: Readonly<Record<string, { kind: MbmsBodyKind; namespace: string }>> = {
  mbmssecurityregister: { kind: 'register', namespace: 'urn:3GPP:metadata:2005:MBMS:securityRegistration' },
  mbmssecurityderegister: { kind: 'deregister', namespace: 'urn:3GPP:metadata:2005:MBMS:securityDeregistration' },
  mbmssecurityregisterresponse: { kind: 'register-response', namespace: 'urn:3GPP:metadata:2005:MBMS:securityRegistrationResponse' },
  mbmsmskrequest: { kind: 'msk-request', namespace: 'urn:3GPP:metadata:2005:MBMS:mskRequest' },
  mbmsmskresponse: { kind: 'msk-response', namespace: 'urn:3GPP:metadata:2005:MBMS:mskResponse' },
};

/** ROOTS' entries, for the scan's in-place comparison. */
const ROOT_LIST: readonly (readonly [string, { kind: MbmsBodyKind; namespace: string }])[] = Object.entries(ROOTS);

/** The root element's kind and namespace (own names only: `<constructor/>` is not one). */
function rootOf(localName: string): { kind: MbmsBodyKind; namespace: string } | undefined {
  const l = localName.toLowerCase();
  return Object.prototype.hasOwnProperty.call(ROOTS, l) ? ROOTS[l] : undefined;
}

/** MBMS_CONTENT_TYPES as a Map: the lower-case media type the HTTP parser gives is found without a lower-cased copy. */
const CONTENT_TYPE_KINDS: ReadonlyMap<string, MbmsBodyKind> = new Map(Object.entries(MBMS_CONTENT_TYPES));

function contentTypeKind(contentType: string): MbmsBodyKind | undefined {
  return CONTENT_TYPE_KINDS.get(contentType) ?? CONTENT_TYPE_KINDS.get(contentType.toLowerCase());
}

export function isMbmsContentType(contentType: string): boolean {
  return contentTypeKind(contentType) !== undefined;
}

/** isMbmsContentType for a media type already in lower case (the HTTP parser's): a lookup, no lower-cased copy. */
export function isMbmsMediaType(lowerType: string): boolean {
  return CONTENT_TYPE_KINDS.has(lowerType);
}

/** A generic element, kept for display and for elements the schemas do not name. */
export interface XmlElement {
  /** Name as sent, with any prefix. */
  name: string;
  localName: string;
  namespace?: string;
  attributes: Record<string, string>;
  /** Text content (trimmed, the five predefined entities and character references decoded). */
  text?: string;
  children: XmlElement[];
}

/** Key Domain ID + MSK ID as in TS 33.246 §6.3.2.1. */
export interface MbmsKeyRef {
  /** base64 text as sent. */
  keyDomainIdBase64?: string;
  mskIdBase64?: string;
  /** Decoded bytes, hex. */
  keyDomainId?: string;
  mskId?: string;
  /** MSK ID bytes 0–1 and 2–3. */
  keyGroup?: number;
  keyNumber?: number;
}

export interface MbmsResponseEntry {
  serviceId?: string;
  msk?: MbmsKeyRef;
  /** ResponseCode text, e.g. `200 OK`. */
  responseCode?: string;
  /** Its leading HTTP status number. */
  status?: number;
}

export interface MbmsBody {
  kind: MbmsBodyKind;
  /** Root element name as sent. */
  root?: string;
  namespace?: string;
  serviceIds: string[];
  msks: MbmsKeyRef[];
  responses: MbmsResponseEntry[];
  /** Paths of elements the schema does not name (kept in `tree`). */
  unknownElements: string[];
  /**
   * The whole document as a tree, for display. Built when first read (bodies read by the fast scan keep their bytes
   * and build it from them); not enumerable, so JSON output and spreads leave it out.
   */
  tree?: XmlElement;
}

/**
 * An MbmsBody whose tree is built only when read (issue #14: the tree was ≈ 2 KB of garbage per body that nothing
 * but a display reads). Its own enumerable properties are the interface's, in the order a literal gave them.
 */
class LazyTreeBody implements MbmsBody {
  kind: MbmsBodyKind = 'unknown';
  declare root?: string;
  declare namespace?: string;
  serviceIds: string[] = [];
  msks: MbmsKeyRef[] = [];
  responses: MbmsResponseEntry[] = [];
  unknownElements: string[] = [];
  #tree: XmlElement | undefined = undefined;
  /** The document's bytes and limits while the tree is not built (the fast scan read them: simpleTree will too). */
  #bytes: Uint8Array | undefined = undefined;
  #lim: Readonly<MbmsParseLimits> = DEFAULT_MBMS_LIMITS;

  get tree(): XmlElement | undefined {
    if (this.#bytes !== undefined) {
      this.#tree = simpleTree(documentText(this.#bytes), this.#lim)?.[0];
      this.#bytes = undefined;
    }
    return this.#tree;
  }

  set tree(t: XmlElement | undefined) {
    this.#tree = t;
    this.#bytes = undefined;
  }

  /** The tree is to be built from these bytes when read. */
  deferTree(bytes: Uint8Array, lim: Readonly<MbmsParseLimits>): void {
    this.#bytes = bytes;
    this.#lim = lim;
  }
}

/** The body's text as parsed: UTF-8, without a byte-order mark. */
function documentText(bytes: Uint8Array): string {
  // a Buffer (every body the HTTP parser hands over) is decoded as it is, without a view made for the call
  const text = (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export interface MbmsParseResult {
  body: MbmsBody;
  problems: Problem[];
}

export interface MbmsParseLimits {
  maxBytes: number;
  maxDepth: number;
  maxElements: number;
}

export const DEFAULT_MBMS_LIMITS: Readonly<MbmsParseLimits> = { maxBytes: 256 * 1024, maxDepth: 32, maxElements: 10_000 };

type OrderedNode = Record<string, unknown>;

function decodeEntities(s: string): string {
  // only the XML predefined entities and numeric references: nothing can grow or refer outside
  return s.replace(/&(lt|gt|amp|apos|quot|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});/g, (m, e: string) => {
    switch (e) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'apos':
        return "'";
      case 'quot':
        return '"';
    }
    const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
  });
}

function localOf(name: string): string {
  const i = name.indexOf(':');
  return i >= 0 ? name.slice(i + 1) : name;
}

function prefixOf(name: string): string {
  const i = name.indexOf(':');
  return i >= 0 ? name.slice(0, i) : '';
}

interface ConvertState {
  elements: number;
  limits: MbmsParseLimits;
  problems: Problem[];
}

function convert(nodes: unknown, scope: Map<string, string>, st: ConvertState, depth: number): XmlElement[] {
  const out: XmlElement[] = [];
  if (!Array.isArray(nodes)) return out;
  for (const node of nodes as OrderedNode[]) {
    if (node === null || typeof node !== 'object') continue;
    for (const key of Object.keys(node)) {
      if (key === ':@' || key === '#text' || key.startsWith('?') || key.startsWith('!')) continue;
      if (++st.elements > st.limits.maxElements) return out;
      const attrsRaw = (node[':@'] ?? {}) as Record<string, unknown>;
      const attributes: Record<string, string> = {};
      let local = scope;
      for (const [k, v] of Object.entries(attrsRaw)) {
        const value = decodeEntities(String(v));
        attributes[k] = value;
        if (k === 'xmlns' || k.startsWith('xmlns:')) {
          if (local === scope) local = new Map(scope);
          local.set(k === 'xmlns' ? '' : k.slice(6), value);
        }
      }
      const el: XmlElement = { name: key, localName: localOf(key), attributes, children: [] };
      const ns = local.get(prefixOf(key));
      if (ns !== undefined) el.namespace = ns;
      const inner = node[key];
      if (Array.isArray(inner)) {
        const texts: string[] = [];
        for (const child of inner as OrderedNode[]) {
          if (child && typeof child === 'object' && '#text' in child) texts.push(String(child['#text']));
        }
        if (texts.length > 0) el.text = decodeEntities(texts.join('').trim());
        if (depth < st.limits.maxDepth) el.children = convert(inner, local, st, depth + 1);
      }
      out.push(el);
    }
  }
  return out;
}

function child(el: XmlElement, local: string): XmlElement | undefined {
  const l = local.toLowerCase();
  // no closure, and no lower-case copy of a name of another length or sent exactly as asked
  for (const c of el.children) {
    const n = c.localName;
    if (n.length === l.length && (n === local || n.toLowerCase() === l)) return c;
  }
  return undefined;
}

function decodeBase64Field(text: string | undefined, what: string, expectLength: number, problems: Problem[]): Buffer | undefined {
  if (text === undefined) {
    problems.push(mbmsProblem('mbms-xml-missing', `${what} missing`));
    return undefined;
  }
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    problems.push(mbmsProblem('mbms-xml-bad-base64', `${what} is not base64: ${escapeText(text, 60)}`));
    return undefined;
  }
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length !== expectLength)
    problems.push(mbmsProblem('mbms-xml-bad-length', `${what} is ${bytes.length} bytes; ${expectLength} expected`));
  return bytes;
}

function keyRef(el: XmlElement, problems: Problem[]): MbmsKeyRef {
  return keyRefOf(child(el, 'keyDomainID')?.text, child(el, 'MSKID')?.text, problems);
}

/** An MSK reference from the texts of its keyDomainID and MSKID children (undefined: no such child, or no text). */
function keyRefOf(kdText: string | undefined, miText: string | undefined, problems: Problem[]): MbmsKeyRef {
  const ref: MbmsKeyRef = {};
  if (kdText !== undefined) ref.keyDomainIdBase64 = kdText;
  if (miText !== undefined) ref.mskIdBase64 = miText;
  const kdb = decodeBase64Field(kdText, 'keyDomainID', 3, problems);
  if (kdb) ref.keyDomainId = kdb.toString('hex');
  const mib = decodeBase64Field(miText, 'MSKID', 4, problems);
  if (mib) {
    ref.mskId = mib.toString('hex');
    if (mib.length >= 4) {
      ref.keyGroup = mib.readUInt16BE(0);
      ref.keyNumber = mib.readUInt16BE(2);
      if (ref.keyGroup === 0) problems.push(mbmsProblem('mbms-key-group-reserved', 'MSK ID Key Group 0x0000 is reserved (TS 33.246 §6.3.2.1)'));
    }
  }
  return ref;
}

function responseEntry(el: XmlElement, kind: MbmsBodyKind, problems: Problem[]): MbmsResponseEntry {
  if (kind === 'register-response') return responseEntryOf(kind, child(el, 'serviceID')?.text, undefined, child(el, 'ResponseCode')?.text, problems);
  const msk = child(el, 'MSK');
  // the MSK's problems come before the ResponseCode's, as they are read
  return responseEntryOf(kind, undefined, msk ? keyRef(msk, problems) : undefined, child(el, 'ResponseCode')?.text, problems);
}

/**
 * A response entry from what its children give: the serviceID text (register-response), the MSK reference already
 * read (msk-response; undefined: no MSK child) and the ResponseCode text.
 */
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * The HTTP status a ResponseCode starts with, as /^\s*(\d{3})\b/ reads it. A text starting with a digit (every
 * BM-SC's) is read without the match (its array and capture per response); others go through the expression.
 */
export function leadingStatus(text: string): number | undefined {
  const c0 = text.charCodeAt(0);
  if (isDigit(c0)) {
    const c1 = text.charCodeAt(1);
    const c2 = text.charCodeAt(2);
    if (!isDigit(c1) || !isDigit(c2)) return undefined;
    // \b after the third digit: the next character, if any, is not a word character
    const c3 = text.charCodeAt(3);
    if (isDigit(c3) || c3 === 0x5f || (c3 >= 0x41 && c3 <= 0x5a) || (c3 >= 0x61 && c3 <= 0x7a)) return undefined;
    return (c0 - 0x30) * 100 + (c1 - 0x30) * 10 + (c2 - 0x30);
  }
  const m = /^\s*(\d{3})\b/.exec(text);
  return m ? parseInt(m[1], 10) : undefined;
}

function responseEntryOf(kind: MbmsBodyKind, sidText: string | undefined, msk: MbmsKeyRef | undefined, rcText: string | undefined, problems: Problem[]): MbmsResponseEntry {
  const entry: MbmsResponseEntry = {};
  if (kind === 'register-response') {
    if (sidText !== undefined) entry.serviceId = sidText;
    else problems.push(mbmsProblem('mbms-xml-missing', 'Response without serviceID'));
  } else {
    if (msk) entry.msk = msk;
    else problems.push(mbmsProblem('mbms-xml-missing', 'Response without MSK'));
  }
  if (rcText !== undefined) {
    entry.responseCode = rcText;
    const status = leadingStatus(rcText);
    if (status !== undefined) entry.status = status;
    else problems.push(mbmsProblem('mbms-bad-response-code', `ResponseCode without an HTTP status: ${escapeText(rcText, 60)}`));
  } else problems.push(mbmsProblem('mbms-xml-missing', 'Response without ResponseCode'));
  return entry;
}

const KNOWN_CHILDREN: Readonly<Record<MbmsBodyKind, readonly string[]>> = {
  register: ['serviceid'],
  deregister: ['serviceid'],
  'register-response': ['response'],
  'msk-request': ['msk'],
  'msk-response': ['response'],
  unknown: [],
};

/** A root element no kind has: the problem, and the root listed as unknown (both readers). */
function unknownRoot(name: string, contentType: string, body: MbmsBody, problems: Problem[]): void {
  problems.push(mbmsProblem('mbms-xml-unknown-root', `unknown root element ${escapeText(name, 80)} for ${escapeText(contentType)}`));
  body.unknownElements.push(name);
}

/** A known root's verdict (both readers): its namespace against TS 26.346's, its kind against the Content-Type's. */
function rootProblems(known: { kind: MbmsBodyKind; namespace: string }, namespace: string | undefined, localName: string, contentType: string, expected: MbmsBodyKind, problems: Problem[]): void {
  if (namespace !== known.namespace)
    problems.push(mbmsProblem('mbms-xml-namespace', `root namespace ${escapeText(namespace ?? '(none)', 100)}; TS 26.346 gives ${known.namespace}`));
  if (expected !== known.kind)
    problems.push(mbmsProblem('mbms-xml-root-mismatch', `Content-Type ${escapeText(contentType)} carries ${escapeText(localName)}`));
}

/** The schema's at-least-one entry in the list the root's kind takes (both readers). */
function emptyListProblem(kind: MbmsBodyKind, body: MbmsBody, localName: string, problems: Problem[]): void {
  const count = kind === 'msk-request' ? body.msks.length : kind.endsWith('response') ? body.responses.length : body.serviceIds.length;
  if (count === 0) problems.push(mbmsProblem('mbms-xml-empty-list', `${localName} lists nothing (the schema requires at least one entry)`));
}


/** XML white space (the four characters the fast path reads as such; anything else unusual makes it decline). */
function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
/**
 * Where the XML declaration ends (0 when there is none): what `/^\s*<\?xml\s[^<>?]*\?>/` matches, read without a
 * match array per document (`\s` is the set isTrimmed reads).
 */
export function xmlDeclEnd(text: string): number {
  const n = text.length;
  let k = 0;
  while (k < n && isTrimmed(text.charCodeAt(k))) k++;
  if (!text.startsWith('<?xml', k)) return 0;
  k += 5;
  if (k >= n || !isTrimmed(text.charCodeAt(k))) return 0;
  for (k++; k < n; k++) {
    const c = text.charCodeAt(k);
    if (c === 0x3c || c === 0x3e) return 0;
    if (c === 0x3f) return text.charCodeAt(k + 1) === 0x3e ? k + 2 : 0;
  }
  return 0;
}
/** [A-Za-z_] */
function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}
/** [A-Za-z0-9_.:-] */
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x3a) || c === 0x2e || c === 0x2d;
}
/** End of the name starting at i (i itself when no name starts there). */
function nameEnd(text: string, i: number): number {
  if (!isNameStart(text.charCodeAt(i))) return i;
  let j = i + 1;
  while (j < text.length && isNameChar(text.charCodeAt(j))) j++;
  return j;
}

/** Past the `>` that ends a tag from position i, white space before it allowed; -1 when something else comes. */
function gtAfter(text: string, i: number, n: number): number {
  while (i < n && isWs(text.charCodeAt(i))) i++;
  return text.charCodeAt(i) === 0x3e ? i + 1 : -1;
}

/**
 * Past the end of a start tag whose attributes ended at i: white space, an optional `/`, then `>`; -1 otherwise. A
 * self-closing tag is the one whose `/` sits just before the returned position's `>`.
 */
function startTagEnd(text: string, i: number, n: number): number {
  while (i < n && isWs(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) === 0x2f) return text.charCodeAt(i + 1) === 0x3e ? i + 2 : -1;
  return text.charCodeAt(i) === 0x3e ? i + 1 : -1;
}

/** Where attributeAt found its attribute: name start, name end, opening quote, closing quote (reused, not kept). */
const attrSpan = new Int32Array(4);

/**
 * An attribute from position i of a start tag, as both fast readers (simpleTree and the scan) take one: white space,
 * a name, `=` (white space around it allowed), a quoted value without `<` or `&`; its positions go to attrSpan. false
 * where there is none (the attributes end there, or the tag is not one the fast readers take: the caller decides which).
 */
function attributeAt(text: string, i: number, n: number): boolean {
  let j = i;
  while (j < n && isWs(text.charCodeAt(j))) j++;
  if (j === i) return false;
  const ae = nameEnd(text, j);
  if (ae === j) return false;
  let q = ae;
  while (q < n && isWs(text.charCodeAt(q))) q++;
  if (text.charCodeAt(q) !== 0x3d /* = */) return false;
  q++;
  while (q < n && isWs(text.charCodeAt(q))) q++;
  const quote = text.charCodeAt(q);
  if (quote !== 0x22 && quote !== 0x27) return false;
  const close = text.indexOf(quote === 0x22 ? '"' : "'", q + 1);
  if (close < 0) return false;
  for (let x = q + 1; x < close; x++) {
    const v = text.charCodeAt(x);
    if (v === 0x3c || v === 0x26) return false;
  }
  attrSpan[0] = j;
  attrSpan[1] = ae;
  attrSpan[2] = q;
  attrSpan[3] = close;
  return true;
}

/** Where textAt found its text: start and end of the trimmed piece (reused, not kept). */
const textSpan = new Int32Array(2);

/**
 * The text between two tags, text[i, end), as both fast readers take it: nothing when it is only XML white space
 * (indentation, the common case), else trimmed as String.prototype.trim does, its positions to textSpan. false when
 * nothing is left.
 */
function textAt(text: string, i: number, end: number): boolean {
  let k = i;
  while (k < end && isWs(text.charCodeAt(k))) k++;
  if (k >= end) return false;
  let e = end;
  while (e > k && isTrimmed(text.charCodeAt(e - 1))) e--;
  while (k < e && isTrimmed(text.charCodeAt(k))) k++;
  textSpan[0] = k;
  textSpan[1] = e;
  return k < e;
}

/**
 * Past the close tag whose name starts at i (just after `</`), when it names the open element whose name is
 * text[openS, openS + openLen) (white space before its `>` allowed); -1 otherwise.
 */
function closeTagEnd(text: string, i: number, n: number, openS: number, openLen: number): number {
  const ne = nameEnd(text, i);
  if (ne === i || ne - i !== openLen || !sameRange(text, openS, i, openLen)) return -1;
  return gtAfter(text, ne, n);
}

/**
 * End of the name of the start tag at i; -1 when no name starts there, or the element (the `count`th, at `depth`)
 * is past the limits: both fast readers decline then.
 */
function openNameEnd(text: string, i: number, count: number, depth: number, lim: MbmsParseLimits): number {
  const ne = nameEnd(text, i);
  return ne === i || count > lim.maxElements || depth >= lim.maxDepth ? -1 : ne;
}


/** Namespace bindings in scope, innermost first (a chain, not a Map per document: Maps were a tenth of its garbage). */
interface NsBinding {
  prefix: string;
  uri: string;
  parent: NsBinding | null;
}

function lookupNs(scope: NsBinding | null, prefix: string): string | undefined {
  for (let b = scope; b !== null; b = b.parent) if (b.prefix === prefix) return b.uri;
  return undefined;
}

interface Open {
  el: XmlElement;
  /** Where the element's name starts in the text (its close tag is compared there). */
  nameS: number;
  scope: NsBinding | null;
  /** The first text piece (most elements have one, or none). */
  text: string | null;
  /** The further pieces, made on the second one. */
  more: string[] | null;
}

/**
 * The fast path (the issue #14 profile had fast-xml-parser at 14 % of `analyze`): a one-pass reader for the plain
 * documents MBMS equipment sends — an optional XML declaration, elements with quoted attributes, text without
 * entities, nothing else. It gives the tree the library path gives (same names, namespaces, attributes, trimmed text,
 * limits); anything else — entities, comments, CDATA, processing instructions, DOCTYPE, a mismatched tag, a limit
 * reached, white space other than XML's four characters, any doubt — returns undefined and the document goes through
 * the validating library path, so every problem and message stays the library's. Hand-written because no streaming
 * XML library both validates like XMLValidator and is faster than fast-xml-parser on 300-byte bodies; it scans
 * character codes (no regular expression per name or attribute: their match arrays were most of its garbage).
 * test/protocols/mbms/xml.test.ts checks both paths give the same tree.
 */
export function simpleTree(text: string, lim: MbmsParseLimits): XmlElement[] | undefined {
  let i = xmlDeclEnd(text);
  const n = text.length;
  const stack: Open[] = [];
  // one root at most (a second one declines): no array until the end
  let root: XmlElement | undefined;
  let elements = 0;
  let scope: NsBinding | null = null;
  while (i < n) {
    const lt = text.indexOf('<', i);
    const end = lt < 0 ? n : lt;
    // white space between tags (indentation) is the common case: nothing to keep, no string made
    if (end > i && textAt(text, i, end)) {
      const k = textSpan[0];
      const e = textSpan[1];
      // an entity or a stray `]]>` in the text: the library path decides (none sits in the white space trimmed off)
      for (let x = k; x < e; x++) {
        const v = text.charCodeAt(x);
        if (v === 0x26 || (v === 0x5d && x + 2 < e && text.charCodeAt(x + 1) === 0x5d && text.charCodeAt(x + 2) === 0x3e)) return undefined;
      }
      // one slice, not the raw text and then its trimmed copy
      const t = text.slice(k, e);
      if (stack.length === 0) return undefined;
      const top = stack[stack.length - 1];
      if (top.text === null) top.text = t;
      else if (top.more === null) top.more = [t];
      else top.more.push(t);
    }
    if (lt < 0) break;
    i = lt + 1;
    const c = text.charCodeAt(i);
    if (c === 0x2f /* / */) {
      const top = stack.pop();
      if (!top) return undefined;
      i = closeTagEnd(text, i + 1, n, top.nameS, top.el.name.length);
      if (i < 0) return undefined;
      if (top.text !== null) top.el.text = top.more === null ? top.text : (top.text + top.more.join('')).trim();
      scope = stack.length > 0 ? stack[stack.length - 1].scope : null;
      continue;
    }
    const ne = openNameEnd(text, i, ++elements, stack.length, lim);
    if (ne < 0) return undefined;
    const nameS = i;
    const name = text.slice(i, ne);
    i = ne;
    const attributes: Record<string, string> = {};
    let local = scope;
    // attributes: white space, a name, `=` (white space around it allowed), a quoted value without < or &
    for (;;) {
      if (!attributeAt(text, i, n)) break;
      const j = attrSpan[0];
      const ae = attrSpan[1];
      const q = attrSpan[2];
      const close = attrSpan[3];
      const k = text.slice(j, ae);
      if (Object.prototype.hasOwnProperty.call(attributes, k)) return undefined;
      const value = text.slice(q + 1, close);
      attributes[k] = value;
      if (k === 'xmlns' || k.startsWith('xmlns:')) local = { prefix: k === 'xmlns' ? '' : k.slice(6), uri: value, parent: local };
      i = close + 1;
    }
    const after = startTagEnd(text, i, n);
    if (after < 0) return undefined;
    const selfClosing = text.charCodeAt(after - 2) === 0x2f;
    i = after;
    const el: XmlElement = { name, localName: localOf(name), attributes, children: [] };
    const ns = lookupNs(local, prefixOf(name));
    if (ns !== undefined) el.namespace = ns;
    if (stack.length > 0) stack[stack.length - 1].el.children.push(el);
    else {
      if (root !== undefined) return undefined;
      root = el;
    }
    if (!selfClosing) {
      stack.push({ el, nameS, scope: local, text: null, more: null });
      scope = local;
    }
  }
  if (stack.length > 0 || root === undefined) return undefined;
  return [root];
}

/**
 * The fast scan's records, one document at a time, reused (issue #14: decode in place, materialize only what is
 * printed): per element, indices into the text and links to its parent, first child and next sibling. Grown on
 * demand, never past maxElements.
 */
class ScanRecords {
  size = 0;
  nameS: Int32Array = new Int32Array(0);
  nameE: Int32Array = new Int32Array(0);
  /** Start of the local name (after the prefix's colon). */
  localS: Int32Array = new Int32Array(0);
  /** The element's text (one trimmed piece), -1 when none. */
  textS: Int32Array = new Int32Array(0);
  textE: Int32Array = new Int32Array(0);
  parent: Int32Array = new Int32Array(0);
  firstChild: Int32Array = new Int32Array(0);
  lastChild: Int32Array = new Int32Array(0);
  nextSibling: Int32Array = new Int32Array(0);
  /** Attribute name ranges of the element being read (duplicate check). */
  attrS: number[] = [];
  attrE: number[] = [];
  /** The root's namespace value, -1 when none is bound to its prefix. */
  nsS = -1;
  nsE = -1;

  ensure(n: number): void {
    if (n <= this.size) return;
    const size = Math.max(n, this.size * 2, 32);
    const grow = (a: Int32Array): Int32Array => {
      const b = new Int32Array(size);
      b.set(a);
      return b;
    };
    this.nameS = grow(this.nameS);
    this.nameE = grow(this.nameE);
    this.localS = grow(this.localS);
    this.textS = grow(this.textS);
    this.textE = grow(this.textE);
    this.parent = grow(this.parent);
    this.firstChild = grow(this.firstChild);
    this.lastChild = grow(this.lastChild);
    this.nextSibling = grow(this.nextSibling);
    this.size = size;
  }
}

const scanRecords = new ScanRecords();

/** text[a, a+len) === text[b, b+len) */
function sameRange(text: string, a: number, b: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (text.charCodeAt(a + k) !== text.charCodeAt(b + k)) return false;
  return true;
}

/** text[s, e) equals `lower` (lower-case ASCII) ignoring ASCII case: what `name.toLowerCase() === lower` gives on the names the scan accepts. */
function isNamed(text: string, s: number, e: number, lower: string): boolean {
  return e - s === lower.length && sameLowerAt(text, s, lower);
}

/**
 * simpleTree's reading of a document without the tree: the same syntax, limits and declines (and one more: an
 * element with more than one text piece, which the tree joins), recorded in scanRecords. False when declined; then the
 * document goes through simpleTree / libraryTree as before. Element 0 is the root.
 */
export function scanDocument(text: string, lim: MbmsParseLimits): boolean {
  const r = scanRecords;
  let i = xmlDeclEnd(text);
  const n = text.length;
  // an entity or `]]>` anywhere after the declaration declines (simpleTree declines them in text and attribute values;
  // elsewhere they end its reading too, but for `]]>` in an attribute value: declining that as well only sends it to
  // the tree): one native search each, no character loop per text piece
  if (text.indexOf('&', i) >= 0 || text.indexOf(']]>', i) >= 0) return false;
  let count = 0;
  let depth = 0;
  let cur = -1;
  r.nsS = -1;
  r.nsE = -1;
  while (i < n) {
    const lt = text.indexOf('<', i);
    const end = lt < 0 ? n : lt;
    if (end > i && textAt(text, i, end)) {
      if (depth === 0 || r.textS[cur] >= 0) return false;
      r.textS[cur] = textSpan[0];
      r.textE[cur] = textSpan[1];
    }
    if (lt < 0) break;
    i = lt + 1;
    const c = text.charCodeAt(i);
    if (c === 0x2f /* / */) {
      if (depth === 0) return false;
      i = closeTagEnd(text, i + 1, n, r.nameS[cur], r.nameE[cur] - r.nameS[cur]);
      if (i < 0) return false;
      cur = r.parent[cur];
      depth--;
      continue;
    }
    const ne = openNameEnd(text, i, ++count, depth, lim);
    if (ne < 0) return false;
    const nameS = i;
    i = ne;
    // a second root declines
    if (depth === 0 && count > 1) return false;
    const el = count - 1;
    r.ensure(count);
    let colon = nameS;
    while (colon < ne && text.charCodeAt(colon) !== 0x3a) colon++;
    const prefixLen = colon < ne ? colon - nameS : -1;
    let attrs = 0;
    for (;;) {
      if (!attributeAt(text, i, n)) break;
      const j = attrSpan[0];
      const ae = attrSpan[1];
      const q = attrSpan[2];
      const close = attrSpan[3];
      const alen = ae - j;
      for (let a = 0; a < attrs; a++) if (r.attrE[a] - r.attrS[a] === alen && sameRange(text, r.attrS[a], j, alen)) return false;
      r.attrS[attrs] = j;
      r.attrE[attrs] = ae;
      attrs++;
      // the root's namespace: the last binding of its prefix among its own attributes (simpleTree's innermost)
      if (depth === 0 && text.startsWith('xmlns', j)) {
        const bound =
          prefixLen < 0
            ? alen === 5 || (alen === 6 && text.charCodeAt(j + 5) === 0x3a)
            : alen === 6 + prefixLen && text.charCodeAt(j + 5) === 0x3a && sameRange(text, j + 6, nameS, prefixLen);
        if (bound) {
          r.nsS = q + 1;
          r.nsE = close;
        }
      }
      i = close + 1;
    }
    const after = startTagEnd(text, i, n);
    if (after < 0) return false;
    const selfClosing = text.charCodeAt(after - 2) === 0x2f;
    i = after;
    r.nameS[el] = nameS;
    r.nameE[el] = ne;
    r.localS[el] = prefixLen >= 0 ? colon + 1 : nameS;
    r.textS[el] = -1;
    r.firstChild[el] = -1;
    r.lastChild[el] = -1;
    r.nextSibling[el] = -1;
    r.parent[el] = cur;
    if (cur >= 0) {
      if (r.lastChild[cur] < 0) r.firstChild[cur] = el;
      else r.nextSibling[r.lastChild[cur]] = el;
      r.lastChild[cur] = el;
    }
    if (!selfClosing) {
      cur = el;
      depth++;
    }
  }
  return depth === 0 && count > 0;
}

/** The text of the first child of `el` whose local name is `lower` ignoring case (child() and .text of the tree). */
function childText(text: string, r: ScanRecords, el: number, lower: string): string | undefined {
  const c = childNamed(text, r, el, lower);
  return c >= 0 && r.textS[c] >= 0 ? text.slice(r.textS[c], r.textE[c]) : undefined;
}

function childNamed(text: string, r: ScanRecords, el: number, lower: string): number {
  for (let c = r.firstChild[el]; c >= 0; c = r.nextSibling[c]) if (isNamed(text, r.localS[c], r.nameE[c], lower)) return c;
  return -1;
}

/** parseMbmsBody's reading of the tree, on the scan's records (same values, problems and order). */
function readScanned(text: string, r: ScanRecords, contentType: string, expected: MbmsBodyKind, body: LazyTreeBody, problems: Problem[]): void {
  const rootName = text.slice(r.nameS[0], r.nameE[0]);
  const rootNs = r.nsS >= 0 ? text.slice(r.nsS, r.nsE) : undefined;
  body.root = rootName;
  if (rootNs !== undefined) body.namespace = rootNs;
  // rootOf() compared in place (the scan's names are ASCII: lower-casing is ASCII's)
  let known: { kind: MbmsBodyKind; namespace: string } | undefined;
  for (const [lower, root] of ROOT_LIST) {
    if (isNamed(text, r.localS[0], r.nameE[0], lower)) {
      known = root;
      break;
    }
  }
  if (!known) {
    unknownRoot(rootName, contentType, body, problems);
    return;
  }
  body.kind = known.kind;
  const rootLocal = r.localS[0] === r.nameS[0] ? rootName : text.slice(r.localS[0], r.nameE[0]);
  rootProblems(known, rootNs, rootLocal, contentType, expected, problems);
  const kind = known.kind;
  const allowed = KNOWN_CHILDREN[kind];
  for (let c = r.firstChild[0]; c >= 0; c = r.nextSibling[c]) {
    const s = r.localS[c];
    const e = r.nameE[c];
    // the child this kind takes (KNOWN_CHILDREN), compared in place
    let l: string | undefined;
    for (const a of allowed) {
      if (isNamed(text, s, e, a)) {
        l = a;
        break;
      }
    }
    if (l === 'serviceid') {
      if (r.textS[c] >= 0) body.serviceIds.push(text.slice(r.textS[c], r.textE[c]));
    } else if (l === 'msk') {
      body.msks.push(keyRefOf(childText(text, r, c, 'keydomainid'), childText(text, r, c, 'mskid'), problems));
    } else if (l === 'response') {
      if (kind === 'register-response') {
        body.responses.push(responseEntryOf(kind, childText(text, r, c, 'serviceid'), undefined, childText(text, r, c, 'responsecode'), problems));
      } else {
        const msk = childNamed(text, r, c, 'msk');
        const ref = msk >= 0 ? keyRefOf(childText(text, r, msk, 'keydomainid'), childText(text, r, msk, 'mskid'), problems) : undefined;
        body.responses.push(responseEntryOf(kind, undefined, ref, childText(text, r, c, 'responsecode'), problems));
      }
    } else {
      body.unknownElements.push(`${rootLocal}/${text.slice(r.nameS[c], r.nameE[c])}`);
    }
  }
  emptyListProblem(kind, body, rootLocal, problems);
}

/** The validating library path: every document the fast path declines. undefined (with a problem) when not parsed. */
export function libraryTree(text: string, lim: MbmsParseLimits, problems: Problem[]): XmlElement[] | undefined {
  let tree: XmlElement[];
  try {
    const { XMLParser, XMLValidator } = require('fast-xml-parser') as typeof FastXmlParser;
    const valid = XMLValidator.validate(text, { allowBooleanAttributes: true });
    if (valid !== true) {
      const e = valid.err;
      problems.push(mbmsProblem('mbms-xml-malformed', `malformed XML at line ${e.line}, column ${e.col}: ${escapeText(e.msg, 120)}`));
      return undefined;
    }
    const parser = new XMLParser({
      preserveOrder: true,
      ignoreAttributes: false,
      attributeNamePrefix: '',
      processEntities: false,
      htmlEntities: false,
      parseTagValue: false,
      parseAttributeValue: false,
      trimValues: true,
      ignoreDeclaration: true,
      ignorePiTags: true,
      removeNSPrefix: false,
      allowBooleanAttributes: true,
      maxNestedTags: lim.maxDepth,
    });
    const parsed: unknown = parser.parse(text);
    const st: ConvertState = { elements: 0, limits: lim, problems };
    tree = convert(parsed, new Map(), st, 0);
    if (st.elements > lim.maxElements)
      problems.push(mbmsProblem('mbms-xml-too-many-elements', `more than ${lim.maxElements} elements; the rest ignored`));
  } catch (e) {
    problems.push(mbmsProblem('mbms-xml-malformed', `XML not parsed: ${escapeText(e instanceof Error ? e.message : String(e), 160)}`));
    return undefined;
  }
  return tree;
}

/**
 * Parses an MBMS XML body. `contentType` is the media type without parameters. Never throws: malformed XML,
 * a DOCTYPE, an oversized body or a wrong root are problems.
 */
export function parseMbmsBody(contentType: string, bytes: Uint8Array, limits?: Partial<MbmsParseLimits>): MbmsParseResult {
  return parseBody(contentType, bytes, limits, true);
}

/** parseMbmsBody through the tree alone (never the scan): the reference the scan is tested against. */
export function parseMbmsBodyByTree(contentType: string, bytes: Uint8Array, limits?: Partial<MbmsParseLimits>): MbmsParseResult {
  return parseBody(contentType, bytes, limits, false);
}

/** The usual XML declaration: a document starting with it declares UTF-8 (what the declaration check would find). */
const UTF8_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

function parseBody(contentType: string, bytes: Uint8Array, limits: Partial<MbmsParseLimits> | undefined, scan: boolean): MbmsParseResult {
  // no merged copy per body when the defaults apply (every body the HTTP parser hands over)
  const lim: Readonly<MbmsParseLimits> = limits === undefined ? DEFAULT_MBMS_LIMITS : { ...DEFAULT_MBMS_LIMITS, ...limits };
  const problems: Problem[] = [];
  const expected = contentTypeKind(contentType) ?? 'unknown';
  const body = new LazyTreeBody();
  if (bytes.length > lim.maxBytes) {
    problems.push(mbmsProblem('mbms-xml-too-large', `XML body of ${bytes.length} bytes not parsed (limit ${lim.maxBytes})`));
    return { body, problems };
  }
  const text = documentText(bytes);
  // the declaration every BM-SC sends needs no match (its array and capture were 0.8 % of analyze's allocation)
  const decl = text.startsWith(UTF8_DECLARATION) ? null : /^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']/i.exec(text);
  if (decl && decl[1].toLowerCase() !== 'utf-8')
    problems.push(mbmsProblem('mbms-xml-encoding', `XML declares encoding ${escapeText(decl[1], 40)}; read as UTF-8`));
  // A DTD could declare entities (billion laughs) or point outside: refuse the document rather than hope
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    problems.push(mbmsProblem('mbms-xml-doctype', 'XML body carries a DOCTYPE/ENTITY declaration; not parsed'));
    return { body, problems };
  }
  // the common case: the values read straight from the text, the tree built only if something reads it
  if (scan && scanDocument(text, lim)) {
    body.deferTree(bytes, lim);
    readScanned(text, scanRecords, contentType, expected, body, problems);
    return { body, problems };
  }
  const tree = simpleTree(text, lim) ?? libraryTree(text, lim, problems);
  if (!tree) return { body, problems };
  const root = tree[0];
  if (!root) {
    problems.push(mbmsProblem('mbms-xml-empty', 'XML body has no root element'));
    return { body, problems };
  }
  body.tree = root;
  body.root = root.name;
  if (root.namespace !== undefined) body.namespace = root.namespace;
  const known = rootOf(root.localName);
  if (!known) {
    unknownRoot(root.name, contentType, body, problems);
    return { body, problems };
  }
  body.kind = known.kind;
  rootProblems(known, root.namespace, root.localName, contentType, expected, problems);
  const allowed = KNOWN_CHILDREN[known.kind];
  for (const c of root.children) {
    const l = c.localName.toLowerCase();
    if (!allowed.includes(l)) {
      body.unknownElements.push(`${root.localName}/${c.name}`);
      continue;
    }
    if (l === 'serviceid') {
      if (c.text !== undefined) body.serviceIds.push(c.text);
    } else if (l === 'msk') {
      body.msks.push(keyRef(c, problems));
    } else if (l === 'response') {
      body.responses.push(responseEntry(c, known.kind, problems));
    }
  }
  emptyListProblem(known.kind, body, root.localName, problems);
  return { body, problems };
}
