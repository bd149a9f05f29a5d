/** A scenario run, optionally recorded with tcpdump, with its key file and expected findings written out. */
import { writeFileSync } from 'node:fs';
import { startTcpdump, type TcpdumpHandle } from './capture';
import { runScenario, type SimRunOptions, type SimRunResult } from './run';
import type { Scenario } from './scenario';
import { scenarioAddresses } from './scenario';

export interface RecordOptions extends SimRunOptions {
  /** Write a pcap of the run here (tcpdump on lo): a file, or a stream that gets it as it is written. */
  capture?: string | NodeJS.WritableStream;
  keysOut?: string;
  expectedOut?: string;
}

export async function simulate(sc: Scenario, opts: RecordOptions = {}): Promise<SimRunResult> {
  let td: TcpdumpHandle | undefined;
  const bound = opts.durationSeconds ?? sc.durationSeconds;
  if (opts.capture) td = await startTcpdump(opts.capture, scenarioAddresses(sc).filter, bound + 15);
  let result: SimRunResult;
  try {
    result = await runScenario(sc, opts);
  } catch (e) {
    await td?.abort();
    throw e;
  }
  await td?.stop();
  if (opts.keysOut) writeFileSync(opts.keysOut, result.keyFile);
  if (opts.expectedOut) writeFileSync(opts.expectedOut, `${JSON.stringify(result.expected, null, 2)}\n`);
  return result;
}
