import { readCapture } from '../capture/reader';
import { expandCaptureArgs, readCaptureSet } from '../capture/capture-set';
import { withFileProgress } from './progress';
import { reportCaptureProblems } from './capture-messages';
import { Dissector } from '../pipeline/dissector';
import { LineOutput } from '../report/output';
import { Option, type Command } from 'commander';
import type { CommandRegistrar } from './main';
import { parsePortList, parsePositiveInt } from './options';
import { loadKeysOption } from './keys-option';
import { maxMemoryOption } from './analyzer-options';
import { escapeText } from '../common/escape';
import { addFrameOutputOptions, frameSink, printLateFindings, type FrameOutputCliOptions } from './frame-output';

export interface DissectCliOptions extends FrameOutputCliOptions {
  read?: string;
  mikeyPort?: number[];
  keys?: string;
  showKeys?: boolean;
  count?: number;
  maxMemory?: number;
}

export const registerDissectCommand: CommandRegistrar = (program: Command, setExitCode) => {
  const cmd = program
    .command('dissect')
    .description('decode a capture file (pcap, pcapng, gzip-compressed; - for standard input), one line per frame')
    .argument('[captures...]', 'capture file, several files or a directory of ring-buffer files (one capture, in time order), or - for a pcap/pcapng stream on standard input')
    .option('-r, --read <capture>', 'capture file (same as the argument)')
    .option('--json', 'NDJSON: one object per frame')
    .option('-V, --verbose', 'full protocol tree for each frame, like tshark -V')
    .addOption(new Option('--mikey-port <ports>', 'more UDP ports carrying MIKEY (2269 always), comma separated').argParser(parsePortList))
    .option('--keys <file>', 'key file (naf/muk/digest/msk lines) to verify and decrypt')
    .option('--show-keys', 'show decrypted key material instead of masking it')
    .option('-c, --count <n>', 'stop after n frames', parsePositiveInt)
    .addOption(maxMemoryOption(''));
  addFrameOutputOptions(cmd)
    .action(async (captures: string[], opts: DissectCliOptions) => {
      setExitCode(await runDissect(captures.length > 1 ? captures : captures[0] ?? opts.read, opts));
    });
};

export async function runDissect(sources: string | readonly string[] | undefined, opts: DissectCliOptions): Promise<number> {
  if (!sources) {
    process.stderr.write('keyscope dissect: no capture given (a file, or - for standard input)\n');
    return 64;
  }
  // several files or a directory: one capture in time order (src/capture/capture-set.ts)
  const inputs = expandCaptureArgs(typeof sources === 'string' ? [sources] : sources);
  if ('error' in inputs) {
    process.stderr.write(`keyscope dissect: ${escapeText(inputs.error)}\n`);
    return 64;
  }
  const files = inputs.files;
  const source = files.length === 1 ? files[0] : `${files.length} files`;
  const out = new LineOutput(1);
  const limit = opts.count ?? Infinity;
  // usage errors (a bad -Y, -e without -T fields) before any file is read
  const printer = frameSink(out, opts, limit, 'dissect');
  if (!printer) return 64;
  const keys = loadKeysOption(opts.keys);
  if (keys === 'error') return 2;
  const abort = new AbortController();
  const dissector = new Dissector(
    (f) => printer.print(f),
    {
      mikeyPorts: opts.mikeyPort ?? [],
      keys,
      showKeys: opts.showKeys ?? false,
      // a pipe is watched live: show each frame as it arrives, keep HTTP requests back only briefly
      holdNewest: source !== '-',
      maxHoldSeconds: source === '-' ? 2 : 30,
      maxMemory: opts.maxMemory,
    },
  );
  const live = source === '-';
  let framesIn = 0;
  const onFrame = (frame: Parameters<Parameters<typeof readCapture>[1]>[0]): void => {
      if (framesIn >= limit || out.isClosed) {
        abort.abort();
        return;
      }
      framesIn++;
      dissector.frame(frame);
      // reading a pipe: show frames as they arrive rather than when 64 KiB of output has piled up
      if (live) out.flush();
  };
  const summary =
    files.length === 1
      ? await withFileProgress(source, (src) => readCapture(src, onFrame, { signal: abort.signal, name: source }))
      : await readCaptureSet(files, onFrame, { signal: abort.signal });
  const late = dissector.finish();
  printLateFindings(late, out, opts.json === true || opts.outputFormat === 'json');
  out.flush();
  if (summary.fatal) {
    process.stderr.write(`keyscope: ${escapeText(summary.fatal)}\n`);
    return 2;
  }
  reportCaptureProblems(source, summary);
  return 0;
}
