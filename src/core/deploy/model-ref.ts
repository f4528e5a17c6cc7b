import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { baselineRelPath, promptBaselineRelPath } from '../eval/results-store';
import { analyzeSource, FileSource } from '../formats';
import { loadRegistry } from '../registry/read';
import { ContentStore } from '../registry/store';
import { resolveStoreRoot } from '../workspace/workspace';
import type { Finding } from '../formats/findings';
import { IoError, RefusedError, UsageError } from '../util/errors';
import type { FileFactCache } from './digest-cache';
import { checkDeployPolicy, type DeployUse, type ShippedPolicy } from './policy';

/** A registered model version, resolved to what a deployment needs. */
export interface DeployableModel {
  name: string;
  version: string;
  /** The aliases pointing at this version when it was resolved. */
  aliases: string[];
  sha256: string;
  format: 'gguf' | 'onnx';
  /** The artifact in the content-addressed store (bind-mounted read-only, or copied into a layer). */
  file: string;
  size: number;
  /** Repository-relative manifest path. */
  manifestFile: string;
  /** Last commit of the manifest file; `-dirty` when the working tree differs, `uncommitted` when never committed. */
  manifestCommit: string;
  /** The workspace policy this version was checked against: shipped into the container, which applies it again. */
  policy: ShippedPolicy;
  /**
   * The validation baseline `sovereign eval` stored for this version (.sovereign/evals/NAME/VERSION/baseline.json),
   * when there is one: shipped beside the policy, the runtime watches live inputs against it (`--drift-baseline`).
   */
  driftBaseline?: ShippedFile;
  /**
   * A language model's baseline prompt set (.sovereign/evals/NAME/VERSION/baseline-prompts.txt), when the team
   * keeps one: shipped beside the policy, the runtime watches its traffic against it (`--drift-baseline-prompts`).
   */
  driftPrompts?: ShippedFile;
}

/** A small workspace file shipped into the deployment image. */
export interface ShippedFile {
  text: string;
  sha256: string;
  /** Repository-relative path. */
  file: string;
}

/** The version's stored drift baseline, or undefined when `sovereign eval` never stored one. */
export function readDriftBaseline(root: string, name: string, version: string): Promise<ShippedFile | undefined> {
  return readShippedFile(root, baselineRelPath(name, version), 'remove it and run `sovereign eval` again');
}

/** The version's baseline prompt set, or undefined when the workspace keeps none. */
export function readDriftPrompts(root: string, name: string, version: string): Promise<ShippedFile | undefined> {
  return readShippedFile(root, promptBaselineRelPath(name, version), 'fix or remove it');
}

async function readShippedFile(root: string, file: string, otherwise: string): Promise<ShippedFile | undefined> {
  let text: string;
  try {
    text = await readFile(join(root, file), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new IoError(`cannot read ${file}: ${(err as Error).message}`, `check the file's permissions, or ${otherwise}`);
  }
  return { text, sha256: createHash('sha256').update(text).digest('hex'), file };
}

const SERVABLE = new Set(['gguf', 'onnx']);

/**
 * NAME, NAME@VERSION or NAME@ALIAS -> the store object, checked before anything is created: its bytes
 * still match the manifest's digest, the format reader finds nothing high or critical in it (a
 * malformed GGUF can abort llama.cpp; it must be refused here, not crash in a container), and the
 * workspace policy admits the version (license, signatures, scan ceiling, exceptions: see policy.ts).
 */
export async function resolveDeployableModel(root: string, ref: string, cache: FileFactCache, use: DeployUse = 'deploy'): Promise<DeployableModel> {
  const registry = await loadRegistry(root);
  const entry = registry.resolve(ref);
  const m = entry.manifest;
  const artifact = m.artifacts.find((a) => a.format && SERVABLE.has(a.format)) ?? (m.artifacts.length === 1 ? m.artifacts[0] : undefined);
  if (!artifact) {
    throw new UsageError(`${m.name}@${m.version} has no GGUF or ONNX artifact to serve`, 'deploy a version whose manifest lists a .gguf or .onnx artifact');
  }
  const store = new ContentStore(await resolveStoreRoot(root));
  const file = store.objectPath(artifact.sha256);
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    throw new IoError(`the artifact of ${m.name}@${m.version} (sha256 ${artifact.sha256.slice(0, 12)}…) is not in the store ${store.root}`, 'set SOVEREIGN_STORE to the store that holds it, or register the file again');
  }
  if ((await cache.sha256(file)) !== artifact.sha256) {
    throw new RefusedError(`the store object for ${m.name}@${m.version} no longer matches its sha256`, 'the store is damaged: register the file again (`sovereign registry add`)');
  }
  const source = await FileSource.open(file);
  let format: string;
  let blocking: string[];
  let findings: Finding[];
  try {
    const analysis = await analyzeSource(source);
    format = analysis.format;
    findings = analysis.findings;
    blocking = analysis.findings.filter((f) => f.severity === 'high' || f.severity === 'critical').map((f) => `${f.rule}: ${f.message}`);
  } finally {
    await source.close();
  }
  if (!SERVABLE.has(format)) {
    throw new UsageError(`${m.name}@${m.version} is ${format}, which \`sovereign serve\` cannot run`, 'deploy a GGUF or ONNX model');
  }
  if (blocking.length) {
    throw new RefusedError(`${m.name}@${m.version} is not safe to load: ${blocking.slice(0, 3).join('; ')}`, 'run `sovereign scan` on it; deploy a version without high or critical findings');
  }
  const policy = await checkDeployPolicy(root, entry, { use, findings });
  return {
    name: m.name,
    version: m.version,
    aliases: entry.aliases,
    sha256: artifact.sha256,
    format: format as 'gguf' | 'onnx',
    file,
    size,
    manifestFile: entry.file,
    manifestCommit: await manifestCommit(root, entry.file),
    policy,
    driftBaseline: format === 'onnx' ? await readDriftBaseline(root, m.name, m.version) : undefined,
    driftPrompts: format === 'gguf' ? await readDriftPrompts(root, m.name, m.version) : undefined,
  };
}

async function manifestCommit(root: string, file: string): Promise<string> {
  const commit = (await git(root, ['log', '-1', '--format=%H', '--', file])).trim();
  if (!commit) return 'uncommitted';
  const dirty = (await git(root, ['status', '--porcelain', '--', file])).trim();
  return dirty ? `${commit}-dirty` : commit;
}

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => execFile('git', args, { cwd }, (err, stdout) => resolve(err ? '' : stdout)));
}
