/**
 * Human and JSON views of an HTTP message: the one-line summary and the `http` object of `--json` (the `-V` tree is
 * built from the field registry, src/fields/http-fields.ts). Every string taken from the packet is escaped for the text views; JSON carries the raw (decoded) values.
 */
import { escapeText } from '../../common/escape';
import { authParam, digestCredentialsView, isDigest, type AuthInfo, type AuthParam, type AuthScheme } from './auth';
import type { HttpMessage } from './types';
import type { MbmsBody, MbmsKeyRef } from '../mbms/xml';

function q(v: string | undefined, max = 60): string {
  return escapeText(v ?? '', max);
}

function challengeSummary(ch: AuthScheme): string {
  if (!isDigest(ch)) {
    const realm = authParam(ch.params, 'realm');
    return `[${q(ch.scheme, 30)}${realm !== undefined ? ` realm=${q(realm)}` : ''}]`;
  }
  const parts = [`${q(ch.scheme, 30)}`];
  for (const name of ['realm', 'nonce', 'algorithm', 'qop', 'stale']) {
    const v = authParam(ch.params, name);
    if (v !== undefined) parts.push(`${name}=${q(v)}`);
  }
  return `[${parts.join(' ')}]`;
}

function credentialsSummary(cr: AuthScheme, verified: boolean | null | undefined): string {
  if (!isDigest(cr)) return `[${q(cr.scheme, 30)}]`;
  const v = digestCredentialsView(cr);
  const parts = [`${q(cr.scheme, 30)} user=${q(v.username, 80)}`];
  if (v.nc !== undefined) parts.push(`nc=${q(v.nc, 20)}`);
  if (v.qop !== undefined) parts.push(`qop=${q(v.qop, 20)}`);
  if (verified === true) parts.push('verified');
  else if (verified === false) parts.push('MISMATCH');
  return `[${parts.join(' ')}]`;
}

function infoSummary(info: AuthInfo, verified: boolean | null | undefined): string {
  const parts: string[] = [];
  const rsp = authParam(info.params, 'rspauth');
  if (rsp !== undefined) parts.push(verified === true ? 'rspauth verified' : verified === false ? 'rspauth MISMATCH' : 'rspauth');
  const nn = authParam(info.params, 'nextnonce');
  if (nn !== undefined) parts.push(`nextnonce=${q(nn)}`);
  return `[Authentication-Info${parts.length ? ' ' + parts.join(' ') : ''}]`;
}

/** One-line summary: `POST /keymanagement?requesttype=msk-request [Digest user=… nc=00000001]`, `401 Unauthorized [Digest realm=… nonce=…]`. */
export function httpInfoLine(msg: HttpMessage): string {
  let line: string;
  if (msg.kind === 'request') line = `${q(msg.method, 40)} ${q(msg.uri, 300)}`;
  else line = `${msg.status ?? ''} ${q(msg.reason, 100)}`.trimEnd();
  const auth = msg.auth;
  if (auth) {
    for (const cr of auth.credentials) line += ' ' + credentialsSummary(cr, msg.verified);
    for (const ch of auth.challenges) line += ' ' + challengeSummary(ch);
    for (const info of auth.info) line += ' ' + infoSummary(info, msg.verified);
  }
  if (msg.mbms && msg.mbms.kind !== 'unknown') line += ` {${mbmsSummary(msg.mbms)}}`;
  if (!msg.complete) line += ' [incomplete]';
  return line;
}

function keyRefText(k: MbmsKeyRef): string {
  const parts: string[] = [];
  parts.push(`keyDomainID=${k.keyDomainId ?? q(k.keyDomainIdBase64, 40)}`);
  if (k.keyGroup !== undefined && k.keyNumber !== undefined)
    parts.push(`MSKID=${k.mskId} (group 0x${k.keyGroup.toString(16).padStart(4, '0')}, number 0x${k.keyNumber.toString(16).padStart(4, '0')}${k.keyNumber === 0 ? ' current' : ''})`);
  else parts.push(`MSKID=${k.mskId ?? q(k.mskIdBase64, 40)}`);
  return parts.join(' ');
}

