/**
 * MIKEY fields (RFC 3830 and its MBMS use, TS 33.246) and the `-V` tree built from them: every line of the tree that
 * shows a value is a field's `label: value`; payload titles (`Key Data Transport (KEMAC): …  [offset …]`) are the
 * structure. Key material is masked unless `--show-keys` (the key fields' values are the mask then, in every output).
 */
import { KIND_LABEL, maskedKey, type MikeyView } from '../protocols/mikey/output';
import {
  CERT_TYPE_NAMES, CS_ID_MAP_TYPE_NAMES, DATA_TYPE_NAMES, DH_GROUP_NAMES, ENCR_ALG_NAMES, ERR_NAMES, EXT_TYPE_NAMES, FEC_ORDER_NAMES,
  HASH_FUNC_NAMES, ID_ROLE_NAMES, ID_TYPE_NAMES, KEY_TYPE_NAMES, KV_NAMES, MAC_ALG_NAMES, ON_OFF_NAMES, PAYLOAD_NAMES, PKE_C_NAMES,
  PRF_NAMES, SAKKE_ID_SCHEME_NAMES, SAKKE_PARAMS_NAMES, SIGN_TYPE_NAMES, SP_PROT_TYPE_NAMES, SRTP_AUTH_ALG_NAMES, SRTP_ENCR_ALG_NAMES,
  SRTP_PRF_NAMES, TS_TYPE_NAMES, type ValueNames,
} from '../protocols/mikey/tables';
import type { DeliveredKey } from '../protocols/mikey/tracker';
import type { KeyDataPayload, KeyIdEntry, MbmsInfo, MikeyMessage, MikeyPayload, SpParam } from '../protocols/mikey/types';
import { field, hex, lines, named, nodeField, same, shortHex, type FieldMore } from './define';
import type { FieldLayer, FieldValue, FrameView, TreeBlock } from './types';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Seconds between the NTP era (1900) and the Unix epoch. */
const NTP_UNIX_OFFSET = 2_208_988_800;

/** An NTP timestamp as tshark prints an FT_ABSOLUTE_TIME in UTC (`Nov  7, 2023 11:44:50.500000000 UTC`). */
export function ntpText(seconds: number, fraction: number): string {
  const d = new Date((seconds - NTP_UNIX_OFFSET) * 1000);
  const nsec = Math.floor((fraction * 1e9) / 2 ** 32);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')}, ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${String(nsec).padStart(9, '0')} UTC`;
}


type P<T extends MikeyPayload['type']> = Extract<MikeyPayload, { type: T }>;
/** A KEMAC or one of its key sub-payloads, with whether keys may be shown in clear. */
interface Kemac { p: P<1>; show: boolean }
interface Key { k: KeyDataPayload; show: boolean }

const analyses = (v: FrameView): MikeyView[] => (v.frame.mikey ?? []).map((m) => m.analysis);
const messages = (v: FrameView): MikeyMessage[] => analyses(v).flatMap((a) => (a.message ? [a.message] : []));
/** Payloads of the given types in every MIKEY message of the frame, in wire order. */
function payloads<T extends MikeyPayload['type']>(...types: T[]) {
  return (v: FrameView): P<T>[] => messages(v).flatMap((m) => m.payloads.filter((p): p is P<T> => (types as number[]).includes(p.type)));
}
const kemacs = (v: FrameView): Kemac[] =>
  analyses(v).flatMap((a) => (a.message?.payloads ?? []).filter((p): p is P<1> => p.type === 1).map((p) => ({ p, show: a.showKeys === true })));
const keys = (v: FrameView): Key[] => kemacs(v).flatMap((c) => (c.p.keys ?? []).map((k) => ({ k, show: c.show })));
const firstKeys = (v: FrameView): KeyDataPayload[] => kemacs(v).flatMap((c) => (c.p.keys ?? []).slice(0, 1));
const mbmsInfo = (v: FrameView): MbmsInfo[] => analyses(v).flatMap((a) => (a.mbms ? [a.mbms] : []));
const delivered = (v: FrameView): DeliveredKey[] => analyses(v).flatMap((a) => a.keys ?? []);
/** Every next-payload field in wire order: the header's, then each payload's (a SIGN payload has none). */
const nextPayloads = (v: FrameView) => messages(v).flatMap((m) => [m.header, ...m.payloads.filter((p) => p.type !== 4)]);
const keyIds = (v: FrameView): KeyIdEntry[] => payloads(21)(v).flatMap((p) => p.keyIds ?? []);
const spParams = (v: FrameView): SpParam[] => payloads(10)(v).flatMap((p) => p.params);

const bytes = shortHex();
const secret = (show: boolean, b: Buffer): FieldValue => (show ? b : maskedKey(b));
const n = (t: ValueNames): FieldMore => ({ display: named(t) });

