// Bundles the extension, the CLI and the worker/child entry points. Native modules (node-llama-cpp,
// onnxruntime-node) and `vscode` stay external: they are loaded at run time, lazily.
import * as esbuild from 'esbuild';

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
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' },
  { entryPoints: ['src/core/worker/core-worker.ts'], outfile: 'dist/core-worker.js' },
  // The engine host: the child process that runs llama.cpp / ONNX Runtime (see src/core/engines/supervisor.ts).
  { entryPoints: ['src/core/engines/host/engine-host.ts'], outfile: 'dist/engine-host.js' },
  // The egress guard's preload for every Node child of a guarded process (see src/core/govern/egress/process-guard.ts).
  { entryPoints: ['src/core/govern/egress/egress-preload.ts'], outfile: 'dist/egress-preload.js' },
];

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
