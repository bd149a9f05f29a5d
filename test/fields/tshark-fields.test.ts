/**
 * The tshark oracle for the field registry: on every bundled capture, `keyscope dissect -T fields -e F` prints, for every
 * field that tshark also has (`tshark: 'same'`), exactly what `tshark -T fields -e F` prints, frame by frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from '../support/proc';
import { capturePath, cliPath, repoRoot } from '../support/repo';
import { allFields } from '../../src/fields/registry';

const SEP = '\u0002';
const AGG = '\u0001';
const FORMAT = ['-T', 'fields', '-E', `separator=${SEP}`, '-E', `aggregator=${AGG}`];

export const captures = fs
  .readdirSync(path.join(repoRoot(), 'captures'))
  .filter((n) => /\.(pcap|pcapng)(\.gz)?$/.test(n))
  .sort();

const shared = allFields().filter((f) => f.tshark === 'same').map((f) => f.name);

function rows(cmd: string, args: string[]): string[][] {
  const out = execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  return out.split('\n').filter((l) => l.length > 0).map((l) => l.split(SEP));
}

export function keyscopeRows(file: string, fields: string[], extra: string[] = []): string[][] {
  return rows(process.execPath, [cliPath(), 'dissect', ...extra, ...FORMAT, ...fields.flatMap((f) => ['-e', f]), file]);
}

export function tsharkRows(file: string, fields: string[], extra: string[] = []): string[][] {
  return rows('tshark', ['-n', '-r', file, '-o', 'tcp.reassemble_out_of_order:TRUE', ...extra, ...FORMAT, ...fields.flatMap((f) => ['-e', f])]);
}

test('the registry has the tshark fields the issue names', () => {
  for (const f of ['frame.number', 'ip.src', 'udp.dstport', 'tcp.stream', 'http.request.uri', 'http.response.code', 'mikey.type', 'mikey.csb_id', 'mikey.v'])
    assert.ok(shared.includes(f), f);
});

for (const name of captures) {
  test(`-T fields equals tshark on every shared field: ${name}`, { timeout: 120_000 }, () => {
    const file = capturePath(name);
    const ours = keyscopeRows(file, shared);
    const theirs = tsharkRows(file, shared);
    assert.equal(ours.length, theirs.length, 'frame count');
    const diffs: string[] = [];
    for (let i = 0; i < theirs.length; i++) {
      shared.forEach((f, j) => {
        const a = (ours[i][j] ?? '').split(AGG).join(',');
        const b = (theirs[i][j] ?? '').split(AGG).join(',');
        if (a !== b) diffs.push(`frame ${i + 1} ${f}: keyscope "${a}" tshark "${b}"`);
      });
    }
    assert.deepEqual(diffs.slice(0, 20), []);
  });
}
