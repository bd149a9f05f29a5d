import { Command, CommanderError } from 'commander';
import { registerDissectCommand } from './dissect';
import { registerLiveCommand } from './live';
import { registerDashCommand } from './dash';
import { registerAnalyzeCommand } from './analyze';
import { registerExportCommand } from './export';
import { registerSimCommand } from './sim';

/** Exit codes shared by every command. */
export const ExitCode = { ok: 0, findings: 1, unusable: 2, usage: 64 } as const;

/**
 * How a command module plugs in: it adds its subcommand to `program`, and its action reports the process exit
 * code through `setExitCode` (commander's own action return value is not an exit code).
 */
export type CommandRegistrar = (program: Command, setExitCode: (code: number) => void) => void;

const COMMANDS: CommandRegistrar[] = [registerDissectCommand, registerLiveCommand, registerAnalyzeCommand, registerExportCommand, registerDashCommand, registerSimCommand];

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = new Command();
  program
    .name('keyscope')
    .description('Dissector and analyzer for 3GPP MBMS key delivery (TS 33.246): HTTP Digest key requests and MIKEY')
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
    });
  for (const register of COMMANDS) register(program, (code) => (exitCode = code));

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
    throw err;
  }
  return exitCode;
}
