#!/usr/bin/env node
'use strict';
// The published package ships compiled JavaScript in lib/; a checkout runs the
// TypeScript sources through tsx, so `npx virtrigaud` works right after `npm ci`.
const fs = require('node:fs');
const path = require('node:path');

const compiled = path.join(__dirname, '..', 'lib', 'src', 'cli', 'main.js');
let cli;
if (fs.existsSync(compiled)) {
  cli = require(compiled);
} else {
  require('tsx/cjs');
  cli = require('../src/cli/main.ts');
}
// Let stdout drain before exiting: large JSON reports are written asynchronously to pipes.
Promise.resolve(cli.main(process.argv.slice(2))).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`error: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
