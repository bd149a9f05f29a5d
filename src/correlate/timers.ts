/**
 * Deadlines on packet time: a binary min-heap ordered by (time, insertion order), so timers that expire together
 * fire in the order they were set and a run is reproducible. Cancelling is lazy (the callback checks its state).
 */
interface Timer {
  at: number;
  seq: number;
  fire: (at: number) => void;
}

export class PacketTimers {
  private readonly heap: Timer[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Run `fire` once packet time passes `at` (epoch seconds). */
  set(at: number, fire: (at: number) => void): void {
    const t: Timer = { at, seq: this.seq++, fire };
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  /** Fire every timer whose deadline is strictly before `now` (Infinity: all of them), `advance(at)` before each. */
  expire(now: number, advance?: (at: number) => void): void {
    const h = this.heap;
    while (h.length > 0 && h[0].at < now) {
      const t = this.pop();
      advance?.(t.at);
      t.fire(t.at);
    }
  }

  /** Drop every pending timer without firing it (the capture ended before their deadlines). */
  clear(): void {
    this.heap.length = 0;
  }

  private pop(): Timer {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as Timer;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
