/** Records shared by the simulated BM-SC and UEs: identities, the event log, timers that can all be cancelled. */
import type { TransportVariant, UeFault } from './scenario';

export interface SimUeIdentity {
  index: number;
  address: string;
  /** Second address the UE also listens on (push-to-other-address). */
  altAddress: string;
  /** Bootstrapping Transaction Identifier: the Digest username and the MIKEY IDr. */
  btid: string;
  /** Ks_NAF (GBA_ME): the MUK; base64(MRK) derived from it is the Digest password. */
  nafKey: Buffer;
  faults: Set<UeFault>;
  variant: TransportVariant;
  deregister: boolean;
  label?: string;
}

export interface SimEvent {
  /** Milliseconds since the run started (wall time; for people, never for correlation). */
  t: number;
  actor: 'bmsc' | 'ue' | 'group';
  /** UE address (for BM-SC events: the UE concerned). */
  ue?: string;
  kind: string;
  detail?: string;
}

export class SimLog {
  readonly events: SimEvent[] = [];
  private readonly t0 = performance.now();
  /** Events are counted past this bound but not kept (load runs). */
  constructor(private readonly maxEvents = 100_000, private readonly sink?: (e: SimEvent) => void) {}
  dropped = 0;

  now(): number {
    return performance.now() - this.t0;
  }

  add(actor: SimEvent['actor'], kind: string, ue?: string, detail?: string): void {
    const e: SimEvent = { t: Math.round(this.now()), actor, kind };
    if (ue !== undefined) e.ue = ue;
    if (detail !== undefined) e.detail = detail;
    this.sink?.(e);
    if (this.events.length < this.maxEvents) this.events.push(e);
    else this.dropped++;
  }
}

/**
 * setTimeout that can all be cancelled at the end of a run, so nothing fires after the servers closed; a pending
 * `sleep` resolves at once on close, so every procedure waiting in one runs to its end instead of hanging.
 */
export class Timers {
  private readonly pending = new Map<NodeJS.Timeout, (() => void) | undefined>();
  private closed = false;

  after(ms: number, fn: () => void): void {
    if (this.closed) return;
    const h = setTimeout(() => {
      this.pending.delete(h);
      if (!this.closed) fn();
    }, Math.max(0, ms));
    this.pending.set(h, undefined);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const h = setTimeout(() => {
        this.pending.delete(h);
        resolve();
      }, Math.max(0, ms));
      this.pending.set(h, resolve);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    for (const [h, wake] of this.pending) {
      clearTimeout(h);
      wake?.();
    }
    this.pending.clear();
  }
}

export const MIKEY_PORT = 2269;
export const KEYMANAGEMENT_PATH = '/keymanagement';
/** Transport variant B: the UE's ACK posted over HTTP (our name; the seeds give none). */
export const ACK_REQUEST_TYPE = 'msk-verification';
export const UE_USER_AGENT = 'keyscope-sim-ue/0.1 3gpp-gba-tmpi';
