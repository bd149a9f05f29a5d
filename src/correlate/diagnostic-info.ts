import type { Severity } from '../common/problem';

/** One diagnostic as declared in its room's catalog (src/correlate/rules/*.ts). */
export interface DiagnosticInfo {
  severity: Severity;
  /** One line: what happened. */
  meaning: string;
  /** What the capture must show for it to fire: the evidence, all of it inside the capture. */
  evidence: string;
}
