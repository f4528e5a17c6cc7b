/**
 * What `sovereign eval` and `sovereign drift` accept as MODEL: an .onnx file, a registry manifest
 * (`.sovereign/models/NAME/VERSION.yaml`), or NAME[@VERSION|@ALIAS] of the workspace's registry. A registered
 * model runs from the content-addressed store, checked against the manifest's digest.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadRegistry } from '../registry/read';
import { resolveModelSource } from '../serve/model-source';
import { UsageError } from '../util/errors';

export interface ResolvedModel {
  /** The file ONNX Runtime loads. */
  path: string;
  /** Set for a registered version. */
  name?: string;
  version?: string;
  expectedSha256?: string;
}

export async function resolveModelRef(spec: string, workspaceRoot: string | undefined): Promise<ResolvedModel> {
  if (/\.ya?ml$/i.test(spec)) return resolveModelSource(spec);
  if (/\.onnx$/i.test(spec) || existsSync(spec)) return { path: spec };
  if (!workspaceRoot) {
    throw new UsageError(`${spec} is not a file, and there is no workspace registry to look it up in`, 'give an .onnx file or a manifest, or run inside a workspace (`sovereign registry init`)');
  }
  const registry = await loadRegistry(workspaceRoot);
  const entry = registry.resolve(spec);
  return resolveModelSource(join(workspaceRoot, entry.file));
}
