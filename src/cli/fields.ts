/** `keyscope fields [PREFIX]`: every field name `-Y` and `-e` accept, from the registry (like `tshark -G fields`). */
import type { Command } from 'commander';
import { fieldLines, fieldsMarkdown } from '../fields/docs';
import { LineOutput } from '../report/output';
import type { CommandRegistrar } from './main';

export const registerFieldsCommand: CommandRegistrar = (program: Command, setExitCode) => {
  program
    .command('fields')
    .description('list the fields for -Y display filters and -T fields -e: name, type, tshark or keyscope, description')
    .argument('[prefix]', 'only this protocol or field and the fields under it (e.g. mikey, mikey.mbms)')
    .option('--markdown', 'the list as docs/fields.md holds it')
    .action((prefix: string | undefined, opts: { markdown?: boolean }) => {
      const out = new LineOutput(1);
      if (opts.markdown) out.line(fieldsMarkdown().replace(/\n$/, ''));
      else {
        const lines = fieldLines(prefix);
        if (lines.length === 0) {
          process.stderr.write(`keyscope fields: no field named ${prefix ?? ''} or under it\n`);
          setExitCode(64);
          return;
        }
        for (const l of lines) out.line(l);
      }
      out.flush();
      setExitCode(0);
    });
};
