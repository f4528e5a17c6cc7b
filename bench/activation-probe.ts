/**
 * Run as its own process by activation-bench.ts (`node out/bench/activation-probe.js EXTENSION.js ROOT`): loads the
 * extension bundle and calls `activate()` as VS Code would, and prints the times as JSON on stdout.
 *
 * There is no VS Code here, so `vscode` is a stand-in registered in the module cache FOR THIS MEASUREMENT ONLY:
 * every property is a function that returns another such stand-in (registering a command, creating a view,
 * reading a setting all "work" and do nothing). This measures module loading and the synchronous activate()
 * call; it checks no behaviour (the extension-host suite does, in a real VS Code).
 */
import Module from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [bundle, root] = process.argv.slice(2);
if (!bundle || !root) {
  process.stderr.write('usage: node activation-probe.js EXTENSION.js EXTENSION_ROOT\n');
  process.exit(2);
}

function standIn(name: string): unknown {
  const target = function () {} as unknown as Record<PropertyKey, unknown>;
  return new Proxy(target, {
    get(_t, key) {
      if (key === 'then') return undefined; // not a promise
      if (key === Symbol.toPrimitive) return () => '';
      if (key === Symbol.iterator) return function* () {};
      if (key === 'prototype') return Object.prototype;
      return standIn(`${name}.${String(key)}`);
    },
    set: () => true,
    apply: () => standIn(`${name}()`),
    construct: () => standIn(`new ${name}`) as object,
  });
}

class EventEmitter<T> {
  private listeners: Array<(e: T) => void> = [];
  event = (l: (e: T) => void): { dispose(): void } => {
    this.listeners.push(l);
    return { dispose: () => void (this.listeners = this.listeners.filter((x) => x !== l)) };
  };
  fire(e: T): void {
    for (const l of this.listeners) l(e);
  }
  dispose(): void {
    this.listeners = [];
  }
}
const uri = (fsPath: string): { fsPath: string; path: string; scheme: string; toString(): string } => ({ fsPath, path: fsPath, scheme: 'file', toString: () => pathToFileURL(fsPath).href });
// The API's top-level names (namespaces, classes, enums) from @types/vscode: the bundle copies them off the module.
const names = new Set<string>();
for (const m of readFileSync(join(root, 'node_modules', '@types', 'vscode', 'index.d.ts'), 'utf8').matchAll(/^\s*export (?:namespace|class|enum|const|function) (\w+)/gm)) names.add(m[1]!);
const vscode: Record<string, unknown> = {};
for (const n of names) vscode[n] = standIn(n);
Object.assign(vscode, {
  EventEmitter,
  Uri: { file: uri, joinPath: (base: { fsPath: string }, ...parts: string[]) => uri(join(base.fsPath, ...parts)) },
  workspace: new Proxy({ workspaceFolders: undefined, getConfiguration: () => ({ get: (_k: string, d: unknown) => d }) } as Record<PropertyKey, unknown>, {
    get: (t, k) => (k in t ? t[k] : standIn(`workspace.${String(k)}`)),
  }),
});

const M = Module as unknown as { _resolveFilename: (req: string, ...rest: unknown[]) => string; _cache: Record<string, unknown> };
const resolve = M._resolveFilename;
M._resolveFilename = (req, ...rest) => (req === 'vscode' ? 'vscode' : resolve(req, ...rest));
const stub = new Module('vscode');
stub.exports = vscode;
stub.loaded = true;
M._cache.vscode = stub;

const packageJSON = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as unknown;
const context = {
  subscriptions: [] as unknown[],
  extensionPath: root,
  extensionUri: uri(root),
  extension: { packageJSON },
  globalState: standIn('globalState'),
  workspaceState: standIn('workspaceState'),
  secrets: standIn('secrets'),
  globalStorageUri: uri(join(root, '.cache', 'activation-probe')),
  storageUri: undefined,
  logUri: uri(join(root, '.cache', 'activation-probe')),
  asAbsolutePath: (p: string) => join(root, p),
};

const t0 = performance.now();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ext = require(bundle) as { activate?(c: unknown): unknown };
const t1 = performance.now();
// A bundle without activate() (the workbench, dist/extension-main.js) is only loaded.
ext.activate?.(context);
const t2 = performance.now();
const modules = Object.keys(M._cache).length;
process.stdout.write(`${JSON.stringify({ requireMs: t1 - t0, activateMs: t2 - t1, totalMs: t2 - t0, modulesLoaded: modules })}\n`);
// Whatever activation started in the background (a worker, timers) is not measured: leave at once.
process.exit(0);
