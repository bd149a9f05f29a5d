import { Command, CommanderError } from 'commander';
import { registerDissectCommand } from './dissect';
import { registerLiveCommand } from './live';
import { registerDashCommand } from './dash';
import { registerAnalyzeCommand } from './analyze';
import { registerExportCommand } from './export';
import { registerSimCommand } from './sim';
import { registerFieldsCommand } from './fields';
import { registerMergeCommand } from './merge';
import { versionLines } from './version';
import { escapeText } from '../common/escape';
import { OutputError } from '../common/io-error';

/** Exit codes shared by every command. */
export const ExitCode = { ok: 0, findings: 1, unusable: 2, usage: 64 } as const;

/**
 * How a command module plugs in: it adds its subcommand to `program`, and its action reports the process exit
 * code through `setExitCode` (commander's own action return value is not an exit code).
 */
export type CommandRegistrar = (program: Command, setExitCode: (code: number) => void) => void;

const COMMANDS: CommandRegistrar[] = [registerDissectCommand, registerLiveCommand, registerAnalyzeCommand, registerExportCommand, registerDashCommand, registerSimCommand, registerFieldsCommand, registerMergeCommand];

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = new Command();
  program
    .name('keyscope')
    .description('Dissector and analyzer for 3GPP MBMS key delivery (TS 33.246): HTTP Digest key requests and MIKEY')
    // handled before parsing (below): libpcap's version is only looked up when asked for
    .option('-v, --version', 'print the versions of keyscope, Node.js and libpcap, and exit')
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
    });
  for (const register of COMMANDS) register(program, (code) => (exitCode = code));

  // kept until the process ends: a failed write may be reported after the command's promise settled
  if (!process.stdout.listeners('error').includes(stdoutError)) process.stdout.on('error', stdoutError);
  if (argv[0] === '-v' || argv[0] === '--version') {
    process.stdout.write(versionLines().join('\n') + '\n');
    return ExitCode.ok;
  }
  if (argv.length === 0) {
    program.outputHelp();
    return ExitCode.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help ends here with exit code 0; usage errors have already been printed by commander.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (err instanceof OutputError) {
      // a full disk or an I/O error on standard output or a file: the environment's fault, not an internal error
      process.stderr.write(`keyscope: ${escapeText(err.message)}\n`);
      return ExitCode.unusable;
    }
    throw err;
  }
  return exitCode;
}

/**
 * Writes through process.stdout (help text, `sim` events) report failures asynchronously. A reader that went away
 * (EPIPE) ends output quietly, as LineOutput does; any other failure (ENOSPC, EIO) is one line and exit code 2.
 */
function stdoutError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') return;
  process.stderr.write(`keyscope: ${new OutputError('standard output', err).message}\n`);
  process.exit(ExitCode.unusable);
}
