/**
 * The transaction lifecycle: a transaction opens with its first frame, gathers steps and frames, and closes when its
 * procedure completes, when a deadline passes, when the capture ends, or when the open-transaction bound evicts it.
 * Its verdict is decided once, at closing, from its diagnostics and whether it reached its goal.
 */
import { SEVERITY_RANK } from '../common/problem';
import type { PacketTime } from '../common/time';
import { DIAGNOSTICS } from './catalog';
import { NO_ENTRIES, NO_REFUSALS, ackPending, missingGroup, pushOne, timeOf, type Tx, type UeState } from './model';
import { OldestKeys } from '../common/oldest-key';
import { LIMITS } from './options';
import type { CorrelationStatistics } from './statistics';
import type { PacketTimers, Timer, TimerCallback } from './timers';
import type { KeyDeliveryTransaction, Procedure, StepKind, TransactionStep } from './types';

type ClosedBy = KeyDeliveryTransaction['closedBy'];

/**
 * Transaction ids `T<first>`, `T<first + step>`, …: one run numbers 1, 2, 3…; shard K of N (`analyze --shard`)
 * numbers K, K + N, K + 2N…, so the ids of shards merged together never collide.
 */
export interface TransactionIdSequence {
  first: number;
  step: number;
}

export class TransactionBook {
  private readonly open = new Map<string, Tx>();
  /** close() deletes every open transaction it is given from `open`. */
  private readonly oldestOpen = new OldestKeys(this.open);
  private count = 0;
  private readonly closeHooks: ((tx: Tx, by: ClosedBy) => void)[] = [];

  constructor(
    private readonly timers: PacketTimers,
    private readonly maxOpen: number,
    private readonly maxSteps: number,
    private readonly stats: CorrelationStatistics,
    private readonly emit: (t: KeyDeliveryTransaction) => void,
    private readonly ids: TransactionIdSequence = { first: 1, step: 1 },
  ) {}

  /** Transactions opened so far. */
  get opened(): number {
    return this.count;
  }

  /** Transactions open now. */
  get openCount(): number {
    return this.open.size;
  }

  /** Run `hook` on every transaction as it closes, after its verdict is set and before it is emitted. */
  onClose(hook: (tx: Tx, by: ClosedBy) => void): void {
    this.closeHooks.push(hook);
  }

  openTransactions(): Tx[] {
    return [...this.open.values()];
  }

  create(procedure: Procedure, ue: UeState | undefined, ueLabel: string, time: PacketTime): Tx {
    const id = `T${this.ids.first + this.count++ * this.ids.step}`;
    // the lists start as the shared empty one (pushOne gives each its own on the first entry); the UE's address list
    // is shared, not copied (the UE table replaces it when it changes, never writes into it: pushOne and
    // appendDropping, the list held below LIMITS.addressesPerUe < EXACT_UP_TO entries); start and end are one
    // object until a later step (step() replaces end, never writes into it): an open transaction is held until its
    // deadlines, long enough for a scavenge to copy it, and most of these lists stay short or empty
    const start = timeOf(time);
    const rec: KeyDeliveryTransaction = {
      id, procedure, ue: ue?.id ?? ueLabel, ueAddresses: ue ? ue.addresses : [ueLabel], requestedKeys: NO_ENTRIES, deliveredKeys: NO_ENTRIES, serviceIds: NO_ENTRIES,
      steps: NO_ENTRIES, frames: NO_ENTRIES, stepsDropped: 0, httpStatuses: NO_ENTRIES, digest: 'none', delivered: false, ackRequested: false, acked: false, latencies: {},
      verdict: 'ok', diagnostics: NO_ENTRIES, start, end: start, closedBy: 'complete',
    };
    if (ue?.btids.length) rec.btid = ue.btids[ue.btids.length - 1];
    const tx: Tx = {
      rec, ue, state: 'requested', open: true, requestedGroups: NO_ENTRIES, deliveredGroups: NO_ENTRIES, refused: NO_REFUSALS, pendingRequests: 0,
      staleRun: 0, deliveries: NO_ENTRIES, httpDelivery: false, deliveryDeadlinePassed: false, timers: NO_ENTRIES,
      // set later by some procedures: named here so they live inside the object, not in a separate property store
      challengeTime: undefined, okTime: undefined, firstAckDelivery: undefined, registrationAccepted: undefined,
    };
    this.stats.procedure(procedure);
    // MTK transactions are closed by their stream (a new MTK ID), not by the open bound
    if (procedure !== 'mtk') {
      this.open.set(id, tx);
      for (let old = this.oldestOpen.over(this.maxOpen); old !== undefined; old = this.oldestOpen.over(this.maxOpen)) {
        this.stats.evictedTransaction();
        this.close(this.open.get(old) as Tx, 'evicted');
      }
    }
    return tx;
  }

