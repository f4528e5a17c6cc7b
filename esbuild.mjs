// Bundles the extension, the CLI and the worker/child entry points. Native modules (node-llama-cpp,
// onnxruntime-node) and `vscode` stay external: they are loaded at run time, lazily.
import * as esbuild from 'esbuild';
import { readFileSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const external = [
  'vscode',
  'node-llama-cpp',
  '@node-llama-cpp/*',
  'onnxruntime-node',
  'dockerode',
  'xz-decompress',
  // YARA-X (native, N-API): loaded on the first scan only (src/core/scan/rules.ts).
  '@litko/yara-x',
];

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  minify: production,
  external,
  logLevel: 'warning',
};

const entries = [
  // The activation shell (vscode and the stand-ins only) and the workbench it loads on first use (docs/packaging.md).
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { entryPoints: ['src/extension/main.ts'], outfile: 'dist/extension-main.js' },
  // The CLI starts with a V8 code cache (bin/sovereign.js): minified (names kept) so a start reads and
  // hashes less, and import() turned into require(), since Node 20 loses a cached script's dynamic-import
  // callback; cliDynamicImportsAreCommonJs() refuses an ESM-only package there (it would need import()).
  {
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.js',
    minifyWhitespace: true,
    minifySyntax: true,
    supported: { 'dynamic-import': false },
    metafile: true,
    plugins: [cliDynamicImportsAreCommonJs()],
  },
  { entryPoints: ['src/core/worker/core-worker.ts'], outfile: 'dist/core-worker.js' },
  // The engine host: the child process that runs llama.cpp / ONNX Runtime (see src/core/engines/supervisor.ts).
  { entryPoints: ['src/core/engines/host/engine-host.ts'], outfile: 'dist/engine-host.js' },
  // The egress guard's preload for every Node child of a guarded process (see src/core/govern/egress/process-guard.ts).
  { entryPoints: ['src/core/govern/egress/egress-preload.ts'], outfile: 'dist/egress-preload.js' },
];

/** Fails the build when the CLI bundle imports an ESM-only external package (see the CLI entry above). */
function cliDynamicImportsAreCommonJs() {
  return {
    name: 'cli-dynamic-imports-are-commonjs',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.kind !== 'dynamic-import' || !external.some((e) => (e.endsWith('/*') ? args.path.startsWith(e.slice(0, -1)) : args.path === e || args.path.startsWith(`${e}/`)))) return undefined;
        const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
        const pkg = JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8'));
        const esmOnly = pkg.type === 'module' && !JSON.stringify(pkg.exports ?? {}).includes('"require"');
        if (esmOnly) return { errors: [{ text: `${name} is ESM-only: the CLI bundle cannot import() it (bin/sovereign.js loads dist/cli.js with a code cache). Load it in a child process (as the engine host does) or from a module outside the CLI bundle.` }] };
        return undefined;
      });
    },
  };
}

// Webview bundles (docs/webviews.md): browser code, one IIFE per view, loaded with a CSP nonce.
const webviewCommon = { bundle: true, platform: 'browser', target: 'chrome114', format: 'iife', sourcemap: true, minify: production, logLevel: 'warning' };
const webviews = ['lineage', 'benchmarks', 'policy', 'deployments', 'tco', 'playground'].map((view) => ({
  ...webviewCommon,
  entryPoints: [`webview/${view}/main.ts`],
  outfile: `dist/webview/${view}.js`,
}));

const contexts = await Promise.all([...entries.map((e) => esbuild.context({ ...common, ...e })), ...webviews.map((w) => esbuild.context(w))]);
if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}
