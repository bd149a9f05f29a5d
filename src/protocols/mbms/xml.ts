/**
 * The XML bodies of MBMS key management over HTTP (TS 33.246 Annex G, schemas in TS 26.346 §11.4–11.8):
 * registration, deregistration, their response, MSK request and MSK response.
 * Element local names are matched case-insensitively and namespaces only noted, because lab equipment deviates;
 * unknown elements are kept. The XML library is configured so that no entity is expanded and no DTD is read.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Problem } from '../../common/problem';
import { mbmsProblem } from './problems';
import { escapeText } from '../../common/escape';

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

export function isMbmsContentType(contentType: string): boolean {
  return Object.prototype.hasOwnProperty.call(MBMS_CONTENT_TYPES, contentType.toLowerCase());
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
  tree?: XmlElement;
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
  const ref: MbmsKeyRef = {};
  const kd = child(el, 'keyDomainID');
  const mi = child(el, 'MSKID');
  if (kd?.text !== undefined) ref.keyDomainIdBase64 = kd.text;
  if (mi?.text !== undefined) ref.mskIdBase64 = mi.text;
  const kdb = decodeBase64Field(kd?.text, 'keyDomainID', 3, problems);
  if (kdb) ref.keyDomainId = kdb.toString('hex');
  const mib = decodeBase64Field(mi?.text, 'MSKID', 4, problems);
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
  const entry: MbmsResponseEntry = {};
  if (kind === 'register-response') {
    const sid = child(el, 'serviceID');
    if (sid?.text !== undefined) entry.serviceId = sid.text;
    else problems.push(mbmsProblem('mbms-xml-missing', 'Response without serviceID'));
  } else {
    const msk = child(el, 'MSK');
    if (msk) entry.msk = keyRef(msk, problems);
    else problems.push(mbmsProblem('mbms-xml-missing', 'Response without MSK'));
  }
  const rc = child(el, 'ResponseCode');
  if (rc?.text !== undefined) {
    entry.responseCode = rc.text;
    const m = /^\s*(\d{3})\b/.exec(rc.text);
    if (m) entry.status = parseInt(m[1], 10);
    else problems.push(mbmsProblem('mbms-bad-response-code', `ResponseCode without an HTTP status: ${escapeText(rc.text, 60)}`));
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


/** XML white space (the four characters the fast path reads as such; anything else unusual makes it decline). */
function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
/**
 * Characters String.prototype.trim removes (ECMAScript WhiteSpace and LineTerminator), so the fast path trims text as
 * the library path does.
 */
function isTrimmed(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
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
    if (end > i) {
      // white space between tags (indentation) is the common case: nothing to keep, no string made
      let k = i;
      while (k < end && isWs(text.charCodeAt(k))) k++;
      if (k < end) {
        // an entity or a stray `]]>` in the text: the library path decides (bounded to this text, never past `end`)
        for (let x = k; x < end; x++) {
          const v = text.charCodeAt(x);
          if (v === 0x26 || (v === 0x5d && x + 2 < end && text.charCodeAt(x + 1) === 0x5d && text.charCodeAt(x + 2) === 0x3e)) return undefined;
        }
        // trimmed as String.prototype.trim does: one slice, not the raw text and then its trimmed copy
        let e = end;
        while (e > k && isTrimmed(text.charCodeAt(e - 1))) e--;
        while (k < e && isTrimmed(text.charCodeAt(k))) k++;
        const t = k === e ? '' : text.slice(k, e);
        if (t !== '') {
          if (stack.length === 0) return undefined;
          const top = stack[stack.length - 1];
          if (top.text === null) top.text = t;
          else if (top.more === null) top.more = [t];
          else top.more.push(t);
        }
      }
    }
    if (lt < 0) break;
    i = lt + 1;
    const c = text.charCodeAt(i);
    if (c === 0x2f /* / */) {
      const ne = nameEnd(text, i + 1);
      const top = stack.pop();
      if (ne === i + 1 || !top) return undefined;
      const closeName = top.el.name;
      if (ne - (i + 1) !== closeName.length || !text.startsWith(closeName, i + 1)) return undefined;
      i = ne;
      while (i < n && isWs(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) !== 0x3e) return undefined;
      i++;
      if (top.text !== null) top.el.text = top.more === null ? top.text : (top.text + top.more.join('')).trim();
      scope = stack.length > 0 ? stack[stack.length - 1].scope : null;
      continue;
    }
    const ne = nameEnd(text, i);
    if (ne === i) return undefined;
    const name = text.slice(i, ne);
    i = ne;
    if (++elements > lim.maxElements || stack.length >= lim.maxDepth) return undefined;
    const attributes: Record<string, string> = {};
    let local = scope;
    // attributes: white space, a name, `=` (white space around it allowed), a quoted value without < or &
    for (;;) {
      let j = i;
      while (j < n && isWs(text.charCodeAt(j))) j++;
      if (j === i) break;
      const ae = nameEnd(text, j);
      if (ae === j) break;
      let q = ae;
      while (q < n && isWs(text.charCodeAt(q))) q++;
      if (text.charCodeAt(q) !== 0x3d /* = */) break;
      q++;
      while (q < n && isWs(text.charCodeAt(q))) q++;
      const quote = text.charCodeAt(q);
      if (quote !== 0x22 && quote !== 0x27) break;
      const close = text.indexOf(quote === 0x22 ? '"' : "'", q + 1);
      if (close < 0) break;
      let bad = false;
      for (let x = q + 1; x < close; x++) {
        const v = text.charCodeAt(x);
        if (v === 0x3c || v === 0x26) {
          bad = true;
          break;
        }
      }
      if (bad) break;
      const k = text.slice(j, ae);
      if (Object.prototype.hasOwnProperty.call(attributes, k)) return undefined;
      const value = text.slice(q + 1, close);
      attributes[k] = value;
      if (k === 'xmlns' || k.startsWith('xmlns:')) local = { prefix: k === 'xmlns' ? '' : k.slice(6), uri: value, parent: local };
      i = close + 1;
    }
    while (i < n && isWs(text.charCodeAt(i))) i++;
    let selfClosing = false;
    if (text.charCodeAt(i) === 0x2f) {
      selfClosing = true;
      i++;
    }
    if (text.charCodeAt(i) !== 0x3e) return undefined;
    i++;
    const el: XmlElement = { name, localName: localOf(name), attributes, children: [] };
    const ns = lookupNs(local, prefixOf(name));
    if (ns !== undefined) el.namespace = ns;
    if (stack.length > 0) stack[stack.length - 1].el.children.push(el);
    else {
      if (root !== undefined) return undefined;
      root = el;
    }
    if (!selfClosing) {
      stack.push({ el, scope: local, text: null, more: null });
      scope = local;
    }
  }
  if (stack.length > 0 || root === undefined) return undefined;
  return [root];
}

