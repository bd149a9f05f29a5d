/**
 * Every procedure diagnostic, declared once in the room that raises it (src/correlate/rules/*.ts): its stable code,
 * severity, one-line meaning and the evidence the capture must hold for it to fire. This module only gathers them;
 * docs/diagnostics.md is the same table for people, and a test keeps the two in step.
 */
import type { DiagnosticInfo } from './diagnostic-info';
import { DELIVERY_DIAGNOSTICS } from './rules/delivery';
import { HTTP_DIAGNOSTICS } from './rules/http-exchange';
import { MTK_DIAGNOSTICS } from './rules/mtk';
import { PULL_DIAGNOSTICS } from './rules/pull';
import { REGISTRATION_DIAGNOSTICS } from './rules/registration';
import { STORM_DIAGNOSTICS } from './rules/storm';

export type { DiagnosticInfo } from './diagnostic-info';

/** The rooms in the order docs/diagnostics.md lists them, each with its source file. */
export const DIAGNOSTIC_ROOMS = [
  { room: 'HTTP exchanges and Digest', file: 'src/correlate/rules/http-exchange.ts', diagnostics: HTTP_DIAGNOSTICS },
  { room: 'Registration', file: 'src/correlate/rules/registration.ts', diagnostics: REGISTRATION_DIAGNOSTICS },
  { room: 'Pull and solicited pull', file: 'src/correlate/rules/pull.ts', diagnostics: PULL_DIAGNOSTICS },
  { room: 'MSK messages, pushes and ACKs', file: 'src/correlate/rules/delivery.ts', diagnostics: DELIVERY_DIAGNOSTICS },
  { room: 'MTK delivery', file: 'src/correlate/rules/mtk.ts', diagnostics: MTK_DIAGNOSTICS },
  { room: 'Request rate', file: 'src/correlate/rules/storm.ts', diagnostics: STORM_DIAGNOSTICS },
] as const;

export const DIAGNOSTICS = {
  ...HTTP_DIAGNOSTICS,
  ...REGISTRATION_DIAGNOSTICS,
  ...PULL_DIAGNOSTICS,
  ...DELIVERY_DIAGNOSTICS,
  ...MTK_DIAGNOSTICS,
  ...STORM_DIAGNOSTICS,
} as const satisfies Record<string, DiagnosticInfo>;

export type DiagnosticCode = keyof typeof DIAGNOSTICS;

export const DIAGNOSTIC_CODES = Object.keys(DIAGNOSTICS) as DiagnosticCode[];
