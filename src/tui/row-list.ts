/**
 * A scrolling list of table rows that formats only the rows on screen. The panes hold up to `--keep` records
 * (1000 by default) each; blessed's own List makes one element per item and re-parses every item's text whenever the
 * items are replaced, so a refresh of a full pane cost as much as analysing thousands of packets (issue #12). Here the
 * records stay records: a refresh replaces a reference to the array, and only the visible window (the pane's height)
 * is turned into text, in one tag-parsing box. No well-kept virtual list exists for blessed, hence this small one.
 *
 * Keys are not bound here: the view moves the selection (↑ ↓ PgUp PgDn Home End) of the focused pane.
 */
import * as blessed from 'blessed';
import { displayWidth } from './text';

/** Formats one record as a row (tag-safe text, already fitted to the columns). */
export type RowFormatter<T> = (item: T) => string;

export interface RowListOptions {
  parent: blessed.Widgets.Node;
  top: number;
  left: number;
}

export class RowList<T> {
  readonly box: blessed.Widgets.BoxElement;
  private items: readonly T[] = [];
  private format: RowFormatter<T> = () => '';
  private selectedIndex = 0;
  /** Index of the first row on screen. */
  private offset = 0;
  private content = '';

  constructor(options: RowListOptions) {
    this.box = blessed.box({
      parent: options.parent,
      top: options.top,
      left: options.left,
      tags: true,
      wrap: false,
      style: { fg: 'white' },
    } as blessed.Widgets.BoxOptions);
  }

  get length(): number {
    return this.items.length;
  }

  get selected(): number {
    return this.selectedIndex;
  }

  /** Rows on screen. */
  get height(): number {
    return typeof this.box.height === 'number' ? Math.max(1, this.box.height) : 1;
  }

  get width(): number {
    return typeof this.box.width === 'number' ? this.box.width : 1;
  }

  set height(h: number) {
    this.box.height = Math.max(1, h);
    this.draw();
  }

  set width(w: number) {
    this.box.width = Math.max(1, w);
    this.draw();
  }

  /**
   * New records (kept by reference, formatted only when on screen). The selection goes to `keep` when it is ≥ 0,
   * else stays on the same row index (within the new length).
   */
  setItems(items: readonly T[], format: RowFormatter<T>, keep: number): void {
    this.items = items;
    this.format = format;
    const sel = keep >= 0 ? keep : this.selectedIndex;
    this.selectedIndex = Math.max(0, Math.min(sel, items.length - 1));
    this.draw();
  }

  select(index: number): void {
    this.selectedIndex = Math.max(0, Math.min(index, this.items.length - 1));
    this.draw();
  }

  focus(): void {
    this.box.focus();
  }

  /** Selected row on screen: the window scrolls as little as it must (as blessed's List does). */
  private draw(): void {
    const h = this.height;
    const n = this.items.length;
    if (this.selectedIndex < this.offset) this.offset = this.selectedIndex;
    else if (this.selectedIndex >= this.offset + h) this.offset = this.selectedIndex - h + 1;
    this.offset = Math.max(0, Math.min(this.offset, n - h));
    const end = Math.min(n, this.offset + h);
    const width = this.width;
    const lines: string[] = [];
    for (let i = this.offset; i < end; i++) {
      const row = this.format(this.items[i]);
      // the selected row is highlighted across the whole pane, as blessed's List does; inner colour tags nest
      lines.push(i === this.selectedIndex ? `{blue-bg}${row}${' '.repeat(Math.max(0, width - visibleLength(row)))}{/blue-bg}` : row);
    }
    const content = lines.join('\n');
    // blessed re-parses only changed content, but even the comparison is skipped when nothing moved
    if (content === this.content) return;
    this.content = content;
    this.box.setContent(content);
  }
}

/** Columns a tagged row takes (tags take none; blessed's `{open}` / `{close}` escapes one each). */
function visibleLength(row: string): number {
  return displayWidth(row.replace(/\{(open|close)\}/g, '_').replace(/\{\/?[\w\-,;!#]*\}/g, ''));
}
