import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** The repository root: walks up from this file to package.json, so it works from test/ (tsx) and dist/test/. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
}

export function capturePath(name: string): string {
  return path.join(repoRoot(), 'captures', name);
}

/** The keyscope CLI entry point (needs the compiled dist/, which `npm test` builds first). */
export function cliPath(): string {
  return path.join(repoRoot(), 'bin', 'keyscope.js');
}
