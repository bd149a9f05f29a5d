/**
 * HTTP, Digest (RFC 7616) and MBMS XML body fields, and the `-V` tree built from them: every tree line that shows a value
 * is a field's `label: value` (`[label: value]` for derived ones); a header or parameter with no field of its own is a
 * line of `http.other_header` / `http.auth_param`, shown as sent. The titles (`Authorization credentials: Digest`, `MSK`)
 * are the structure. Text from packets is escaped by the fields' formatting.
 */
import { authInfoView, digestChallengeView, digestCredentialsView, isDigest, type AuthParam, type AuthScheme } from '../protocols/http/auth';
import type { HttpHeader, HttpMessage } from '../protocols/http/types';
import type { MbmsBody, MbmsKeyRef, MbmsResponseEntry } from '../protocols/mbms/xml';
import { escapeText } from '../common/escape';
import { field, line, lines, nodeField, same, textBytes, type NodeField } from './define';
import { appDepth } from './mikey-fields';
import type { FieldDef, FieldLayer, FieldValue, FrameView, TreeBlock } from './types';

/** Bytes of a text body the tree shows. */
export const BODY_TEXT_SHOWN = 200;

const messages = (v: FrameView): HttpMessage[] => (v.frame.http ?? []).map((h) => h.message);
const requests = (v: FrameView) => messages(v).filter((m) => m.kind === 'request');
const responses = (v: FrameView) => messages(v).filter((m) => m.kind === 'response');
const headers = (v: FrameView): HttpHeader[] => messages(v).flatMap((m) => m.headers);
const hasBody = (m: HttpMessage) => m.framing !== 'none' || m.bodyLength > 0;

const M = {
  method: nodeField(requests, 'http.request.method', 'string', 'request method', (m) => m.method, { ...same, json: 'http.method', label: 'Request Method' }),
  uri: nodeField(requests, 'http.request.uri', 'string', 'request target as sent', (m) => m.uri, { ...same, json: 'http.uri', label: 'Request URI' }),
  reqVersion: nodeField(requests, 'http.request.version', 'string', 'HTTP version of a request', (m) => m.version, { ...same, json: 'http[kind=request].version', label: 'Request Version' }),
  rspVersion: nodeField(responses, 'http.response.version', 'string', 'HTTP version of a response', (m) => m.version, { ...same, json: 'http[kind=response].version', label: 'Response Version' }),
  code: nodeField(responses, 'http.response.code', 'uint', 'status code', (m) => m.status, { ...same, json: 'http.status', label: 'Status Code' }),
  phrase: nodeField(responses, 'http.response.phrase', 'string', 'reason phrase', (m) => m.reason, { ...same, json: 'http.reason', label: 'Response Phrase' }),
  dropped: nodeField(messages, 'http.headers_dropped', 'uint', 'header fields past the per-message limit, not kept', (m) => (m.headersDropped > 0 ? m.headersDropped : undefined),
    { json: 'http.headersDropped', label: 'Header fields not kept', generated: true }),
  requestIn: nodeField(responses, 'http.request_in', 'framenum', 'for a response: the frame that completed its request', (m) => m.request?.lastFrame, { ...same, label: 'Request in frame', generated: true }),
  responseIn: nodeField(requests, 'http.response_in', 'framenum', 'for a request: the frame that completed its response (when seen before the request was printed)',
    (m) => m.responseFrame, { json: 'http.responseFrame', label: 'Response in frame', generated: true }),
  bodyLength: nodeField(messages, 'http.body_length', 'uint', 'body bytes after removing chunked coding', (m) => m.bodyLength, { json: 'http.body.length', label: 'Body', display: (x) => `${String(x)} bytes` }),
  framing: nodeField(messages, 'http.body.framing', 'string', 'how the body is delimited: content-length, chunked, close', (m) => (hasBody(m) ? m.framing : undefined), { json: 'http.body.framing', label: 'Body framing' }),
  kept: nodeField(messages, 'http.body.kept', 'uint', 'body bytes kept, when fewer than the body (per-message limit)', (m) => (m.bodyTruncated ? m.body.length : undefined), { label: 'Body bytes kept', generated: true }),
  lost: nodeField(messages, 'http.body.lost', 'uint', 'body bytes not captured (gaps)', (m) => (m.bodyLost > 0 ? m.bodyLost : undefined), { json: 'http.body.lost', label: 'Body bytes not captured', generated: true }),
  trailer: nodeField((v) => messages(v).flatMap((m) => m.trailers), 'http.trailer', 'string', 'a trailer field of a chunked body (`Name: value`)', (t) => `${t.name}: ${t.value}`, { inline: true }),
  text: nodeField(messages, 'http.body_text', 'bytes', `the start of a text body (text/*, XML, JSON; the tree shows the first ${BODY_TEXT_SHOWN} bytes)`,
    (m) => (!m.mbms && m.body.length > 0 && m.contentType !== undefined && /(^text\/|xml|json)/.test(m.contentType) ? m.body.subarray(0, BODY_TEXT_SHOWN) : undefined),
    { inline: true, display: textBytes(BODY_TEXT_SHOWN) }),
  complete: field('http.complete', 'bool', 'false when the message was cut (gap, end of stream)', (v) => messages(v).map((m) => m.complete), { json: 'http.complete' }),
};

