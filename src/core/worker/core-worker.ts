/** Worker-thread entry (bundled to dist/core-worker.js). Serves WorkerMethods to a WorkerClient. */
import '../govern/egress/guard-worker-thread'; // first: the egress guard of this thread (docs/egress.md)
import { parentPort } from 'node:worker_threads';
import { sha256File } from '../hash/sha256';
import { scanPaths } from '../scan/scanner';
import { analyzeSource, FileSource } from '../formats';
import { checkModelFile } from '../policy/gate';
import { workspaceRuleFiles } from '../policy/scan-rules';
import { writeEvidenceBundle } from '../govern/evidence/write';
import { aliasVersion, registerModel, registrySnapshot, signVersionWithPem, verifyAudit, verifyRegistryVersion } from './registry-methods';
import { benchmarkRuns, lineageLayout } from './webview-methods';
import type { WorkerReply } from './protocol';
import { methodTable, serveWorkerRequest } from './serve';

const progress = (id: number, message: string, fraction?: number): void =>
  parentPort?.postMessage({ id, kind: 'progress', message, fraction } satisfies WorkerReply);

// Looked up as own entries only (serveWorkerRequest): a method name is never found through the prototype.
const methods = methodTable({
  hash: (id, path) => sha256File(path, { onProgress: (b, t) => progress(id, path, t ? b / t : undefined) }),
  scan: async (id, paths) => scanPaths(paths, { extraRules: paths.length ? await workspaceRuleFiles(paths[0]) : [], onFile: (p, i, n) => progress(id, p, i / n) }),
  checkModelFile: (_id, root, path) => checkModelFile(root, path),
  registrySnapshot: (_id, root) => registrySnapshot(root),
  registerModel: (id, root, options) => registerModel(root, options, (stage) => progress(id, stage)),
  setAlias: (_id, root, ref, alias) => aliasVersion(root, ref, alias),
  verifyVersion: (_id, root, ref) => verifyRegistryVersion(root, ref),
  verifyAudit: (_id, root) => verifyAudit(root),
  signVersion: (_id, root, ref, pem) => signVersionWithPem(root, ref, pem),
  lineageLayout: async (_id, graph) => lineageLayout(graph),
  benchmarkRuns: (_id, root) => benchmarkRuns(root),
  writeEvidence: async (_id, root, outDir) => {
    const bundle = await writeEvidenceBundle(root, outDir);
    return { dir: bundle.dir, files: bundle.files, auditOk: bundle.evidence.summary.auditIntact ?? undefined };
  },
  inspect: async (_id, path) => {
    const source = await FileSource.open(path);
    try {
      return { ...(await analyzeSource(source)), size: source.size };
    } finally {
      await source.close();
    }
  },
});

parentPort?.on('message', (request: unknown) => void serveWorkerRequest(methods, request, (reply) => parentPort?.postMessage(reply)));
