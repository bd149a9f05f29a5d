/**
 * Problem codes of the MBMS key-management XML bodies (TS 26.346), declared once: severity, layer and meaning.
 * docs/problem-codes.md is generated from this section.
 */
import { reporter, type ProblemCodes, type ProblemSection } from '../../common/problem';

const MBMS_XML = {
  'mbms-xml-too-large': { severity: 'warning', layer: 'mbms', meaning: 'The body exceeds 256 KiB: not parsed.' },
  'mbms-xml-doctype': { severity: 'warning', layer: 'mbms', meaning: 'A DOCTYPE or ENTITY declaration: refused (entity expansion attacks), not parsed.' },
  'mbms-xml-malformed': { severity: 'warning', layer: 'mbms', meaning: 'Not well-formed XML (line and column in the message): not parsed.' },
  'mbms-xml-too-many-elements': { severity: 'warning', layer: 'mbms', meaning: 'More than 10000 elements; the rest ignored.' },
  'mbms-xml-empty': { severity: 'warning', layer: 'mbms', meaning: 'No root element.' },
  'mbms-xml-unknown-root': { severity: 'warning', layer: 'mbms', meaning: 'A root element that is no MBMS key-management document.' },
  'mbms-xml-namespace': { severity: 'note', layer: 'mbms', meaning: 'The root\'s namespace is not the one TS 26.346 gives.' },
  'mbms-xml-root-mismatch': { severity: 'note', layer: 'mbms', meaning: 'The Content-Type names another document than the root element is.' },
  'mbms-xml-encoding': { severity: 'note', layer: 'mbms', meaning: 'The XML declares an encoding other than UTF-8; read as UTF-8.' },
  'mbms-xml-missing': { severity: 'warning', layer: 'mbms', meaning: 'A required element or attribute is missing (serviceID, MSK, ResponseCode, …).' },
  'mbms-xml-bad-base64': { severity: 'warning', layer: 'mbms', meaning: 'A field that must be base64 is not.' },
  'mbms-xml-bad-length': { severity: 'warning', layer: 'mbms', meaning: 'A decoded field has the wrong length (e.g. Key Domain ID not 3 bytes, MSK ID not 4).' },
  'mbms-xml-empty-list': { severity: 'warning', layer: 'mbms', meaning: 'A request or response that lists nothing (the schema requires at least one entry).' },
  'mbms-bad-response-code': { severity: 'warning', layer: 'mbms', meaning: 'A ResponseCode that is not an HTTP status.' },
  'mbms-key-group-reserved': { severity: 'note', layer: 'mbms', meaning: 'An MSK ID with Key Group 0x0000, reserved by TS 33.246 §6.3.2.1.' },
} as const satisfies ProblemCodes;

export const MBMS_PROBLEM_SECTIONS: readonly ProblemSection[] = [
  {
    title: 'MBMS XML bodies (layer `mbms`)',
    intro: `Bodies of TS 26.346 key-management requests and responses (\`application/mbms-…+xml\`), parsed when captured whole.
No offsets (the XML parser reports line and column in the message text).`,
    codes: MBMS_XML,
  },
];

/** Emits an MBMS XML problem by code. */
export const mbmsProblem = reporter(MBMS_XML);
