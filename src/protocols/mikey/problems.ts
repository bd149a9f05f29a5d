/**
 * Problem codes of MIKEY (message decoding, the TS 33.246 profile of one message, keys and crypto), declared once:
 * severity, layer and meaning. docs/problem-codes.md is generated from these sections.
 *
 * Only what a message says, or what the keys say about it, is a problem here. Rules over a sequence of messages that
 * the analyzer's correlator owns (counter replay, ACKs matching no delivery, missing ACKs) are its diagnostics
 * (src/correlate/catalog.ts), not MIKEY problems.
 */
import { reporter, type ProblemCodes, type ProblemSection } from '../../common/problem';

const DECODING = {
  'mikey-truncated': { severity: 'error', layer: 'mikey', meaning: 'The message ends inside the common header, the CS ID map, a payload, or where a payload was announced.' },
  'mikey-overlong-payload': { severity: 'error', layer: 'mikey', meaning: 'A length field (KEMAC, PKE, ID, certificate, signature, RAND, SP, extension, ticket, SAKKE, Key data, Key ID) runs past the message or its enclosing payload.' },
  'mikey-bad-version': { severity: 'warning', layer: 'mikey', meaning: 'MIKEY version other than 1.' },
  'mikey-unknown-data-type': { severity: 'warning', layer: 'mikey', meaning: 'A data type no RFC assigns (below 241).' },
  'mikey-unknown-prf': { severity: 'warning', layer: 'mikey', meaning: 'A PRF function code in the common header that no RFC assigns.' },
  'mikey-unsupported-algorithm': { severity: 'error', layer: 'mikey', meaning: 'An unknown KEMAC encryption or MAC algorithm, V MAC algorithm, DH group, CHASH hash or timestamp type: the length of what follows cannot be known.' },
  'mikey-empty-map-cs-count': { severity: 'warning', layer: 'mikey', meaning: 'The Empty CS ID map (RFC 4563) with #CS not 0.' },
  'mikey-unknown-cs-id-map': { severity: 'error', layer: 'mikey', meaning: 'An unknown CS ID map type: the map cannot be delimited, no payload is decoded.' },
  'mikey-unknown-kv': { severity: 'error', layer: 'mikey', meaning: 'An unknown key validity type in Key data: its data cannot be delimited.' },
  'mikey-unknown-payload': { severity: 'error', layer: 'mikey', meaning: 'An unknown next-payload type (in the message, or other than Key data inside KEMAC): the rest is not decoded.' },
  'mikey-unsupported-payload': { severity: 'warning', layer: 'mikey', meaning: 'A known payload type keyscope does not decode (its length cannot be determined): the rest is not decoded.' },
  'mikey-next-payload-loop': { severity: 'error', layer: 'mikey', meaning: 'More than 128 payloads (or 32 Key data), or a once-only payload appears again: the next-payload chain loops.' },
  'mikey-trailing-data': { severity: 'warning', layer: 'mikey', meaning: 'Bytes after the last payload.' },
} as const satisfies ProblemCodes;

const PROFILE = {
  'mikey-missing-key-id': { severity: 'warning', layer: 'mikey', meaning: 'An MBMS-style key delivery (PSK, KEMAC, COUNTER) without the RFC 4563 Key ID extension.' },
  'mikey-missing-key-domain-id': { severity: 'warning', layer: 'mikey', meaning: 'A Key ID extension (RFC 4563) without a Key Domain ID.' },
  'mikey-null-encryption': { severity: 'warning', layer: 'mikey', meaning: 'KEMAC encryption NULL: the key travels in clear (§6.4.5 forbids it).' },
  'mikey-null-mac': { severity: 'error', layer: 'mikey', meaning: 'KEMAC MAC, or the verification message\'s MAC, is NULL: not authenticated (§6.4.5 forbids it).' },
  'mikey-ack-without-idr': { severity: 'warning', layer: 'mikey', meaning: 'An MSK verification message (ACK) without IDr (§6.4.5.2: HDR, TS, IDr, V).' },
  'mikey-sp-with-empty-map': { severity: 'warning', layer: 'mikey', meaning: 'An SP payload with the Empty CS ID map (RFC 4563 forbids it).' },
  'mikey-v-on-mtk': { severity: 'warning', layer: 'mikey', meaning: 'The V (verification requested) flag on an MTK message: MTKs are never acknowledged (§6.3.3.2).' },
  'mikey-v-on-trigger': { severity: 'warning', layer: 'mikey', meaning: 'The V flag on a solicited-pull trigger (§6.3.2.2.4).' },
  'mikey-key-group-zero': { severity: 'warning', layer: 'mikey', meaning: 'MSK ID with Key Group 0x0000, reserved (§6.3.2.1).' },
  'mikey-mtk-id-reserved': { severity: 'warning', layer: 'mikey', meaning: 'MTK ID 0 or 0xFFFF: not allowed.' },
  'mikey-missing-timestamp': { severity: 'error', layer: 'mikey', meaning: 'A key delivery without a timestamp payload (§6.4.3).' },
  'mikey-ts-not-counter': { severity: 'warning', layer: 'mikey', meaning: 'A timestamp that is not of type COUNTER (§6.4.3).' },
  'mikey-missing-rand': { severity: 'error', layer: 'mikey', meaning: 'An MSK message without RAND (§6.4.5.1): its message keys cannot be derived.' },
  'mikey-mtk-map-type': { severity: 'warning', layer: 'mikey', meaning: 'An MTK message whose CS ID map is not the Empty map (§6.4.5.3).' },
  'mikey-multiple-keys': { severity: 'warning', layer: 'mikey', meaning: 'More than one key in one MSK or MTK message; TS 33.246 allows one.' },
  'mikey-msk-not-tek-interval': { severity: 'warning', layer: 'mikey', meaning: 'The MSK is not carried as a TEK with a validity interval (§6.4.5.1).' },
  'mikey-sequ-max': { severity: 'warning', layer: 'mikey', meaning: 'The MSK\'s upper MTK ID (SEQu) is 0xFFFF (§6.4.5.1: never).' },
  'mikey-msk-invalidated': { severity: 'note', layer: 'mikey', meaning: 'The MSK\'s MTK ID interval is empty: the BM-SC invalidates this MSK (§6.3.2.1B).' },
  'mikey-mtk-key-type': { severity: 'warning', layer: 'mikey', meaning: 'The MTK is neither TEK+SALT (streaming) nor TGK (download) with KV NULL (§6.4.5.3).' },
} as const satisfies ProblemCodes;

