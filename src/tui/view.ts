/**
 * The dashboard screen (blessed + blessed-contrib): header with the capture state, ACK-rate line chart, latency
 * chart, transactions table, BM-SC / key-group table, diagnostics log, footer with keys or the filter prompt, and
 * pop-ups for a transaction's details and for help.
 *
 * The view only reads: a DashboardModel (kept records) and a DashboardSnapshot (the correlator's statistics and the
 * capture counters). It never reaches upstream. Every widget that shows packet text either parses no tags or gets
 * the text through `cell()` (terminal-safe and tag-escaped).
 */
import * as blessed from 'blessed';
import type { Severity } from '../common/problem';
import { diffSeconds } from '../common/time';
import type { AnalysisStats, Diagnostic, KeyDeliveryTransaction } from '../correlate/types';
import { ackPoints, latencyRows, type DashboardModel, type KeptRecords, type TransactionOrder } from './model';
import { RowList } from './row-list';
import { cell, clockSeconds, clockTime, dateTime, displayWidth, fit, fitColumns, fmtBytes, fmtCounts, fmtDuration, fmtPercent, safeText, tableHeader, tableRow, type Column } from './text';

/** The capture state the header shows, gathered by the controller. */
export interface DashboardSnapshot {
  stats: AnalysisStats;
  /** What is shown: file name, `standard input`, `live on lo`. Shown escaped. */
  sourceLabel: string;
  /** `file`, `replay ×4`, `live`. */
  mode: string;
  /** `reading`, `replaying`, `capturing`, `ended`, `stopped`, `error: …`. */
  state: string;
  /** Frames per second (packet time for files, arrival rate for live). */
  rate: number;
  loss: { lostBytes: number; gapBytes: number; ratio: number };
}

interface ContribLineSeries {
  title: string;
  x: string[];
  y: number[];
  style?: { line: string };
}

interface ContribLine extends blessed.Widgets.BoxElement {
  setData(series: ContribLineSeries[]): void;
}

interface ContribModule {
  line(options: Record<string, unknown>): ContribLine;
}

// blessed-contrib ships no type declarations; only `line` is used.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const contrib = require('blessed-contrib') as ContribModule;

export type PaneName = 'transactions' | 'groups' | 'diagnostics';
const PANES: PaneName[] = ['transactions', 'groups', 'diagnostics'];

/**
 * Rows of the ACK chart's box at least: contrib drops its top y label (100 %) when the canvas is shorter, and the
 * latency pane beside it needs its four steps.
 */
const CHART_MIN_HEIGHT = 9;
/** A table pane's rows at least: two borders, the column header, one row. */
const TABLE_MIN_HEIGHT = 4;
/** Below this size the panes would overlap: the screen says so instead of drawing them. */
export const MIN_COLUMNS = 60;
/** Header (3) + chart + two table rows of panes + footer (1). */
export const MIN_ROWS = 3 + CHART_MIN_HEIGHT + 2 * TABLE_MIN_HEIGHT + 1;
/** The latency pane shows a p50 and a p95 row with bars per step when it has this many inner rows; one line per step below. */
const LATENCY_FULL_ROWS = 8;

/** Steps a UE sends (arrow to the BM-SC); every other step goes from the BM-SC to the UE. */
const UE_SENDS: ReadonlySet<string> = new Set(['request', 'credentials', 'ack']);
/** Width of the ladder's arrow between the two lifelines (the label goes inside it). */
export const LADDER_ARROW_WIDTH = 40;

/**
 * A transaction as a ladder, as Wireshark's flow graph draws it: a UE lifeline left, the BM-SC's right, one arrow per
 * step in the direction it travelled, labelled with the step (HTTP status, UDP carrier), its time since the start
 * and its frame. Tag-escaped like the rest of the detail view.
 */
export function ladderLines(t: Pick<KeyDeliveryTransaction, 'ue' | 'bmsc' | 'start' | 'steps'>, arrowWidth = LADDER_ARROW_WIDTH): string[] {
  const timeW = 11;
  const inner = arrowWidth - 2;
  const ue = cell(t.ue ?? 'UE', inner);
  const bmsc = cell(t.bmsc ?? 'BM-SC', 40);
  const out = [`  ${fit('+time', timeW, 'right')}  ${fit(`UE ${ue}`, arrowWidth)}BM-SC ${bmsc}`];
  for (const s of t.steps) {
    const label = ` ${s.kind}${s.status !== undefined ? ` ${s.status}` : ''}${s.carrier === 'udp' ? ' (udp)' : ''} `;
    const room = Math.max(0, inner - 1 - label.length);
    const left = Math.floor(room / 2);
    const body = `${'-'.repeat(left)}${label.slice(0, inner - 1)}${'-'.repeat(room - left)}`;
    const arrow = UE_SENDS.has(s.kind) ? `|${body}>|` : `|<${body}|`;
    out.push(`  ${fit(fmtDuration(diffSeconds(t.start, s.time)), timeW, 'right')}  ${arrow}  #${s.frame}`);
  }
  if (t.steps.length === 0) out.push('  (no steps kept)');
  return out;
}

/**
 * Values for a line that cannot break: a null between two numbers becomes the straight line between them, nulls at
 * either end take the nearest number (all null: all 0, only when nothing was ever requested and the chart is empty).
 */
