/**
 * What `--model` names: a .gguf/.onnx file, or a registry manifest (`.sovereign/models/NAME/VERSION.yaml`)
 * whose artifact lives in the content-addressed store (`STORE/sha256/ab/cdef...`, SOVEREIGN_STORE).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { resolveStoreRoot } from '../workspace/workspace';
import { ContentStore } from '../registry/store';
import { ioError, RefusedError, UsageError } from '../util/errors';

export interface ModelSource {
  /** The file the engine loads. */
  path: string;
  /** For a manifest: the digest the file must have, and the registered name. */
  expectedSha256?: string;
  name?: string;
  version?: string;
}

const MODEL_EXTENSIONS = /\.(gguf|onnx)$/i;

export async function resolveModelSource(spec: string, env: NodeJS.ProcessEnv = process.env): Promise<ModelSource> {
  if (!/\.ya?ml$/i.test(spec)) return { path: spec };
  let text: string;
  try {
    text = await readFile(spec, 'utf8');
  } catch (err) {
    throw ioError(err, spec);
  }
  let manifest: { name?: unknown; version?: unknown; artifacts?: unknown };
  try {
    manifest = parse(text) as typeof manifest;
  } catch (err) {
    throw new UsageError(`${spec} is not valid YAML: ${(err as Error).message}`);
  }
  const artifacts = Array.isArray(manifest?.artifacts) ? (manifest.artifacts as { path?: unknown; sha256?: unknown; format?: unknown }[]) : [];
  const runnable = artifacts.filter((a) => typeof a.sha256 === 'string' && (a.format === 'gguf' || a.format === 'onnx' || (typeof a.path === 'string' && MODEL_EXTENSIONS.test(a.path))));
  if (runnable.length === 0) {
    throw new UsageError(`${spec} lists no GGUF or ONNX artifact`, 'a manifest for serving needs artifacts: [{path: model.gguf, sha256: ...}]');
  }
  const artifact = runnable[0];
  // The workspace is the folder above .sovereign/ (for `store:` in its config).
  const workspace = findWorkspaceFromManifest(spec);
  const store = new ContentStore(await resolveStoreRoot(workspace, env));
  const sha256 = String(artifact.sha256).toLowerCase();
  if (!(await store.has(sha256))) {
    throw new RefusedError(`the artifact ${String(artifact.path)} (sha256 ${sha256}) of ${spec} is not in the store ${store.root}`, 'set SOVEREIGN_STORE to the store that holds it, or add the model again');
  }
  return {
    path: store.objectPath(sha256),
    expectedSha256: sha256,
    name: typeof manifest.name === 'string' ? manifest.name : undefined,
    version: typeof manifest.version === 'string' || typeof manifest.version === 'number' ? String(manifest.version) : undefined,
  };
}

function findWorkspaceFromManifest(spec: string): string | undefined {
  const abs = resolve(spec);
  const marker = abs.lastIndexOf('/.sovereign/');
  return marker > 0 ? abs.slice(0, marker) : undefined;
}
