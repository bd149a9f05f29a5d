/**
 * A finding's evidence frames (the correlator's report, and rules that cite one evidence list on many findings).
 */

/**
 * The distinct frame numbers in ascending order, at most `max`: what `[...new Set(frames)].sort().slice(0, max)` gives,
 * in one array (a finding cites a few frames; the Set, its spread and the sort's work array were its garbage).
 */
export function sortedDistinct(frames: readonly number[], max: number): number[] {
  const out = frames.slice();
  const n = out.length;
  if (n <= SMALL_SORT) {
    for (let i = 1; i < n; i++) {
      const v = out[i];
      let j = i - 1;
      while (j >= 0 && out[j] > v) {
        out[j + 1] = out[j];
        j--;
      }
      out[j + 1] = v;
    }
  } else out.sort((a, b) => a - b);
  let w = 0;
  for (let i = 0; i < n && w < max; i++) if (w === 0 || out[i] !== out[w - 1]) out[w++] = out[i];
  out.length = w;
  return out;
}

/** Up to this many frames, sortedDistinct sorts by insertion. */
const SMALL_SORT = 32;
