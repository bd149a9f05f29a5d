/**
 * Problem codes of HTTP/1.x, its authentication headers and the Digest / TS 33.246 HTTP profile checks, declared once:
 * severity, layer and meaning. docs/problem-codes.md is generated from these sections.
 */
import { reporter, type ProblemCodes, type ProblemSection } from '../../common/problem';

const HTTP = {
  'http-not-http': { severity: 'note', layer: 'http', meaning: 'No HTTP message start in the first 16 KiB of a direction: the stream is not parsed as HTTP.' },
  'http-not-http-start': { severity: 'note', layer: 'http', meaning: 'The first line of a direction is not a request or status line; the parser scans for a message start.' },
  'http-bad-start-line': { severity: 'warning', layer: 'http', meaning: 'After earlier messages, a line where a request or status line was expected; the parser scans for the next message start.' },
  'http-resync': { severity: 'note', layer: 'http', meaning: 'Bytes were skipped before the next message start was found.' },
  'http-skipped': { severity: 'warning', layer: 'http', meaning: 'Bytes were skipped without finding another message (stream ended, or more than 4 MiB scanned and the stream given up).' },
  'http2-preface': { severity: 'note', layer: 'http', meaning: '`PRI * HTTP/2.0`: the connection is HTTP/2, not parsed.' },
  'http-version': { severity: 'warning', layer: 'http', meaning: 'The start line names a version other than HTTP/1.x.' },
  'http-gap': { severity: 'note', layer: 'http', meaning: 'Bytes not captured between two messages: nothing lost that keyscope needed.' },
  'http-gap-in-header': { severity: 'warning', layer: 'http', meaning: 'A capture gap cut a start line or header block: that message is dropped, parsing resumes at the next start.' },
  'http-gap-in-body': { severity: 'warning', layer: 'http', meaning: 'Body bytes not captured: counted in `bodyLength`/`bodyLost`, the message continues (its body cannot be verified or parsed).' },
  'http-gap-cut-message': { severity: 'warning', layer: 'http', meaning: 'A gap swallowed the end of a message (`complete` false).' },
  'http-truncated': { severity: 'warning', layer: 'http', meaning: 'The connection was closed or reset before the end of the message.' },
  'http-end-of-capture': { severity: 'note', layer: 'http', meaning: 'The capture ended before the end of the message (the connection may have gone on).' },
  'http-incomplete-header': { severity: 'warning', layer: 'http', meaning: 'The stream ended inside a start line or header block.' },
  'http-header-too-large': { severity: 'warning', layer: 'http', meaning: 'The header block is longer than 64 KiB: the message is skipped.' },
  'http-trailer-too-long': { severity: 'warning', layer: 'http', meaning: 'A trailer line of a chunked body is longer than the header limit (64 KiB): the message ends there (`complete` false).' },
  'http-too-many-headers': { severity: 'warning', layer: 'http', meaning: 'More than 256 header fields; the rest are counted in `headersDropped`, not kept.' },
  'http-body-limit': { severity: 'note', layer: 'http', meaning: 'A body above 1 MiB: the rest is counted, not kept.' },
  'http-bad-content-length': { severity: 'error', layer: 'http', meaning: 'Content-Length not a decimal number, negative, or several different values.' },
  'http-content-length-huge': { severity: 'warning', layer: 'http', meaning: 'Content-Length of more than 15 digits; the body is read to the end of the stream.' },
  'http-te-and-cl': { severity: 'warning', layer: 'http', meaning: 'Both Transfer-Encoding and Content-Length (a request-smuggling indicator); Transfer-Encoding wins.' },
  'http-bad-transfer-encoding': { severity: 'error', layer: 'http', meaning: 'A request whose Transfer-Encoding does not end in chunked (RFC 9112 forbids it); the body is read to the end of the stream.' },
  'http-response-transfer-encoding': { severity: 'note', layer: 'http', meaning: 'A response whose Transfer-Encoding does not end in chunked (allowed: the body ends with the connection); the body is read to the end of the stream.' },
  'http-bad-chunk-size': { severity: 'error', layer: 'http', meaning: 'A chunk-size line that is not hexadecimal: the message ends there (incomplete) and the parser looks for the next message start.' },
  'http-chunk-size-overflow': { severity: 'error', layer: 'http', meaning: 'A chunk size of more than 12 hexadecimal digits: the message ends there (incomplete).' },
  'http-chunk-line-too-long': { severity: 'warning', layer: 'http', meaning: 'A chunk-size line longer than 4 KiB: the message ends there.' },
  'http-chunk-no-crlf': { severity: 'warning', layer: 'http', meaning: 'Chunk data not followed by CRLF.' },
  'http-bad-header-line': { severity: 'warning', layer: 'http', meaning: 'A header line with no colon, or nothing before it; skipped.' },
  'http-bad-header-name': { severity: 'warning', layer: 'http', meaning: 'A header name with characters a token does not allow; kept.' },
  'http-header-space-before-colon': { severity: 'warning', layer: 'http', meaning: 'Whitespace between a header name and its colon (RFC 9112 says reject); kept.' },
  'http-obs-fold': { severity: 'note', layer: 'http', meaning: 'Obsolete line folding in a header; unfolded.' },
  'http-response-without-request': { severity: 'note', layer: 'http', meaning: 'A response whose request is not in the capture (it started before the capture).' },
  'http-no-response': { severity: 'note', layer: 'http', meaning: 'Requests left unanswered when the connection ended; attached to the first such request\'s frame.' },
  'http-too-many-pending': { severity: 'warning', layer: 'http', meaning: 'More than 1024 requests (`maxPendingRequests`) waiting for a response on one connection; the oldest is forgotten. Reported on the first such request; the rest are counted and reported once, with the count, when the connection ends.' },
  'http-pending-budget': { severity: 'warning', layer: 'http', meaning: 'More requests waiting for a response on all connections together than the memory budget allows (`HttpSharedLimits.maxPendingRequests`, `maxPendingBytes`, derived from --max-memory): the oldest, on whichever connection, is forgotten (its response, if any, is not paired). Reported on the first one forgotten; the rest are counted and reported once, with the count, at the end of the capture.' },
  'http-message-budget': { severity: 'warning', layer: 'http', meaning: 'The HTTP messages in progress on all connections together (header lines read, body bytes kept, partial lines) outgrew the memory budget (`HttpSharedLimits.maxInProgressBytes`, derived from --max-memory): the largest lost what it kept — a body is then counted, not kept (the message shows as truncated), a header block or start line is skipped and the stream resynchronised. Reported on the first one; the rest are counted and reported once, with the count, at the end of the capture.' },
  'http-expect-no-body': { severity: 'note', layer: 'http', meaning: 'The client sent no body after a final response to `Expect: 100-continue`.' },
  'http-internal-error': { severity: 'error', layer: 'http', meaning: 'A parser defect was caught and the stream abandoned. Should never appear: report it with the capture.' },
  'mbms-body-incomplete': { severity: 'note', layer: 'http', meaning: 'An MBMS XML body (by Content-Type) not captured whole: not parsed. Offset: the first body byte.' },
} as const satisfies ProblemCodes;

