/** `keyscope -v/--version`: the versions of keyscope, Node and, when the `cap` module loads, the libpcap it uses. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LiveCaptureError, loadCap } from '../capture/live';

/** keyscope's version from its package.json, found by walking up from this file (works from src/ and dist/src/). */
export function keyscopeVersion(): string {
  let dir = __dirname;
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'keyscope' && pkg.version) return pkg.version;
    }
    const up = path.dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

/**
 * The libpcap behind `cap`: `cap` does not export pcap_lib_version(), so the version is read from the file name of the
 * shared library the process mapped when it loaded (Linux /proc/self/maps: libpcap.so.1.10.3).
 */
export function libpcapVersion(): string {
  const cap = loadCap();
  if (cap instanceof LiveCaptureError) return 'not available (the cap module does not load; live capture is off)';
  try {
    const maps = fs.readFileSync('/proc/self/maps', 'utf8');
    const m = /\/(libpcap\.so\.(\d+(?:\.\d+)+))\s*$/m.exec(maps);
    if (m) return m[2];
  } catch {
    // not Linux: fall through
  }
  return 'loaded (version not known)';
}

export function versionLines(): string[] {
  return [`keyscope ${keyscopeVersion()}`, `Node.js ${process.version}`, `libpcap ${libpcapVersion()}`];
}
