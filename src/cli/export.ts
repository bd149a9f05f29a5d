import type { Command } from 'commander';
import { readCapture } from '../capture/reader';
import { PcapWriter } from '../capture/pcap-writer';
import { PcapngWriter } from '../capture/pcapng-writer';
import { escapeText } from '../common/escape';
import { OutputError } from '../common/io-error';
import { analyzeCapture } from '../pipeline/analyzer';
import type { CommandRegistrar } from './main';
import { addCorrelationOptions, correlatorOptions, type CorrelationCliOptions } from './analyzer-options';
import { loadKeysOption } from './keys-option';
import { refuseOutputClash } from './output-paths';
import { addDisplayFilterOption, frameFilterOption, type DisplayFilterCliOptions } from './frame-output';

export interface ExportCliOptions extends CorrelationCliOptions, DisplayFilterCliOptions {
  write?: string;
  transaction?: string;
  ue?: string;
}

export const registerExportCommand: CommandRegistrar = (program: Command, setExitCode) => {
  const cmd = program
    .command('export')
    .description('write the frames of one transaction (--transaction ID), one UE (--ue ADDR or B-TID) or a display filter (-Y) to a capture file')
    .argument('[capture]', 'capture file');
  addCorrelationOptions(cmd)
    .requiredOption('-w, --write <file>', 'output capture (pcap; pcapng when the name ends in .pcapng or link types differ)')
    .option('--transaction <id>', 'transaction id as `analyze` shows it with the same options, e.g. T12')
    .option('--ue <addr>', 'UE address (or B-TID): every frame to or from it, and every frame of its transactions');
  addDisplayFilterOption(cmd, 'write the frames that match (with --transaction/--ue: those of them that match), and the frames their reassembled messages came from')
    .action(async (capture: string | undefined, opts: ExportCliOptions) => {
      setExitCode(await runExport(capture ?? opts.read, opts));
    });
};

export async function runExport(source: string | undefined, opts: ExportCliOptions): Promise<number> {
  if (!source || source === '-') {
    process.stderr.write('keyscope export: a capture file is needed (it is read twice)\n');
    return 64;
  }
  if (opts.transaction !== undefined && opts.ue !== undefined) {
    process.stderr.write('keyscope export: give one of --transaction ID and --ue ADDR, not both\n');
    return 64;
  }
  if (opts.transaction === undefined && opts.ue === undefined && opts.displayFilter === undefined) {
    process.stderr.write('keyscope export: give --transaction ID, --ue ADDR or -Y FILTER\n');
    return 64;
  }
  const frameFilter = frameFilterOption(opts.displayFilter, 'export', opts.maxMemory);
  if (frameFilter === undefined) return 64;
  const byTarget = opts.transaction !== undefined || opts.ue !== undefined;
  const target = opts.write as string;
  const clash = refuseOutputClash('export', [{ option: '-w', path: target }], [{ option: 'input capture', path: source }, { option: '--keys file', path: opts.keys }]);
  if (clash !== undefined) return clash;
  const keys = loadKeysOption(opts.keys);
  if (keys === 'error') return 2;
  const wanted = new Set<number>();
  const linkTypes = new Set<number>();
  const ue = opts.ue;
  const ueAddresses = new Set<string>(ue !== undefined ? [ue] : []);
  let found = false;
  /** Frames that match -Y, with the frames their reassembled content came from (as tshark -2 -Y -w keeps them). */
  const matching = new Set<number>();
  // pass 1: analyze and collect the frame numbers
  const run = await analyzeCapture(
    source,
    {
      captureFrame(f) {
        linkTypes.add(f.linkType);
      },
      dissectedFrame(f) {
        if (frameFilter && frameFilter(f)) {
          matching.add(f.packet.frame);
          for (const n of f.packet.ip?.reassembledFrom ?? []) matching.add(n);
          for (const h of f.http ?? []) for (const n of h.message.frames) matching.add(n);
        }
        const ip = f.packet.ip;
        if (ue !== undefined && ip && (ip.src === ue || ip.dst === ue)) {
          wanted.add(f.packet.frame);
          for (const n of ip.reassembledFrom ?? []) wanted.add(n);
        }
      },
      transaction(t) {
        const match = opts.transaction !== undefined ? t.id === opts.transaction : t.ue === ue || t.btid === ue || t.ueAddresses.includes(ue as string);
        if (!match) return;
        found = true;
        for (const n of t.frames) wanted.add(n);
        for (const a of t.ueAddresses) ueAddresses.add(a);
      },
      diagnostic(d) {
        if (ue !== undefined && d.ue !== undefined && ueAddresses.has(d.ue) && d.transaction === undefined) for (const n of d.frames) wanted.add(n);
      },
    },
    { dissector: { keys, mikeyPorts: opts.mikeyPort ?? [], maxMemory: opts.maxMemory }, correlator: correlatorOptions(opts) },
  );
  if (run.summary.fatal) {
    process.stderr.write(`keyscope: ${escapeText(run.summary.fatal)}\n`);
    return 2;
  }
  if (byTarget && wanted.size === 0) {
    const what = opts.transaction !== undefined ? `transaction ${escapeText(opts.transaction)}` : `UE ${escapeText(ue ?? '')}`;
    process.stderr.write(`keyscope export: ${what} ${found ? 'has no frames' : 'not found'} in ${escapeText(source)}; nothing written\n`);
    return 1;
  }
  if (frameFilter) {
    // -Y alone: the matching frames; with a transaction or UE: those of its frames that match
    const base = byTarget ? [...wanted] : [...matching];
    wanted.clear();
    for (const n of base) if (matching.has(n)) wanted.add(n);
    if (wanted.size === 0) {
      process.stderr.write(`keyscope export: no frame matches the display filter${byTarget ? ' among the selected ones' : ''} in ${escapeText(source)}; nothing written\n`);
      return 1;
    }
  }
  // pass 2: copy exactly those frames
  const pcapng = linkTypes.size > 1 || /\.pcapng$/i.test(target);
  let writer: PcapWriter | PcapngWriter;
  try {
    writer = pcapng ? new PcapngWriter(target, { application: 'keyscope export' }) : new PcapWriter(target, { linkType: [...linkTypes][0] ?? 1, nanosecond: true });
  } catch (err) {
    process.stderr.write(`keyscope export: ${writeFailure(target, err)}\n`);
    return 2;
  }
  try {
    const summary = await readCapture(source, (f) => {
      if (!wanted.has(f.number)) return;
      writer.write({ tsSec: f.tsSec, tsNsec: f.tsNsec, data: f.data, originalLength: f.originalLength, linkType: f.linkType, comments: f.comments });
    });
    if (summary.fatal) throw new Error(summary.fatal);
    await writer.commit();
  } catch (err) {
    await writer.abort();
    process.stderr.write(`keyscope export: ${writeFailure(target, err)}\n`);
    return 2;
  }
  process.stderr.write(`keyscope export: ${writer.frames} frames written to ${escapeText(target)}\n`);
  return 0;
}

/** One line for a failed output file: a write error names the file and the reason; nothing is left behind either way. */
export function writeFailure(target: string, err: unknown): string {
  if (err instanceof OutputError) return `${escapeText(err.message)}; nothing written`;
  return `-w ${escapeText(target)}: ${escapeText((err as Error).message)}; nothing written`;
}
