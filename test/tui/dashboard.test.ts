/**
 * The dashboard rendered into a headless terminal (@xterm/headless) and read back as text, as a person would see it:
 * chart title and axis, rows for known UEs, known diagnostics, header counts equal to the analyzer's statistics for
 * the same capture (the numbers `keyscope analyze --json` prints), keys (Enter, /, s, p, ?, Tab, q), resizing, and
 * packet text with escape sequences and blessed tags shown inert.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { analyzeCapture } from '../../src/pipeline/analyzer';
import { loadKeyFile } from '../../src/protocols/keys';
import type { AnalysisStats, Diagnostic, KeyDeliveryTransaction } from '../../src/correlate/types';
import { Dashboard, type DashboardOptions, type DashboardSource } from '../../src/tui/dashboard';
import { compareWorst } from '../../src/tui/model';
import { capturePath } from '../support/repo';
import { HeadlessTerminal, waitForScreen } from './headless';
import { HOSTILE_UE, hostileCapture } from './hostile';

const CAPTURE = capturePath('sim-faults.pcap');
const KEYS = capturePath('sim-faults.keys');
// the simulator's scenario timeouts (captures/sim-faults.expected.json "analyzerOptions")
const CORRELATOR = { ackTimeout: 0.72, deliveryTimeout: 0.72, pullTimeout: 0.72, bucketSeconds: 1 };

interface Reference {
  stats: AnalysisStats;
  transactions: KeyDeliveryTransaction[];
  diagnostics: Diagnostic[];
}

async function reference(): Promise<Reference> {
  const transactions: KeyDeliveryTransaction[] = [];
  const diagnostics: Diagnostic[] = [];
  const run = await analyzeCapture(CAPTURE, { transaction: (t) => transactions.push(t), diagnostic: (d) => diagnostics.push(d) }, {
    dissector: { keys: loadKeyFile(KEYS) },
    correlator: CORRELATOR,
  });
  return { stats: run.stats, transactions, diagnostics };
}

interface Open {
  term: HeadlessTerminal;
  dash: Dashboard;
}

function open(source: DashboardSource, cols = 160, rows = 48, extra: DashboardOptions = {}): Open {
  const term = new HeadlessTerminal(cols, rows);
  const dash = new Dashboard(source, {
    analyzer: { dissector: { keys: loadKeyFile(KEYS) }, correlator: CORRELATOR },
    terminal: { input: term.input, output: term.output, terminal: 'xterm-256color' },
    handleSignals: false,
    refreshMs: 50,
    ...extra,
  }).start();
  return { term, dash };
}

async function close(o: Open): Promise<void> {
  o.dash.quit();
  await o.dash.done;
  o.term.dispose();
}

/** Rows of the transactions pane: lines between its title and its bottom border. */
function paneRows(text: string, title: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.includes(title));
  assert.ok(start >= 0, `pane ${title} not on screen:\n${text}`);
  const col = lines[start].indexOf('┌', Math.max(0, lines[start].indexOf(title) - 4));
  const out: string[] = [];
  for (let y = start + 2; y < lines.length; y++) {
    const l = lines[y];
    const from = col >= 0 && col < lines[start].indexOf(title) ? col : lines[start].lastIndexOf('┌', lines[start].indexOf(title));
    if (l.slice(from, from + 1) === '└') break;
    out.push(l);
  }
  return out;
}