  /**
   * A deadline of `tx` at `at` (epoch seconds): `fire(at, a, b, c)`, unless the transaction closes first, whatever
   * closes it. `fire` is a handler bound once (see Timer.a).
   */
  deadline<A = undefined, B = undefined, C = undefined>(tx: Tx, at: number, fire: TimerCallback<A, B, C>, a?: A, b?: B, c?: C): void {
    // fired deadlines leave the list here, not from a wrapper around `fire` (a closure per deadline is a cost per item):
    // a count, then an exact-size copy of the live ones only when some fired (no closures per call)
    const timers = tx.timers;
    let fired = 0;
    for (let i = 0; i < timers.length; i++) if (timers[i].index < 0) fired++;
    if (fired > 0) {
      const kept = new Array<Timer>(timers.length - fired);
      let w = 0;
      for (let i = 0; i < timers.length; i++) if (timers[i].index >= 0) kept[w++] = timers[i];
      tx.timers = kept;
    }
    pushOne(tx, 'timers', this.timers.set(at, fire, a, b, c));
  }

  /**
   * Cancel the pending deadlines of `tx` set with handler `fire` and first value `a` (and second value `b`, when given),
   * and let them go from its list: a deadline whose handler can only return without effect from now on (its request
   * answered, its challenge superseded, its message ACKed) would otherwise hold its values, and its Timer, until it
   * passes or the transaction closes — for a pull, past its delivery deadline.
   */
  cancelDeadline<A, B, C>(tx: Tx, fire: TimerCallback<A, B, C>, a: A, b?: B): void {
    const timers = tx.timers;
    let hit = 0;
    for (let i = 0; i < timers.length; i++) {
      const t = timers[i];
      if (t.index >= 0 && t.fire === (fire as unknown) && t.a === a && (b === undefined || t.b === b)) {
        this.timers.cancel(t);
        hit++;
      }
    }
    if (hit === 0) return;
    // only the pending ones stay (cancelled and fired ones have index -1), in an array of exactly their number
    let live = 0;
    for (let i = 0; i < timers.length; i++) if (timers[i].index >= 0) live++;
    if (live === 0) {
      tx.timers = NO_ENTRIES;
      return;
    }
    const kept = new Array<Timer>(live);
    let w = 0;
    for (let i = 0; i < timers.length; i++) if (timers[i].index >= 0) kept[w++] = timers[i];
    tx.timers = kept;
  }

  /**
   * A step of `tx` at `frame` (the evidence: `frames`, by default the one frame). The step's optional fields are
   * arguments, not an object to spread: a step per frame must not allocate more than the step.
   */
  step(tx: Tx, kind: StepKind, frame: number, time: PacketTime, status?: number, carrier?: 'udp' | 'http', detail?: string, frames?: readonly number[]): void {
    if (frames === undefined) this.addFrame(tx, frame);
    else for (let i = 0; i < frames.length; i++) this.addFrame(tx, frames[i]);
    // the step's time is the record's end from now on (a time object is never written into once made: start, end
    // and the steps share them); the first step at the start's time takes the start's
    const rec = tx.rec;
    const start = rec.start;
    const at = rec.steps.length === 0 && start.tsSec === time.tsSec && start.tsNsec === time.tsNsec ? start : { tsSec: time.tsSec, tsNsec: time.tsNsec };
    if (rec.steps.length >= this.maxSteps) rec.stepsDropped++;
    else pushOne(rec, 'steps', makeStep(kind, frame, at, status, carrier, detail));
    rec.end = at;
    if (tx.ue) {
      rec.ue = tx.ue.id;
      // the UE's own list (it is replaced, never written into, when the UE gains an address)
      rec.ueAddresses = tx.ue.addresses;
      if (tx.ue.btids.length) rec.btid = tx.ue.btids[tx.ue.btids.length - 1];
    }
  }