/** Headers with a field of their own (tshark's names); any other header is a line of http.other_header. */
const HEADER_FIELDS: readonly [string, string, string][] = [
  ['host', 'http.host', 'Host'], ['user-agent', 'http.user_agent', 'User-Agent'], ['server', 'http.server', 'Server'],
  ['content-type', 'http.content_type', 'Content-Type'], ['content-length', 'http.content_length_header', 'Content-Length'],
  ['connection', 'http.connection', 'Connection'], ['location', 'http.location', 'Location'], ['authorization', 'http.authorization', 'Authorization'],
  ['www-authenticate', 'http.www_authenticate', 'WWW-Authenticate'],
];
const HEADER_BY_NAME: ReadonlyMap<string, NodeField<HttpHeader>> = new Map(HEADER_FIELDS.map(([h, name, label]) =>
  [h, nodeField(headers, name, 'string', `${label} header`, (x) => (x.name.toLowerCase() === h ? x.value : undefined), { ...same, json: `http.headers[name=${h}].value`, label })]));
const OTHER_HEADER = nodeField(headers, 'http.other_header', 'string', 'a header with no field of its own here, as `Name: value`',
  (x) => (HEADER_BY_NAME.has(x.name.toLowerCase()) ? undefined : `${x.name}: ${x.value}`), { inline: true });

// ---- MBMS XML bodies (TS 33.246 registration and MSK request) ----
type Item = { serviceId?: string; msk?: MbmsKeyRef; responseCode?: string };
const bodies = (v: FrameView): MbmsBody[] => messages(v).flatMap((m) => (m.mbms ? [m.mbms] : []));
/** What an MBMS body lists, in tree order: service IDs, MSKs, then responses (each with its service ID or MSK). */
const itemsOf = (b: MbmsBody): Item[] => [...b.serviceIds.map((serviceId) => ({ serviceId })), ...b.msks.map((msk) => ({ msk })), ...b.responses];
const items = (v: FrameView): Item[] => bodies(v).flatMap(itemsOf);
const msks = (v: FrameView): MbmsKeyRef[] => items(v).flatMap((i) => (i.msk ? [i.msk] : []));
const hex4 = { base: 'hex' as const, hexDigits: 4 };
const X = {
  kind: nodeField(bodies, 'http.mbms.kind', 'string', 'MBMS XML body kind: register, deregister, msk-request, register-response, msk-response, …', (b) => b.kind, { label: 'MBMS body' }),
  root: nodeField(bodies, 'http.mbms.root', 'string', 'MBMS XML body: root element as sent', (b) => b.root, { label: 'Root element' }),
  ns: nodeField(bodies, 'http.mbms.namespace', 'string', 'MBMS XML body: namespace', (b) => b.namespace, { label: 'Namespace' }),
  service: nodeField(items, 'http.mbms.service_id', 'string', 'serviceID of a registration or of a response entry', (i) => i.serviceId, { label: 'serviceID' }),
  domain: nodeField(msks, 'http.mbms.key_domain_id', 'string', 'keyDomainID of an MSK in a request or response (hex; base64 as sent when not decodable)',
    (k) => k.keyDomainId ?? k.keyDomainIdBase64, { label: 'keyDomainID' }),
  msk: nodeField(msks, 'http.mbms.msk_id', 'string', 'MSKID of an MSK in a request or response (hex; base64 as sent when not decodable)', (k) => k.mskId ?? k.mskIdBase64, { label: 'MSKID' }),
  group: nodeField(msks, 'http.mbms.key_group', 'uint', 'Key Group of that MSK ID', (k) => (k.keyNumber !== undefined ? k.keyGroup : undefined), { ...hex4, label: 'Key Group' }),
  number: nodeField(msks, 'http.mbms.key_number', 'uint', 'Key Number of that MSK ID (0: the current MSK)', (k) => (k.keyGroup !== undefined ? k.keyNumber : undefined),
    { ...hex4, label: 'Key Number', display: (x) => `0x${Number(x).toString(16).padStart(4, '0')}${x === 0 ? ' (current)' : ''}` }),
  code: nodeField(items, 'http.mbms.response_code', 'string', 'ResponseCode of a response entry', (i) => i.responseCode, { label: 'ResponseCode' }),
  unknown: nodeField((v) => bodies(v).flatMap((b) => b.unknownElements), 'http.mbms.unknown_element', 'string', 'path of an element the schema does not name', (u) => u, { label: 'Unknown element' }),
};

