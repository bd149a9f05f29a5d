import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { runDissect } from './dissect';

/** Exit codes shared by every command. */
export const ExitCode = { ok: 0, findings: 1, unusable: 2, usage: 64 } as const;

function parsePort(value: string, previous: number[] = []): number[] {
  const out = [...previous];
  for (const part of value.split(',')) {
    const n = Number(part.trim());
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError(`not a UDP port: ${part}`);
    out.push(n);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = new Command();
  program
    .name('keyscope')
    .description('Dissector and analyzer for 3GPP MBMS key delivery (TS 33.246): HTTP Digest key requests and MIKEY')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
    });

  program
    .command('dissect')
    .description('decode a capture file (pcap, pcapng, gzip-compressed; - for standard input), one line per frame')
    .argument('[capture]', 'capture file, or - for a pcap/pcapng stream on standard input')
    .option('-r, --read <capture>', 'capture file (same as the argument)')
    .option('--json', 'NDJSON: one object per frame')
    .option('-V, --verbose', 'full protocol tree for each frame, like tshark -V')
    .addOption(new Option('--mikey-port <ports>', 'more UDP ports carrying MIKEY (2269 always), comma separated').argParser(parsePort))
    .option('--keys <file>', 'key file (naf/muk/digest/msk lines) to verify and decrypt')
    .option('--show-keys', 'show decrypted key material instead of masking it')
    .option('-c, --count <n>', 'stop after n frames', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive whole number');
      return n;
    })
    .action(async (capture: string | undefined, opts: DissectCliOptions) => {
      exitCode = await runDissect(capture ?? opts.read, opts);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors have already been printed.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    throw err;
  }
  if (argv.length === 0) {
    program.outputHelp();
    return ExitCode.usage;
  }
  return exitCode;
}

export interface DissectCliOptions {
  read?: string;
  json?: boolean;
  verbose?: boolean;
  mikeyPort?: number[];
  keys?: string;
  showKeys?: boolean;
  count?: number;
}