// ---- common header ----
const H = {
  version: nodeField(messages, 'mikey.version', 'uint', 'version (1)', (m) => m.header.version, { ...same, json: 'mikey.version', label: 'Version' }),
  type: nodeField(messages, 'mikey.type', 'uint', 'data type (0 PSK init, 1 PSK verification, …)', (m) => m.header.dataType, { ...same, json: 'mikey.dataType', label: 'Data Type', ...n(DATA_TYPE_NAMES) }),
  next: nodeField(nextPayloads, 'mikey.next_payload', 'uint', 'next payload codes, header first, in wire order', (h) => h.nextPayload, { ...same, label: 'Next Payload', ...n(PAYLOAD_NAMES) }),
  v: nodeField(messages, 'mikey.v.set', 'bool', 'V flag of the header: a verification message is requested', (m) => m.header.v, { ...same, json: 'mikey.v', label: 'V', display: (x) => (x === true ? 'True' : 'False') }),
  prf: nodeField(messages, 'mikey.prf_func', 'uint', 'PRF function', (m) => m.header.prf, { ...same, json: 'mikey.prf', label: 'PRF func', ...n(PRF_NAMES) }),
  csb: nodeField(messages, 'mikey.csb_id', 'uint', 'CSB ID', (m) => m.header.csbId, { ...hex(8), json: 'mikey.csbId', label: 'CSB ID' }),
  cs: nodeField(messages, 'mikey.cs_count', 'uint', 'number of crypto sessions', (m) => m.header.csCount, { ...same, json: 'mikey.csCount', label: '#CS' }),
  map: nodeField(messages, 'mikey.cs_id_map_type', 'uint', 'CS ID map type', (m) => m.header.csIdMapType, { ...same, json: 'mikey.csIdMapType', label: 'CS ID map type', ...n(CS_ID_MAP_TYPE_NAMES) }),
};
type Srtp = NonNullable<MikeyMessage['header']['srtpIds']>[number];
const srtpIds = (v: FrameView): Srtp[] => messages(v).flatMap((m) => m.header.srtpIds ?? []);
const SRTP = {
  policy: nodeField(srtpIds, 'mikey.srtp_id.policy_no', 'uint', 'SRTP ID entry: policy number', (s) => s.policyNo, { ...same, json: 'mikey.srtpIds.policyNo', label: 'Policy No' }),
  ssrc: nodeField(srtpIds, 'mikey.srtp_id.ssrc', 'uint', 'SRTP ID entry: SSRC', (s) => s.ssrc, { ...hex(8), json: 'mikey.srtpIds.ssrc', label: 'SSRC' }),
  roc: nodeField(srtpIds, 'mikey.srtp_id.roc', 'uint', 'SRTP ID entry: rollover counter', (s) => s.roc, { ...hex(8), json: 'mikey.srtpIds.roc', label: 'ROC' }),
};

