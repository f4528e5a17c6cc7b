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
 * SOVEREIGN_COMPILE_CACHE (`off` disables it), else $XDG_CACHE_HOME or ~/.cache /sovereign/compile-cache; the
 * cache is read only from a folder of this user that no one else can write to (V8 trusts cached data). Any
 * failure to read or write the cache only costs time: the bundle is then compiled from its source.
 */
function loadWithCompileCache(file) {
  const Module = require('node:module');
  const setting = process.env.SOVEREIGN_COMPILE_CACHE;
  if (setting === 'off') return require(file);
  if (typeof Module.enableCompileCache === 'function') {
    Module.enableCompileCache(setting || defaultCacheDir());
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
    const dir = setting || defaultCacheDir();
    cacheFile = path.join(dir, `cli-${key}-${command}.bin`);
    // V8 trusts cached data: read it only from a folder of this user that nobody else can write to.
    if (privateFolder(dir)) {
      try {
        cachedData = fs.readFileSync(cacheFile);
      } catch {
        cachedData = undefined;
      }
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
        fs.mkdirSync(path.dirname(cacheFile), { recursive: true, mode: 0o700 });
        if (!privateFolder(path.dirname(cacheFile))) return;
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

/** $XDG_CACHE_HOME/sovereign/compile-cache, else ~/.cache/sovereign/compile-cache, else one per user in the temp folder. */
function defaultCacheDir() {
  const os = require('node:os');
  const base = process.env.XDG_CACHE_HOME || (os.homedir() ? path.join(os.homedir(), '.cache') : '');
  if (base) return path.join(base, 'sovereign', 'compile-cache');
  return path.join(os.tmpdir(), `sovereign-compile-cache-${typeof process.getuid === 'function' ? process.getuid() : 'user'}`);
}

/** The folder exists, belongs to this user and no one else may write to it (POSIX; elsewhere: it exists). */
function privateFolder(dir) {
  try {
    const st = fs.statSync(dir);
    if (!st.isDirectory()) return false;
    if (typeof process.getuid !== 'function') return true;
    return st.uid === process.getuid() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function hashPath(p) {
  let h = 2166136261;
  for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p.charCodeAt(i), 16777619) >>> 0;
  return h.toString(16);
}