function headerCounts(text: string): Record<string, string> {
  const header = text.split('\n').slice(0, 3).join('\n');
  const m = (re: RegExp) => re.exec(header)?.[1] ?? '(missing)';
  return {
    frames: m(/frames (\d+)/),
    ues: m(/UEs (\d+)/),
    transactions: m(/transactions (\d+)/),
    ack: m(/ACK (\d+\/\d+)/),
    diagnostics: m(/diagnostics (\d+)/),
    errors: m(/\(error (\d+)/),
    warnings: m(/warning (\d+)/),
  };
}

describe('dashboard on the simulator capture with every fault kind', () => {
  let ref: Reference;
  before(async () => {
    ref = await reference();
  });

  test('header, charts, tables and diagnostics show what the analyzer found', async () => {
    const o = open({ kind: 'capture', input: CAPTURE });
    try {
      const text = await waitForScreen(o.term, (s) => s.includes(' ended'), 'the end of the capture');
      const s = ref.stats;
      const nDiag = Object.values(s.diagnosticsBySeverity).reduce((a, b) => a + (b ?? 0), 0);
      assert.deepEqual(headerCounts(text), {
        frames: String(s.frames),
        ues: String(s.ues),
        transactions: String(s.transactions),
        ack: `${s.ack.acked}/${s.ack.requested}`,
        diagnostics: String(nDiag),
        errors: String(s.diagnosticsBySeverity.error ?? 0),
        warnings: String(s.diagnosticsBySeverity.warning ?? 0),
      });
      assert.ok(s.ack.requested > 0 && s.ack.acked < s.ack.requested, 'the fault capture has a missing ACK');
      // the ACK chart: its title with the overall rate, and the y axis up to 100 %
      const overall = ((100 * s.ack.acked) / s.ack.requested).toFixed(1);
      assert.match(text, new RegExp(`ACK rate \\(%\\) per \\d+ s, UTC — ${overall.replace('.', '\\.')} % overall`));
      assert.match(text, /│\s+100⡇/);
      assert.match(text, /│\s+50 ⡇/);
      // the latency chart: every step with its p95 from the same statistics
      assert.match(text, /Latency p50 \/ p95 per step/);
      for (const step of ['401 → credentials', 'request → 200', '200 → MIKEY', 'MIKEY → ACK']) assert.ok(text.includes(step), step);
      const c2c = s.latency.challengeToCredentials;
      assert.ok(c2c.count > 0);
      assert.match(text, new RegExp(`n=${c2c.count}\\b`));
      // newest transaction first: its UE is on the first row
      const newest = [...ref.transactions].sort((a, b) => b.start.tsSec - a.start.tsSec || b.start.tsNsec - a.start.tsNsec)[0];
      const rows = paneRows(text, 'Transactions (newest first');
      assert.ok(rows[0].includes(newest.ue), `first row ${rows[0]} shows UE ${newest.ue}`);
      assert.ok(rows[0].includes(newest.id));
      // the BM-SC row with its ACK count
      const bmsc = Object.keys(s.ackByBmsc)[0];
      const r = s.ackByBmsc[bmsc];
      assert.match(text, new RegExp(`BM-SC\\s+${bmsc.replace(/\./g, '\\.')}\\s+\\d+\\s+\\d+\\s+${r.acked}/${r.requested}`));
      // the newest diagnostic is the first line of the log
      const lastDiag = [...ref.diagnostics].reverse().sort((a, b) => b.time.tsSec - a.time.tsSec || b.time.tsNsec - a.time.tsNsec)[0];
      const drows = paneRows(text, 'Diagnostics (newest first');
      assert.ok(drows[0].includes(lastDiag.code), `first diagnostic row ${drows[0]} is ${lastDiag.code}`);
    } finally {
      await close(o);
    }
  });

  test('/ filters by UE; Enter opens the transaction with its steps, frames and diagnostics; Esc closes', async () => {
    const o = open({ kind: 'capture', input: CAPTURE });
    try {
      await waitForScreen(o.term, (s) => s.includes(' ended'), 'the end of the capture');
      // the UE whose ACK was dropped (scenario faults: dropped-ack)
      const missing = ref.diagnostics.find((d) => d.code === 'ack-missing') as Diagnostic;
      assert.ok(missing?.ue, 'the capture has an ack-missing finding');
      const ue = missing.ue as string;
      const own = ref.transactions.filter((t) => t.ue === ue || t.ueAddresses.includes(ue));
      o.term.keys(`/${ue}`);
      await waitForScreen(o.term, (s) => s.includes(`Filter by UE, B-TID or key group (Enter apply, Esc cancel): ${ue}_`), 'the filter prompt');
      o.term.keys('\r');
      const text = await waitForScreen(o.term, (s) => s.includes(`filter '${ue}': ${own.length} of`), 'the filtered table');
      const rows = paneRows(text, 'Transactions (newest first').filter((l) => /T\d+/.test(l));
      assert.equal(rows.length, own.length);
      for (const row of rows) assert.ok(row.includes(ue), row);
      const drows = paneRows(text, 'Diagnostics (newest first').filter((l) => /\d\d:\d\d:\d\d\.\d{3}/.test(l));
      assert.ok(drows.some((l) => l.includes('ack-missing')), drows.join('\n'));
      // the transaction the finding belongs to, opened with Enter after moving to its row
      const target = own.findIndex((t) => t.id === missing.transaction);
      const order = [...own].sort((a, b) => b.start.tsSec - a.start.tsSec || b.start.tsNsec - a.start.tsNsec);
      const index = order.findIndex((t) => t.id === missing.transaction);
      assert.ok(target >= 0 && index >= 0);
      o.term.keys('\x1b[B'.repeat(index));
      o.term.keys('\r');
      const detail = await waitForScreen(o.term, (s) => s.includes(`Transaction ${missing.transaction} — Esc closes`), 'the detail view');
      const tx = order[index];
      assert.ok(detail.includes(`UE ${ue}`));
      assert.match(detail, /Steps/);
      for (const st of tx.steps) assert.match(detail, new RegExp(`\\b${st.frame}\\s+\\S+ \\S+\\s+${st.kind}\\b`));
      assert.match(detail, new RegExp(`Frames \\(${tx.frames.length}\\)`));
      assert.ok(detail.includes(`error ack-missing`) || detail.includes('ack-missing'));
      assert.ok(detail.includes(missing.message.slice(0, 40)), 'the diagnostic message');
      o.term.keys('\x1b');
      await waitForScreen(o.term, (s) => !s.includes('Esc closes') && s.includes(`filter '${ue}'`), 'the detail view closed');
      // an empty filter clears it
      o.term.keys('/');
      o.term.keys('\x7f'.repeat(ue.length));
      o.term.keys('\r');
      await waitForScreen(o.term, (s) => s.includes(`Transactions (newest first: ${Math.min(ref.transactions.length, 1000)} of`), 'the unfiltered table');
    } finally {
      await close(o);
    }
  });

  test('s sorts worst first, p pauses, ? shows help, Tab moves between panes, resizing re-renders', async () => {
    const o = open({ kind: 'capture', input: CAPTURE });
    try {
      await waitForScreen(o.term, (s) => s.includes(' ended'), 'the end of the capture');
      o.term.keys('s');
      let text = await waitForScreen(o.term, (s) => s.includes('Transactions (worst first'), 'worst first');
      const rows = paneRows(text, 'Transactions (worst first').filter((l) => /T\d+/.test(l));
      assert.match(rows[0], /failed/);
      // End jumps to the last row kept (the list scrolls to it), Home back to the first
      const lastWorst = [...ref.transactions].filter((t) => t.verdict !== 'ok').sort(compareWorst).slice(0, 200).pop() as KeyDeliveryTransaction;
      o.term.keys('\x1b[F');
      await waitForScreen(o.term, (s) => paneRows(s, 'Transactions (worst first').some((l) => l.includes(` ${lastWorst.id} `)), 'the last row after End');
      o.term.keys('\x1b[H');
      await waitForScreen(o.term, (s) => paneRows(s, 'Transactions (worst first')[0].includes(rows[0].slice(1, 20)), 'the first row after Home');
      o.term.keys('p');
      await waitForScreen(o.term, (s) => s.split('\n')[0].includes('PAUSED'), 'paused');
      o.term.keys('p');
      await waitForScreen(o.term, (s) => !s.split('\n')[0].includes('PAUSED'), 'resumed');
      o.term.keys('\t');
      await waitForScreen(o.term, (s) => s.includes('Tab pane (groups)'), 'the groups pane focused');
      o.term.keys('\t');
      await waitForScreen(o.term, (s) => s.includes('Tab pane (diagnostics)'), 'the diagnostics pane focused');
      // Enter on the newest diagnostic opens the transaction it belongs to
      const newestDiag = [...ref.diagnostics].reverse().sort((a, b) => b.time.tsSec - a.time.tsSec || b.time.tsNsec - a.time.tsNsec)[0];
      assert.ok(newestDiag.transaction);
      o.term.keys('\r');
      const detail = await waitForScreen(o.term, (s) => s.includes(`Transaction ${newestDiag.transaction} — Esc closes`), 'the transaction of the newest diagnostic');
      assert.ok(detail.includes(newestDiag.code));
      o.term.keys('\x1b');
      await waitForScreen(o.term, (s) => !s.includes('Esc closes'), 'the detail closed');
      o.term.keys('?');
      await waitForScreen(o.term, (s) => s.includes('Help — any of Esc, q, ? closes') && s.includes('filter transactions and diagnostics'), 'help');
      o.term.keys('q'); // closes the help, does not quit
      await waitForScreen(o.term, (s) => !s.includes('Help — any'), 'help closed');
      for (const [cols, rows] of [
        [80, 24],
        [200, 60],
        // the smallest size drawn (below it: "terminal too small", tested below)
        [60, 21],
      ]) {
        o.term.resize(cols, rows);
        text = await waitForScreen(o.term, (s) => s.split('\n')[rows - 1].includes('q quit'), `the footer at ${cols}x${rows}`);
        const lines = text.split('\n');
        assert.match(lines[0], /keyscope dash/);
        assert.match(lines[1], /^ frames \d+/);
        assert.match(lines[2], /^ UEs \d+/);
      }
      assert.equal(o.dash.view.mode, 'normal');
    } finally {
      await close(o);
    }
  });

  test('replay at 50× speed reaches the same numbers', async () => {
    const o = open({ kind: 'capture', input: CAPTURE, replay: { speed: 50 } });
    try {
      const text = await waitForScreen(o.term, (s) => s.includes(' ended'), 'the end of the replay', 400);
      assert.match(text.split('\n')[0], /\[replay ×50\]/);
      const s = ref.stats;
      assert.equal(headerCounts(text).transactions, String(s.transactions));
      assert.equal(headerCounts(text).ack, `${s.ack.acked}/${s.ack.requested}`);
      assert.equal(o.dash.analyzer.stats().frames, s.frames);
    } finally {
      await close(o);
    }
  });
});

describe('pause', () => {
  test('p freezes the screen while frames keep arriving; p again shows everything', async () => {
    const bytes = readFileSync(CAPTURE);
    const input = new PassThrough();
    const o = open({ kind: 'capture', input, label: 'piped capture' });
    try {
      input.write(bytes.subarray(0, Math.floor(bytes.length / 3)));
      const first = await waitForScreen(o.term, (s) => /frames [1-9]\d*/.test(s.split('\n')[1]), 'the first frames');
      o.term.keys('p');
      const frozen = await waitForScreen(o.term, (s) => s.split('\n')[0].includes('PAUSED'), 'paused');
      const framesLine = frozen.split('\n')[1];
      const txRows = paneRows(frozen, 'Transactions (').join('\n');
      input.end(bytes.subarray(Math.floor(bytes.length / 3)));
      await o.dash.inputEnded;
      // several refresh periods pass with new figures: the screen does not change
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 60));
        await o.term.settle();
      }
      const still = o.term.text();
      assert.equal(still.split('\n')[1], framesLine);
      assert.equal(paneRows(still, 'Transactions (').join('\n'), txRows);
      // sorting while paused works on the frozen records
      o.term.keys('s');
      const sorted = await waitForScreen(o.term, (s) => s.includes('Transactions (worst first'), 'worst first while paused');
      assert.equal(sorted.split('\n')[1], framesLine);
      o.term.keys('p');
      const total = (await reference()).stats.frames;
      await waitForScreen(o.term, (s) => s.split('\n')[1].includes(`frames ${total} `) && !s.split('\n')[0].includes('PAUSED'), 'every frame after resuming');
      assert.ok(first.length > 0);
    } finally {
      await close(o);
    }
  });
});