// ---- payloads ----
const KEMAC = {
  encr: nodeField(kemacs, 'mikey.kemac.encr_alg', 'uint', 'KEMAC encryption algorithm', (c) => c.p.encrAlg, { ...same, json: 'mikey.payloads[type=1].encrAlg', label: 'Encr alg', ...n(ENCR_ALG_NAMES) }),
  len: nodeField(kemacs, 'mikey.kemac.key_data_len', 'uint', 'KEMAC encrypted key data length', (c) => c.p.encrData.length, { ...same, label: 'Key data len' }),
  // with NULL encryption the key data is the keys in clear: masked then, unless --show-keys
  data: nodeField(kemacs, 'mikey.kemac.key_data', 'bytes', 'KEMAC key data (with NULL encryption: the keys in clear, masked without --show-keys)',
    (c) => (c.p.encrData.length === 0 ? undefined : c.p.encrAlg === 0 ? secret(c.show, c.p.encrData) : c.p.encrData), { label: 'Key data', display: bytes }),
  mac_alg: nodeField(kemacs, 'mikey.kemac.mac_alg', 'uint', 'KEMAC MAC algorithm', (c) => c.p.macAlg, { ...same, json: 'mikey.payloads[type=1].macAlg', label: 'Mac alg', ...n(MAC_ALG_NAMES) }),
  mac: nodeField(kemacs, 'mikey.kemac.mac', 'bytes', 'KEMAC MAC', (c) => (c.p.mac.length > 0 ? c.p.mac : undefined), { ...same, json: 'mikey.payloads[type=1].mac', label: 'MAC', display: bytes }),
};
// tshark 4.0 shows only the first key data sub-payload of a KEMAC, and mikey.key.* keep that meaning; the tree shows every
// key sub-payload with the mikey.kemac.key.* fields
const KEY = {
  type: nodeField(keys, 'mikey.kemac.key.type', 'uint', 'type of each key data sub-payload of a KEMAC read in clear (0 TGK, 2 TEK, …)', (c) => c.k.keyType, { label: 'Type', ...n(KEY_TYPE_NAMES) }),
  kv: nodeField(keys, 'mikey.kemac.key.kv', 'uint', 'key validity type of each key data sub-payload', (c) => c.k.kv, { label: 'KV', ...n(KV_NAMES) }),
  len: nodeField(keys, 'mikey.kemac.key.len', 'uint', 'key length of each key data sub-payload', (c) => c.k.key.length, { label: 'Key len' }),
  key: nodeField(keys, 'mikey.kemac.key.data', 'bytes', 'key of each key data sub-payload (masked without --show-keys)', (c) => secret(c.show, c.k.key), { label: 'Key', display: bytes }),
  salt_len: nodeField(keys, 'mikey.kemac.key.salt_len', 'uint', 'salt length of each key data sub-payload that has a salt', (c) => c.k.salt?.length, { label: 'Salt key len' }),
  salt: nodeField(keys, 'mikey.kemac.key.salt', 'bytes', 'salt of each key data sub-payload (masked without --show-keys)', (c) => (c.k.salt ? secret(c.show, c.k.salt) : undefined), { label: 'Salt key', display: bytes }),
  spi: nodeField(keys, 'mikey.kemac.key.spi', 'bytes', 'SPI/MKI of a key data sub-payload (KV SPI)', (c) => c.k.spi, { label: 'Valid SPI', display: bytes }),
  from: nodeField(keys, 'mikey.kemac.key.valid_from', 'bytes', 'start of the validity interval of a key data sub-payload (KV Interval)', (c) => c.k.interval?.from, { label: 'Valid from', display: bytes }),
  to: nodeField(keys, 'mikey.kemac.key.valid_to', 'bytes', 'end of the validity interval of a key data sub-payload (KV Interval)', (c) => c.k.interval?.to, { label: 'Valid to', display: bytes }),
};
const PKE = {
  c: nodeField(payloads(2), 'mikey.pke.c', 'uint', 'PKE cache indicator', (p) => p.c, { ...same, json: 'mikey.payloads[type=2].c', label: 'C', ...n(PKE_C_NAMES) }),
  len: nodeField(payloads(2), 'mikey.pke.len', 'uint', 'PKE data length', (p) => p.data.length, { ...same, label: 'Data len' }),
  data: nodeField(payloads(2), 'mikey.pke.data', 'bytes', 'PKE data', (p) => p.data, { label: 'Data', display: bytes }),
};
const DH = {
  group: nodeField(payloads(3), 'mikey.dh.group', 'uint', 'DH group', (p) => p.group, { ...same, json: 'mikey.payloads[type=3].group', label: 'DH-Group', ...n(DH_GROUP_NAMES) }),
  value: nodeField(payloads(3), 'mikey.dh.value', 'bytes', 'DH value', (p) => p.value, { label: 'DH-Value', display: bytes }),
  kv: nodeField(payloads(3), 'mikey.dh.kv', 'uint', 'DH key validity type', (p) => p.kv, { ...same, json: 'mikey.payloads[type=3].kv', label: 'KV', ...n(KV_NAMES) }),
};
const SIGN = {
  type: nodeField(payloads(4), 'mikey.sign.type', 'uint', 'signature type', (p) => p.signType, { ...same, json: 'mikey.payloads[type=4].signType', label: 'Signature type', ...n(SIGN_TYPE_NAMES) }),
  len: nodeField(payloads(4), 'mikey.sign.len', 'uint', 'signature length', (p) => p.signature.length, { ...same, label: 'Signature len' }),
  data: nodeField(payloads(4), 'mikey.sign.data', 'bytes', 'signature', (p) => p.signature, { label: 'Signature', display: bytes }),
};
const T = {
  type: nodeField(payloads(5, 13), 'mikey.t.ts_type', 'uint', 'timestamp type (0 NTP-UTC, 1 NTP, 2 COUNTER)', (p) => p.tsType, { ...same, json: 'mikey.payloads[type=5|13].tsType', label: 'TS type', ...n(TS_TYPE_NAMES) }),
  ntp: nodeField(payloads(5, 13), 'mikey.t.ntp', 'string', 'NTP timestamp (NTP-UTC, NTP) as tshark shows it: `Nov  7, 2023 11:44:50.500000000 UTC`',
    (p) => (p.ntpSeconds !== undefined ? ntpText(p.ntpSeconds, p.ntpFraction ?? 0) : undefined), { ...same, label: 'NTP timestamp' }),
  counter: nodeField(payloads(5, 13), 'mikey.counter', 'uint', 'replay counter (timestamp payload of type COUNTER)', (p) => (p.type === 5 ? p.counter : undefined), { json: 'mikey.payloads[type=5].counter', label: 'Counter' }),
  tr_counter: nodeField(payloads(5, 13), 'mikey.tr.counter', 'uint', 'counter of a responder timestamp (TR) payload of type COUNTER', (p) => (p.type === 13 ? p.counter : undefined), { label: 'Counter' }),
  value: nodeField(payloads(5, 13), 'mikey.t.value', 'bytes', 'timestamp of a type keyscope does not decode (neither NTP nor COUNTER)',
    (p) => (p.counter === undefined && p.ntpSeconds === undefined ? p.value : undefined), { label: 'Timestamp', display: bytes }),
};
const ID = {
  role: nodeField(payloads(6, 14), 'mikey.id.role', 'uint', 'IDR role (1 initiator, 2 responder, …)', (p) => p.role, { ...same, json: 'mikey.payloads[type=6|14].role', label: 'ID role', ...n(ID_ROLE_NAMES) }),
  type: nodeField(payloads(6, 14), 'mikey.id.type', 'uint', 'ID type (0 NAI, 1 URI, …)', (p) => p.idType, { ...same, json: 'mikey.payloads[type=6|14].idType', label: 'ID type', ...n(ID_TYPE_NAMES) }),
  len: nodeField(payloads(6, 14), 'mikey.id.len', 'uint', 'ID length', (p) => p.data.length, { ...same, label: 'ID len' }),
  data: nodeField(payloads(6, 14), 'mikey.id.data', 'string', 'the identity (UTF-8)', (p) => p.data.toString('utf8'), { label: 'ID' }),
};
const CERT = {
  type: nodeField(payloads(7), 'mikey.cert.type', 'uint', 'certificate type', (p) => p.certType, { ...same, json: 'mikey.payloads[type=7].certType', label: 'Certificate type', ...n(CERT_TYPE_NAMES) }),
  len: nodeField(payloads(7), 'mikey.cert.len', 'uint', 'certificate length', (p) => p.data.length, { ...same, label: 'Certificate len' }),
  data: nodeField(payloads(7), 'mikey.cert.data', 'bytes', 'certificate', (p) => p.data, { label: 'Certificate', display: bytes }),
};
const CHASH = {
  func: nodeField(payloads(8), 'mikey.chash.func', 'uint', 'CHASH hash function', (p) => p.hashFunc, { json: 'mikey.payloads[type=8].hashFunc', label: 'Hash func', ...n(HASH_FUNC_NAMES) }),
  hash: nodeField(payloads(8), 'mikey.chash.hash', 'bytes', 'CHASH hash', (p) => p.hash, { label: 'Hash', display: bytes }),
};
const V = {
  alg: nodeField(payloads(9), 'mikey.v.auth_alg', 'uint', 'verification MAC algorithm', (p) => p.authAlg, { ...same, json: 'mikey.payloads[type=9].authAlg', label: 'Auth alg', ...n(MAC_ALG_NAMES) }),
  data: nodeField(payloads(9), 'mikey.v.ver_data', 'bytes', 'verification MAC', (p) => (p.mac.length > 0 ? p.mac : undefined), { ...same, json: 'mikey.payloads[type=9].mac', label: 'Ver data', display: bytes }),
};
const SP = {
  no: nodeField(payloads(10), 'mikey.sp.no', 'uint', 'security policy number', (p) => p.policyNo, { ...same, json: 'mikey.payloads[type=10].policyNo', label: 'Policy No' }),
  proto: nodeField(payloads(10), 'mikey.sp.proto_type', 'uint', 'security policy protocol type', (p) => p.protType, { ...same, json: 'mikey.payloads[type=10].protType', label: 'Protocol type', ...n(SP_PROT_TYPE_NAMES) }),
  type: nodeField(spParams, 'mikey.sp.param.type', 'uint', 'security policy parameter type', (x) => x.paramType, { ...same, json: 'mikey.payloads[type=10].params.paramType', label: 'Type' }),
  len: field('mikey.sp.param.len', 'uint', 'security policy parameter length', (v) => spParams(v).map((x) => x.value.length), same),
};
/** SRTP policy parameters (RFC 3830 §6.10.1) with a field each, as tshark has them; the others are mikey.sp.param.value. */
const SRTP_PARAMS: readonly [number, string, string, ValueNames | undefined][] = [
  [0, 'encr_alg', 'Encryption algorithm', SRTP_ENCR_ALG_NAMES],
  [1, 'encr_len', 'Session Encr. key length', undefined],
  [2, 'auth_alg', 'Authentication algorithm', SRTP_AUTH_ALG_NAMES],
  [3, 'auth_key_len', 'Session Auth. key length', undefined],
  [4, 'salt_len', 'Session Salt key length', undefined],
  [5, 'prf', 'SRTP Pseudo Random Function', SRTP_PRF_NAMES],
  [6, 'kd_rate', 'Key derivation rate', undefined],
  [7, 'srtp_encr', 'SRTP encryption', ON_OFF_NAMES],
  [8, 'srtcp_encr', 'SRTCP encryption', ON_OFF_NAMES],
  [9, 'fec', "Sender's FEC order", FEC_ORDER_NAMES],
  [10, 'srtp_auth', 'SRTP authentication', ON_OFF_NAMES],
  [11, 'auth_tag_len', 'Authentication tag length', undefined],
  [12, 'srtp_prefix', 'SRTP prefix length', undefined],
];
interface SpParamNode { x: SpParam; srtp: boolean }
const spParamNodes = (v: FrameView): SpParamNode[] => payloads(10)(v).flatMap((p) => p.params.map((x) => ({ x, srtp: p.protType === 0 })));
/** The field of an SRTP parameter that has one: a one-byte value of a known SRTP parameter type. */
const srtpParam = (s: SpParamNode): number | undefined => (s.srtp && s.x.paramType <= 12 && s.x.value.length === 1 ? s.x.paramType : undefined);
const SP_SRTP = SRTP_PARAMS.map(([t, name, label, table]) =>
  nodeField(spParamNodes, `mikey.sp.${name}`, 'uint', `SRTP policy: ${label.toLowerCase()}`, (s) => (srtpParam(s) === t ? s.x.value[0] : undefined), { label, ...(table ? n(table) : {}) }));