export function bridgeGaps(values: (number | null)[]): number[] {
  const out: number[] = new Array<number>(values.length);
  let prev = -1;
  for (let i = 0; i <= values.length; i++) {
    if (i < values.length && values[i] === null) continue;
    const to = i < values.length ? (values[i] as number) : undefined;
    const from = prev >= 0 ? (values[prev] as number) : undefined;
    for (let j = prev + 1; j < i; j++) {
      if (from === undefined) out[j] = to ?? 0;
      else if (to === undefined) out[j] = from;
      else out[j] = Math.round((from + ((to - from) * (j - prev)) / (i - prev)) * 10) / 10;
    }
    if (to !== undefined) out[i] = to;
    prev = i;
  }
  return out;
}

export type ViewMode = 'normal' | 'filter' | 'detail' | 'help';

export interface DashboardViewOptions {
  /** Points the ACK chart shows at most (default 60; fewer when the pane is narrow). */
  maxChartPoints?: number;
  /** Rows the BM-SC / key-group table shows at most (default 500). */
  maxGroupRows?: number;
}

export interface ViewActions {
  quit(): void;
  /** Pause toggled: the controller also stops replay pacing. */
  pause(paused: boolean): void;
}

const SEVERITY_COLOR: Record<Severity, string> = { error: 'red', warning: 'yellow', note: 'cyan', chat: 'white' };
const VERDICT_COLOR = { ok: 'green', incomplete: 'cyan', degraded: 'yellow', failed: 'red' } as const;
const SEVERITIES: Severity[] = ['error', 'warning', 'note', 'chat'];

/** Verdicts are given when a transaction closes: the header says how many are still open instead of leaving them out. */
function verdictText(st: AnalysisStats): string {
  const closed = Object.values(st.byVerdict).reduce((a: number, b) => a + (b ?? 0), 0);
  const open = st.transactions - closed;
  if (open <= 0) return fmtCounts(st.byVerdict, ['ok', 'degraded', 'failed', 'incomplete']);
  return closed === 0 ? `open ${open}` : `${fmtCounts(st.byVerdict, ['ok', 'degraded', 'failed', 'incomplete'])}, open ${open}`;
}

type TxColumn = 'time' | 'id' | 'procedure' | 'ue' | 'btid' | 'verdict' | 'ack' | 'diagnostics';
const TX_COLUMNS: Column<TxColumn>[] = [
  { key: 'time', title: 'time (UTC)', width: 12 },
  { key: 'id', title: 'id', width: 6 },
  { key: 'procedure', title: 'procedure', width: 16 },
  { key: 'ue', title: 'UE', width: 15, flex: 1 },
  { key: 'btid', title: 'B-TID', width: 12, flex: 5 },
  { key: 'verdict', title: 'verdict', width: 8 },
  { key: 'ack', title: 'ACK', width: 4 },
  { key: 'diagnostics', title: 'diagnostics', width: 12, flex: 4 },
];
const TX_PRIORITY: TxColumn[] = ['time', 'ue', 'verdict', 'id', 'procedure', 'ack', 'diagnostics', 'btid'];

type GroupColumn = 'kind' | 'name' | 'tx' | 'failed' | 'acked' | 'rate';
const GROUP_COLUMNS: Column<GroupColumn>[] = [
  { key: 'kind', title: '', width: 5 },
  { key: 'name', title: 'name', width: 11, flex: 1 },
  { key: 'tx', title: 'tx', width: 6, align: 'right' },
  { key: 'failed', title: 'failed', width: 6, align: 'right' },
  { key: 'acked', title: 'ACKed', width: 11, align: 'right' },
  { key: 'rate', title: 'rate', width: 7, align: 'right' },
];
const GROUP_PRIORITY: GroupColumn[] = ['kind', 'name', 'rate', 'acked', 'tx', 'failed'];

type DiagColumn = 'time' | 'severity' | 'code' | 'who' | 'message';
const DIAG_COLUMNS: Column<DiagColumn>[] = [
  { key: 'time', title: 'time (UTC)', width: 12 },
  { key: 'severity', title: 'severity', width: 8 },
  { key: 'code', title: 'code', width: 28 },
  { key: 'who', title: 'transaction / UE', width: 16, flex: 1 },
  { key: 'message', title: 'message', width: 20, flex: 6 },
];
const DIAG_PRIORITY: DiagColumn[] = ['time', 'severity', 'code', 'message', 'who'];

interface TablePane<T> {
  box: blessed.Widgets.BoxElement;
  header: blessed.Widgets.BoxElement;
  /** Formats only the rows on screen (src/tui/row-list.ts). */
  list: RowList<T>;
}

/** A row of the BM-SC / key-group pane. */
interface GroupRow {
  kind: string;
  name: string;
  tally: { transactions: number; failed: number } | undefined;
  ack: { requested: number; acked: number } | undefined;
}

