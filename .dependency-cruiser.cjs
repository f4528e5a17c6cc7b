// The layering of the code base (docs/ARCHITECTURE.md), checked by `npm run lint` with dependency-cruiser.
// A folder of src/core may import only folders on its own floor or below; nothing imports upward; no cycles.

/** src/core folders, from the ground floor up. A folder imports only its own floor and the ones below. */
const CORE_FLOORS = [
  ['util', 'version', 'workspace'], // plumbing: errors, the workspace (root, paths, YAML files, atomic writes, git state)
  ['hash', 'redact', 'fim'], // pure helpers
  ['formats'], // untrusted bytes -> facts and findings (the finding vocabulary lives here)
  ['scan', 'audit', 'signing'], // the scanner, the hash-chained log, OMS signing
  ['net'], // the egress checks (record refusals in the audit log)
  ['oci'], // the OCI distribution client and image layout (every connection through net's checks)
  ['registry'], // manifests, store, lineage, the registry transaction
  ['policy'], // policy-as-code over manifests and scan results
  ['govern'], // use cases across the domains: admission, ops, model and deploy gates, evidence, trusted keys, the process egress guard
  ['engines', 'completion', 'local', 'worker', 'views', 'drift', 'chat'], // engines, chat turns, host-side view models, the core worker
  ['serve', 'bench', 'eval', 'tco'], // the serving runtime, what measures models, and what their measures cost
  ['deploy'], // Docker staging deployments
];

const folder = (names) => `^src/core/(${names.join('|')})(/|\\.ts$)`;

const upward = CORE_FLOORS.flatMap((floor, i) => {
  const above = CORE_FLOORS.slice(i + 1).flat();
  return above.length
    ? [{ name: `no-upward-from-${floor[0]}`, comment: `${floor.join(', ')} must not import a higher floor (${above.join(', ')})`, severity: 'error', from: { path: folder(floor) }, to: { path: folder(above) } }]
    : [];
});

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'no-cycles',
      comment: 'files that import each other in a loop cannot be read, changed or tested alone',
      severity: 'error',
      from: { path: '^(src|webview)/' },
      to: { circular: true },
    },
    {
      name: 'core-is-not-a-front-end',
      comment: 'src/core is under the extension and the CLI, and runs no browser code (it may name the webview contracts\' types)',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^(src/extension|src/cli)/|^webview/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'core-names-only-webview-contracts',
      comment: 'the types src/core shares with a webview are its contract (contract.ts, types.ts)',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^webview/', pathNot: '^webview/[^/]+/(contract|types)\\.ts$' },
    },
    {
      name: 'cli-does-not-import-the-extension',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^(src/extension|webview)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'cli-commands-share-through-one-place',
      comment: 'a command takes shared helpers from src/cli/*.ts, not from a sibling command',
      severity: 'error',
      from: { path: '^src/cli/commands/' },
      to: { path: '^src/cli/commands/' },
    },
    {
      name: 'webview-is-browser-code',
      comment: 'webview/ runs in the browser: no Node modules, no host code',
      severity: 'error',
      from: { path: '^webview/' },
      to: { path: '^src/|^node:|^(fs|path|child_process|os|net|http|https|crypto|worker_threads)$' },
    },
    {
      name: 'the-extension-reaches-the-core-in-process',
      comment: 'the extension calls core services through src/extension/core-client.ts (in process, or the core worker), never by forking the CLI; child processes are the core\'s (engines, the local serving runtime)',
      severity: 'error',
      from: { path: '^src/extension/' },
      to: { path: '^(node:)?child_process$' },
    },
    {
      name: 'models-load-through-openEngine',
      comment: 'a model is loaded only by openEngine/prepareEngine (src/core/engines/index.ts): validated, in the supervised engine process, audited; nothing else runs a native engine, pins a file or writes the load entry',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/core/engines/' },
      to: { path: '^src/core/engines/(onnx|gguf|host)/|^src/core/engines/(pinned|audit-load|host-entry)\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'only-the-extension-imports-vscode',
      severity: 'error',
      from: { path: '^(src/core|src/cli|webview)/' },
      to: { path: '^vscode$' },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(out|dist|node_modules|\\.cache)/' },
  },
};