const SP_VALUE = nodeField(spParamNodes, 'mikey.sp.param.value', 'bytes', 'security policy parameter value that has no field of its own', (s) => (srtpParam(s) === undefined ? s.x.value : undefined), { label: 'Value', display: bytes });
const RAND = {
  len: nodeField(payloads(11, 15), 'mikey.rand.len', 'uint', 'RAND length', (p) => p.rand.length, { ...same, label: 'RAND len' }),
  data: nodeField(payloads(11, 15), 'mikey.rand.data', 'bytes', 'RAND', (p) => p.rand, { ...same, json: 'mikey.payloads[type=11|15].rand', label: 'RAND', display: bytes }),
};
const ERR = {
  no: nodeField(payloads(12), 'mikey.err.no', 'uint', 'error number', (p) => p.errorNo, { ...same, json: 'mikey.payloads[type=12].errorNo', label: 'Error no.', ...n(ERR_NAMES) }),
};
const EXT = {
  type: nodeField(payloads(21), 'mikey.ext.type', 'uint', 'extension type (3 = Key ID, RFC 4563)', (p) => p.extType, { ...same, json: 'mikey.payloads[type=21].extType', label: 'Extension type', ...n(EXT_TYPE_NAMES) }),
  len: nodeField(payloads(21), 'mikey.ext.len', 'uint', 'extension data length', (p) => p.data.length, { ...same, label: 'Length' }),
  data: nodeField(payloads(21), 'mikey.ext.data', 'bytes', 'extension data (not SDP IDs)', (p) => (p.extType !== 1 ? p.data : undefined), { ...same, label: 'Data', display: bytes }),
  sdp: nodeField(payloads(21), 'mikey.ext.sdp_ids', 'string', 'SDP IDs extension (type 1) as text', (p) => (p.extType === 1 ? p.data.toString('utf8') : undefined), { label: 'SDP IDs' }),
};
// RFC 4563 Key ID entries as TS 33.246 uses them
const KEY_ID = {
  domain: nodeField(keyIds, 'mikey.ext.key_domain_id', 'bytes', 'Key ID extension: MBMS Key Domain ID (3 bytes, MCC-MNC in mikey.mbms.key_domain)',
    (k) => (k.keyIdType === 0 ? k.value : undefined), { label: 'MBMS Key Domain ID' }),
  group: nodeField(keyIds, 'mikey.ext.key_group', 'uint', 'Key ID extension: MBMS MSK ID, Key Group', (k) => (k.keyIdType === 1 ? k.keyGroup : undefined), { base: 'hex', hexDigits: 4, label: 'MBMS MSK Key Group' }),
  number: nodeField(keyIds, 'mikey.ext.key_number', 'uint', 'Key ID extension: MBMS MSK ID, Key Number (also of the 2-byte seed encoding)', (k) => (k.keyIdType === 1 ? k.keyNumber : undefined),
    { base: 'hex', hexDigits: 4, label: 'MBMS MSK Key Number' }),
  mtk: nodeField(keyIds, 'mikey.ext.mtk_id', 'uint', 'Key ID extension: MBMS MTK ID', (k) => (k.keyIdType === 2 ? k.mtkId : undefined), { label: 'MBMS MTK ID' }),
  other: nodeField(keyIds, 'mikey.ext.key_id', 'bytes', 'Key ID extension entry that is not decoded (type or length unknown)',
    (k) => (k.keyIdType === 0 || (k.keyIdType === 1 && (k.keyGroup !== undefined || k.keyNumber !== undefined)) || (k.keyIdType === 2 && k.mtkId !== undefined) ? undefined : k.value),
    { label: 'Key ID', display: bytes }),
};
const TICKET = {
  type: nodeField(payloads(17), 'mikey.ticket.type', 'uint', 'TICKET type', (p) => p.ticketType, { label: 'Ticket type' }),
  data: nodeField(payloads(17), 'mikey.ticket.data', 'bytes', 'TICKET data', (p) => p.data, { label: 'Ticket data', display: bytes }),
};
const SAKKE = {
  params: nodeField(payloads(26), 'mikey.sakke.params', 'uint', 'SAKKE parameter set', (p) => p.params, { ...same, json: 'mikey.payloads[type=26].params', label: 'SAKKE params', ...n(SAKKE_PARAMS_NAMES) }),
  scheme: nodeField(payloads(26), 'mikey.sakke.idscheme', 'uint', 'SAKKE identifier scheme', (p) => p.idScheme, { ...same, json: 'mikey.payloads[type=26].idScheme', label: 'ID scheme', ...n(SAKKE_ID_SCHEME_NAMES) }),
  len: nodeField(payloads(26), 'mikey.sakke.len', 'uint', 'SAKKE data length', (p) => p.data.length, { ...same, label: 'SAKKE data length' }),
  data: nodeField(payloads(26), 'mikey.sakke.data', 'bytes', 'SAKKE data', (p) => p.data, { label: 'SAKKE data', display: bytes }),
};

