import { InvalidArgumentError } from 'commander';

/** `--mikey-port 5000,5001` (repeatable): UDP ports. */
export function parsePortList(value: string, previous: number[] = []): number[] {
  const out = [...previous];
  for (const part of value.split(',')) {
    const n = Number(part.trim());
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError(`not a UDP port: ${part}`);
    out.push(n);
  }
  return out;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive whole number');
  return n;
}

export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number of seconds');
  return n;
}
