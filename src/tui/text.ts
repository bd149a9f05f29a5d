/**
 * Text for the dashboard's cells. Two hazards meet here: packet text reaching a terminal (escapeText's job) and
 * packet text reaching blessed's tag parser (`{bold}` in a Digest username must stay literal).
 */
import { escapeText } from '../common/escape';
import type { PacketTime } from '../common/time';

// Control characters, C1, line separators, bidi controls and U+FFFD: what escapeText rewrites besides the backslash.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffd]/g;

/**
 * Packet text made safe for a terminal. Records from the correlator already carry escaped text (so a backslash
 * there is already an escape): only characters escapeText would still rewrite are escaped, by escapeText itself,
 * so applying this to escaped text changes nothing and raw text cannot carry a control character through.
 */
export function safeText(s: string, maxLength = 1024): string {
  const cut = [...s].length > maxLength ? [...s].slice(0, maxLength).join('') + '…' : s;
  return cut.replace(UNSAFE, (ch) => escapeText(ch));
}

/** For widgets that parse blessed tags: `{` and `}` become blessed's own escapes. */
export function tagEscape(s: string): string {
  return s.replace(/[{}]/g, (ch) => (ch === '{' ? '{open}' : '{close}'));
}

/** Safe for a terminal and literal inside a tag-parsing widget. */
export function cell(s: string | undefined, maxLength = 1024): string {
  return tagEscape(safeText(s ?? '', maxLength));
}

/** Terminal columns a string takes (wide East Asian and emoji code points count two, combining marks zero). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch.codePointAt(0) as number);
  return w;
}

function charWidth(c: number): number {
  if (c === 0) return 0;
  if ((c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f) || (c >= 0xfe00 && c <= 0xfe0f)) return 0;
  if (
    (c >= 0x1100 && c <= 0x115f) ||
    (c >= 0x2e80 && c <= 0xa4cf) ||
    (c >= 0xac00 && c <= 0xd7a3) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0xfe30 && c <= 0xfe4f) ||
    (c >= 0xff00 && c <= 0xff60) ||
    (c >= 0xffe0 && c <= 0xffe6) ||
    (c >= 0x1f300 && c <= 0x1faff) ||
    (c >= 0x20000 && c <= 0x3fffd)
  )
    return 2;
  return 1;
}

/** Cut to `width` columns (with … when cut) and pad to exactly `width`. Plain text (escape tags afterwards). */
export function fit(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  let w = displayWidth(s);
  let out = s;
  if (w > width) {
    out = '';
    w = 0;
    for (const ch of s) {
      const cw = charWidth(ch.codePointAt(0) as number);
      if (w + cw > width - 1) break;
      out += ch;
      w += cw;
    }
    out += '…';
    w += 1;
  }
  const pad = ' '.repeat(Math.max(0, width - w));
  return align === 'left' ? out + pad : pad + out;
}

/** Seconds as a short duration: `850 µs`, `12.3 ms`, `1.250 s`. */
export function fmtDuration(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a < 0.001) return `${(v * 1e6).toFixed(0)} µs`;
  if (a < 1) return `${(v * 1000).toFixed(1)} ms`;
  if (a < 100) return `${v.toFixed(3)} s`;
  return `${v.toFixed(0)} s`;
}

/** HH:MM:SS.mmm in UTC. */
export function clockTime(t: PacketTime): string {
  const d = new Date(t.tsSec * 1000);
  const ms = Math.floor(t.tsNsec / 1e6);
  return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${String(ms).padStart(3, '0')}`;
}

/** YYYY-MM-DD HH:MM:SS in UTC. */
export function dateTime(t: PacketTime): string {
  const d = new Date(t.tsSec * 1000);
  if (Number.isNaN(d.getTime())) return String(t.tsSec);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/** HH:MM:SS in UTC of epoch seconds. */
export function clockSeconds(epochSeconds: number): string {
  const d = new Date(Math.floor(epochSeconds) * 1000);
  if (Number.isNaN(d.getTime())) return '?';
  return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

export function fmtPercent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '-';
}

/** `error 2, warning 1` from a counts record, in the given key order; `none` when empty. */
export function fmtCounts(rec: Partial<Record<string, number>>, order?: readonly string[]): string {
  const keys = order ?? Object.keys(rec);
  const parts = keys.filter((k) => (rec[k] ?? 0) > 0).map((k) => `${k} ${rec[k]}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

export interface Column<K extends string = string> {
  key: K;
  title: string;
  /** Columns wide; for a flexible column, the least it is given. */
  width: number;
  /** Share of the spare width a flexible column takes. */
  flex?: number;
  align?: 'left' | 'right';
}

/**
 * The columns that fit in `total` columns (one space between them), chosen in `priority` order so a narrow pane
 * keeps what matters most; spare width goes to the flexible columns. Returned in display order with their widths.
 */
export function fitColumns<K extends string>(columns: readonly Column<K>[], priority: readonly K[], total: number): Column<K>[] {
  const chosen = new Set<K>();
  let used = 0;
  for (const key of priority) {
    const c = columns.find((x) => x.key === key);
    if (!c) continue;
    const need = c.width + (chosen.size > 0 ? 1 : 0);
    if (used + need > total) continue;
    chosen.add(key);
    used += need;
  }
  const out = columns.filter((c) => chosen.has(c.key)).map((c) => ({ ...c }));
  const flexible = out.filter((c) => (c.flex ?? 0) > 0);
  const weight = flexible.reduce((a, c) => a + (c.flex ?? 0), 0);
  let spare = Math.max(0, total - used);
  flexible.forEach((c, i) => {
    const add = i === flexible.length - 1 ? spare : Math.floor(((total - used) * (c.flex ?? 0)) / weight);
    c.width += add;
    spare -= add;
  });
  return out;
}

/** One table row: each column's text fitted to its width and made tag-safe, coloured when a colour is given. */
export function tableRow<K extends string>(columns: readonly Column<K>[], value: (key: K) => string | { text: string; color: string }): string {
  return columns
    .map((c) => {
      const v = value(c.key);
      if (typeof v === 'string') return cell(fit(v, c.width, c.align));
      return `{${v.color}-fg}${cell(fit(v.text, c.width, c.align))}{/${v.color}-fg}`;
    })
    .join(' ');
}

/** The header line of a table (plain text, for a widget that parses no tags). */
export function tableHeader(columns: readonly Column[]): string {
  return columns.map((c) => fit(c.title, c.width, c.align)).join(' ');
}
