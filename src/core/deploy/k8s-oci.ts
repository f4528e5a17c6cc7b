import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageVersion } from '../govern/oci-package';
import { pullArtifact, type OciConnectOptions } from '../govern/oci-transfer';
import { parseOciReference } from '../oci/reference';
import { policyKeys, revokedKeys } from '../policy/evaluate';
import { loadPolicy } from '../policy/load';
import { loadRegistry } from '../registry/read';
import { checkVersionSignature } from '../registry/signature';
import { ioError, RefusedError, UsageError } from '../util/errors';
import type { K8sOciSource } from './k8s';

const SERVABLE = new Set(['gguf', 'onnx']);

/**
 * Where a cluster fetches a version from: the OCI artifact `sovereign push` wrote to `repository`. The digest
 * is computed here from the registered manifest (the packaging is deterministic), so the export pins exactly
 * this version's bytes; only a version whose signature verifies against the workspace's trusted keys is
 * exported this way (the admission policy then lets nothing else run).
 */
export async function ociModelSource(root: string, ref: string, repository: string): Promise<K8sOciSource> {
  const parsed = parseOciReference(repository);
  if (parsed.kind !== 'registry' || parsed.tag || parsed.digest) throw new UsageError(`--oci-repo wants oci://HOST[:PORT]/REPOSITORY, got ${repository}`, 'name the repository `sovereign push` wrote to; the digest is computed from the version');
  const registry = await loadRegistry(root);
  const entry = registry.resolve(ref);
  const m = entry.manifest;
  const { policy } = await loadPolicy(root);
  const status = await checkVersionSignature(root, m, entry.file, await policyKeys(root, policy), revokedKeys(policy));
  if (status.status !== 'valid') {
    throw new RefusedError(`${m.name}@${m.version} is ${status.status === 'unsigned' ? 'not signed' : `signed, but the signature does not verify (${status.reason})`}: the export from OCI admits signed digests only`, 'sign it with a key the policy trusts (`sovereign registry add --key`, or "Sign Model" in VS Code), then push it again');
  }
  let text: Buffer;
  try {
    text = await readFile(join(root, entry.file));
  } catch (err) {
    throw ioError(err, entry.file);
  }
  const artifact = m.artifacts.find((a) => a.format && SERVABLE.has(a.format));
  if (!artifact) throw new UsageError(`${m.name}@${m.version} has no GGUF or ONNX artifact to serve`);
  const digest = packageVersion(m, entry.file, text).manifest.descriptor.digest;
  return { reference: `${parsed.host}/${parsed.repository}@${digest}`, path: artifact.path, signatureKeyId: status.keyId ?? '' };
}

/**
 * `deploy staging oci://HOST/REPO:TAG` (or `oci:DIR:TAG`): the artifact is pulled through the gate first
 * (digests, signature against this workspace's keys, policy, scan, one commit), then the registered
 * NAME@VERSION is what gets deployed. Any other reference is returned as it is.
 */
export async function pullIfOci(root: string, ref: string, options: OciConnectOptions = {}): Promise<string> {
  if (!ref.startsWith('oci://') && !ref.startsWith('oci:') && !ref.startsWith('oci-layout:')) return ref;
  return (await pullArtifact(root, ref, options)).model;
}
