/**
 * What a dashboard refresh costs (issue #12): a pane formats only the rows on screen, however many records it keeps,
 * and scrolls like blessed's List did; while frames keep arriving the screen is redrawn at most every busyRedrawMs
 * (further apart when a redraw takes more than redrawShare of the time), and the end of the input shows at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import * as blessed from 'blessed';
import { readCapture } from '../../src/capture/reader';
import { Dashboard } from '../../src/tui/dashboard';
import { keyGroupOf } from '../../src/tui/model';
import { RowList } from '../../src/tui/row-list';
import { capturePath } from '../support/repo';
import { HeadlessTerminal, waitForScreen } from './headless';

function screenOn(term: HeadlessTerminal): blessed.Widgets.Screen {
  return blessed.screen({ input: term.input, output: term.output, terminal: 'xterm-256color', warnings: false } as unknown as blessed.Widgets.IScreenOptions);
}

test('RowList: only the rows on screen are formatted; the selection scrolls the window and stays in range', { timeout: 30_000 }, async () => {
  const term = new HeadlessTerminal(60, 20);
  const screen = screenOn(term);
  try {
    const list = new RowList<number>({ parent: screen, top: 0, left: 0 });
    list.width = 40;
    list.height = 5;
    const records = Array.from({ length: 1000 }, (_, i) => i);
    const formatted: number[] = [];
    const format = (n: number) => {
      formatted.push(n);
      return `row ${n} {red-fg}{open}x{close}{/red-fg}`;
    };
    list.setItems(records, format, 0);
    assert.deepEqual(formatted, [0, 1, 2, 3, 4], 'the visible window only');
    screen.render();
    let lines = (await waitForScreen(term, (s) => s.includes('row 4'), 'the first rows')).split('\n');
    assert.equal(lines[0].trimEnd(), 'row 0 {x}');
    assert.ok(!lines.some((l) => l.includes('row 5')));
    // the selected row is highlighted across the pane: blue background on its last column too
    assert.equal(term.term.buffer.active.getLine(0)?.getCell(39)?.getBgColor(), 4);
    assert.equal(term.term.buffer.active.getLine(1)?.getCell(0)?.getBgColor(), -1);
    // moving below the window scrolls by as little as needed
    formatted.length = 0;
    list.select(6);
    assert.deepEqual(formatted, [2, 3, 4, 5, 6]);
    assert.equal(list.selected, 6);
    screen.render();
    lines = (await waitForScreen(term, (s) => s.includes('row 6'), 'the scrolled window')).split('\n');
    assert.equal(lines[0].trimEnd(), 'row 2 {x}');
    assert.equal(lines[4].trimEnd(), 'row 6 {x}');
    // out of range: clamped to the last and the first row
    list.select(5000);
    assert.equal(list.selected, 999);
    list.select(-3);
    assert.equal(list.selected, 0);
    // new records: kept on the given row, else on the same index within the new length
    list.setItems(records.slice(0, 10), format, 7);
    assert.equal(list.selected, 7);
    list.setItems(records.slice(0, 3), format, -1);
    assert.equal(list.selected, 2);
    list.setItems([], format, 0);
    assert.equal(list.selected, 0);
    assert.equal(list.length, 0);
  } finally {
    screen.destroy();
    term.dispose();
  }
});

const REFRESH_MS = 50;
/** Draws allowed for writer stalls of a refresh period on a loaded machine. */
const STALL_DRAWS = 3;

interface Trickled {
  /** Date.now() of every redraw before the one that showed the end of the input. */
  busy: number[];
  /** ms the frames took to arrive. */
  fed: number;
  frames: number;
}

/**
 * The bundled capture trickled into a dashboard in 300 pieces, one every 5 ms, refreshes every 50 ms: new frames at
 * every refresh, unless the machine stalls the writer for a whole refresh period (then the input is quiet and what
 * changed is drawn at once, as it should: a few such draws are allowed for).
 */
async function trickle(options: { busyRedrawMs: number; redrawShare?: number }): Promise<Trickled> {
  const bytes = readFileSync(capturePath('sim-faults.pcap'));
  const term = new HeadlessTerminal(160, 48);
  const input = new PassThrough();
  const dash = new Dashboard(
    { kind: 'capture', input, label: 'trickled capture' },
    { terminal: { input: term.input, output: term.output, terminal: 'xterm-256color' }, handleSignals: false, refreshMs: REFRESH_MS, ...options },
  );
  const draws: number[] = [];
  const setSnapshot = dash.view.setSnapshot.bind(dash.view);
  dash.view.setSnapshot = (s) => {
    draws.push(Date.now());
    setSnapshot(s);
  };
  dash.start();
  try {
    const pieces = 300;
    const size = Math.ceil(bytes.length / pieces);
    const started = Date.now();
    for (let at = 0; at < bytes.length; at += size) {
      input.write(bytes.subarray(at, at + size));
      await new Promise((r) => setTimeout(r, 5));
    }
    const fed = Date.now() - started;
    input.end();
    await dash.inputEnded;
    // the end is drawn by the input's end itself, not a busyRedrawMs later
    const endDraw = draws[draws.length - 1];
    await waitForScreen(term, (s) => s.split('\n')[0].includes('ended'), 'the end of the input');
    assert.equal(dash.analyzer.stats().frames, await framesOf(bytes));
    return { busy: draws.filter((t) => t < endDraw), fed, frames: dash.analyzer.stats().frames };
  } finally {
    dash.quit();
    await dash.done;
    term.dispose();
  }
}

test('while frames keep arriving the screen is redrawn at most every busyRedrawMs; the end shows at once', { timeout: 60_000 }, async () => {
  const busyRedrawMs = 500;
  const { busy, fed } = await trickle({ busyRedrawMs });
  // the first screen, then one redraw per busyRedrawMs at most (a 50 ms refresh without the limit: one per refresh)
  assert.ok(fed >= 3 * busyRedrawMs, `frames arrived for ${fed} ms`);
  assert.ok(busy.length <= 2 + Math.ceil(fed / busyRedrawMs) + STALL_DRAWS, `${busy.length} redraws in ${fed} ms of arriving frames`);
  assert.ok(busy.length < fed / REFRESH_MS / 2, `${busy.length} redraws in ${fed} ms of arriving frames`);
});

test('redrawShare: a redraw that takes long spaces the next ones beyond busyRedrawMs', { timeout: 60_000 }, async () => {
  // a redraw takes well over 0.1 ms: at a share of 1/100 000 the next one is due seconds later, after the input ended
  const { busy, fed } = await trickle({ busyRedrawMs: 10, redrawShare: 1e-5 });
  assert.ok(busy.length <= 2 + STALL_DRAWS, `${busy.length} redraws in ${fed} ms of arriving frames`);
});

test('keyGroupOf: the label up to its second colon', () => {
  for (const [label, group] of [
    ['2a:0102:0a0b0c0d', '2a:0102'],
    ['2a:0102:0a0b0c0d:mtk=5', '2a:0102'],
    ['2a:0102', '2a:0102'],
    ['2a', '2a'],
    ['2a::0a', '2a:'],
    [':0102:0a', ':0102'],
    ['', ''],
  ])
    assert.equal(keyGroupOf(label), group, label);
});

async function framesOf(bytes: Buffer): Promise<number> {
  let n = 0;
  const s = new PassThrough();
  s.end(bytes);
  await readCapture(s, () => n++);
  return n;
}
