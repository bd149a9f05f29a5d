/**
 * Child process for streaming.test.ts: reads a capture from standard input with readCapture('-') and prints
 * one JSON line per frame as soon as it is delivered, then the summary. Does nothing unless
 * KEYSCOPE_STDIN_CHILD=1 (so `node --test dist/test/`, which runs every file under test/, skips it harmlessly).
 */
import { readCapture } from '../../src/capture/reader';

if (process.env.KEYSCOPE_STDIN_CHILD === '1') {
  void readCapture('-', (f) => {
    process.stdout.write(JSON.stringify({ number: f.number, tsSec: f.tsSec, tsNsec: f.tsNsec, len: f.originalLength, data: f.data.toString('hex') }) + '\n');
  }).then((summary) => {
    process.stdout.write(JSON.stringify({ summary }) + '\n');
  });
}
