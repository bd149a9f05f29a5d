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
  fire: ((at: number) => void) | undefined;
}

export class PacketTimers {
  private readonly heap: Timer[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Run `fire` once packet time passes `at` (epoch seconds). */
  set(at: number, fire: (at: number) => void): Timer {
    const t: Timer = { at, seq: this.seq++, fire, index: this.heap.length };
    this.heap.push(t);
    this.up(t.index);
    return t;
  }

  /** Remove a pending timer; nothing happens when it already fired or was cancelled. */
  cancel(t: Timer): void {
    const i = t.index;
    if (i < 0) return;
    t.index = -1;
    t.fire = undefined;
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
      const fire = t.fire;
      t.fire = undefined;
      advance?.(t.at);
      fire?.(t.at);
    }
  }

  /** Drop every pending timer without firing it (the capture ended before their deadlines). */
  clear(): void {
    for (const t of this.heap) {
      t.index = -1;
      t.fire = undefined;
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

function less(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