function mbmsLines(b: MbmsBody, pad: string): string[] {
  const I = `${pad}  `;
  const key = (k: MbmsKeyRef) => lines(`${I}  `, k, X.domain, X.msk, X.group, X.number);
  const out = lines(pad, b, X.kind, X.root, X.ns);
  for (const s of b.serviceIds) out.push(...lines(I, { serviceId: s }, X.service));
  for (const k of b.msks) out.push(`${I}MSK`, ...key(k));
  for (const r of b.responses as MbmsResponseEntry[]) {
    out.push(`${I}Response`, ...lines(`${I}  `, r, X.service));
    if (r.msk) out.push(`${I}  MSK`, ...key(r.msk).map((l) => `  ${l}`));
    out.push(...lines(`${I}  `, r, X.code));
  }
  for (const u of b.unknownElements) out.push(...lines(I, u, X.unknown));
  return out;
}

// ---- Digest ----
const challenges = (v: FrameView) => messages(v).flatMap((m) => (m.auth?.challenges ?? []).filter(isDigest).map((c) => digestChallengeView(c)));
const credentials = (v: FrameView) => messages(v).flatMap((m) => (m.auth?.credentials ?? []).filter(isDigest).map((c) => digestCredentialsView(c)));
const infos = (v: FrameView) => messages(v).flatMap((m) => (m.auth?.info ?? []).map((i) => authInfoView(i)));
const hasDigest = (m: HttpMessage) => (m.auth?.credentials ?? []).some(isDigest) || (m.auth?.challenges ?? []).some(isDigest) || (m.auth?.info.length ?? 0) > 0;
type Chal = ReturnType<typeof digestChallengeView>;
type Cred = ReturnType<typeof digestCredentialsView>;
type Info = ReturnType<typeof authInfoView>;
/** A challenge's or credentials' view, for the parameters both have. */
type Either = { realm?: string; nonce?: string; algorithm?: string; opaque?: string };
const both = (v: FrameView): Either[] => [...challenges(v), ...credentials(v)];

const D = {
  username: nodeField(credentials, 'digest.username', 'string', 'user name (the B-TID in TS 33.246), `username*` decoded', (c: Cred) => c.username, { label: 'username' }),
  realm: nodeField(both, 'digest.realm', 'string', 'realm, of a challenge or of credentials', (c) => c.realm, { label: 'realm' }),
  nonce: nodeField(both, 'digest.nonce', 'string', 'nonce, of a challenge or of credentials', (c) => c.nonce, { label: 'nonce' }),
  algorithm: nodeField(both, 'digest.algorithm', 'string', 'algorithm, of a challenge or of credentials', (c) => c.algorithm, { label: 'algorithm' }),
  opaque: nodeField(both, 'digest.opaque', 'string', 'opaque, of a challenge or of credentials', (c) => c.opaque, { label: 'opaque' }),
  // challenges first, then credentials: as in the frame's tree when one message has both
  qop: nodeField((v): (Chal | Cred)[] => [...challenges(v), ...credentials(v)], 'digest.qop', 'string', 'qop: each option of a challenge, the chosen one of credentials',
    (c) => c.qop, { label: 'qop' }),
  stale: nodeField(challenges, 'digest.stale', 'bool', 'stale flag of a challenge', (c: Chal) => c.stale, { label: 'stale', display: (x) => String(x === true) }),
  uri: nodeField(credentials, 'digest.uri', 'string', 'uri of credentials', (c: Cred) => c.uri, { label: 'uri' }),
  response: nodeField(credentials, 'digest.response', 'string', 'response (request-digest) of credentials', (c: Cred) => c.response, { label: 'response' }),
  cnonce: nodeField(credentials, 'digest.cnonce', 'string', 'client nonce of credentials', (c: Cred) => c.cnonce, { label: 'cnonce' }),
  nc: nodeField(credentials, 'digest.nc', 'uint', 'nonce count of credentials (when 8 hex digits)', (c: Cred) => c.ncValue,
    { label: 'nc', display: (x) => (typeof x === 'number' ? x.toString(16).padStart(8, '0') : String(x)) }),
  rspauth: nodeField(infos, 'digest.rspauth', 'string', 'rspauth of Authentication-Info', (i: Info) => i.rspauth, { label: 'rspauth' }),
  nextnonce: nodeField(infos, 'digest.nextnonce', 'string', 'nextnonce of Authentication-Info', (i: Info) => i.nextnonce, { label: 'nextnonce' }),
  verified: nodeField((v) => messages(v).filter(hasDigest), 'digest.verified', 'bool',
    'Digest values checked with a known password: true = all match, false = a mismatch (absent: no password)', (m) => (hasDigest(m) ? m.verified : undefined),
    { json: 'http.digest.verified', label: 'Digest verification', generated: true, display: (x) => (x === true ? 'verified' : 'MISMATCH') }),
};
/** A parameter or token68 of an authentication header with no field of its own (other schemes, unknown or invalid ones), as sent. */
const paramText = (p: AuthParam) => `${p.name}=${p.quoted ? `"${p.value}"` : p.value}`;
const authParams = (v: FrameView): string[] => messages(v).flatMap((m) => authTexts(m));
const AUTH_PARAM = nodeField(authParams, 'http.auth_param', 'string', 'an authentication parameter (or token68) with no field of its own, as sent', (t) => t, { inline: true });

