#!/usr/bin/env node
'use strict';
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