  private addFrame(tx: Tx, n: number): void {
    const fr = tx.rec.frames;
    if (fr.length >= LIMITS.framesPerTransaction) return;
    if (fr.length === 0 || fr[fr.length - 1] < n) pushOne(tx.rec, 'frames', n);
    else if (!fr.includes(n)) {
      pushOne(tx.rec, 'frames', n);
      tx.rec.frames.sort((a, b) => a - b);
    }
  }

  /** A step that arrives after the transaction was reported cannot change it any more. */
  stepIfOpen(tx: Tx, kind: StepKind, frame: number, time: PacketTime, carrier: 'udp' | 'http', detail: string): void {
    if (tx.open) this.step(tx, kind, frame, time, undefined, carrier, detail);
  }

  close(tx: Tx, by: ClosedBy): void {
    if (!tx.open) return;
    tx.open = false;
    tx.state = 'done';
    this.open.delete(tx.rec.id);
    if (tx.ue?.pull === tx) tx.ue.pull = undefined;
    if (tx.ue?.trigger === tx) tx.ue.trigger = undefined;
    if (tx.ue?.reg === tx) tx.ue.reg = undefined;
    const r = tx.rec;
    r.closedBy = by;
    let worst = -1;
    for (const c of r.diagnostics) worst = Math.max(worst, SEVERITY_RANK[DIAGNOSTICS[c].severity]);
    const unfinished = goalMissed(tx) || tx.pendingRequests > 0 || tx.deliveries.some(ackPending);
    if (worst >= SEVERITY_RANK.error) r.verdict = 'failed';
    else if (worst >= SEVERITY_RANK.warning) r.verdict = 'degraded';
    // cut by the end of the capture (or the state bound) while it still waited: nothing to blame
    else if (unfinished && (by === 'end-of-capture' || by === 'evicted')) r.verdict = 'incomplete';
    else r.verdict = unfinished ? 'failed' : 'ok';
    for (const hook of this.closeHooks) hook(tx, by);
    this.stats.closed(r);
    // nothing decides about a closed transaction any more, and nothing keeps it alive: its deadlines go, and the
    // messages an ACK may still answer keep only its id
    for (const t of tx.timers) this.timers.cancel(t);
    tx.timers = NO_ENTRIES;
    for (const d of tx.deliveries) d.tx = undefined;
    tx.deliveries = NO_ENTRIES;
    tx.firstAckDelivery = undefined;
    this.emit(r);
  }

  /** A transaction is finished once every requested group is in and no ACK is outstanding (a pull: after its delivery deadline). */
  maybeComplete(tx: Tx): void {
    if (!tx.open) return;
    if (tx.deliveries.some(ackPending)) return;
    const p = tx.rec.procedure;
    if (p === 'push') {
      this.close(tx, 'complete');
      return;
    }
    if (p !== 'pull' && p !== 'solicited-pull') return;
    // a pull stays open until its delivery deadline, so late extra deliveries (another key group, a repeat) still join it
    if (tx.state !== 'authorized' || tx.pendingRequests > 0 || !tx.rec.delivered || !tx.deliveryDeadlinePassed) return;
    if (missingGroup(tx)) return;
    this.close(tx, 'complete');
  }
}

/**
 * A step record with its optional fields in the literal (same keys, same order as adding them one by one): a
 * property added after an object literal goes to a separate property store, one more object per step, kept with the
 * transaction.
 */
function makeStep(kind: StepKind, frame: number, time: PacketTime, status: number | undefined, carrier: 'udp' | 'http' | undefined, detail: string | undefined): TransactionStep {
  if (status === undefined) {
    if (carrier === undefined) return detail === undefined ? { kind, frame, time } : { kind, frame, time, detail };
    return detail === undefined ? { kind, frame, time, carrier } : { kind, frame, time, carrier, detail };
  }
  if (carrier === undefined) return detail === undefined ? { kind, frame, time, status } : { kind, frame, time, status, detail };
  return detail === undefined ? { kind, frame, time, status, carrier } : { kind, frame, time, status, carrier, detail };
}

/** The procedure did not reach its goal (keys delivered, registration accepted). */
function goalMissed(tx: Tx): boolean {
  switch (tx.rec.procedure) {
    case 'pull':
    case 'solicited-pull':
      return !tx.rec.delivered;
    case 'register':
    case 'deregister':
      return !tx.rec.httpStatuses.some((s) => s >= 200 && s < 300);
    default:
      return false;
  }
}