// ---- MBMS (TS 33.246), verification ----
const MBMS = {
  kind: nodeField(mbmsInfo, 'mikey.mbms.kind', 'string', 'MBMS message kind: msk-delivery, mtk-delivery, verification, solicited-pull-trigger, error, other', (i) => i.kind,
    { json: 'mikey.mbms.kind', label: 'Kind', display: (x) => `${KIND_LABEL[x as MbmsInfo['kind']] ?? String(x)} (${String(x)})` }),
  domain: nodeField(mbmsInfo, 'mikey.mbms.key_domain', 'string', 'Key Domain ID as MCC-MNC (e.g. 001-01)', (i) => i.keyDomain, { json: 'mikey.mbms.keyDomain', label: 'Key Domain' }),
  domainId: nodeField(mbmsInfo, 'mikey.mbms.key_domain_id', 'bytes', 'Key Domain ID bytes', (i) => (i.keyDomainId !== undefined ? Buffer.from(i.keyDomainId, 'hex') : undefined),
    { json: 'mikey.mbms.keyDomainId', label: 'Key Domain ID' }),
  msk: nodeField(mbmsInfo, 'mikey.mbms.msk_id', 'uint', 'MSK ID (Key Group << 16 | Key Number)', (i) => i.mskId, { base: 'hex', hexDigits: 8, json: 'mikey.mbms.mskId', label: 'MSK ID' }),
  group: nodeField(mbmsInfo, 'mikey.mbms.key_group', 'uint', 'MSK Key Group', (i) => i.keyGroup, { base: 'hex', hexDigits: 4, json: 'mikey.mbms.keyGroup', label: 'Key Group' }),
  number: nodeField(mbmsInfo, 'mikey.mbms.key_number', 'uint', 'MSK Key Number', (i) => i.keyNumber, { base: 'hex', hexDigits: 4, json: 'mikey.mbms.keyNumber', label: 'Key Number' }),
  mtk: nodeField(mbmsInfo, 'mikey.mbms.mtk_id', 'uint', 'MTK ID', (i) => i.mtkId, { json: 'mikey.mbms.mtkId', label: 'MTK ID' }),
  idi: nodeField(mbmsInfo, 'mikey.mbms.idi', 'string', "initiator's identity (BM-SC)", (i) => i.idi, { json: 'mikey.mbms.idi', label: 'IDi' }),
  idr: nodeField(mbmsInfo, 'mikey.mbms.idr', 'string', "responder's identity (the UE's B-TID)", (i) => i.idr, { json: 'mikey.mbms.idr', label: 'IDr' }),
  enc: nodeField(mbmsInfo, 'mikey.mbms.id_encoding', 'string', 'MBMS identifier encoding: published, seed (draft), none', (i) => i.idEncoding, { json: 'mikey.mbms.idEncoding', label: 'Identifier encoding' }),
  verified: nodeField(analyses, 'mikey.verified', 'bool', 'MAC checked with a known key: true = valid, false = invalid (absent: no key)', (a) => a.verified,
    { json: 'mikey.mbms.verified', label: 'MAC verified', generated: true, display: (x) => (x === true ? 'yes' : 'NO, MAC invalid') }),
  with: nodeField(analyses, 'mikey.verified_with', 'string', 'which key verified the MAC: muk, previous-muk, msk, delivery-keys', (a) => a.verifiedWith || undefined,
    { json: 'mikey.mbms.verifiedWith', label: 'Verified with', generated: true }),
  source: nodeField(analyses, 'mikey.key_source', 'string', 'where the verifying key came from (keys file line, derived)', (a) => a.keySource || undefined,
    { json: 'mikey.mbms.keySource', label: 'Key source', generated: true }),
  answers: nodeField(analyses, 'mikey.answers_frame', 'framenum', 'for a verification message (ACK): the frame of the delivery it answers', (a) => a.answersFrame,
    { json: 'mikey.mbms.answersFrame', label: 'Answers frame', generated: true }),
};
const DELIVERED = {
  type: nodeField(delivered, 'mikey.delivered.type', 'uint', 'type of a key the message delivered (verified, decrypted)', (k) => k.keyType, { json: 'mikey.mbms.keys.keyType', label: 'Type', ...n(KEY_TYPE_NAMES) }),
  kv: nodeField(delivered, 'mikey.delivered.kv', 'uint', 'key validity type of a delivered key', (k) => k.kv, { json: 'mikey.mbms.keys.kv', label: 'KV', ...n(KV_NAMES) }),
  len: nodeField(delivered, 'mikey.delivered.len', 'uint', 'length of a delivered key', (k) => k.keyLength, { json: 'mikey.mbms.keys.keyLength', label: 'Key len' }),
  key: nodeField(delivered, 'mikey.delivered.key', 'string', 'a delivered key, hex (masked without --show-keys)', (k) => k.key, { json: 'mikey.mbms.keys.key', label: 'Key' }),
  salt: nodeField(delivered, 'mikey.delivered.salt', 'string', 'salt of a delivered key, hex (masked without --show-keys)', (k) => k.salt, { json: 'mikey.mbms.keys.salt', label: 'Salt key' }),
  from: nodeField(delivered, 'mikey.delivered.valid_from', 'uint', 'MSK: first MTK ID it is valid for is this + 1 (SEQl)', (k) => k.validFrom, { json: 'mikey.mbms.keys.validFrom', label: 'Valid after MTK ID' }),
  to: nodeField(delivered, 'mikey.delivered.valid_to', 'uint', 'MSK: last MTK ID it is valid for (SEQu)', (k) => k.validTo, { json: 'mikey.mbms.keys.validTo', label: 'Valid up to MTK ID' }),
};

