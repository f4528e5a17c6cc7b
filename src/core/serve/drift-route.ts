/**
 * GET /v1/drift: the live drift window of the served ONNX version against its validation baseline
 * (src/core/drift/live.ts). 404 when the runtime has no baseline (a GGUF model, a plain file, or a
 * registered version that `sovereign eval` never evaluated).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_THRESHOLDS, type DriftThresholds } from '../drift/baseline';
import { LiveDriftMonitor } from '../drift/live';
import { baselineForManifest } from '../eval/results-store';
import { loadPolicy } from '../policy/load';
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
export async function liveDriftFor(manifest: string, name: string, version: string, options: { window?: number; minRows?: number } = {}): Promise<LiveDriftMonitor | undefined> {
  const found = await baselineForManifest(manifest, name, version);
  if (!found) return undefined;
  const policy = (await loadPolicy(found.root)).policy;
  return new LiveDriftMonitor(found.baseline, { ...options, thresholds: { ...DEFAULT_THRESHOLDS, ...(policy.drift ?? {}) } as DriftThresholds });
}
