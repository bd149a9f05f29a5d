import type { Problem } from '../../common/problem';

/** Every decoded item knows where its bytes are in the MIKEY message, so trees and MAC ranges can point at them. */
export interface ByteRange {
  offset: number;
  length: number;
}

export interface SrtpIdEntry {
  policyNo: number;
  ssrc: number;
  roc: number;
}

/** RFC 6043 GENERIC-ID map entry. */
export interface GenericIdEntry {
  csId: number;
  protType: number;
  sFlag: boolean;
  policies: number[];
  sessionData: Buffer;
  spi: Buffer;
}

export interface MikeyHeader extends ByteRange {
  version: number;
  dataType: number;
  dataTypeName: string;
  nextPayload: number;
  v: boolean;
  prf: number;
  prfName: string;
  csbId: number;
  csCount: number;
  csIdMapType: number;
  csIdMapTypeName: string;
  srtpIds?: SrtpIdEntry[];
  genericIds?: GenericIdEntry[];
}

interface PayloadBase extends ByteRange {
  /** The payload's own code (what the previous payload's Next Payload named). */
  type: number;
  typeName: string;
  /** Code of the following payload (0 = last). SIGN has none on the wire and reports 0. */
  nextPayload: number;
}

export interface KeyValidityInterval {
  from: Buffer;
  to: Buffer;
}

/** Key data sub-payload (type 20), found inside KEMAC or PKE encrypted data. Offsets are within that data. */
export interface KeyDataPayload extends PayloadBase {
  type: 20;
  keyType: number;
  keyTypeName: string;
  kv: number;
  kvName: string;
  key: Buffer;
  salt?: Buffer;
  spi?: Buffer;
  interval?: KeyValidityInterval;
}

export interface KemacPayload extends PayloadBase {
  type: 1;
  encrAlg: number;
  encrAlgName: string;
  encrData: Buffer;
  /** Offset of the encrypted data in the message. */
  encrDataOffset: number;
  macAlg: number;
  macAlgName: string;
  mac: Buffer;
  /** Offset of the MAC in the message: the KEMAC MAC covers bytes [0, macOffset). */
  macOffset: number;
  /** Key data read in clear (only when encrAlg is NULL). */
  keys?: KeyDataPayload[];
}

export interface PkePayload extends PayloadBase {
  type: 2;
  c: number;
  cName: string;
  data: Buffer;
}

export interface DhPayload extends PayloadBase {
  type: 3;
  group: number;
  groupName: string;
  value: Buffer;
  kv: number;
  kvName: string;
  spi?: Buffer;
  interval?: KeyValidityInterval;
}

export interface SignPayload extends PayloadBase {
  type: 4;
  signType: number;
  signTypeName: string;
  signature: Buffer;
}

export interface TimestampPayload extends PayloadBase {
  type: 5 | 13;
  tsType: number;
  tsTypeName: string;
  value: Buffer;
  /** COUNTER value (TS type 2). */
  counter?: number;
  /** NTP types: seconds since 1900 and the fraction, and the time as ISO 8601 (UTC). */
  ntpSeconds?: number;
  ntpFraction?: number;
  time?: string;
}

export interface IdPayload extends PayloadBase {
  type: 6 | 14;
  /** IDR only. */
  role?: number;
  roleName?: string;
  idType: number;
  idTypeName: string;
  data: Buffer;
  /** The identity as text (UTF-8, escaped for display). */
  text: string;
}

export interface CertPayload extends PayloadBase {
  type: 7;
  certType: number;
  certTypeName: string;
  data: Buffer;
}

export interface ChashPayload extends PayloadBase {
  type: 8;
  hashFunc: number;
  hashFuncName: string;
  hash: Buffer;
}

export interface VerificationPayload extends PayloadBase {
  type: 9;
  authAlg: number;
  authAlgName: string;
  mac: Buffer;
  macOffset: number;
}

export interface SpParam extends ByteRange {
  paramType: number;
  paramTypeName: string;
  value: Buffer;
  /** Name of the value for the SRTP parameters that have value names (algorithms, on/off). */
  valueName?: string;
}

export interface SpPayload extends PayloadBase {
  type: 10;
  policyNo: number;
  protType: number;
  protTypeName: string;
  params: SpParam[];
}

export interface RandPayload extends PayloadBase {
  type: 11 | 15;
  rand: Buffer;
}

export interface ErrPayload extends PayloadBase {
  type: 12;
  errorNo: number;
  errorName: string;
  reserved: Buffer;
}

/** One RFC 4563 Key ID entry. */
export interface KeyIdEntry extends ByteRange {
  keyIdType: number;
  keyIdTypeName: string;
  value: Buffer;
  /** Key Domain ID as MCC-MNC (e.g. `001-01`), when the 3 bytes are a valid PLMN BCD encoding. */
  keyDomain?: string;
  keyGroup?: number;
  keyNumber?: number;
  mtkId?: number;
}

export interface ExtPayload extends PayloadBase {
  type: 21;
  extType: number;
  extTypeName: string;
  data: Buffer;
  /** RFC 4563 Key ID entries (extension type 3). */
  keyIds?: KeyIdEntry[];
  /** SDP IDs (extension type 1) as text, escaped. */
  text?: string;
}

export interface TicketPayload extends PayloadBase {
  type: 17;
  ticketType: number;
  data: Buffer;
}

export interface SakkePayload extends PayloadBase {
  type: 26;
  params: number;
  paramsName: string;
  idScheme: number;
  idSchemeName: string;
  data: Buffer;
}

export type MikeyPayload =
  | KemacPayload
  | PkePayload
  | DhPayload
  | SignPayload
  | TimestampPayload
  | IdPayload
  | CertPayload
  | ChashPayload
  | VerificationPayload
  | SpPayload
  | RandPayload
  | ErrPayload
  | ExtPayload
  | TicketPayload
  | SakkePayload;

export interface MikeyMessage {
  header: MikeyHeader;
  /** Payloads in wire order. */
  payloads: MikeyPayload[];
  /** Total bytes of the message as received. */
  length: number;
  /** The message bytes (own copy): MAC checks need them after the packet buffer is reused. */
  raw: Buffer;
}

export type MbmsKind = 'msk-delivery' | 'mtk-delivery' | 'verification' | 'solicited-pull-trigger' | 'error' | 'other';

/** Which identifier encoding carried the MBMS IDs (mbms.md): the published TS 33.246 one or the seed/draft one. */
export type MbmsIdEncoding = 'published' | 'seed' | 'none';

/** The MBMS meaning of a MIKEY message: the fields that matter, lifted from the payloads. */
export interface MbmsInfo {
  kind: MbmsKind;
  idEncoding: MbmsIdEncoding;
  /** Key Domain ID as hex (6 digits). */
  keyDomainId?: string;
  /** Key Domain ID as MCC-MNC. */
  keyDomain?: string;
  /** MSK ID as a 32-bit number (Key Group << 16 | Key Number). */
  mskId?: number;
  keyGroup?: number;
  keyNumber?: number;
  mtkId?: number;
  counter?: number;
  v: boolean;
  idi?: string;
  idr?: string;
}

export interface MikeyDecodeResult {
  message: MikeyMessage | null;
  problems: Problem[];
}