export class DashboardView {
  readonly screen: blessed.Widgets.Screen;
  private readonly header: blessed.Widgets.BoxElement;
  private readonly footer: blessed.Widgets.BoxElement;
  private readonly ackChart: ContribLine;
  private readonly latency: blessed.Widgets.BoxElement;
  /** Shown instead of the panes when the terminal is below MIN_COLUMNS × MIN_ROWS. */
  private readonly tooSmall: blessed.Widgets.BoxElement;
  private readonly tx: TablePane<KeyDeliveryTransaction>;
  private readonly groups: TablePane<GroupRow>;
  private readonly diag: TablePane<Diagnostic>;
  private detail: blessed.Widgets.BoxElement | undefined;
  private help: blessed.Widgets.BoxElement | undefined;

  mode: ViewMode = 'normal';
  order: TransactionOrder = 'newest';
  filter = '';
  private filterDraft = '';
  paused = false;
  private focusIndex = 0;
  private shownTx: KeyDeliveryTransaction[] = [];
  private shownDiag: Diagnostic[] = [];
  /** The groups pane's rows, in order. */
  private shownGroups: GroupRow[] = [];
  /** What the shown lists were made from: a refresh with the same records, order and filter reuses them. */
  private shownFrom: { records: KeptRecords; order: TransactionOrder; filter: string } | undefined;
  private diagFrom: { records: KeptRecords; filter: string } | undefined;
  private groupsFrom: { records: KeptRecords; stats: AnalysisStats } | undefined;
  /** model.version when `records` was taken. */
  private recordsVersion: number;
  /** The figures shown (held while paused) and the newest ones received. */
  private snapshot: DashboardSnapshot | undefined;
  private latest: DashboardSnapshot | undefined;
  /** The records shown: taken fresh on every update, held while paused. */
  private records: KeptRecords;
  private lastChart = '';
  private readonly maxChartPoints: number;
  private readonly maxGroupRows: number;
  private destroyed = false;

  constructor(
    screen: blessed.Widgets.Screen,
    private readonly model: DashboardModel,
    private readonly actions: ViewActions,
    options: DashboardViewOptions = {},
  ) {
    this.screen = screen;
    this.records = model.kept();
    this.recordsVersion = model.version;
    this.maxChartPoints = options.maxChartPoints ?? 60;
    this.maxGroupRows = options.maxGroupRows ?? 500;
    this.header = blessed.box({ parent: screen, top: 0, left: 0, height: 3, tags: false, style: { fg: 'white', bg: 'blue' } });
    this.footer = blessed.box({ parent: screen, left: 0, height: 1, tags: false, style: { fg: 'black', bg: 'white' } });
    // contrib's canvas is sized when it is attached, so the chart is created with its real size (see layout())
    this.ackChart = contrib.line({
      top: 3,
      left: 0,
      width: 40,
      height: 10,
      label: ' ACK rate (%) ',
      // 100 % drawn at the very top would fall off contrib's canvas: the axis goes a quarter higher
      maxY: 125,
      minY: 0,
      numYLabels: 5,
      showLegend: false,
      wholeNumbersOnly: true,
      border: { type: 'line' },
      style: { line: 'green', text: 'white', baseline: 'white', border: { fg: 'white' } },
    });
    screen.append(this.ackChart);
    this.latency = blessed.box({ parent: screen, label: ' Latency p50 / p95 per step ', border: { type: 'line' }, tags: true, style: { border: { fg: 'white' } } });
    this.tx = this.tablePane(' Transactions ');
    this.groups = this.tablePane(' BM-SC and key groups ');
    this.diag = this.tablePane(' Diagnostics ');
    this.tooSmall = blessed.box({ parent: screen, top: 0, left: 0, tags: false, hidden: true, style: { fg: 'white', bg: 'black' } });
    this.layout();
    screen.on('resize', () => {
      if (this.destroyed) return;
      this.layout();
      this.update();
    });
    screen.on('keypress', (ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg | undefined) => this.keypress(ch, key));
    this.focusPane(0);
  }

  private tablePane<T>(label: string): TablePane<T> {
    const box = blessed.box({ parent: this.screen, label, border: { type: 'line' }, tags: false, style: { border: { fg: 'white' } } });
    // children are placed from the parent's outer corner: inside the border means one cell in
    const header = blessed.box({ parent: box, top: 1, left: 1, height: 1, tags: false, style: { bold: true, fg: 'white' } });
    const list = new RowList<T>({ parent: box, top: 2, left: 1 });
    return { box, header, list };
  }

  get focusedPane(): PaneName {
    return PANES[this.focusIndex];
  }

