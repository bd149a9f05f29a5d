import * as fs from 'node:fs';
import { loadKeyFile, type KeyStore } from '../protocols/keys';
import { escapeText } from '../common/escape';

/** Permission bits that let someone other than the owner read or change a key file (as ssh checks private keys). */
export const KEY_FILE_OPEN_BITS = 0o077;

/** `--keys FILE`: the key store, null when not given, 'error' (already reported) when unusable. */
export function loadKeysOption(path: string | undefined): KeyStore | null | 'error' {
  if (!path) return null;
  try {
    const store = loadKeyFile(path);
    warnIfOpen(path);
    return store;
  } catch (err) {
    process.stderr.write(`keyscope: --keys ${escapeText(path)}: ${escapeText((err as Error).message)}\n`);
    return 'error';
  }
}

/** A key file others can read holds secrets in the open: one warning line, the run goes on. */
function warnIfOpen(path: string): void {
  let mode: number;
  try {
    const st = fs.statSync(path);
    // a pipe or /dev/fd/N (`--keys <(…)`) has no meaningful permissions to warn about
    if (!st.isFile()) return;
    mode = st.mode;
  } catch {
    return;
  }
  if ((mode & KEY_FILE_OPEN_BITS) === 0) return;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  process.stderr.write(`keyscope: warning: key file ${escapeText(path)} is accessible by others (mode ${octal}); chmod 600 it\n`);
}