const KEYS = {
  'mikey-no-key': { severity: 'note', layer: 'mikey', meaning: 'No MUK (for an MSK message or ACK) or MSK (for an MTK message) known: MAC not checked, key not decrypted. Not reported at all when no key file was given.' },
  'mikey-no-rand': { severity: 'note', layer: 'mikey', meaning: 'An MTK message whose MSK is known, but no MSK message with its RAND was seen: the MTK message keys cannot be derived.' },
  'mikey-prf-not-implemented': { severity: 'warning', layer: 'mikey', meaning: 'A key-protected message whose PRF is not MIKEY-1, the only one keyscope implements (and TS 33.246 uses): its MAC is not checked.' },
  'mikey-mac-invalid': { severity: 'error', layer: 'mikey', meaning: 'The KEMAC MAC (or the ACK\'s verification MAC) does not verify with any known key: wrong MUK/MSK in the key file, a UE and BM-SC out of step, or a tampered message.' },
  'mikey-decrypt-failed': { severity: 'error', layer: 'mikey', meaning: 'The KEMAC data could not be decrypted, or decrypted to something that is not a Key data chain (wrong key).' },
  'mikey-previous-muk': { severity: 'note', layer: 'mikey', meaning: 'An MSK message that verifies only with a MUK older than the UE\'s latest: the UE requests the MSK again and sends no ACK (§6.3.2.3.1).' },
  'mikey-trigger-previous-muk': { severity: 'note', layer: 'mikey', meaning: 'A solicited-pull trigger verified with the UE\'s previous MUK (§6.3.2.2.4): allowed.' },
  'mikey-internal-error': { severity: 'error', layer: 'mikey', meaning: 'A defect of keyscope caught while analysing the message. Should never appear: report it with the capture.' },
} as const satisfies ProblemCodes;

export const MIKEY_PROBLEM_SECTIONS: readonly ProblemSection[] = [
  {
    title: 'MIKEY message decoding (layer `mikey`)',
    intro: `RFC 3830 (with RFC 4563 and later payloads). Offsets count from the first byte of the MIKEY message (the UDP
payload, or the HTTP body for MIKEY over HTTP). After most errors the rest of the message is not decoded.`,
    codes: DECODING,
  },
  {
    title: 'MIKEY: TS 33.246 MBMS profile (layer `mikey`)',
    intro: `Rules of TS 33.246 on one message, checked on every MIKEY message that looks like MBMS key delivery. Offsets count
from the first byte of the MIKEY message (for decrypted key data: the position inside the KEMAC encrypted data).`,
    codes: PROFILE,
  },
  {
    title: 'MIKEY: keys, crypto and the key tracker (layer `mikey`)',
    intro: `Verification and decryption with the keys of \`--keys\` (MUKs, MSKs) and those learnt from decrypted MSK messages,
and the state kept across messages to find the keys (RAND per MSK, MTK IDs, the delivery an ACK answers). Offsets count
from the first byte of the MIKEY message (the MAC, the timestamp, the Key ID concerned). Counter replays and ACKs that
match no delivery are not MIKEY problems: \`keyscope analyze\` reports them once, as the diagnostics \`counter-replay\` and
\`ack-unmatched\` ([docs/diagnostics.md](diagnostics.md)).`,
    codes: KEYS,
  },
];

/** Emits a MIKEY problem by code. */
export const mikeyProblem = reporter({ ...DECODING, ...PROFILE, ...KEYS });
/** A MIKEY code, for helpers that forward one. */
export type MikeyProblemCode = keyof typeof mikeyProblem.codes;
