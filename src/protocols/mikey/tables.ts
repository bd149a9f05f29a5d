/**
 * MIKEY code points (RFC 3830, RFC 4563, RFC 6043, RFC 6267, RFC 6509 and the IANA registry) as value→name tables,
 * declared apart from the code that reads bytes, in the manner of Wireshark's value_string arrays.
 */

export type ValueNames = Readonly<Record<number, string>>;

/** Name of a code point, or `Unknown (N)`: unknown values are shown, never dropped. */
export function nameOf(table: ValueNames, value: number): string {
  const n = table[value];
  return n === undefined ? `Unknown (${value})` : n;
}

export const PayloadType = {
  LAST: 0,
  KEMAC: 1,
  PKE: 2,
  DH: 3,
  SIGN: 4,
  T: 5,
  ID: 6,
  CERT: 7,
  CHASH: 8,
  V: 9,
  SP: 10,
  RAND: 11,
  ERR: 12,
  TR: 13,
  IDR: 14,
  RANDR: 15,
  TP: 16,
  TICKET: 17,
  KEY_DATA: 20,
  GENERAL_EXT: 21,
  IBAKE: 22,
  ESK: 23,
  SK: 24,
  ECCPT: 25,
  SAKKE: 26,
} as const;

export const PAYLOAD_NAMES: ValueNames = {
  0: 'Last payload',
  1: 'Key data transport (KEMAC)',
  2: 'Envelope data (PKE)',
  3: 'DH data (DH)',
  4: 'Signature (SIGN)',
  5: 'Timestamp (T)',
  6: 'ID',
  7: 'Certificate (CERT)',
  8: 'Cert hash (CHASH)',
  9: 'Verification message (V)',
  10: 'Security policy (SP)',
  11: 'RAND',
  12: 'Error (ERR)',
  13: 'Timestamp of the responder (TR)',
  14: 'ID with role (IDR)',
  15: 'RAND of the responder (RANDR)',
  16: 'Ticket policy (TP)',
  17: 'Ticket (TICKET)',
  20: 'Key data (KEY)',
  21: 'General extension (EXT)',
  22: 'IBAKE',
  23: 'Encrypted secret key (ESK)',
  24: 'Secret key (SK)',
  25: 'ECC point (ECCPT)',
  26: 'SAKKE encapsulated data (SAKKE)',
};

/** Short payload labels for info columns and trees. */
export const PAYLOAD_SHORT: ValueNames = {
  1: 'KEMAC', 2: 'PKE', 3: 'DH', 4: 'SIGN', 5: 'T', 6: 'ID', 7: 'CERT', 8: 'CHASH', 9: 'V', 10: 'SP', 11: 'RAND',
  12: 'ERR', 13: 'TR', 14: 'IDR', 15: 'RANDR', 16: 'TP', 17: 'TICKET', 20: 'KEY', 21: 'EXT', 22: 'IBAKE', 23: 'ESK',
  24: 'SK', 25: 'ECCPT', 26: 'SAKKE',
};

export const DATA_TYPE_NAMES: ValueNames = {
  0: 'Pre-shared key init',
  1: 'Pre-shared key verification',
  2: 'Public key init',
  3: 'Public key verification',
  4: 'DH init',
  5: 'DH response',
  6: 'Error',
  7: 'DHHMAC init',
  8: 'DHHMAC response',
  9: 'RSA-R I_MSG',
  10: 'RSA-R R_MSG',
  11: 'TRANSFER_INIT (ticket)',
  12: 'TRANSFER_RESP (ticket)',
  13: 'REQUEST_INIT (ticket)',
  14: 'REQUEST_RESP (ticket)',
  15: 'RESOLVE_INIT (ticket)',
  16: 'RESOLVE_RESP (ticket)',
  17: 'TRANSFER_INIT (ticket, PSK)',
  18: 'TRANSFER_RESP (ticket, PSK)',
  19: 'HMAC-Authenticated DH init',
  20: 'HMAC-Authenticated DH response',
  21: 'IBAKE',
  22: 'I_MESSAGE (RFC 6267)',
  23: 'R_MESSAGE (RFC 6267)',
  24: 'I_MESSAGE (RFC 6267, IBE)',
  25: 'R_MESSAGE (RFC 6267, IBE)',
  26: 'SAKKE',
};

export const PRF_NAMES: ValueNames = { 0: 'MIKEY-1', 1: 'PRF-HMAC-SHA-256' };

export const CS_ID_MAP_TYPE_NAMES: ValueNames = { 0: 'SRTP-ID', 1: 'Empty map', 2: 'GENERIC-ID' };

export const ENCR_ALG_NAMES: ValueNames = { 0: 'NULL', 1: 'AES-CM-128', 2: 'AES-KW-128', 3: 'AES-CM-256' };

export const MAC_ALG_NAMES: ValueNames = { 0: 'NULL', 1: 'HMAC-SHA-1-160', 2: 'HMAC-SHA-256-256' };

/** MAC length in bytes per MAC algorithm; undefined for unknown algorithms (the MAC length is then unknowable). */
export const MAC_LENGTH: Readonly<Record<number, number>> = { 0: 0, 1: 20, 2: 32 };

export const KEY_TYPE_NAMES: ValueNames = {
  0: 'TGK',
  1: 'TGK+SALT',
  2: 'TEK',
  3: 'TEK+SALT',
  4: 'GTGK',
  5: 'GTGK+SALT',
  6: 'MPK',
  7: 'K_PR',
};

/** Key types that carry a salt after the key. */
export const KEY_TYPES_WITH_SALT: ReadonlySet<number> = new Set([1, 3, 5]);

