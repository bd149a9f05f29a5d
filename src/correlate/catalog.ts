/**
 * Every procedure diagnostic: its stable code, severity and one-line meaning. docs/diagnostics.md is the same table
 * for people; a test keeps the two in step.
 */
import type { Severity } from '../common/problem';
import type { DiagnosticCode } from './types';

export interface DiagnosticInfo {
  severity: Severity;
  meaning: string;
}

export const DIAGNOSTICS: Readonly<Record<DiagnosticCode, DiagnosticInfo>> = {
  'credentials-rejected': { severity: 'error', meaning: 'A request carrying Digest credentials was answered 401 without stale=true: wrong password (MRK) or B-TID.' },
  'stale-nonce-loop': { severity: 'error', meaning: 'Two or more stale=true challenges in a row answered the same UE\'s credentials: it never gets a usable nonce.' },
  'http-error-status': { severity: 'error', meaning: 'A key-management request was answered with a 4xx/5xx status other than the Digest 401 challenge.' },
  'request-unanswered': { severity: 'error', meaning: 'A key-management HTTP request got no response within --pull-timeout (or by the end of the capture).' },
  'no-mikey-after-200': { severity: 'error', meaning: '200 OK to an MSK request, but no MIKEY MSK message reached the UE within --delivery-timeout.' },
  'mikey-before-200': { severity: 'warning', meaning: 'The MIKEY MSK message reached the UE before the 200 OK of its request (transport variant A): Digest mutual authentication (Authentication-Info) is broken.' },
  'ack-missing': { severity: 'error', meaning: 'An MSK message had the V bit set but no MIKEY verification message (ACK) came back within --ack-timeout.' },
  'ack-unmatched': { severity: 'warning', meaning: 'A MIKEY verification message (ACK) matches no MIKEY message in the capture (CSB ID and counter).' },
  'ack-mac-invalid': { severity: 'error', meaning: 'The ACK\'s MAC does not verify with the keys of the delivery it answers (needs --keys).' },
  'repeated-delivery': { severity: 'warning', meaning: 'The same MSK was delivered again to a UE that had already received it (and ACKed it when asked to).' },
  'solicited-pull-ignored': { severity: 'error', meaning: 'A solicited-pull trigger reached the UE but no MSK request from it followed within --pull-timeout.' },
  'mtk-v-set': { severity: 'warning', meaning: 'An MTK message has the V bit set; MTK messages are never acknowledged.' },
  'mtk-ack': { severity: 'warning', meaning: 'A verification message (ACK) answers an MTK message; UEs never ACK MTKs.' },
  'counter-replay': { severity: 'error', meaning: 'A MIKEY counter did not increase (per MUK for MSK messages, per MSK for new MTK messages): the receiver drops it as a replay.' },
  'third-msk': { severity: 'warning', meaning: 'A third MSK of one key group reached a UE; it keeps two, so the oldest is dropped while it may still be in use.' },
  'no-valid-msk': { severity: 'error', meaning: 'A UE that requested a key group ended the capture with no MSK for it (refused with a ResponseCode, never delivered, or the request failed): it must leave the user service.' },
  'key-group-not-requested': { severity: 'warning', meaning: 'An MSK message answering a UE\'s request carries a key group the request did not ask for.' },
  'msk-counter-jump': { severity: 'warning', meaning: 'The per-MUK counter rose by n > 1 between MSK messages to a UE: n − 1 MSK messages never reached the capture.' },
  'ack-not-due': { severity: 'warning', meaning: 'An ACK where none is due: for a V = 0 message, a solicited-pull trigger, or a push under an older MUK.' },
  'msk-request-unregistered': { severity: 'warning', meaning: 'An MSK request from a UE the capture shows unregistered: it deregistered, or its registration failed, and it did not register again.' },
  'registration-not-seen': { severity: 'note', meaning: 'An MSK request from a UE whose registration is not in the capture and whom the BM-SC had not yet contacted: the registration may precede the capture.' },
  'push-to-unregistered-address': { severity: 'error', meaning: 'An MSK message was pushed to an address the UE did not register from (or after it deregistered).' },
  'retry-after-ignored': { severity: 'warning', meaning: 'After 503 with Retry-After the UE repeated the request too early, or never repeated it.' },
  'request-storm': { severity: 'warning', meaning: 'Many UEs sent MSK requests within a short window (--storm-ues within --storm-window): request congestion.' },
};

export const DIAGNOSTIC_CODES = Object.keys(DIAGNOSTICS) as DiagnosticCode[];
