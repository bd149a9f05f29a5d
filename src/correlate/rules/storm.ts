/**
 * Request storms: many UEs starting MSK requests within a short window (after a BM-SC restart, a broadcast
 * trigger, a misconfigured key lifetime) congest the BM-SC. A rate rule over all UEs.
 */
import type { RoomContext } from '../context';
import type { DiagnosticInfo } from '../diagnostic-info';
import type { Tx, UeState } from '../model';
import { OldestKeys } from '../../common/oldest-key';
import { sortedDistinct } from '../frames';
import { LIMITS } from '../options';

export const STORM_DIAGNOSTICS = {
  'request-storm': {
    severity: 'warning',
    meaning: 'Many UEs sent MSK requests within a short window (--storm-ues within --storm-window): request congestion.',
    evidence: 'the requests of --storm-ues distinct UEs within --storm-window',
  },
} as const satisfies Record<string, DiagnosticInfo>;

interface StormEntry {
  t: number;
  ue: UeState;
  tx: Tx;
  frame: number;
}

export class StormRules {
  private readonly window: StormEntry[] = [];
  /** The window's requests per UE (its size: the distinct UEs in the window), kept as the window moves. */
  private readonly perUe = new Map<UeState, number>();
  private active = false;
  private startFrame: number | undefined;
  /** UEs already reported in the current storm, at most maxUes (insertion order: the oldest first). */
  private readonly reported = new Set<UeState>();
  /** Evicts from `reported` without a walk from the front of its table per eviction. */
  private readonly oldestReported = new OldestKeys(this.reported);

  constructor(private readonly ctx: RoomContext) {}

  /**
   * A UE starts an MSK request. `stormUes` distinct UEs within `stormWindow` make a storm, reported on every UE of it
   * (each gets the finding, citing the requests that make the storm), as long as the storm lasts.
   */
  request(ue: UeState, tx: Tx, frame: number): void {
    const { stormUes, stormWindow } = this.ctx.options;
    const now = this.ctx.clock.now;
    const w = this.window;
    w.push({ t: now, ue, tx, frame });
    this.perUe.set(ue, (this.perUe.get(ue) ?? 0) + 1);
    while (w.length > 0 && w[0].t < now - stormWindow) this.leave(w.shift() as StormEntry);
    const over = w.length - LIMITS.stormWindowFactor * stormUes;
    if (over > 0) for (const x of w.splice(0, over)) this.leave(x);
    // distinct UEs in the window, counted as requests enter and leave it (not a set of the window per request)
    const distinct = this.perUe;
    if (distinct.size >= stormUes) {
      const fresh = !this.active;
      this.active = true;
      this.startFrame ??= w[0].frame;
      const list = fresh ? w : w.slice(-1);
      // the evidence: the requests in the window that make it a storm, sorted and capped once for every UE reported
      // here (the report's own sortedDistinct of it is then a linear pass)
      const evidence = sortedDistinct(w.map((x) => x.frame), LIMITS.framesPerDiagnostic);
      for (const x of list) {
        if (this.reported.has(x.ue)) continue;
        this.reported.add(x.ue);
        // a storm can last as long as the capture: remember at most --max-ues reported UEs (the oldest goes first; it
        // is reported again if it requests again), so evicted UEs are not kept alive here (#12: the set held every UE
        // of a capture-long storm, and memory grew with it)
        this.oldestReported.trim(this.ctx.options.maxUes);
        this.ctx.findings.report('request-storm', x.tx, x.ue, evidence,
          `${distinct.size} UEs started MSK requests within ${stormWindow} s (storm from frame ${this.startFrame}); this UE's request is frame ${x.frame}`);
      }
    } else if (distinct.size < Math.max(1, stormUes / 2)) {
      this.active = false;
      this.startFrame = undefined;
      this.reported.clear();
    }
  }

  private leave(x: StormEntry): void {
    const n = (this.perUe.get(x.ue) ?? 0) - 1;
    if (n > 0) this.perUe.set(x.ue, n);
    else this.perUe.delete(x.ue);
  }
}
