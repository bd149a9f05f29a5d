/**
 * The analyzer pipeline: CaptureFrame → Dissector (decode, reassembly, HTTP/Digest, MIKEY) → KeyDeliveryCorrelator
 * (transactions, diagnostics, statistics). The same for a file and a live stream.
 */
import type { ReadCaptureOptions } from '../capture/reader';
import { readCaptureInput } from '../capture/capture-set';
import type { CaptureFrame, CaptureSummary } from '../capture/types';
import { KeyDeliveryCorrelator, type CorrelatorOptions, type CorrelatorSink, type UeIdentity } from '../correlate/correlator';
import type { AnalysisStats } from '../correlate/types';
import { Dissector, type DissectedFrame, type DissectorOptions } from './dissector';
import { ShardRouter, type ShardSpec } from './shard';
import { resolveOptions } from '../correlate/options';

export interface AnalyzerOptions {
  dissector?: DissectorOptions;
  correlator?: CorrelatorOptions;
  /**
   * Frames the correlator is given (`-Y` on analyze and dash): every frame is still dissected (reassembly sees all), and
   * `dissectedFrame` still gets every frame; only those that pass reach the correlator. Default: all.
   */
  frameFilter?: (frame: DissectedFrame) => boolean;
  /**
   * Analyze one shard of the UEs (`analyze --shard K/N`, src/pipeline/shard.ts): every frame is read and header-decoded,
   * only this shard's go further. Default: all of them.
   */
  shard?: ShardSpec;
}

export interface AnalyzerSink extends CorrelatorSink {
  /** Every captured frame, before dissection (frame.data is only valid during the call). */
  captureFrame?(frame: CaptureFrame): void;
  /** Every dissected frame, in capture order, after the correlator has seen it. */
  dissectedFrame?(frame: DissectedFrame): void;
}

export class Analyzer {
  readonly dissector: Dissector;
  readonly correlator: KeyDeliveryCorrelator;

  constructor(private readonly sink: AnalyzerSink, options: AnalyzerOptions = {}) {
    const spec = options.shard;
    const shard = spec !== undefined ? new ShardRouter(spec, resolveOptions(options.correlator ?? {}).maxUes) : undefined;
    this.correlator = new KeyDeliveryCorrelator(sink, spec !== undefined ? { ...options.correlator, transactionIds: { first: spec.index + 1, step: spec.count } } : options.correlator);
    const select = options.frameFilter;
    this.dissector = new Dissector(
      (f) => {
        // another shard's frame: only its time (and what this shard's own state attached to it) counts here
        if (f.foreign === true) {
          this.correlator.frame(f);
          return;
        }
        if (!select || select(f)) this.correlator.frame(f);
        sink.dissectedFrame?.(f);
      },
      shard !== undefined ? { ...options.dissector, shard } : options.dissector,
    );
  }

  frame(cf: CaptureFrame): void {
    this.sink.captureFrame?.(cf);
    this.dissector.frame(cf);
  }

  /** End of capture: flush the Dissector, then expire every deadline and close every transaction. */
  finish(): void {
    this.dissector.finish();
    this.correlator.finish();
  }

  stats(): AnalysisStats {
    return this.correlator.stats();
  }
}

export interface AnalysisRun {
  summary: CaptureSummary;
  stats: AnalysisStats;
  /** The UE table at the end and the distinct-UE sketch (for `analyze --json`'s ue records and `keyscope merge`). */
  ues: { ues: UeIdentity[]; sketch: string };
}

/**
 * Read a capture (file path, `-` for standard input, a stream, or several files read as one capture) through the
 * analyzer. Never rejects on bad content.
 * `started` gets the analyzer before the first frame (what reads its state while it runs: the metrics' gauges).
 */
export async function analyzeCapture(
  source: string | readonly string[] | NodeJS.ReadableStream,
  sink: AnalyzerSink,
  options: AnalyzerOptions = {},
  read: ReadCaptureOptions = {},
  started?: (analyzer: Analyzer) => void,
): Promise<AnalysisRun> {
  const analyzer = new Analyzer(sink, options);
  started?.(analyzer);
  const summary = await readCaptureInput(source, (f) => analyzer.frame(f), read);
  analyzer.finish();
  return { summary, stats: analyzer.stats(), ues: analyzer.correlator.ueIdentities() };
}