const AUTH = {
  'http-auth-no-scheme': { severity: 'warning', layer: 'http', meaning: 'A parameter before any scheme name.' },
  'http-auth-bad-param': { severity: 'warning', layer: 'http', meaning: 'Text where `name=value` was expected.' },
  'http-auth-bad-char': { severity: 'warning', layer: 'http', meaning: 'An unexpected character between parameters.' },
  'http-auth-bad-token': { severity: 'note', layer: 'http', meaning: 'An unquoted value that is not a token (real clients send these; accepted).' },
  'http-auth-unterminated-quote': { severity: 'warning', layer: 'http', meaning: 'A quoted string without its closing quote; the rest of the value is taken.' },
  'http-auth-junk': { severity: 'note', layer: 'http', meaning: 'Text after a quoted value before the next comma; ignored.' },
  'http-auth-duplicate-param': { severity: 'warning', layer: 'http', meaning: 'A parameter repeated within one scheme.' },
  'http-auth-multiple-credentials': { severity: 'warning', layer: 'http', meaning: 'An Authorization header carrying several schemes; one is allowed. No offset.' },
  'http-auth-bad-ext-value': { severity: 'warning', layer: 'http', meaning: '`username*` is not an RFC 8187 ext-value. No offset.' },
  'http-auth-username-twice': { severity: 'warning', layer: 'http', meaning: 'Both `username` and `username*`. No offset.' },
  'http-digest-bad-nc': { severity: 'warning', layer: 'http', meaning: 'Digest `nc` is not 8 hexadecimal digits. No offset.' },
} as const satisfies ProblemCodes;