describe('dashboard on hostile packet text', () => {
  test('escape sequences and blessed tags in a Digest username are shown inert', async () => {
    const input = new PassThrough();
    const o = open({ kind: 'capture', input, label: 'hostile stream' }, 230, 40, { analyzer: { correlator: { pullTimeout: 1 } } });
    try {
      input.end(hostileCapture());
      const text = await waitForScreen(o.term, (s) => s.includes(' ended') && s.includes('credentials-rejected'), 'the hostile capture analysed');
      // the title was never set and the screen never cleared: the text of the sequences is on screen instead
      assert.equal(o.term.term.buffer.active.type, 'alternate');
      assert.ok(!o.term.titles.some((t) => t.includes('pwned')), `titles set: ${JSON.stringify(o.term.titles)}`);
      assert.ok(o.term.text().includes('keyscope dash'));
      const rows = paneRows(text, 'Transactions (newest first').filter((l) => l.includes(HOSTILE_UE));
      assert.equal(rows.length, 1);
      assert.match(rows[0], /\\x1b\[2J\\x1b\]0;pwned\\x07\{bold\}/);
      const drows = paneRows(text, 'Diagnostics (newest first').filter((l) => l.includes('credentials-rejected'));
      assert.match(drows[0], /401 to Digest credentials of \\x1b\[2J\\x1b\]0;pwned\\x07\{bold\}evil\{\/bold\}/);
      // in the detail view too
      o.term.keys('\r');
      const detail = await waitForScreen(o.term, (s) => s.includes('Esc closes'), 'the detail view');
      assert.ok(detail.includes('B-TID \\x1b[2J\\x1b]0;pwned\\x07{bold}evil{/bold}@bsf.example'), detail);
      // no cell is bold: the tag stayed text
      const buf = o.term.term.buffer.active;
      for (let y = 0; y < o.term.term.rows; y++) {
        const line = buf.getLine(y);
        const s = line?.translateToString(true) ?? '';
        const at = s.indexOf('evil');
        if (at >= 0) assert.equal(line?.getCell(at)?.isBold(), 0, `row ${y}: ${s}`);
      }
    } finally {
      await close(o);
    }
  });
});

