/**
 * GET /v1/drift: the live drift window of the served ONNX version against its validation baseline
 * (src/core/drift/live.ts). 404 when the runtime has no baseline (a GGUF model, a plain file, or a
 * registered version that `sovereign eval` never evaluated).
 */
import { access, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { BASELINE_SCHEMA, DEFAULT_THRESHOLDS, type DriftBaseline, type DriftThresholds } from '../drift/baseline';
import { LiveDriftMonitor } from '../drift/live';
import { readPromptFile } from '../drift/prompt-file';
import { buildPromptBaseline, LivePromptWindow } from '../drift/prompts';
import { baselineForManifest, promptBaselineRelPath, workspaceOfManifest } from '../eval/results-store';
import { loadPolicy, type Policy } from '../policy/load';
import { ioError, UsageError } from '../util/errors';
import { HttpError, sendJson } from './http-util';

export function driftRoute(monitor: LiveDriftMonitor | undefined, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET') throw new HttpError(405, 'use GET /v1/drift');
  if (!monitor) {
    throw new HttpError(404, 'no drift baseline for this model: serve a registered ONNX version (its manifest) after `sovereign eval NAME@VERSION --data ... --label ...` stored one');
  }
  sendJson(res, 200, { ...monitor.report(), window: monitor.window, observed: monitor.observed, skipped: monitor.skipped });
}

/**
 * The live drift monitor for a served manifest: the baseline stored beside it in the workspace and the
 * thresholds of that workspace's policy; undefined when there is no baseline.
 */
export async function liveDriftFor(manifest: string, name: string, version: string, options: LiveDriftSize = {}): Promise<LiveDriftMonitor | undefined> {
  const found = await baselineForManifest(manifest, name, version);
  if (!found) return undefined;
  return liveDriftMonitor(found.baseline, (await loadPolicy(found.root)).policy, options);
}

export interface LiveDriftSize {
  window?: number;
  minRows?: number;
}

/** The monitor of one baseline under a policy's `drift:` thresholds (the default PSI 0.2 where it sets none). */
export function liveDriftMonitor(baseline: DriftBaseline, policy: Policy, options: LiveDriftSize = {}): LiveDriftMonitor {
  return new LiveDriftMonitor(baseline, { ...options, thresholds: { ...DEFAULT_THRESHOLDS, ...(policy.drift ?? {}) } as DriftThresholds });
}

/**
 * `sovereign serve --drift-baseline FILE`: a baseline given as a file (a Docker deployment ships the
 * version's `.sovereign/evals/NAME/VERSION/baseline.json` beside its policy, the container has no
 * manifest); thresholds from `policy` (the shipped policy, or the workspace's).
 */
export async function liveDriftFromFile(file: string, policy: Policy, options: LiveDriftSize = {}): Promise<LiveDriftMonitor> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw ioError(err, file);
  }
  let value: DriftBaseline;
  try {
    value = JSON.parse(text) as DriftBaseline;
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON: ${(err as Error).message}`, 'give the baseline.json that `sovereign eval NAME@VERSION --data ... --label ...` stored under .sovereign/evals/NAME/VERSION/');
  }
  if (value?.schema !== BASELINE_SCHEMA || !Array.isArray(value.features) || !value.features.length) {
    throw new UsageError(`${file} is not a ${BASELINE_SCHEMA} baseline`, 'give the baseline.json that `sovereign eval NAME@VERSION --data ... --label ...` stored under .sovereign/evals/NAME/VERSION/');
  }
  return liveDriftMonitor(value, policy, options);
}

/**
 * `sovereign serve --drift-baseline-prompts FILE`: the window of /v1/completions and /v1/chat/completions
 * prompts compared with this baseline prompt set (the `deploy canary --prompts` format; docs/drift.md §6);
 * the threshold is the policy's `drift.psi` (default 0.2).
 */
export async function promptDriftFromFile(file: string, policy: Policy, options: { window?: number; minPrompts?: number } = {}): Promise<LivePromptWindow> {
  const prompts = await readPromptFile(file);
  return new LivePromptWindow(buildPromptBaseline(prompts), file, { ...options, threshold: policy.drift?.psi ?? DEFAULT_THRESHOLDS.psi });
}

/**
 * The prompt-drift window for a served manifest of a language model: the version's stored baseline prompt set
 * (.sovereign/evals/NAME/VERSION/baseline-prompts.txt) under that workspace's policy; undefined when there is
 * none.
 */
export async function promptDriftFor(manifest: string, name: string, version: string): Promise<LivePromptWindow | undefined> {
  const root = workspaceOfManifest(manifest);
  if (!root) return undefined;
  const file = join(root, promptBaselineRelPath(name, version));
  try {
    await access(file);
  } catch {
    return undefined;
  }
  return promptDriftFromFile(file, (await loadPolicy(root)).policy);
}
