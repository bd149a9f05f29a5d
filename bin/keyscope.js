#!/usr/bin/env node
'use strict';
/**
 * How far V8 lets the old generation grow past the live heap of the last full collection before it collects again,
 * in percent (V8's own factor is dynamic, up to 4×, against a limit of up to 4 GB: a fast reader's garbage then
 * stays uncollected for hundreds of MB). With it, peak RSS follows the state bounds that --max-memory and the
 * defaults set (docs/memory-budgets.md). Set at run time, so no second process is needed; a --heap-growing-percent
 * given to node (command line or NODE_OPTIONS) wins.
 */
const HEAP_GROWING_PERCENT = 10;
const userFlags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS || ''}`;
if (!/--heap[-_]growing[-_]percent/.test(userFlags)) require('node:v8').setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
/**
 * Old-generation marking on the main thread, in steps paid by allocation, instead of on helper threads: on a busy
 * machine the helper threads get little CPU, and the reader's garbage piles up while a concurrent mark runs. Measured
 * on the budget tests' worst case (100 k never-closed flows and the worst UE table, 2 cores, load average 4–8):
 * peak RSS 235–250 MB → 223–225 MB. A trade: lighter cases can peak higher (20 k connections with pipelined requests
 * and unfinished messages: 162–165 → 191–192 MB, and slower), but the worst case is what the budget bounds
 * (docs/memory-budgets.md). A --concurrent-marking given to node wins.
 */
if (!/--(no-)?concurrent[-_]marking/.test(userFlags)) require('node:v8').setFlagsFromString('--no-concurrent-marking');
/*
 * Tried for issue #14 round 3 and not taken (docs/performance.md, "Round 3"): a larger heap-growing percent saves CPU
 * on the bench mix (25: ≈ 6 %, 50: ≈ 12 % fewer CPU-s) but the budget's worst case then peaks at 235–240 MB (25) and
 * 254–273 MB (50) against 230–232 MB at 10, for a 250 MB budget. The young generation's size flags
 * (--max-semi-space-size, --min-semi-space-size) have no effect when set here, at run time (same scavenge count);
 * given to node they trade RSS for little CPU (32 MB semi-spaces: ≈ 5 % less CPU, +25–55 MB).
 */

// The compiled CLI lives in dist/ (built by `npm ci`/`npm install` through the `prepare` script).
let main;
try {
  main = require('../dist/src/cli/main.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && /dist[\\/]src[\\/]cli[\\/]main/.test(String(err.message))) {
    process.stderr.write('keyscope: not built yet — run `npm install` (or `npm run build`) in the keyscope folder first\n');
    process.exit(2);
  }
  throw err;
}
main.main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`keyscope: internal error: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 70; },
);
