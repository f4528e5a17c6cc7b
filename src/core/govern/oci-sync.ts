import { valid as validSemver } from 'semver';
import { parseOciReference, formatOciReference, type OciReference } from '../oci/reference';
import { REPOSITORY } from '../oci/types';
import { loadRegistry } from '../registry/read';
import { describeError, SovereignError, UsageError } from '../util/errors';
import { connect, pullArtifact, pushVersion, type OciConnectOptions, type PullResult, type PushOptions, type PushResult } from './oci-transfer';
import { setAlias } from './ops';

/**
 * `registry sync`: mirrors selected models between the workspace and a remote location, one repository per
 * model under a prefix: `oci://HOST/PREFIX` -> `oci://HOST/PREFIX/NAME:VERSION` (aliases as extra tags), or
 * `oci:DIR` -> `oci:DIR/NAME:VERSION` (a layout folder per model, for an air-gapped transfer).
 */
export interface SyncSelection {
  /** Model names (default: every registered model on push; required on pull). */
  names?: string[];
  /** Only the versions these aliases point at (push); pull: also set these aliases from the remote tags. */
  aliases?: string[];
}

export function repositoryFor(prefix: string, name: string): string {
  const parsed = parseOciReference(prefix);
  if (parsed.tag || parsed.digest) throw new UsageError(`${prefix}: a sync prefix names a place, not a tag or digest`, 'write oci://HOST/PREFIX or oci:DIR');
  if (!REPOSITORY.test(name)) throw new UsageError(`model name "${name}" is not a valid OCI repository component`, 'OCI repository names are lowercase letters, digits and separators: rename the model or push it on its own with `sovereign push`');
  const ref: OciReference = parsed.kind === 'registry' ? { ...parsed, repository: `${parsed.repository}/${name}` } : { ...parsed, dir: `${parsed.dir}/${name}` };
  return formatOciReference(ref);
}

export interface SyncPushResult {
  pushed: PushResult[];
}

export async function syncPush(root: string, prefix: string, select: SyncSelection, options: PushOptions = {}): Promise<SyncPushResult> {
  const registry = await loadRegistry(root);
  const names = select.names?.length ? select.names : registry.names();
  const pushed: PushResult[] = [];
  for (const name of names) {
    const versions = registry.versions(name);
    if (!versions.length) throw new UsageError(`no model named "${name}" is registered`, `registered: ${registry.names().join(', ') || '(none)'}`);
    const chosen = select.aliases?.length ? versions.filter((v) => v.aliases.some((a) => select.aliases!.includes(a))) : versions;
    const repo = repositoryFor(prefix, name);
    for (const v of chosen) {
      const tags = select.aliases?.length ? v.aliases.filter((a) => select.aliases!.includes(a)) : v.aliases;
      options.onStage?.('sync', `${name}@${v.manifest.version} -> ${repo}`);
      pushed.push(await pushVersion(root, `${name}@${v.manifest.version}`, `${repo}:${v.manifest.version}`, { ...options, extraTags: tags }));
    }
  }
  return { pushed };
}

export interface SyncPullResult {
  pulled: PullResult[];
  refused: { ref: string; message: string }[];
  aliases: { name: string; alias: string; version: string }[];
}

/**
 * Pulls every version tag (semantic versions) of each named model's repository through the gate; a refused
 * version is reported and the others continue. With `aliases`, those tags become local aliases of the
 * version whose manifest digest they name (only versions this workspace now holds).
 */
export async function syncPull(root: string, prefix: string, select: SyncSelection, options: OciConnectOptions = {}): Promise<SyncPullResult> {
  if (!select.names?.length) throw new UsageError('name the models to pull', 'registry sync --pull PREFIX --name NAME [--name ...]');
  const out: SyncPullResult = { pulled: [], refused: [], aliases: [] };
  for (const name of select.names) {
    const repo = repositoryFor(prefix, name);
    const { target } = await connect(root, repo, 'pull', options);
    let tags: string[];
    const digestOf = new Map<string, string>();
    try {
      tags = await target.listTags(options.signal);
      for (const t of select.aliases ?? []) {
        if (tags.includes(t)) digestOf.set(t, (await target.getManifest(t, options.signal)).digest);
      }
    } finally {
      target.close();
    }
    const versions = tags.filter((t) => validSemver(t) === t);
    if (!versions.length) throw new UsageError(`${repo} holds no version tags`, 'push versions there first (`sovereign registry sync --push`)');
    const byDigest = new Map<string, string>();
    for (const v of versions) {
      options.onStage?.('sync', `${repo}:${v}`);
      try {
        const r = await pullArtifact(root, `${repo}:${v}`, options);
        out.pulled.push(r);
        byDigest.set(r.digest, v);
      } catch (err) {
        if (!(err instanceof SovereignError) || err.exitCode !== 1) throw err;
        out.refused.push({ ref: `${repo}:${v}`, message: describeError(err) });
      }
    }
    for (const [alias, digest] of digestOf) {
      const version = byDigest.get(digest);
      if (!version) continue;
      await setAlias(root, `${name}@${version}`, alias);
      out.aliases.push({ name, alias, version });
    }
  }
  return out;
}