  /** Place every widget for the current terminal size. */
  layout(): void {
    const cols = this.screen.cols ?? (this.screen.width as number);
    const rows = this.screen.rows ?? (this.screen.height as number);
    const small = cols < MIN_COLUMNS || rows < MIN_ROWS;
    for (const el of [this.header, this.footer, this.ackChart, this.latency, this.tx.box, this.groups.box, this.diag.box]) {
      if (small) el.hide();
      else el.show();
    }
    if (small) {
      this.tooSmall.width = cols;
      this.tooSmall.height = rows;
      this.tooSmall.setContent(`terminal too small (${cols}×${rows}): the dashboard needs at least ${MIN_COLUMNS}×${MIN_ROWS}. q quits`);
      this.tooSmall.show();
      return;
    }
    this.tooSmall.hide();
    const W = cols;
    const H = rows;
    const body = H - 4;
    const chartH = Math.max(CHART_MIN_HEIGHT, Math.floor(body * 0.38));
    let tableH = Math.max(TABLE_MIN_HEIGHT, Math.floor(body * 0.34));
    let diagH = body - chartH - tableH;
    if (diagH < TABLE_MIN_HEIGHT) {
      // the diagnostics pane keeps a row: the transactions pane gives up its share first (MIN_ROWS keeps both)
      tableH -= TABLE_MIN_HEIGHT - diagH;
      diagH = TABLE_MIN_HEIGHT;
    }
    const half = Math.floor(W / 2);
    this.header.width = W;
    this.footer.top = H - 1;
    this.footer.width = W;
    place(this.ackChart, 3, 0, half, chartH);
    place(this.latency, 3, half, W - half, chartH);
    const txW = Math.floor(W * 0.62);
    this.placeTable(this.tx, 3 + chartH, 0, txW, tableH);
    this.placeTable(this.groups, 3 + chartH, txW, W - txW, tableH);
    this.placeTable(this.diag, 3 + chartH + tableH, 0, W, diagH);
    // contrib sizes its drawing canvas on attach only: attach again at the new size
    this.ackChart.emit('attach');
    this.lastChart = '';
    for (const pop of [this.detail, this.help]) {
      if (!pop) continue;
      pop.width = Math.max(20, Math.floor(W * 0.9));
      pop.height = Math.max(6, Math.floor(H * 0.85));
    }
  }

  private placeTable<T>(p: TablePane<T>, top: number, left: number, width: number, height: number): void {
    place(p.box, top, left, width, height);
    p.header.width = Math.max(1, width - 2);
    p.list.width = Math.max(1, width - 2);
    p.list.height = Math.max(1, height - 3);
  }

  /** New figures from the controller: shown at once, or kept for later while paused (the screen stays as it was). */
  setSnapshot(s: DashboardSnapshot): void {
    this.latest = s;
    if (this.paused) return;
    this.snapshot = s;
    this.takeRecords();
    this.update();
  }

  /** The model's records now (taken again only when the model changed since). */
  private takeRecords(): void {
    if (this.model.version === this.recordsVersion) return;
    this.records = this.model.kept();
    this.recordsVersion = this.model.version;
  }

  /** Fill every widget and render. */
  update(): void {
    if (this.destroyed || !this.snapshot) return;
    const s = this.snapshot;
    this.header.setContent(this.headerText(s));
    this.footer.setContent(this.footerText());
    this.drawAckChart(s.stats);
    this.latency.setContent(this.latencyText(s.stats));
    this.fillTransactions();
    this.fillGroups(s.stats);
    this.fillDiagnostics();
    this.screen.render();
  }

  /** Three lines, each cut to the screen width (a wrapped header would push the counters off screen). */
  private headerText(s: DashboardSnapshot): string {
    const st = s.stats;
    const paused = this.paused ? '  ** PAUSED **' : '';
    const span =
      st.first && st.last
        ? `${dateTime(st.first)} → ${clockTime(st.last)} UTC (${fmtDuration(diffSeconds(st.first, st.last))})`
        : 'no frames yet';
    const loss = `${(s.loss.ratio * 100).toFixed(2)} % (${fmtBytes(s.loss.lostBytes)} ACKed unseen, ${fmtBytes(s.loss.gapBytes)} gaps)`;
    const nDiag = SEVERITIES.reduce((a, k) => a + (st.diagnosticsBySeverity[k] ?? 0), 0);
    const nAnom = Object.values(st.anomalies).reduce((a, b) => a + b, 0);
    const ack = `${st.ack.acked}/${st.ack.requested}${st.ack.requested > 0 ? ` ${fmtPercent(st.ack.acked, st.ack.requested)}` : ''}`;
    const W = Math.max(10, this.screen.cols ?? 80);
    return [
      ` keyscope dash  ${safeText(s.sourceLabel, 200)}  [${safeText(s.mode)}]  ${safeText(s.state, 200)}${paused}`,
      ` frames ${st.frames}   rate ${s.rate.toFixed(1)}/s   loss est. ${loss}   capture ${span}`,
      ` UEs ${st.uesEstimated ? '≈' : ''}${st.ues}   transactions ${st.transactions} (${verdictText(st)})   ACK ${ack}   diagnostics ${nDiag} (${fmtCounts(st.diagnosticsBySeverity, SEVERITIES)})   anomalies ${nAnom}`,
    ]
      .map((l) => fit(l, W))
      .join('\n');
  }

  private footerText(): string {
    if (this.mode === 'filter') return ` Filter by UE, B-TID or key group (Enter apply, Esc cancel): ${safeText(this.filterDraft, 200)}_`;
    const f = this.filter ? `  filter: ${safeText(this.filter, 60)} (/ then Enter on empty clears)` : '';
    return ` q quit  / filter  p pause  s sort (${this.order} first)  Tab pane (${this.focusedPane})  Enter ${this.focusedPane === 'groups' ? 'filter by row' : 'details'}  ? help${f}`;
  }