function mbmsSummary(b: MbmsBody): string {
  switch (b.kind) {
    case 'register':
    case 'deregister':
      return `${b.kind} ${b.serviceIds.length} service(s)`;
    case 'msk-request':
      return `msk-request ${b.msks.map((k) => keyRefText(k)).join(', ')}`;
    case 'register-response':
    case 'msk-response':
      return `${b.kind} ${b.responses.map((r) => r.status ?? q(r.responseCode, 20)).join(',')}`;
    default:
      return b.kind;
  }
}

/** JSON-ready types (no Buffers, no back-references). */
export interface HttpAuthParamJson {
  name: string;
  value: string;
  quoted: boolean;
}

export interface HttpAuthSchemeJson {
  header: string;
  scheme: string;
  token68?: string;
  params: HttpAuthParamJson[];
  /** Digest credentials: the user name, decoded from username* when present. */
  username?: string;
}

export interface HttpJson {
  kind: 'request' | 'response';
  connection: number;
  method?: string;
  uri?: string;
  version: string;
  status?: number;
  reason?: string;
  interim?: boolean;
  headers: { name: string; value: string }[];
  headersDropped?: number;
  digest?: {
    challenges: HttpAuthSchemeJson[];
    credentials: HttpAuthSchemeJson[];
    info: { header: string; params: HttpAuthParamJson[] }[];
    verified: boolean | null;
  };
  body?: {
    contentType?: string;
    length: number;
    framing: string;
    kept: number;
    lost?: number;
    trailers?: { name: string; value: string }[];
    mbms?: Omit<MbmsBody, 'tree'>;
  };
  complete: boolean;
  frames: number[];
  requestFrame?: number;
  responseFrame?: number;
}

function paramsJson(params: readonly AuthParam[]): HttpAuthParamJson[] {
  return params.map((p) => ({ name: p.name, value: p.value, quoted: p.quoted }));
}

function schemeJson(s: AuthScheme): HttpAuthSchemeJson {
  const j: HttpAuthSchemeJson = { header: s.header, scheme: s.scheme, params: paramsJson(s.params) };
  if (s.token68 !== undefined) j.token68 = s.token68;
  if (isDigest(s) && (s.header === 'authorization' || s.header === 'proxy-authorization')) {
    const u = digestCredentialsView(s).username;
    if (u !== undefined) j.username = u;
  }
  return j;
}

/** The `http` object of `--json`. */
export function httpToJson(msg: HttpMessage): HttpJson {
  const j: HttpJson = {
    kind: msg.kind,
    connection: msg.connId,
    version: msg.version,
    headers: msg.headers.map((h) => ({ name: h.name, value: h.value })),
    complete: msg.complete,
    frames: msg.frames,
  };
  if (msg.kind === 'request') {
    j.method = msg.method;
    j.uri = msg.uri;
  } else {
    j.status = msg.status;
    j.reason = msg.reason;
    if (msg.interim) j.interim = true;
  }
  if (msg.headersDropped > 0) j.headersDropped = msg.headersDropped;
  if (msg.auth) {
    j.digest = {
      challenges: msg.auth.challenges.map(schemeJson),
      credentials: msg.auth.credentials.map(schemeJson),
      info: msg.auth.info.map((i) => ({ header: i.header, params: paramsJson(i.params) })),
      verified: msg.verified ?? null,
    };
  }
  if (msg.framing !== 'none' || msg.bodyLength > 0) {
    j.body = { length: msg.bodyLength, framing: msg.framing, kept: msg.body.length };
    if (msg.contentType !== undefined) j.body.contentType = msg.contentType;
    if (msg.bodyLost > 0) j.body.lost = msg.bodyLost;
    if (msg.trailers.length > 0) j.body.trailers = msg.trailers.map((h) => ({ name: h.name, value: h.value }));
    if (msg.mbms) {
      // the values, not the tree (reading it would build it: see MbmsBody.tree)
      const b = msg.mbms;
      const mbms: Omit<MbmsBody, 'tree'> = { kind: b.kind, serviceIds: b.serviceIds, msks: b.msks, responses: b.responses, unknownElements: b.unknownElements };
      if (b.root !== undefined) mbms.root = b.root;
      if (b.namespace !== undefined) mbms.namespace = b.namespace;
      j.body.mbms = mbms;
    }
  }
  if (msg.requestFrame !== undefined) j.requestFrame = msg.requestFrame;
  if (msg.responseFrame !== undefined) j.responseFrame = msg.responseFrame;
  return j;
}