/** Which field shows a Digest parameter of a challenge (`c`), credentials (`r`) or Authentication-Info (`i`), by name. */
const DIGEST_PARAMS: Readonly<Record<'c' | 'r' | 'i', Readonly<Record<string, NodeField<never>>>>> = {
  c: { realm: D.realm, nonce: D.nonce, algorithm: D.algorithm, opaque: D.opaque, qop: D.qop, stale: D.stale } as Record<string, NodeField<never>>,
  r: { username: D.username, 'username*': D.username, realm: D.realm, nonce: D.nonce, algorithm: D.algorithm, opaque: D.opaque, qop: D.qop, uri: D.uri,
    response: D.response, cnonce: D.cnonce, nc: D.nc } as Record<string, NodeField<never>>,
  i: { rspauth: D.rspauth, nextnonce: D.nextnonce } as Record<string, NodeField<never>>,
};

/**
 * One authentication header's lines, parameters in wire order: a Digest parameter the view reads (the first of its name;
 * for the user name, `username*` when it decoded) is its field's line, any other is an http.auth_param line.
 */
function schemeLines(kind: 'c' | 'r' | 'i', params: readonly AuthParam[], view: unknown, digest: boolean, token68: string | undefined, pad: string): { out: string[]; other: string[] } {
  const out: string[] = [];
  const other: string[] = [];
  const shown = new Set<NodeField<never>>();
  const otherLine = (t: string) => {
    other.push(t);
    out.push(line(pad, AUTH_PARAM, t));
  };
  if (token68 !== undefined) otherLine(token68);
  const fromExt = (view as Cred).usernameFromExt === true;
  for (const p of params) {
    const f = digest ? DIGEST_PARAMS[kind][p.lower] : undefined;
    const source = f !== undefined && !shown.has(f) && (f !== D.username || (p.lower === 'username*') === fromExt);
    const values = source ? f.at(view as never) : [];
    if (source && values.length > 0) {
      shown.add(f);
      out.push(...values.map((x: FieldValue) => line(pad, f, x)));
    } else otherLine(paramText(p));
  }
  return { out, other };
}