/** The tree lines of one payload (title, next payload, then its fields). */
function payloadLines(p: MikeyPayload, show: boolean): string[] {
  const I = '        ';
  const title = (t: string) => [`    ${t}  [offset ${p.offset}, length ${p.length}]`, ...(p.type === 4 ? [] : lines(I, p, H.next))];
  switch (p.type) {
    case 1: {
      const c: Kemac = { p, show };
      return [...title(`Key Data Transport (KEMAC): ${p.encrAlgName}, ${p.macAlgName}`), ...lines(I, c, KEMAC.encr, KEMAC.len, KEMAC.data),
        ...(p.keys ?? []).flatMap((k) => [`${I}Key data (KEY): ${k.keyTypeName}, KV ${k.kvName}`,
          ...lines(`${I}    `, { k, show }, KEY.type, KEY.kv, KEY.len, KEY.key, KEY.salt_len, KEY.salt, KEY.spi, KEY.from, KEY.to)]),
        ...lines(I, c, KEMAC.mac_alg, KEMAC.mac)];
    }
    case 2: return [...title('Envelope Data (PKE)'), ...lines(I, p, PKE.c, PKE.len, PKE.data)];
    case 3: return [...title(`DH Data (DH): ${p.groupName}`), ...lines(I, p, DH.group, DH.value, DH.kv)];
    case 4: return [...title(`Signature (SIGN): ${p.signTypeName}`), ...lines(I, p, SIGN.type, SIGN.len, SIGN.data)];
    case 5:
    case 13: {
      const val = p.counter !== undefined ? `${p.counter}` : p.time ?? bytes(p.value);
      return [...title(`${p.typeName}: ${p.tsTypeName} ${val}`), ...lines(I, p, T.type, T.ntp, T.value),
        ...lines(I, p, T.counter, T.tr_counter)];
    }
    case 6:
    case 14: return [...title(`${p.typeName}: ${p.text}`), ...lines(I, p, ID.role, ID.type, ID.len, ID.data)];
    case 7: return [...title(`Certificate (CERT): ${p.certTypeName}`), ...lines(I, p, CERT.type, CERT.len, CERT.data)];
    case 8: return [...title(`CHASH: ${p.hashFuncName}`), ...lines(I, p, CHASH.func, CHASH.hash)];
    case 9: return [...title(`Ver msg (V): ${p.authAlgName}`), ...lines(I, p, V.alg, V.data)];
    case 10:
      return [...title(`Security Policy (SP): ${p.protTypeName}`), ...lines(I, p, SP.no, SP.proto),
        ...p.params.flatMap((x) => [`${I}Parameter: ${x.paramTypeName}`, ...lines(`${I}    `, x, SP.type), ...lines(`${I}    `, { x, srtp: p.protType === 0 }, ...SP_SRTP, SP_VALUE)])];
    case 11:
    case 15: return [...title(`${p.typeName}: ${bytes(p.rand)}`), ...lines(I, p, RAND.len, RAND.data)];
    case 12: return [...title(`Error (ERR): ${p.errorName}`), ...lines(I, p, ERR.no)];
    case 21:
      return [...title(`General Extension (EXT): ${p.extTypeName}`), ...lines(I, p, EXT.type, EXT.len, EXT.data, EXT.sdp),
        ...(p.keyIds ?? []).flatMap((k) => lines(I, k, KEY_ID.domain, KEY_ID.group, KEY_ID.number, KEY_ID.mtk, KEY_ID.other))];
    case 17: return [...title('Ticket (TICKET)'), ...lines(I, p, TICKET.type, TICKET.data)];
    case 26: return [...title('SAKKE Encapsulated Data (SAKKE)'), ...lines(I, p, SAKKE.params, SAKKE.scheme, SAKKE.len, SAKKE.data)];
  }
}

