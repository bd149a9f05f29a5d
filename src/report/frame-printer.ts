/**
 * The per-frame sink shared by `dissect` and `live`: one line (tshark style), a protocol tree (`-V`) or an NDJSON
 * object (`--json`) per DissectedFrame, at most `limit` frames, into a LineOutput.
 */
import type { PacketTime } from '../common/time';
import type { FrameView } from '../fields/types';
import { frameJson } from './frame-json';
import { frameLine } from './frame-text';
import { frameTree } from './frame-tree';
import type { LineOutput } from './output';
import { jsonLine } from './json-line';

export type FrameFormat = 'line' | 'tree' | 'json';

export class FramePrinter {
  private first: PacketTime | undefined;
  private printed = 0;

  constructor(
    private readonly out: LineOutput,
    private readonly format: FrameFormat,
    private readonly limit = Infinity,
  ) {}

  /** False once `limit` frames were printed or the reader went away. */
  get wantsMore(): boolean {
    return this.printed < this.limit && !this.out.isClosed;
  }

  /** `v` from the FieldContext that observed every frame before (the tree shows relative sequence numbers, stream indexes). */
  print(v: FrameView): void {
    if (!this.wantsMore) return;
    const f = v.frame;
    this.printed++;
    this.first ??= f.packet;
    if (this.format === 'json') this.out.line(jsonLine(frameJson(f)));
    else if (this.format === 'tree') {
      for (const l of frameTree(v)) this.out.line(l);
      this.out.line('');
    } else this.out.line(frameLine(f, this.first, v));
  }
}

export function frameFormat(opts: { json?: boolean; verbose?: boolean }): FrameFormat {
  return opts.json ? 'json' : opts.verbose ? 'tree' : 'line';
}
