/**
 * The Wireshark-style frame options shared by `dissect` and `live`: `-Y` display filter, `-T text|json|fields`,
 * `-e FIELD` and `-E name=value`. Frames are filtered after full dissection (every frame still went through reassembly
 * and correlation, as tshark's two-pass `-2 -Y`), then printed as lines, trees, NDJSON or field columns.
 */
import { Option, type Command } from 'commander';
import { escapeText } from '../common/escape';
import { pipelineBudgetFromMemory } from '../pipeline/memory-budget';
import { FieldContext } from '../fields/context';
import { applyFieldsOption, DEFAULT_FIELDS_FORMAT, FieldsPrinter, type FieldsFormat } from '../fields/fields-printer';
import { lookupField } from '../fields/registry';
import type { FieldDef } from '../fields/types';
import { compileFilter, FilterError, filterErrorLines, type DisplayFilter } from '../filter/display-filter';
import type { DissectedFrame, LateFindings } from '../protocols/records';
import { FramePrinter, frameFormat } from '../report/frame-printer';
import type { LineOutput } from '../report/output';
import { jsonLine } from '../report/json-line';

export interface DisplayFilterCliOptions {
  displayFilter?: string;
}

export interface FrameOutputCliOptions extends DisplayFilterCliOptions {
  json?: boolean;
  verbose?: boolean;
  outputFormat?: 'text' | 'json' | 'fields';
  field?: string[];
  fieldOption?: string[];
  /** --max-memory: sizes the conversations tcp.stream / udp.stream remember (pipelineBudgetFromMemory maxConversations). */
  maxMemory?: number;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addDisplayFilterOption(cmd: Command, what = 'show only the frames that match'): Command {
  return cmd.option('-Y, --display-filter <filter>', `Wireshark display filter: ${what} (e.g. 'mikey.mbms.kind == "msk-delivery" && ip.dst == 127.82.0.13'; keyscope fields lists the fields)`);
}

export function addFrameOutputOptions(cmd: Command): Command {
  addDisplayFilterOption(cmd, 'show only the frames that match, after full dissection');
  return cmd
    .addOption(new Option('-T, --output-format <format>', 'text (default), json (same as --json) or fields (with -e)').choices(['text', 'json', 'fields']))
    .option('-e, --field <name>', 'with -T fields: a field to print (repeatable), e.g. -e frame.number -e mikey.counter', collect)
    .option('-E, --field-option <name=value>', 'with -T fields: separator=/t|/s|c, aggregator=,|c, header=y|n, quote=d|s|n, occurrence=a|f|l', collect);
}

/** Compile `-Y`; on a bad filter print the reason with a caret under the place and return undefined. */
export function displayFilterOption(text: string | undefined, command: string): DisplayFilter | null | undefined {
  if (text === undefined) return null;
  try {
    return compileFilter(text);
  } catch (err) {
    if (!(err instanceof FilterError)) throw err;
    const [reason, ...caret] = filterErrorLines(text, err, (s) => escapeText(s));
    process.stderr.write(`keyscope ${command}: ${reason}\n${caret.join('\n')}\n`);
    return undefined;
  }
}

/** What `dissect` and `live` print each dissected frame through. */
export interface FrameSink {
  print(f: DissectedFrame): void;
  readonly wantsMore: boolean;
}

/**
 * The sink for these options, or a usage error already printed (returns undefined then: exit code 64). Every frame
 * must go through `print`, in capture order: fields such as tcp.stream and frame.time_relative depend on the frames
 * before, also on those the filter hides.
 */
export function frameSink(out: LineOutput, opts: FrameOutputCliOptions, limit: number, command: string): FrameSink | undefined {
  const usage = (msg: string) => {
    process.stderr.write(`keyscope ${command}: ${msg}\n`);
    return undefined;
  };
  const filter = displayFilterOption(opts.displayFilter, command);
  if (filter === undefined) return undefined;
  const format = opts.outputFormat;
  if (format === 'fields' && (opts.json || opts.verbose)) return usage('-T fields cannot be combined with --json or -V');
  if ((opts.field?.length ?? 0) > 0 && format !== 'fields') return usage('-e needs -T fields');
  if ((opts.fieldOption?.length ?? 0) > 0 && format !== 'fields') return usage('-E needs -T fields');
  // tcp.stream, frame.time_relative and the like count on every frame before, shown or not
  const context = new FieldContext(pipelineBudgetFromMemory(opts.maxMemory).maxConversations);

  if (format === 'fields') {
    if (!opts.field || opts.field.length === 0) return usage('-T fields needs at least one -e FIELD');
    const defs: FieldDef[] = [];
    for (const name of opts.field) {
      const d = lookupField(name);
      if (!d) return usage(`-e ${escapeText(name)}: no such field (keyscope fields lists them)`);
      defs.push(d);
    }
    const fmt: FieldsFormat = { ...DEFAULT_FIELDS_FORMAT };
    for (const o of opts.fieldOption ?? []) {
      const err = applyFieldsOption(fmt, o);
      if (err) return usage(escapeText(err));
    }
    const printer = new FieldsPrinter(out, defs, fmt);
    let printed = 0;
    return {
      print(f) {
        if (printed >= limit || out.isClosed) return;
        const view = context.observe(f);
        if (filter && !filter.test(view)) return;
        printed++;
        printer.print(view);
      },
      get wantsMore() {
        return printed < limit && !out.isClosed;
      },
    };
  }
  const printer = new FramePrinter(out, frameFormat({ json: opts.json || format === 'json', verbose: opts.verbose }), limit);
  return {
    print(f) {
      const view = context.observe(f);
      if (!filter || filter.test(view)) printer.print(view);
    },
    get wantsMore() {
      return printer.wantsMore;
    },
  };
}

/**
 * `-Y` as a predicate over dissected frames (for analyze, dash, export): null without -Y, undefined after a usage error
 * was printed. It must see every frame in capture order (tcp.stream, frame.time_relative count on the frames before).
 */
export function frameFilterOption(text: string | undefined, command: string, maxMemory?: number): ((f: DissectedFrame) => boolean) | null | undefined {
  const filter = displayFilterOption(text, command);
  if (!filter) return filter;
  const context = new FieldContext(pipelineBudgetFromMemory(maxMemory).maxConversations);
  return (f) => filter.test(context.observe(f));
}

/**
 * Findings raised at the end of a live stream for frames already printed (a message cut by the end of the
 * capture, fragments never completed): printed after the frames, or as one last NDJSON object.
 */
export function printLateFindings(late: LateFindings, out: LineOutput, json: boolean): void {
  if (late.problems.length === 0 && late.http.length === 0) return;
  const problems = [
    ...late.problems.map(({ frame, problem }) => ({ frame, ...problem })),
    ...late.http.flatMap((m) => m.problems.map((p) => ({ frame: m.lastFrame, ...p }))),
  ];
  if (json) {
    out.line(jsonLine({ endOfCapture: true, problems }));
    return;
  }
  out.line('End of capture:');
  for (const p of problems) out.line(`    frame ${p.frame}: [${p.severity}] ${p.layer}/${p.code}: ${p.message}`);
}