  private drawAckChart(st: AnalysisStats): void {
    const width = typeof this.ackChart.width === 'number' ? this.ackChart.width : 40;
    const maxPoints = Math.max(2, Math.min(this.maxChartPoints, Math.floor((width - 10) / 2)));
    const points = ackPoints(st.ackOverTime, maxPoints);
    const key = JSON.stringify([width, this.ackChart.height, points]);
    if (key === this.lastChart) return;
    this.lastChart = key;
    const step = points.length > 0 ? points[0].seconds : st.ackOverTime.bucketSeconds;
    const overall = st.ack.requested > 0 ? `${fmtPercent(st.ack.acked, st.ack.requested)} overall` : 'no ACK requested yet';
    // a label longer than the border would wrap into the chart
    const gaps = points.some((p) => p.rate === null);
    const label = ` ACK rate (%) per ${step} s, UTC — ${overall}${gaps ? ', "-" no deliveries' : ''} `;
    const short = ` ACK % /${step}s ${overall.replace(' overall', '')} `;
    this.ackChart.setLabel(displayWidth(label) <= width - 4 ? label : displayWidth(short) <= width - 4 ? short : fit(short, Math.max(4, width - 4)).trimEnd());
    // The x axis is per time: a step without any ACK requested keeps its place. blessed-contrib's line cannot
    // break, so such a step is labelled "-" (no deliveries) and the line is drawn straight across it between its
    // neighbours' rates — a connector, not a value: a 0 % there would accuse a BM-SC of losing ACKs nobody asked for.
    const y = bridgeGaps(points.map((p) => (p.rate === null ? null : Math.round(p.rate * 10) / 10)));
    this.ackChart.setData([{ title: 'ACK rate', x: points.map((p) => (p.rate === null ? '-' : clockSeconds(p.start))), y, style: { line: 'green' } }]);
  }

  private latencyText(st: AnalysisStats): string {
    const rows = latencyRows(st);
    const inner = Math.max(10, (this.latency.width as number) - 2);
    const labelW = 18;
    const valueW = 10;
    const barW = Math.max(1, inner - labelW - 5 - valueW - 1);
    const max = Math.max(0, ...rows.map((r) => r.distribution.p95 ?? 0));
    const bar = (v: number | undefined) => (v === undefined || max <= 0 ? '' : '█'.repeat(Math.max(1, Math.round((barW * v) / max))));
    const out: string[] = [];
    const innerRows = (typeof this.latency.height === 'number' ? this.latency.height : 0) - 2;
    if (innerRows < LATENCY_FULL_ROWS) {
      // one line per step, so a short pane (80×24) still shows all four: p50 and p95 without bars
      const numW = 7;
      // "p50 " value " p95 " value: never wider than the pane, or blessed wraps it onto the next step's line
      const stepW = Math.max(1, inner - (4 + numW + 5 + numW) - 1);
      for (const r of rows) {
        const d = r.distribution;
        out.push(`${fit(r.step.replace(/ → /g, '→'), stepW)} {green-fg}p50{/green-fg} ${fit(fmtDuration(d.p50), numW, 'right')} {yellow-fg}p95{/yellow-fg} ${fit(fmtDuration(d.p95), numW, 'right')}`);
      }
      return out.join('\n');
    }
    for (const r of rows) {
      const d = r.distribution;
      out.push(`${fit(r.step, labelW)} {green-fg}p50{/green-fg} ${fit(bar(d.p50), barW)} ${fit(fmtDuration(d.p50), valueW, 'right')}`);
      out.push(`${fit(`  n=${d.count}`, labelW)} {yellow-fg}p95{/yellow-fg} ${fit(bar(d.p95), barW)} ${fit(fmtDuration(d.p95), valueW, 'right')}`);
    }
    return out.join('\n');
  }

  private fillTransactions(): void {
    const p = this.tx;
    const cols = fitColumns<TxColumn>(TX_COLUMNS, TX_PRIORITY, Math.max(10, p.list.width - 1));
    p.header.setContent(tableHeader(cols));
    // on the first row the table follows the newest (or worst) transaction; elsewhere the selection stays on its row
    const at = p.list.selected;
    const previous = at > 0 ? this.shownTx[at]?.id : undefined;
    const from = this.shownFrom;
    if (!from || from.records !== this.records || from.order !== this.order || from.filter !== this.filter) {
      this.shownTx = this.records.transactions(this.order, this.filter);
      this.shownFrom = { records: this.records, order: this.order, filter: this.filter };
    }
    // rows are made only for what is on screen (RowList), when it is drawn
    const format = (t: KeyDeliveryTransaction) =>
      tableRow(cols, (key) => {
        switch (key) {
          case 'time':
            return clockTime(t.start);
          case 'id':
            return safeText(t.id, 40);
          case 'procedure':
            return `${t.procedure}${t.variant ? ` ${t.variant}` : ''}`;
          case 'ue':
            return safeText(t.ue, 200);
          case 'btid':
            return safeText(t.btid ?? '-', 300);
          case 'verdict':
            return { text: t.verdict, color: VERDICT_COLOR[t.verdict] };
          case 'ack':
            return t.ackRequested ? (t.acked ? 'yes' : 'NO') : '-';
          case 'diagnostics':
            return safeText(t.diagnostics.join(',') || '-', 400);
        }
      });
    const order = this.order === 'newest' ? 'newest first' : 'worst first';
    const kept = this.order === 'newest' ? this.records.newest.length : this.records.worst.length;
    const filt = this.filter ? `, filter '${safeText(this.filter, 40)}'` : '';
    // what is shown, what is kept (--keep), and how many there were: "10 of 10 kept" hid the other 121
    const seen = this.records.transactionsSeen;
    p.box.setLabel(` Transactions (${order}${filt}: ${this.shownTx.length} of ${kept} kept${seen > kept ? `, ${seen} closed` : ''}) `);
    p.list.setItems(this.shownTx, format, previous === undefined ? 0 : this.shownTx.findIndex((t) => t.id === previous));
  }

