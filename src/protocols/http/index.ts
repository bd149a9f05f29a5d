/** The HTTP/Digest layer's public surface, for the pipeline and the sinks. */
export { HttpConnectionParser, HttpStreamHandler, type HttpSink, type HttpParserOptions } from './parser';
export { DigestTracker, type DigestTrackerOptions, type DigestCheck } from './tracker';
export {
  computeDigestResponse,
  computeHA1,
  computeHA2,
  computeUserhash,
  digestAlgorithm,
  passwordSourceFromMap,
  type DigestAlgorithm,
  type DigestInput,
  type DigestPasswordSource,
} from './digest';
export {
  authParam,
  authInfoView,
  decodeExtValue,
  digestChallengeView,
  digestCredentialsView,
  parseAuthHeaders,
  parseAuthInfo,
  parseAuthSchemes,
  type AuthInfo,
  type AuthParam,
  type AuthScheme,
  type HttpAuthData,
} from './auth';
export { httpInfoLine, httpToJson, type HttpJson } from './output';
export { DEFAULT_HTTP_LIMITS, type HttpHeader, type HttpLimits, type HttpMessage } from './types';

/** Bodies of this media type are MIKEY messages (transport variants B/C): hand `msg.body` to the MIKEY dissector. */
export const MIKEY_CONTENT_TYPE = 'application/mikey';
