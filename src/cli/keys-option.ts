import { loadKeyFile, type KeyStore } from '../protocols/keys';
import { escapeText } from '../common/escape';

/** `--keys FILE`: the key store, null when not given, 'error' (already reported) when unusable. */
export function loadKeysOption(path: string | undefined): KeyStore | null | 'error' {
  if (!path) return null;
  try {
    return loadKeyFile(path);
  } catch (err) {
    process.stderr.write(`keyscope: --keys ${escapeText(path)}: ${escapeText((err as Error).message)}\n`);
    return 'error';
  }
}
