/**
 * Deadlines on packet time: a binary min-heap ordered by (time, insertion order), so timers that expire together
 * fire in the order they were set and a run is reproducible. A cancelled timer leaves the heap at once (each timer
 * knows its slot), so a transaction that ends early holds no deadline — and nothing its callback would keep alive.
 */
export interface Timer {
  readonly at: number;
  /** Slot in the heap; -1 once fired or cancelled. */
  index: number;
  seq: number;
  fire: TimerCallback<never, never, never> | undefined;
  /**
   * What `fire` is called with after the time: a deadline names its handler (bound once per room) and what it decides
   * about, instead of being a closure per deadline — a function and a context object each, kept for as long as the
   * deadline waits (a pull's: its whole delivery timeout, long enough to be promoted).
   */
  a: unknown;
  b: unknown;
  c: unknown;
}

/** A deadline's handler: the time it fires at, and the values it was set with. */
export type TimerCallback<A = undefined, B = undefined, C = undefined> = (at: number, a: A, b: B, c: C) => void;

export class PacketTimers {
  private readonly heap: Timer[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Run `fire(at, a, b, c)` once packet time passes `at` (epoch seconds). */
  set<A = undefined, B = undefined, C = undefined>(at: number, fire: TimerCallback<A, B, C>, a?: A, b?: B, c?: C): Timer {
    const t: Timer = { at, seq: this.seq++, fire: fire as TimerCallback<never, never, never>, index: this.heap.length, a, b, c };
    this.heap.push(t);
    this.up(t.index);
    return t;
  }

  /** Remove a pending timer; nothing happens when it already fired or was cancelled. */
  cancel(t: Timer): void {
    const i = t.index;
    if (i < 0) return;
    t.index = -1;
    release(t);
    const h = this.heap;
    const last = h.pop() as Timer;
    if (i === h.length) return;
    h[i] = last;
    last.index = i;
    this.down(i);
    this.up(i);
  }

  /** Fire every timer whose deadline is strictly before `now` (Infinity: all of them), `advance(at)` before each. */
  expire(now: number, advance?: (at: number) => void): void {
    const h = this.heap;
    while (h.length > 0 && h[0].at < now) {
      const t = h[0];
      this.cancelTop();
      const fire = t.fire as TimerCallback<unknown, unknown, unknown> | undefined;
      const { a, b, c } = t;
      release(t);
      advance?.(t.at);
      fire?.(t.at, a, b, c);
    }
  }

  /** Drop every pending timer without firing it (the capture ended before their deadlines). */
  clear(): void {
    for (const t of this.heap) {
      t.index = -1;
      release(t);
    }
    this.heap.length = 0;
  }

  private cancelTop(): void {
    const h = this.heap;
    const top = h[0];
    top.index = -1;
    const last = h.pop() as Timer;
    if (h.length === 0) return;
    h[0] = last;
    last.index = 0;
    this.down(0);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i], h[p])) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l], h[m])) m = l;
      if (r < h.length && less(h[r], h[m])) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    const h = this.heap;
    // not a destructuring swap: that makes an array per swap
    const ta = h[a];
    const tb = h[b];
    h[a] = tb;
    h[b] = ta;
    tb.index = a;
    ta.index = b;
  }
}

/** A timer that will not fire keeps nothing alive. */
function release(t: Timer): void {
  t.fire = undefined;
  t.a = undefined;
  t.b = undefined;
  t.c = undefined;
}

function less(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