export const KV_NAMES: ValueNames = { 0: 'NULL', 1: 'SPI/MKI', 2: 'Interval' };

export const TS_TYPE_NAMES: ValueNames = { 0: 'NTP-UTC', 1: 'NTP', 2: 'COUNTER', 3: 'NTP-UTC-32' };

/** Timestamp value length in bytes per TS type. */
export const TS_LENGTH: Readonly<Record<number, number>> = { 0: 8, 1: 8, 2: 4, 3: 4 };

export const ID_TYPE_NAMES: ValueNames = { 0: 'NAI', 1: 'URI', 2: 'Byte string' };

export const ID_ROLE_NAMES: ValueNames = {
  0: 'Reserved',
  1: 'Initiator (IDRi)',
  2: 'Responder (IDRr)',
  3: 'KMS (IDRkms)',
  4: 'Pre-Shared Key (IDRpsk)',
  5: 'Application (IDRapp)',
  6: 'Initiator\'s KMS (IDRkmsi)',
  7: 'Responder\'s KMS (IDRkmsr)',
};

export const CERT_TYPE_NAMES: ValueNames = {
  0: 'X.509v3',
  1: 'X.509v3 URL',
  2: 'X.509v3 Sign',
  3: 'X.509v3 Encr',
};

export const HASH_FUNC_NAMES: ValueNames = { 0: 'SHA-1', 1: 'MD5', 2: 'SHA-256' };
export const HASH_LENGTH: Readonly<Record<number, number>> = { 0: 20, 1: 16, 2: 32 };

export const PKE_C_NAMES: ValueNames = { 0: 'No cache', 1: 'Cache', 2: 'Cache for CSB' };

export const DH_GROUP_NAMES: ValueNames = { 0: 'OAKLEY 5', 1: 'OAKLEY 1', 2: 'OAKLEY 2' };
/** DH value length in bytes per group (1536, 768 and 1024-bit MODP). */
export const DH_VALUE_LENGTH: Readonly<Record<number, number>> = { 0: 192, 1: 96, 2: 128 };

export const SIGN_TYPE_NAMES: ValueNames = { 0: 'RSA/PKCS#1/1.5', 1: 'RSA/PSS', 2: 'ECCSI' };

export const SP_PROT_TYPE_NAMES: ValueNames = { 0: 'SRTP', 1: 'TESLA', 2: 'MSRP', 3: 'BFCP' };

export const SRTP_PARAM_NAMES: ValueNames = {
  0: 'Encryption algorithm',
  1: 'Session encryption key length',
  2: 'Authentication algorithm',
  3: 'Session authentication key length',
  4: 'Session salt key length',
  5: 'SRTP pseudo random function',
  6: 'Key derivation rate',
  7: 'SRTP encryption off/on',
  8: 'SRTCP encryption off/on',
  9: 'Sender\'s FEC order',
  10: 'SRTP authentication off/on',
  11: 'Authentication tag length',
  12: 'SRTP prefix length',
  13: 'ROC transmission rate',
  14: 'SRTP auth. transform (RFC 4771)',
  15: 'SRTCP auth. transform (RFC 4771)',
  16: 'SRTP ROC auth. mode (RFC 4771)',
  17: 'RCC mode (RFC 4771)',
  18: 'RCC ROC transmission rate (RFC 4771)',
  19: 'SRTP ROC auth. tag length (RFC 4771)',
  20: 'AEAD authentication tag length',
};

/** Value names of a few SRTP policy parameters (RFC 3830 §6.10.1). */
export const SRTP_ENCR_ALG_NAMES: ValueNames = { 0: 'NULL', 1: 'AES-CM', 2: 'AES-F8', 3: 'AES-GCM', 4: 'AES-CCM' };
export const SRTP_AUTH_ALG_NAMES: ValueNames = { 0: 'NULL', 1: 'HMAC-SHA-1', 2: 'RCCm1', 3: 'RCCm2', 4: 'RCCm3' };
export const SRTP_PRF_NAMES: ValueNames = { 0: 'AES-CM' };
export const ON_OFF_NAMES: ValueNames = { 0: 'Off', 1: 'On' };
export const FEC_ORDER_NAMES: ValueNames = { 0: 'FEC-SRTP' };

export const ERR_NAMES: ValueNames = {
  0: 'Authentication failure',
  1: 'Invalid timestamp',
  2: 'PRF function not supported',
  3: 'MAC algorithm not supported',
  4: 'Encryption algorithm not supported',
  5: 'Hash function not supported',
  6: 'DH group not supported',
  7: 'ID not supported',
  8: 'Certificate not supported',
  9: 'SP type not supported',
  10: 'SP parameter not supported',
  11: 'Data type not supported',
  12: 'Unspecified error',
  13: 'Unsupported message type',
  14: 'Invalid ticket',
  15: 'Invalid TP parameter',
};

export const EXT_TYPE_NAMES: ValueNames = {
  0: 'Vendor ID',
  1: 'SDP IDs',
  2: 'TESLA I-key',
  3: 'Key ID',
  4: 'CSB_ID',
  5: 'OMA BCAST',
  6: 'MIKEY-RAND (CSB updates)',
  7: '3GPP key parameters',
};

export const KEY_ID_TYPE_NAMES: ValueNames = { 0: 'MBMS Key Domain ID', 1: 'MBMS MSK ID', 2: 'MBMS MTK ID' };

export const SAKKE_PARAMS_NAMES: ValueNames = { 1: 'Parameter Set 1' };
export const SAKKE_ID_SCHEME_NAMES: ValueNames = { 1: 'tel URI with monthly keys' };