/** The `-V` tree of one MIKEY message: title, then lines (indented like tshark's). */
export function mikeyTree(v: MikeyView): string[] {
  const m = v.message;
  const out = ['Multimedia Internet KEYing'];
  if (!m) return [...out, '    [Malformed: no common header]'];
  const I = '        ';
  out.push(`    Common Header (HDR)  [offset 0, length ${m.header.length}]`, ...lines(I, m, H.version, H.type), ...lines(I, m.header, H.next),
    ...lines(I, m, H.v, H.prf, H.csb, H.cs, H.map));
  for (const s of m.header.srtpIds ?? []) out.push(`${I}SRTP ID`, ...lines(`${I}    `, s, SRTP.policy, SRTP.ssrc, SRTP.roc));
  for (const p of m.payloads) out.push(...payloadLines(p, v.showKeys === true));
  const i = v.mbms;
  if (i) {
    out.push('    MBMS (TS 33.246)', ...lines(I, i, MBMS.kind, MBMS.domain, MBMS.domainId, MBMS.msk, MBMS.group, MBMS.number, MBMS.mtk, MBMS.idi, MBMS.idr, MBMS.enc),
      ...lines(I, v, MBMS.verified, MBMS.with, MBMS.source, MBMS.answers));
    for (const k of v.keys ?? []) out.push(`${I}Delivered key: ${k.keyTypeName}`, ...lines(`${I}    `, k, DELIVERED.type, DELIVERED.kv, DELIVERED.len, DELIVERED.key, DELIVERED.salt, DELIVERED.from, DELIVERED.to));
  }
  return out;
}

const presence = (name: string, description: string, nodes: (v: FrameView) => unknown[], more: FieldMore = same) =>
  field(name, 'none', description, (v) => nodes(v).map(() => true), more);

/** Tunnel depth of the frame's application layers: 1 inside an unwrapped GTP-U tunnel, else 0. */
export const appDepth = (v: FrameView): number => {
  const p = v.frame.packet;
  return p.tunnel?.outerIp !== undefined && p.tunnel.outerIp !== p.ip ? 1 : 0;
};

