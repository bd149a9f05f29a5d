/**
 * Runs the keyscope CLI (bin/keyscope.js) with the given arguments and, when the process exits, writes its peak
 * resident set size to standard error as `keyscope-max-rss-kib <n>`: what the budget tests measure. Not a test file.
 */
import * as path from 'node:path';
import { repoRoot } from './repo';

process.on('exit', () => {
  process.stderr.write(`\nkeyscope-max-rss-kib ${process.resourceUsage().maxRSS}\n`);
});
require(path.join(repoRoot(), 'bin', 'keyscope.js'));
