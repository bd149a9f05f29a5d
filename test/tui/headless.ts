/**
 * A terminal for dashboard tests: blessed writes into an output stream that feeds @xterm/headless, and the test
 * reads the screen back as lines of text, as a person would see them. Keys go in through a PassThrough input.
 */
import { PassThrough, Writable } from 'node:stream';
import { Terminal } from '@xterm/headless';

export class HeadlessTerminal {
  readonly term: Terminal;
  readonly output: Writable & { isTTY: boolean; columns: number; rows: number };
  readonly input: PassThrough & { isTTY: boolean; setRawMode: (raw: boolean) => void };
  private pending: Promise<void> = Promise.resolve();
  /** Every window title the program set (OSC 0/2). */
  readonly titles: string[] = [];

  constructor(cols = 140, rows = 45) {
    this.term = new Terminal({ cols, rows, allowProposedApi: true });
    const term = this.term;
    term.onTitleChange((t) => this.titles.push(t));
    const self = this;
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        self.pending = new Promise<void>((resolve) => term.write(chunk, resolve));
        cb();
      },
    });
    this.output = Object.assign(out, { isTTY: true, columns: cols, rows });
    const input = new PassThrough();
    this.input = Object.assign(input, { isTTY: true, setRawMode: (_raw: boolean) => undefined });
  }

  /** Everything written so far has been parsed by the terminal. */
  async settle(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    await this.pending;
  }

  lines(): string[] {
    const buf = this.term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < this.term.rows; y++) out.push(buf.getLine(y)?.translateToString(true) ?? '');
    return out;
  }

  text(): string {
    return this.lines().join('\n');
  }

  /** Type keys (raw bytes, e.g. 'q', '\r', '\t', '\x1b'). */
  keys(s: string): void {
    this.input.write(s);
  }

  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows);
    this.output.columns = cols;
    this.output.rows = rows;
    this.output.emit('resize');
  }

  dispose(): void {
    this.input.end();
    this.term.dispose();
  }
}

/** Wait until `check` passes on the screen text (a bounded number of short waits; no timing assertion). */
export async function waitForScreen(t: HeadlessTerminal, check: (text: string) => boolean, what: string, tries = 200): Promise<string> {
  for (let i = 0; i < tries; i++) {
    await t.settle();
    const text = t.text();
    if (check(text)) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`screen never showed ${what}:\n${t.text()}`);
}
