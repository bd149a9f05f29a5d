import { readCapture } from '../capture/reader';
import { Dissector } from '../pipeline/dissector';
import { LineOutput } from '../report/output';
import { frameLine } from '../report/frame-text';
import { frameJson } from '../report/frame-json';
import { frameTree } from '../report/frame-tree';
import type { PacketTime } from '../common/time';
import type { DissectCliOptions } from './main';
import { loadKeysOption } from './keys-option';
import { escapeText } from '../common/escape';

export async function runDissect(source: string | undefined, opts: DissectCliOptions): Promise<number> {
  if (!source) {
    process.stderr.write('keyscope dissect: no capture given (a file, or - for standard input)\n');
    return 64;
  }
  const keys = loadKeysOption(opts.keys);
  if (keys === 'error') return 2;
  const out = new LineOutput(1);
  let first: PacketTime | undefined;
  const abort = new AbortController();
  let emitted = 0;
  const limit = opts.count ?? Infinity;
  const dissector = new Dissector(
    (f) => {
      if (emitted >= limit || out.isClosed) return;
      emitted++;
      first ??= f.packet;
      if (opts.json) out.line(JSON.stringify(frameJson(f)));
      else if (opts.verbose) {
        for (const l of frameTree(f)) out.line(l);
        out.line('');
      } else out.line(frameLine(f, first));
    },
    { mikeyPorts: opts.mikeyPort ?? [], keys, showKeys: opts.showKeys ?? false },
  );
  const live = source === '-';
  let framesIn = 0;
  const summary = await readCapture(
    source,
    (frame) => {
      if (framesIn >= limit || out.isClosed) {
        abort.abort();
        return;
      }
      framesIn++;
      dissector.frame(frame);
      // reading a pipe: show frames as they arrive rather than when 64 KiB of output has piled up
      if (live) out.flush();
    },
    { signal: abort.signal },
  );
  dissector.finish();
  out.flush();
  if (summary.fatal) {
    process.stderr.write(`keyscope: ${escapeText(summary.fatal)}\n`);
    return 2;
  }
  for (const p of summary.problems) {
    process.stderr.write(`keyscope: ${escapeText(source === '-' ? 'standard input' : source)}: ${p.severity}: ${escapeText(p.message)}\n`);
  }
  return 0;
}
