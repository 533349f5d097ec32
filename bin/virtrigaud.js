#!/usr/bin/env node
'use strict';
// The published package ships compiled JavaScript in lib/ and no sources; a
// checkout runs the TypeScript sources through tsx (so a stale lib/ left by
// `npm run build` never shadows them), and `npx virtrigaud` works right after `npm ci`.
const fs = require('node:fs');
const path = require('node:path');

const source = path.join(__dirname, '..', 'src', 'cli', 'main.ts');
let cli;
if (fs.existsSync(source)) {
  require('tsx/cjs');
  cli = require(source);
} else {
  cli = require(path.join(__dirname, '..', 'lib', 'src', 'cli', 'main.js'));
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
