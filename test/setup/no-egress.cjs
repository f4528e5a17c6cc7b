/* global require, module, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS loader shim: it must use require */
// Mocha root-hook entry named in .mocharc.json. Loads the TypeScript source when the run registered a
// TypeScript loader (`mocha --require tsx/cjs ...`), else the compiled copy in out/ (`npm test`).
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const tsLoaded = Boolean(require.extensions['.ts']);
const compiled = join(__dirname, '..', '..', 'out', 'test', 'setup', 'no-egress.js');
if (!tsLoaded && !existsSync(compiled)) {
  throw new Error(`${compiled} is missing: run \`npm run build\` (or run mocha with --require tsx/cjs)`);
}
module.exports = require(tsLoaded ? './no-egress.ts' : compiled);