function authLines(m: HttpMessage): { out: string[]; other: string[] } {
  const out: string[] = [];
  const other: string[] = [];
  const add = (r: { out: string[]; other: string[] }) => {
    out.push(...r.out);
    other.push(...r.other);
  };
  const auth = m.auth;
  if (!auth) return { out, other };
  for (const ch of auth.challenges) {
    out.push(`  ${ch.header === 'proxy-authenticate' ? 'Proxy-Authenticate' : 'WWW-Authenticate'} challenge: ${schemeName(ch)}`);
    add(schemeLines('c', ch.params, isDigest(ch) ? digestChallengeView(ch) : {}, isDigest(ch), ch.token68, '    '));
  }
  for (const cr of auth.credentials) {
    out.push(`  ${cr.header === 'proxy-authorization' ? 'Proxy-Authorization' : 'Authorization'} credentials: ${schemeName(cr)}`);
    add(schemeLines('r', cr.params, isDigest(cr) ? digestCredentialsView(cr) : {}, isDigest(cr), cr.token68, '    '));
  }
  for (const info of auth.info) {
    out.push(`  ${info.header === 'proxy-authentication-info' ? 'Proxy-Authentication-Info' : 'Authentication-Info'}:`);
    add(schemeLines('i', info.params, authInfoView(info), true, undefined, '    '));
  }
  out.push(...lines('  ', m, D.verified));
  return { out, other };
}
const authTexts = (m: HttpMessage): string[] => authLines(m).other;
/** The scheme name of a title line (a packet's text: escaped as a field value is). */
const schemeName = (s: AuthScheme) => escapeText(s.scheme, 40);

/** The `-V` tree of one HTTP message: title, then lines. */
export function httpTree(msg: HttpMessage): string[] {
  const frames = msg.frames.length > 1 ? `frames ${msg.frames.join(',')}` : `frame ${msg.firstFrame}`;
  const out = [`Hypertext Transfer Protocol (${msg.kind}, ${frames}${msg.complete ? '' : ', incomplete'})`];
  const I = '  ';
  if (msg.kind === 'request') out.push(...lines(I, msg, M.method, M.uri, M.reqVersion));
  else out.push(...lines(I, msg, M.rspVersion, M.code, M.phrase));
  for (const h of msg.headers) {
    const f = HEADER_BY_NAME.get(h.name.toLowerCase()) ?? OTHER_HEADER;
    out.push(...lines(I, h, f));
  }
  out.push(...lines(I, msg, M.dropped));
  out.push(...authLines(msg).out);
  out.push(...lines(I, msg, M.bodyLength, M.framing, M.kept, M.lost));
  for (const t of msg.trailers) out.push(...lines(`${I}  `, t, M.trailer));
  if (msg.mbms) out.push(...mbmsLines(msg.mbms, `${I}  `));
  out.push(...lines(`${I}  `, msg, M.text));
  out.push(...lines(I, msg, M.responseIn, M.requestIn));
  for (const p of msg.problems) out.push(`${I}[${p.severity}] ${p.code}: ${p.message}`);
  return out;
}

const headerField = (h: string): FieldDef => HEADER_BY_NAME.get(h) as FieldDef;

export const httpLayer: FieldLayer = {
  name: 'http',
  title: 'Hypertext Transfer Protocol (on the frame that completes each message)',
  fields: [
    field('http', 'protocol', 'an HTTP message ends in this frame', (v) => messages(v).map(() => true), { tshark: 'presence', json: 'http' }),
    field('http.request', 'bool', 'the message is a request', (v) => requests(v).map(() => true), { ...same, json: 'http[kind=request]' }),
    field('http.response', 'bool', 'the message is a response', (v) => responses(v).map(() => true), { ...same, json: 'http[kind=response]' }),
    M.method, M.uri, M.reqVersion, M.rspVersion, M.code, M.phrase,
    ...HEADER_FIELDS.map(([h]) => headerField(h)),
    OTHER_HEADER, M.dropped,
    M.requestIn, M.responseIn, M.bodyLength, M.framing, M.kept, M.lost, M.trailer, M.text, M.complete,
    AUTH_PARAM,
    X.kind, X.root, X.ns, X.service, X.domain, X.msk, X.group, X.number, X.code, X.unknown,
  ],
  tree: (v): TreeBlock[] => messages(v).map((m) => {
    const [title, ...rest] = httpTree(m);
    return { depth: appDepth(v), title, lines: rest };
  }),
};

export const digestLayer: FieldLayer = {
  name: 'digest',
  title: 'HTTP Digest authentication (RFC 7616) in HTTP headers',
  fields: [
    field('digest', 'protocol', 'a Digest challenge, credentials or Authentication-Info', (v) => messages(v).filter(hasDigest).map(() => true)),
    field('digest.challenge', 'none', 'a WWW-Authenticate / Proxy-Authenticate Digest challenge', (v) => challenges(v).map(() => true)),
    field('digest.credentials', 'none', 'Authorization / Proxy-Authorization Digest credentials', (v) => credentials(v).map(() => true)),
    D.username, D.realm, D.nonce, D.algorithm, D.opaque, D.qop, D.stale, D.uri, D.response, D.cnonce, D.nc, D.rspauth, D.nextnonce, D.verified,
  ],
};