const DIGEST = {
  'digest-mismatch': { severity: 'warning', layer: 'http', meaning: '`response` (or `rspauth`) differs from the value computed with the known password: wrong password (MRK), wrong key in the key file, or a tampered message. The expected value is in the message.' },
  'digest-missing-param': { severity: 'warning', layer: 'http', meaning: 'Digest credentials without username, realm, nonce, uri or response, with qop but without nc/cnonce, or a challenge without realm or nonce.' },
  'digest-unknown-algorithm': { severity: 'note', layer: 'http', meaning: 'A Digest algorithm keyscope does not know: not verified.' },
  'digest-uri-mismatch': { severity: 'note', layer: 'http', meaning: 'The Digest `uri` differs from the request target.' },
  'digest-info-mismatch': { severity: 'warning', layer: 'http', meaning: 'Authentication-Info `cnonce` or `nc` differs from the request\'s.' },
  'digest-body-incomplete': { severity: 'note', layer: 'http', meaning: 'qop=auth-int but the (request or response) body was not captured whole: not verified.' },
  'nonce-unknown': { severity: 'warning', layer: 'http', meaning: 'A request uses a nonce never challenged in the capture although its realm was challenged earlier in it. Reported once per nonce.' },
  'nonce-unseen': { severity: 'chat', layer: 'http', meaning: 'A request uses a nonce of a realm not challenged in the capture: the conversation may predate the capture. Reported once per nonce.' },
  'nc-replay': { severity: 'warning', layer: 'http', meaning: 'A nonce count not above the highest already used with this nonce: a replay, or a client bug.' },
  'stale': { severity: 'note', layer: 'http', meaning: 'A challenge with stale=true: the credentials were right, the nonce expired; the UE should retry with the new nonce.' },
  'auth-failed': { severity: 'warning', layer: 'http', meaning: '401 (407) answering a request that carried credentials, without stale=true: wrong password or user name. Not reported on MBMS key-management exchanges, where `keyscope analyze` reports the same event once, as the diagnostic `credentials-rejected`.' },
  'mbms-digest-realm': { severity: 'note', layer: 'http', meaning: 'The realm is not `3GPP-bootstrapping@<BM-SC host>`, or its host differs from the request\'s Host.' },
  'mbms-digest-qop': { severity: 'note', layer: 'http', meaning: 'qop offered without auth-int, or used other than auth-int (TS 33.246 uses auth-int).' },
  'mbms-user-agent': { severity: 'note', layer: 'http', meaning: 'The UE\'s User-Agent lacks `3gpp-gba` (TS 33.246 Annex H).' },
} as const satisfies ProblemCodes;

export const HTTP_PROBLEM_SECTIONS: readonly ProblemSection[] = [
  {
    title: 'HTTP/1.x (layer `http`)',
    intro: `Problems about a message carry offsets counted from the message's first byte (its start line), or none; problems
about the stream (skipped bytes, gaps between messages, the stream ending) carry none and are attached to the frame
where the condition was seen. Limits (defaults): 64 KiB of header block, 256 header fields, 1 MiB of body kept,
4 KiB chunk-size line, 4 MiB scanned while resynchronising, 1024 requests awaiting a response.`,
    codes: HTTP,
  },
  {
    title: 'HTTP authentication headers (layer `http`)',
    intro: `\`WWW-Authenticate\`, \`Authorization\`, \`Authentication-Info\` and their \`Proxy-\` forms. Like every HTTP problem, the
offset of the syntax codes (those that have one) counts from the message's first byte: it points into the header value.
In a value continued by obsolete line folding, positions after the first line are approximate.`,
    codes: AUTH,
  },
  {
    title: 'HTTP Digest and the TS 33.246 HTTP profile (layer `http`)',
    intro: `Checked across the capture (nonces, nonce counts, challenges and answers). No offsets; attached to the message
concerned. Verification needs the password (\`--keys\`: \`naf\`, \`muk\` or \`digest\` lines).`,
    codes: DIGEST,
  },
];

/** Emits an HTTP problem by code. */
export const httpProblem = reporter({ ...HTTP, ...AUTH, ...DIGEST });
/** An HTTP code, for helpers that forward one. */
export type HttpProblemCode = keyof typeof httpProblem.codes;
