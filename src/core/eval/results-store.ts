/**
 * Where `sovereign eval` keeps what it measured for a registered model version, tracked in git beside the
 * benchmarks: `.sovereign/evals/NAME/VERSION/<timestamp>.json` (the eval report) and
 * `.sovereign/evals/NAME/VERSION/baseline.json` (the drift baseline of the latest eval; git keeps the
 * earlier ones). Both are written and committed in one registry transaction.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BASELINE_SCHEMA, type DriftBaseline } from '../drift/baseline';
import { RegistryTransaction } from '../registry/transaction';
import { AUDIT_FILE, SOVEREIGN_DIR } from '../workspace/workspace';
import { ioError, UsageError } from '../util/errors';
import type { EvalReport } from './evaluate';
import { workspaceTrustedKeys } from '../govern/trusted-keys';

export const EVALS_DIR = `${SOVEREIGN_DIR}/evals`;

const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'unnamed';

/** Repository-relative folder of one version's eval results. */
export function evalsRelDir(name: string, version: string): string {
  return `${EVALS_DIR}/${safe(name)}/${safe(version)}`;
}

export function baselineRelPath(name: string, version: string): string {
  return `${evalsRelDir(name, version)}/baseline.json`;
}

/**
 * A language model's baseline prompt set (the `deploy canary --prompts` format), kept by the team beside the
 * evals: the runtime serving the registered version watches its traffic against it (`serve` finds it from the
 * manifest; a Docker or Kubernetes deployment ships it). docs/drift.md section 6.
 */
export function promptBaselineRelPath(name: string, version: string): string {
  return `${evalsRelDir(name, version)}/baseline-prompts.txt`;
}

/** The workspace a manifest (`WORKSPACE/.sovereign/models/NAME/VERSION.yaml`) lives in; undefined outside one. */
export function workspaceOfManifest(manifestPath: string): string | undefined {
  const abs = resolve(manifestPath);
  const marker = abs.lastIndexOf(`/${SOVEREIGN_DIR}/`);
  return marker > 0 ? abs.slice(0, marker) : undefined;
}

export interface SavedEval {
  report: string;
  baseline: string;
  commit: string;
}

/**
 * Writes the report and the baseline and commits exactly those two files, with the audit log (the eval's
 * `model-load` entry), rolled back on failure.
 */
export async function saveEvalResults(root: string, name: string, version: string, report: EvalReport, baseline: DriftBaseline): Promise<SavedEval> {
  const dir = evalsRelDir(name, version);
  const reportRel = `${dir}/${report.createdAt.replace(/[:.]/g, '-')}.json`;
  const baselineRel = baselineRelPath(name, version);
  const tx = new RegistryTransaction(root, { trustedKeys: () => workspaceTrustedKeys(root) });
  await tx.snapshot(AUDIT_FILE);
  try {
    await tx.write(reportRel, JSON.stringify(report, null, 2) + '\n');
    await tx.write(baselineRel, JSON.stringify(baseline, null, 2) + '\n');
    const commit = await tx.commit(`eval: ${name}@${version} on ${baseline.data.rows} rows (accuracy ${(report.accuracy * 100).toFixed(2)}%), drift baseline stored`);
    return { report: reportRel, baseline: baselineRel, commit };
  } catch (err) {
    await tx.rollback();
    throw err;
  }
}

/** The stored baseline of NAME@VERSION; a UsageError that says how to make one when there is none. */
export async function loadBaseline(root: string, name: string, version: string): Promise<{ baseline: DriftBaseline; file: string }> {
  const rel = baselineRelPath(name, version);
  let text: string;
  try {
    text = await readFile(join(root, rel), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError(`${name}@${version} has no validation baseline (${rel})`, `run \`sovereign eval ${name}@${version} --data VALIDATION.csv --label COLUMN\` in the workspace first`);
    }
    throw ioError(err, rel);
  }
  let value: DriftBaseline;
  try {
    value = JSON.parse(text) as DriftBaseline;
  } catch (err) {
    throw new UsageError(`${rel} is not valid JSON: ${(err as Error).message}`, `run \`sovereign eval ${name}@${version}\` again to rewrite it`);
  }
  if (value?.schema !== BASELINE_SCHEMA || !Array.isArray(value.features)) {
    throw new UsageError(`${rel} is not a ${BASELINE_SCHEMA} baseline`, `run \`sovereign eval ${name}@${version}\` again to rewrite it`);
  }
  return { baseline: value, file: rel };
}

/**
 * The baseline of the version a manifest (`WORKSPACE/.sovereign/models/NAME/VERSION.yaml`) describes, for the
 * serving runtime; undefined when the manifest is not in a workspace or the version has no baseline.
 */
export async function baselineForManifest(manifestPath: string, name: string, version: string): Promise<{ baseline: DriftBaseline; root: string } | undefined> {
  const root = workspaceOfManifest(manifestPath);
  if (!root) return undefined;
  try {
    return { baseline: (await loadBaseline(root, name, version)).baseline, root };
  } catch (err) {
    if (err instanceof UsageError && /has no validation baseline/.test(err.message)) return undefined;
    throw err;
  }
}