/** The validating library path: every document the fast path declines. undefined (with a problem) when not parsed. */
export function libraryTree(text: string, lim: MbmsParseLimits, problems: Problem[]): XmlElement[] | undefined {
  let tree: XmlElement[];
  try {
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
  // no merged copy per body when the defaults apply (every body the HTTP parser hands over)
  const lim: Readonly<MbmsParseLimits> = limits === undefined ? DEFAULT_MBMS_LIMITS : { ...DEFAULT_MBMS_LIMITS, ...limits };
  const problems: Problem[] = [];
  const expected = MBMS_CONTENT_TYPES[contentType.toLowerCase()] ?? 'unknown';
  const body: MbmsBody = { kind: 'unknown', serviceIds: [], msks: [], responses: [], unknownElements: [] };
  if (bytes.length > lim.maxBytes) {
    problems.push(mbmsProblem('mbms-xml-too-large', `XML body of ${bytes.length} bytes not parsed (limit ${lim.maxBytes})`));
    return { body, problems };
  }
  let text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const decl = /^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']/i.exec(text);
  if (decl && decl[1].toLowerCase() !== 'utf-8')
    problems.push(mbmsProblem('mbms-xml-encoding', `XML declares encoding ${escapeText(decl[1], 40)}; read as UTF-8`));
  // A DTD could declare entities (billion laughs) or point outside: refuse the document rather than hope
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    problems.push(mbmsProblem('mbms-xml-doctype', 'XML body carries a DOCTYPE/ENTITY declaration; not parsed'));
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
  const known = ROOTS[root.localName.toLowerCase()];
  if (!known) {
    problems.push(mbmsProblem('mbms-xml-unknown-root', `unknown root element ${escapeText(root.name, 80)} for ${escapeText(contentType)}`));
    body.unknownElements.push(root.name);
    return { body, problems };
  }
  body.kind = known.kind;
  if (root.namespace !== known.namespace)
    problems.push(mbmsProblem('mbms-xml-namespace', `root namespace ${escapeText(root.namespace ?? '(none)', 100)}; TS 26.346 gives ${known.namespace}`));
  if (expected !== known.kind)
    problems.push(mbmsProblem('mbms-xml-root-mismatch', `Content-Type ${escapeText(contentType)} carries ${escapeText(root.localName)}`));
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
  const count = known.kind === 'msk-request' ? body.msks.length : known.kind.endsWith('response') ? body.responses.length : body.serviceIds.length;
  if (count === 0) problems.push(mbmsProblem('mbms-xml-empty-list', `${root.localName} lists nothing (the schema requires at least one entry)`));
  return { body, problems };
}