  private fillGroups(st: AnalysisStats): void {
    const p = this.groups;
    const cols = fitColumns<GroupColumn>(GROUP_COLUMNS, GROUP_PRIORITY, Math.max(10, p.list.width - 1));
    p.header.setContent(tableHeader(cols));
    if (this.groupsFrom?.records !== this.records || this.groupsFrom.stats !== st) {
      const rows: GroupRow[] = [];
      const add = (kind: string, tallies: ReadonlyMap<string, { transactions: number; failed: number }>, acks: AnalysisStats['ackByBmsc']) => {
        for (const name of [...new Set([...tallies.keys(), ...Object.keys(acks)])].sort()) {
          if (rows.length >= this.maxGroupRows) return;
          rows.push({ kind, name, tally: tallies.get(name), ack: acks[name] });
        }
      };
      add('BM-SC', this.records.byBmsc, st.ackByBmsc);
      add('group', this.records.byKeyGroup, st.ackByKeyGroup);
      this.shownGroups = rows;
      this.groupsFrom = { records: this.records, stats: st };
    }
    const format = (r: GroupRow) => {
      const a = r.ack;
      const rate = a && a.requested > 0 ? fmtPercent(a.acked, a.requested) : '-';
      const short = a !== undefined && a.requested > 0 && a.acked < a.requested;
      return tableRow(cols, (key) => {
        switch (key) {
          case 'kind':
            return r.kind;
          case 'name':
            return safeText(r.name, 300);
          case 'tx':
            return String(r.tally?.transactions ?? 0);
          case 'failed':
            return String(r.tally?.failed ?? 0);
          case 'acked':
            return a ? `${a.acked}/${a.requested}` : '-';
          case 'rate':
            return { text: rate, color: short ? 'yellow' : 'white' };
        }
      });
    };
    p.list.setItems(this.shownGroups, format, -1);
  }

  private fillDiagnostics(): void {
    const p = this.diag;
    const cols = fitColumns<DiagColumn>(DIAG_COLUMNS, DIAG_PRIORITY, Math.max(10, p.list.width - 1));
    p.header.setContent(tableHeader(cols));
    const at = p.list.selected;
    const previous = at > 0 ? this.shownDiag[at] : undefined;
    if (this.diagFrom?.records !== this.records || this.diagFrom.filter !== this.filter) {
      this.shownDiag = this.records.diagnosticList(this.filter);
      this.diagFrom = { records: this.records, filter: this.filter };
    }
    const format = (d: Diagnostic) =>
      tableRow(cols, (key) => {
        switch (key) {
          case 'time':
            return clockTime(d.time);
          case 'severity':
            return { text: d.severity, color: SEVERITY_COLOR[d.severity] };
          case 'code':
            return d.code;
          case 'who':
            return safeText([d.transaction, d.ue].filter((x) => x !== undefined).join(' ') || '-', 300);
          case 'message':
            return safeText(d.message, 2000);
        }
      });
    const total = this.records.diagnosticsSeen;
    const filt = this.filter ? `, filter '${safeText(this.filter, 40)}'` : '';
    p.box.setLabel(` Diagnostics (newest first${filt}: ${this.shownDiag.length} shown, ${total} seen) `);
    p.list.setItems(this.shownDiag, format, previous === undefined ? 0 : this.shownDiag.indexOf(previous));
  }

  // -------------------------------------------------------------------------------------------------------------
  // keys

  private keypress(ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg | undefined): void {
    if (this.destroyed) return;
    const name = key?.full ?? key?.name ?? ch ?? '';
    if (name === 'C-c') return this.actions.quit();
    switch (this.mode) {
      case 'filter':
        return this.filterKey(ch, name);
      case 'detail':
      case 'help':
        if (name === 'escape' || name === 'q' || name === 'enter' || name === 'backspace' || (this.mode === 'help' && name === '?')) this.closePopup();
        return;
      default:
        break;
    }
    switch (name) {
      case 'q':
        return this.actions.quit();
      case '/':
        this.mode = 'filter';
        // an empty prompt: Enter on it clears the filter, as the footer says (Esc keeps the current one)
        this.filterDraft = '';
        this.refreshFooter();
        return;
      case 'p':
        this.paused = !this.paused;
        this.actions.pause(this.paused);
        if (!this.paused) {
          this.snapshot = this.latest ?? this.snapshot;
          this.takeRecords();
        }
        this.update();
        return;
      case 's':
        this.order = this.order === 'newest' ? 'worst' : 'newest';
        this.tx.list.select(0);
        this.update();
        return;
      case 'tab':
        this.focusPane((this.focusIndex + 1) % PANES.length);
        return;
      case 'S-tab':
        this.focusPane((this.focusIndex + PANES.length - 1) % PANES.length);
        return;
      case '?':
        this.openHelp();
        return;
      case 'enter':
        this.openSelected();
        return;
      case 'up':
      case 'down':
      case 'pageup':
      case 'pagedown':
      case 'home':
      case 'end': {
        const list = this.focusedList();
        const page = Math.max(1, list.height - 1);
        const last = Math.max(0, list.length - 1);
        const at = list.selected;
        const to = name === 'up' ? at - 1 : name === 'down' ? at + 1 : name === 'pageup' ? at - page : name === 'pagedown' ? at + page : name === 'home' ? 0 : last;
        list.select(Math.max(0, Math.min(last, to)));
        this.screen.render();
        return;
      }
      default:
        return;
    }
  }

