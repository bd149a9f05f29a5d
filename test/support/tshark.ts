import { execFileSync } from './proc';

/**
 * tshark as the external oracle. Tests that call it fail (not skip) when it is missing: CI installs it
 * (scripts/install-system-deps.sh). Out-of-order TCP reassembly is always on, as tools.md advises.
 */
export function tsharkFields(file: string, fields: string[], extra: string[] = []): string[][] {
  const args = ['-n', '-r', file, '-o', 'tcp.reassemble_out_of_order:TRUE', ...extra, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=l'];
  for (const f of fields) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}