after(() => {
  // nothing global to undo: every test ends its dashboard and terminal
});

test('--keep: the transactions pane says how many closed beside how many it keeps', async () => {
  const ref = await reference();
  const keep = 10;
  assert.ok(ref.transactions.length > keep);
  const o = open({ kind: 'capture', input: CAPTURE }, 160, 48, { model: { maxTransactions: keep, maxDiagnostics: keep } });
  try {
    const text = await waitForScreen(o.term, (s) => /Transactions \(newest first: \d+ of \d+ kept/.test(s) && s.split('\n')[0].includes('ended'), 'the ended capture');
    assert.match(text, new RegExp(`Transactions \\(newest first: ${keep} of ${keep} kept, ${ref.transactions.length} closed\\)`));
  } finally {
    await close(o);
  }
});

test('80×24: the 100 % row of the ACK chart and all four latency steps fit; below 60×21 the screen says it is too small', async () => {
  const o = open({ kind: 'capture', input: CAPTURE }, 80, 24);
  try {
    const text = await waitForScreen(o.term, (s) => s.split('\n')[0].includes('ended') && s.includes('MIKEY→ACK'), 'the ended capture at 80×24');
    const lines = text.split('\n');
    assert.ok(lines.some((l) => /^│\s*100\s*⡇/.test(l)), `the 100 % label:\n${text}`);
    for (const step of ['401→credentia', 'request→200', '200→MIKEY', 'MIKEY→ACK']) assert.ok(text.includes(step), `${step}:\n${text}`);
    assert.ok(lines.every((l) => [...l].length <= 80));
  } finally {
    await close(o);
  }
  const small = open({ kind: 'capture', input: CAPTURE }, 50, 15);
  try {
    const text = await waitForScreen(small.term, (s) => s.includes('terminal too small'), 'the too-small notice');
    assert.match(text, /terminal too small \(50×15\): the dashboard needs\s+at least 60×21/);
    assert.doesNotMatch(text, /Transactions|Diagnostics/, 'no overlapping panes');
  } finally {
    await close(small);
  }
});

test('Enter on a BM-SC row filters by it; / opens an empty prompt, so Enter on it clears the filter', async () => {
  const ref = await reference();
  const bmsc = Object.keys(ref.stats.ackByBmsc).sort()[0];
  assert.ok(bmsc);
  const o = open({ kind: 'capture', input: CAPTURE });
  try {
    await waitForScreen(o.term, (s) => s.split('\n')[0].includes('ended'), 'the end of the capture');
    o.term.keys('\t');
    await waitForScreen(o.term, (s) => s.includes('Tab pane (groups)  Enter filter by row'), 'the groups pane focused');
    o.term.keys('\r');
    const own = ref.transactions.filter((t) => t.bmsc === bmsc).length;
    await waitForScreen(o.term, (s) => s.includes(`filter '${bmsc}': ${Math.min(own, 1000)} of`), 'the transactions of the BM-SC');
    assert.equal(o.dash.view.focusedPane, 'transactions');
    o.term.keys('/');
    await waitForScreen(o.term, (s) => s.includes('(Enter apply, Esc cancel): _'), 'an empty filter prompt');
    o.term.keys('\r');
    await waitForScreen(o.term, (s) => /Transactions \(newest first: \d+ of \d+ kept/.test(s) && !s.includes(`filter '`), 'the filter cleared');
  } finally {
    await close(o);
  }
});
