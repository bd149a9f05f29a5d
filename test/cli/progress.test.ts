/**
 * The file progress bar: not drawn when standard error is not a terminal (or stdout is one, or the input is not
 * a regular file), drawn on a terminal — a fake TTY stream and a real pseudo-terminal under `script` — and the
 * capture read through it is exactly the capture read from its path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from '../support/proc';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { readCapture } from '../../src/capture/reader';
import type { CaptureSummary } from '../../src/capture/types';
import { startFileProgress, withFileProgress } from '../../src/cli/progress';
import { capturePath, repoRoot } from '../support/repo';

class Sink extends Writable {
  text = '';
  constructor(readonly isTTY: boolean) {
    super();
  }
  columns = 120;
  rows = 40;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

const NOT_A_TTY = { isTTY: false };

/** Frames, digest of every frame's bytes and times, and the summary, read from `source`. */
async function readAll(source: string | NodeJS.ReadableStream, limit = Infinity): Promise<{ frames: number; digest: string; summary: CaptureSummary }> {
  const h = createHash('sha256');
  let frames = 0;
  const abort = new AbortController();
  const summary = await readCapture(
    source,
    (f) => {
      if (frames >= limit) return abort.abort();
      frames++;
      h.update(`${f.number} ${f.tsSec}.${f.tsNsec} ${f.originalLength} `);
      h.update(f.data);
    },
    { signal: abort.signal },
  );
  return { frames, digest: h.digest('hex'), summary };
}

test('standard error not a terminal: no bar, the path itself goes to the reader', async () => {
  const err = new Sink(false);
  const file = capturePath('mikey-mbms-kinds.pcap');
  let given: unknown;
  await withFileProgress(file, async (source) => (given = source), { stream: err, stdout: NOT_A_TTY, minBytes: 0 });
  assert.equal(given, file);
  assert.equal(err.text, '');
});

test('no bar for standard input, a file below the size threshold, a missing file, or per-frame output on a terminal stdout', async () => {
  const err = new Sink(true);
  const file = capturePath('mikey-mbms-kinds.pcap');
  assert.equal(startFileProgress('-', { stream: err, stdout: NOT_A_TTY, minBytes: 0 }), null);
  assert.equal(startFileProgress(file, { stream: err, stdout: NOT_A_TTY }), null, 'a small file under the default threshold');
  assert.equal(startFileProgress(path.join(repoRoot(), 'no-such.pcap'), { stream: err, stdout: NOT_A_TTY, minBytes: 0 }), null);
  assert.equal(startFileProgress(path.join(repoRoot(), 'captures'), { stream: err, stdout: NOT_A_TTY, minBytes: 0 }), null, 'a directory');
  assert.equal(startFileProgress(file, { stream: err, stdout: { isTTY: true }, minBytes: 0 }), null);
  assert.equal(err.text, '');
  // a missing file still reaches readCapture as its path, which names it in the error
  const missing = path.join(repoRoot(), 'no-such.pcap');
  const r = await withFileProgress(missing, (source) => readAll(source), { stream: err, stdout: NOT_A_TTY, minBytes: 0 });
  assert.match(r.summary.fatal ?? '', /no-such\.pcap: no such file/);
});

for (const name of ['tcp-http-loopback.pcap', 'cap-lo-http.pcap.gz']) {
  test(`standard error a terminal: the bar is drawn, and ${name} reads exactly as from its path`, async () => {
    const file = capturePath(name);
    const size = fs.statSync(file).size;
    const expected = await readAll(file);
    const err = new Sink(true);
    let sawSource: unknown;
    const got = await withFileProgress(
      file,
      (source) => {
        sawSource = source;
        return readAll(source);
      },
      // small reads so the bar moves through several updates
      { stream: err, stdout: NOT_A_TTY, minBytes: 0, chunkSize: 4096, fps: 1000 },
    );
    assert.notEqual(typeof sawSource, 'string');
    assert.equal(got.frames, expected.frames);
    assert.equal(got.digest, expected.digest);
    assert.equal(got.summary.bytes, expected.summary.bytes);
    assert.equal(got.summary.compressed, name.endsWith('.gz'));
    assert.equal(got.summary.fatal, undefined);

    const text = err.text;
    assert.ok(text.includes('\x1b[?25l'), 'cursor hidden while drawing');
    assert.ok(text.includes('\x1b[?25h'), 'cursor shown again');
    assert.match(text, new RegExp(`${name.replace(/\./g, '\\.')} [\u2588\u2591]{30} 0% \\| 0\\.0/${(size / 1048576).toFixed(1)} MiB`));
    assert.match(text, /[\u2588]{30} 100% \|/, 'the last drawing shows the whole file read');
  });
}

test('a reader that stops early (-c): the file is released and the bar removed', async () => {
  const file = capturePath('tcp-http-loopback.pcap');
  const err = new Sink(true);
  const progress = startFileProgress(file, { stream: err, stdout: NOT_A_TTY, minBytes: 0, chunkSize: 4096 });
  assert.ok(progress);
  const got = await readAll(progress.source, 3);
  progress.stop();
  assert.equal(got.frames, 3);
  assert.equal(got.summary.aborted, true);
  assert.ok(progress.bytesRead < progress.size, `${progress.bytesRead} of ${progress.size}`);
  await new Promise((r) => setImmediate(r));
  assert.equal(progress.source.readable, false);
  assert.ok(err.text.includes('\x1b[?25h'));
});

test('a real terminal (script(1) pseudo-terminal): the bar appears on standard error', { skip: spawnSync('script', ['--version']).status !== 0 && 'script(1) missing' }, () => {
  const ts = path.extname(__filename) === '.ts';
  const modulePath = ts ? path.join(repoRoot(), 'src', 'cli', 'progress.ts') : path.join(repoRoot(), 'dist', 'src', 'cli', 'progress.js');
  const readerPath = ts ? path.join(repoRoot(), 'src', 'capture', 'reader.ts') : path.join(repoRoot(), 'dist', 'src', 'capture', 'reader.js');
  const program = [
    `const { withFileProgress } = require(${JSON.stringify(modulePath)});`,
    `const { readCapture } = require(${JSON.stringify(readerPath)});`,
    `withFileProgress(${JSON.stringify(capturePath('tcp-http-loopback.pcap'))}, (s) => readCapture(s, () => {}), { minBytes: 0, chunkSize: 4096, fps: 1000, withTerminalStdout: true })`,
    `.then((summary) => process.stdout.write('frames=' + summary.frames + ' tty=' + process.stderr.isTTY + '\\n'));`,
  ].join('\n');
  const argv = [process.execPath, ...(ts ? ['--import', 'tsx'] : []), '-e', program];
  const command = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 60_000, cwd: repoRoot() });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /frames=\d+ tty=true/);
  assert.match(r.stdout, /tcp-http-loopback\.pcap [\u2588\u2591]{30} \d+% \|/);
  assert.match(r.stdout, /100% \|/);
});
