/** MIKEY with the MBMS profile: decoder, encoder, crypto, MBMS classification, key tracking and output helpers. */
export { decodeMikey, decodeKeyDataChain, keyDomainToMccMnc, mccMncToKeyDomain } from './decode';
export {
  encodeMikey, encodeKeyData, encodeKeyIdExtension, buildMskDelivery, buildMskAck, buildMtkDelivery,
  buildSolicitedPullTrigger, buildErrorMessage,
} from './encode';
export type {
  MikeyMessageInput, PayloadInput, HeaderInput, KeyDataInput, EncodeProtection, MskDeliveryParams, MskAckParams,
  MtkDeliveryParams, KeyIdInput,
} from './encode';
export { mikeyPrf, deriveMessageKeys, aesCmIv, aesCm, aesKeyWrap, aesKeyUnwrap, computeMac } from './crypto';
export { mbmsInfo, mbmsProfileProblems, identities } from './mbms';
export { dissectMikey } from './dissect';
export type { MikeyDissection } from './dissect';
export { MbmsKeyTracker, serialGreater } from './tracker';
export type { MikeyAnalysis, MikeyPacketMeta, MikeyTrackerOptions, DeliveredKey } from './tracker';
export { mikeyInfoLine, mikeyToJson } from './output';
export type { MikeyView } from './output';
export * from './types';
export { MIKEY_UDP_PORT, MIKEY_MEDIA_TYPE, isMikeyContentType } from './port';