  private filterKey(ch: string | undefined, name: string): void {
    if (name === 'escape') {
      this.mode = 'normal';
      this.refreshFooter();
      return;
    }
    if (name === 'enter' || name === 'return') {
      this.mode = 'normal';
      this.filter = this.filterDraft.trim();
      this.tx.list.select(0);
      this.diag.list.select(0);
      this.update();
      return;
    }
    if (name === 'backspace') {
      this.filterDraft = [...this.filterDraft].slice(0, -1).join('');
    } else if (ch !== undefined && ch.length > 0 && !/[\u0000-\u001f\u007f]/.test(ch) && [...this.filterDraft].length < 200) {
      this.filterDraft += ch;
    }
    this.refreshFooter();
  }

  private focusedList(): RowList<unknown> {
    return [this.tx, this.groups, this.diag][this.focusIndex].list as RowList<unknown>;
  }

  private refreshFooter(): void {
    this.footer.setContent(this.footerText());
    this.screen.render();
  }

  private focusPane(i: number): void {
    this.focusIndex = i;
    const panes = [this.tx, this.groups, this.diag];
    panes.forEach((p, k) => {
      (p.box.style as { border: { fg: string } }).border.fg = k === i ? 'cyan' : 'white';
    });
    panes[i].list.focus();
    this.footer.setContent(this.footerText());
    this.screen.render();
  }

  private openSelected(): void {
    if (this.focusedPane === 'groups') {
      // a BM-SC or key group row: its transactions and diagnostics, through the filter (/ changes or clears it)
      const row = this.shownGroups[this.groups.list.selected];
      if (row === undefined) return;
      this.filter = row.name;
      this.tx.list.select(0);
      this.focusPane(PANES.indexOf('transactions'));
      this.update();
      return;
    }
    if (this.focusedPane === 'transactions') {
      const t = this.shownTx[this.tx.list.selected];
      if (t) this.openDetail(` Transaction ${safeText(t.id, 40)} `, this.transactionDetail(t));
    } else if (this.focusedPane === 'diagnostics') {
      const d = this.shownDiag[this.diag.list.selected];
      if (!d) return;
      const t = d.transaction !== undefined ? this.records.findTransaction(d.transaction) : undefined;
      if (t) this.openDetail(` Transaction ${safeText(t.id, 40)} `, this.transactionDetail(t));
      else this.openDetail(` Diagnostic ${d.code} `, diagnosticLines(d));
    }
  }

  /** Lines (tag-escaped) describing a transaction: summary, steps, frames, diagnostics. */
  transactionDetail(t: KeyDeliveryTransaction): string[] {
    const c = (s: string | undefined, n = 300) => cell(s ?? '-', n);
    const keys = (ks: { label: string }[]) => (ks.length ? ks.map((k) => c(k.label, 80)).join(' ') : '-');
    const lat = t.latencies;
    const out = [
      `{bold}${c(t.id, 40)}{/bold}  ${t.procedure}${t.variant ? `  variant ${t.variant}` : ''}  verdict {${VERDICT_COLOR[t.verdict]}-fg}${t.verdict}{/${VERDICT_COLOR[t.verdict]}-fg}  closed by ${t.closedBy}`,
      `UE ${c(t.ue)}  addresses ${t.ueAddresses.map((a) => c(a, 100)).join(', ') || '-'}`,
      `B-TID ${c(t.btid)}`,
      `BM-SC ${c(t.bmsc)}  request type ${c(t.requestType, 80)}  Digest ${t.digest}  HTTP ${t.httpStatuses.join(' ') || '-'}`,
      `requested ${keys(t.requestedKeys)}`,
      `delivered ${keys(t.deliveredKeys)}${t.delivered ? '' : ' (no delivery seen)'}`,
      `services ${t.serviceIds.map((s) => c(s, 200)).join(' ') || '-'}`,
      `ACK ${t.ackRequested ? (t.acked ? 'requested, received' : 'requested, {red-fg}missing{/red-fg}') : 'not requested'}${t.repetitions !== undefined ? `  repetitions ${t.repetitions}` : ''}`,
      `latency  401→credentials ${fmtDuration(lat.challengeToCredentials)}  request→200 ${fmtDuration(lat.requestTo200)}  200→MIKEY ${fmtDuration(lat.okToMikey)}  MIKEY→ACK ${fmtDuration(lat.mikeyToAck)}`,
      `time ${dateTime(t.start)}.${String(Math.floor(t.start.tsNsec / 1e6)).padStart(3, '0')} UTC, duration ${fmtDuration(diffSeconds(t.start, t.end))}`,
      '',
      '{bold}Steps{/bold}',
      `  ${fit('frame', 7, 'right')}  ${fit('+time', 11, 'right')}  ${fit('step', 12)} ${fit('status', 6)} ${fit('via', 4)} detail`,
    ];
    for (const s of t.steps) {
      out.push(
        `  ${fit(String(s.frame), 7, 'right')}  ${fit(fmtDuration(diffSeconds(t.start, s.time)), 11, 'right')}  ${fit(s.kind, 12)} ${fit(s.status !== undefined ? String(s.status) : '', 6)} ${fit(s.carrier ?? '', 4)} ${c(s.detail ?? '', 400)}`,
      );
    }
    if (t.stepsDropped > 0) out.push(`  … ${t.stepsDropped} more steps not kept`);
    out.push('', '{bold}Ladder{/bold} (UE ⇄ BM-SC, as a flow graph)', ...ladderLines(t));
    out.push('', `{bold}Frames{/bold} (${t.frames.length})`);
    for (let i = 0; i < t.frames.length; i += 16) out.push(`  ${t.frames.slice(i, i + 16).join(', ')}`);
    out.push('', '{bold}Diagnostics{/bold}');
    const ds = this.records.diagnosticsOf(t.id);
    for (const d of ds) out.push(...diagnosticLines(d).map((l) => `  ${l}`));
    const missing = t.diagnostics.filter((code) => !ds.some((d) => d.code === code));
    if (missing.length > 0) out.push(`  raised (details no longer kept): ${missing.join(', ')}`);
    if (t.diagnostics.length === 0 && ds.length === 0) out.push('  none');
    return out;
  }