export const mikeyLayer: FieldLayer = {
  name: 'mikey',
  title: 'Multimedia Internet KEYing (RFC 3830) and its MBMS use (TS 33.246)',
  tree: (v): TreeBlock[] => analyses(v).map((a) => {
    const [title, ...rest] = mikeyTree(a);
    return { depth: appDepth(v), title, lines: rest };
  }),
  fields: [
    field('mikey', 'protocol', 'a MIKEY message (UDP, or an application/mikey HTTP body)', (v) => analyses(v).map(() => true), { tshark: 'presence', json: 'mikey' }),
    presence('mikey.hdr', 'common header', messages),
    H.version, H.type, H.v, H.prf, H.csb, H.cs, H.map, H.next,
    presence('mikey.srtp_id', 'SRTP ID entry of the header (CS ID map type 0)', srtpIds, { ...same, json: 'mikey.srtpIds' }),
    SRTP.policy, SRTP.ssrc, SRTP.roc,
    presence('mikey.kemac', 'KEMAC payload', payloads(1), { ...same, json: 'mikey.payloads[type=1]' }),
    KEMAC.encr, KEMAC.len, KEMAC.data, KEMAC.mac_alg, KEMAC.mac,
    presence('mikey.t', 'timestamp payload', payloads(5), { ...same, json: 'mikey.payloads[type=5]' }),
    T.ntp, T.type, T.value,
    presence('mikey.id', 'ID payload', payloads(6), { ...same, json: 'mikey.payloads[type=6]' }),
    presence('mikey.idr', 'IDR payload', payloads(14), { ...same, json: 'mikey.payloads[type=14]' }),
    ID.role, ID.type, ID.len, ID.data,
    presence('mikey.v', 'verification (V) payload', payloads(9), { ...same, json: 'mikey.payloads[type=9]' }),
    V.alg, V.data,
    presence('mikey.sp', 'security policy payload', payloads(10), { ...same, json: 'mikey.payloads[type=10]' }),
    presence('mikey.pke', 'envelope data (PKE) payload', payloads(2), { ...same, json: 'mikey.payloads[type=2]' }),
    PKE.c, PKE.len, PKE.data,
    presence('mikey.dh', 'DH data payload', payloads(3), { ...same, json: 'mikey.payloads[type=3]' }),
    DH.group, DH.value, DH.kv,
    presence('mikey.sign', 'signature payload', payloads(4), { ...same, json: 'mikey.payloads[type=4]' }),
    SIGN.type, SIGN.len, SIGN.data,
    presence('mikey.cert', 'certificate payload', payloads(7), { ...same, json: 'mikey.payloads[type=7]' }),
    CERT.type, CERT.len, CERT.data,
    presence('mikey.chash', 'CHASH payload', payloads(8), { ...same, json: 'mikey.payloads[type=8]' }),
    CHASH.func, CHASH.hash,
    SP.no, SP.proto, SP.type, SP.len, ...SP_SRTP, SP_VALUE,
    presence('mikey.rand', 'RAND payload', payloads(11), { ...same, json: 'mikey.payloads[type=11]' }),
    RAND.len, RAND.data,
    presence('mikey.err', 'error payload', payloads(12), { ...same, json: 'mikey.payloads[type=12]' }),
    ERR.no,
    presence('mikey.ext', 'general extension payload', payloads(21), { ...same, json: 'mikey.payloads[type=21]' }),
    EXT.type, EXT.len, EXT.data, EXT.sdp,
    KEY_ID.domain, KEY_ID.group, KEY_ID.number, KEY_ID.mtk, KEY_ID.other,
    // tshark 4.0 shows only the first key data sub-payload of a KEMAC; so do these fields, to keep the same meaning
    field('mikey.key', 'none', 'first key data sub-payload of a KEMAC, when read in clear (NULL encryption)', (v) => firstKeys(v).map(() => true), same),
    field('mikey.key.type', 'uint', 'type of that key data sub-payload (0 TGK, 2 TEK, …)', (v) => firstKeys(v).map((k) => k.keyType), same),
    field('mikey.key.kv', 'uint', 'key validity type of that key data sub-payload', (v) => firstKeys(v).map((k) => k.kv), same),
    field('mikey.key.data.len', 'uint', 'key length of that key data sub-payload', (v) => firstKeys(v).map((k) => k.key.length), same),
    KEY.type, KEY.kv, KEY.len, KEY.key, KEY.salt_len, KEY.salt, KEY.spi, KEY.from, KEY.to,
    TICKET.type, TICKET.data,
    presence('mikey.sakke', 'SAKKE payload', payloads(26), { ...same, json: 'mikey.payloads[type=26]' }),
    SAKKE.params, SAKKE.scheme, SAKKE.len, SAKKE.data,
    T.counter, T.tr_counter,
    MBMS.kind, MBMS.enc, MBMS.domain, MBMS.domainId, MBMS.msk, MBMS.group, MBMS.number, MBMS.mtk, MBMS.idi, MBMS.idr,
    MBMS.verified, MBMS.with, MBMS.source, MBMS.answers,
    DELIVERED.type, DELIVERED.kv, DELIVERED.len, DELIVERED.key, DELIVERED.salt, DELIVERED.from, DELIVERED.to,
    field('mikey.carrier', 'string', 'how the message came: udp, or http (an application/mikey body)', (v) => (v.frame.mikey ?? []).map((m) => m.carrier), { json: 'mikey.carrier' }),
  ],
};

