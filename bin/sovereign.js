#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is bundled into dist/cli.js by `npm run build` (run by `npm install` via prepare).
const path = require('node:path');
const fs = require('node:fs');
const bundle = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(bundle)) {
  process.stderr.write('sovereign: dist/cli.js is missing. Run `npm run build` in ' + path.join(__dirname, '..') + '\n');
  process.exit(2);
}
loadWithCompileCache(bundle).run();

/**
 * Loads the CLI bundle with a V8 code cache, so a start does not parse the 2.5 MB bundle again (that parse
 * alone costs about as much CPU as starting Node). Node 22.1+ has this built in (module.enableCompileCache);
 * on Node 20 the bundle is compiled here with the cached data of an earlier run, and the cache is written
 * (atomically, one per command name) when a run had none or V8 rejected it (another Node, a rebuilt bundle). Cache folder:
 * SOVEREIGN_COMPILE_CACHE (`off` disables it), else <tmpdir>/sovereign-compile-cache. Any failure to read or
 * write the cache only costs time: the bundle is then loaded the ordinary way.
 */
function loadWithCompileCache(file) {
  const Module = require('node:module');
  const setting = process.env.SOVEREIGN_COMPILE_CACHE;
  if (setting === 'off') return require(file);
  if (typeof Module.enableCompileCache === 'function') {
    Module.enableCompileCache(setting || undefined);
    return require(file);
  }
  const vm = require('node:vm');
  let source;
  let cacheFile;
  let cachedData;
  try {
    // esbuild writes ASCII (charset: ascii), and latin1 decodes it without the UTF-8 pass.
    source = fs.readFileSync(file, 'latin1');
    const st = fs.statSync(file);
    // The cache names the Node, the bundle's place, size and time: V8 also rejects data of another bundle.
    const key = [process.version, process.arch, st.size, Math.round(st.mtimeMs), hashPath(file)].join('-');
    // One cache per command: each holds the functions its own runs compiled.
    const word = process.argv.slice(2).find((a) => !a.startsWith('-'));
    const command = word && /^[a-z][a-z0-9-]{0,31}$/.test(word) ? word : '_';
    cacheFile = path.join(setting || path.join(require('node:os').tmpdir(), 'sovereign-compile-cache'), `cli-${key}-${command}.bin`);
    try {
      cachedData = fs.readFileSync(cacheFile);
    } catch {
      cachedData = undefined;
    }
  } catch {
    return require(file);
  }
  // No import() in the bundle (esbuild.mjs turns it into require()): Node 20 drops a cached script's
  // dynamic-import callback.
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  Module._cache[file] = mod;
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;
  if (!cachedData || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch {
        // no cache this time
      }
    });
  }
  return mod.exports;
}

function hashPath(p) {
  let h = 2166136261;
  for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p.charCodeAt(i), 16777619) >>> 0;
  return h.toString(16);
}