  private openDetail(label: string, lines: string[]): void {
    this.closePopup();
    const W = this.screen.cols;
    const H = this.screen.rows;
    this.detail = blessed.box({
      parent: this.screen,
      top: 'center',
      left: 'center',
      width: Math.max(20, Math.floor(W * 0.9)),
      height: Math.max(6, Math.floor(H * 0.85)),
      label: `${label}— Esc closes, ↑↓ scroll `,
      border: { type: 'line' },
      tags: true,
      scrollable: true,
      alwaysScroll: true,
      keys: true,
      vi: true,
      scrollbar: { ch: ' ', style: { bg: 'white' } },
      style: { border: { fg: 'cyan' }, bg: 'black' },
      content: lines.join('\n'),
    });
    this.mode = 'detail';
    this.detail.focus();
    this.screen.render();
  }

  private openHelp(): void {
    this.closePopup();
    const lines = [
      '{bold}keyscope dash{/bold}: MBMS key delivery as it happens (or as it happened).',
      '',
      '  q, Ctrl-C   quit',
      '  /           filter transactions and diagnostics by UE address, B-TID or key group',
      '              (type, Enter applies, Esc cancels, an empty filter clears)',
      '  p           pause / resume (the screen freezes; a replay stops its clock)',
      '  s           transactions newest first / worst first',
      '  Tab         next pane (Shift-Tab previous); ↑ ↓ PgUp PgDn Home End move in it',
      '  Enter       details of the selected transaction (steps, frames, diagnostics);',
      '              on a BM-SC or key group row: filter by it',
      '  ?           this help',
      '',
      'The counters are the same as `keyscope analyze` reports for the same capture and options.',
      'Transactions appear when they end (complete, timed out in packet time, or at the end of the capture).',
      'Loss estimate: TCP bytes acknowledged by a peer but missing from the capture (UDP loss is invisible).',
    ];
    this.help = blessed.box({
      parent: this.screen,
      top: 'center',
      left: 'center',
      width: Math.min(100, Math.max(20, this.screen.cols - 4)),
      height: Math.min(lines.length + 2, Math.max(6, this.screen.rows - 2)),
      label: ' Help — any of Esc, q, ? closes ',
      border: { type: 'line' },
      tags: true,
      style: { border: { fg: 'cyan' }, bg: 'black' },
      content: lines.join('\n'),
    });
    this.mode = 'help';
    this.screen.render();
  }

  private closePopup(): void {
    for (const p of [this.detail, this.help]) p?.destroy();
    this.detail = undefined;
    this.help = undefined;
    if (this.mode === 'detail' || this.mode === 'help') this.mode = 'normal';
    this.focusedList().focus();
    this.screen.render();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.screen.destroy();
  }
}

function diagnosticLines(d: Diagnostic): string[] {
  const color = SEVERITY_COLOR[d.severity];
  const who = [d.transaction, d.ue ? `ue ${d.ue}` : undefined].filter((x) => x !== undefined).join(' ');
  const frames = d.frames.slice(0, 32).join(', ') + (d.frames.length > 32 ? ', …' : '');
  return [`{${color}-fg}${d.severity}{/${color}-fg} ${d.code} ${who ? `[${cell(who, 300)}] ` : ''}at ${clockTime(d.time)} frames ${frames}`, `    ${cell(d.message, 2000)}`];
}

function place(el: blessed.Widgets.BlessedElement, top: number, left: number, width: number, height: number): void {
  el.top = top;
  el.left = left;
  el.width = Math.max(1, width);
  el.height = Math.max(1, height);
}

