import { UsageError } from '../util/errors';
import { auditDeploy } from './audit';
import { removeContainer } from './containers';
import { FileFactCache } from './digest-cache';
import { listDeployments } from './deployments';
import { connectDocker, type Docker } from './engine';
import { postJson } from './http';
import { prepareImages } from './images';
import type { ResourceLimits } from './isolation';
import type { ModelMode } from './labels';
import { promote, type SwitchOutcome } from './lifecycle';
import { resolveDeployableModel } from './model-ref';
import { canaryContainerName } from './names';
import { startVersion } from './start-version';

/** One replayed request: a completion prompt (GGUF) or a /v1/predict body (ONNX). */
export type CanaryRequest = { prompt: string; maxTokens?: number } | { predict: unknown };

export interface CanaryThresholds {
  /** Canary p50 latency / stable p50 latency, at most (default 1.5). */
  maxLatencyRatio: number;
  /** Share of requests whose outputs are identical, at least (default 1 for GGUF: greedy decoding is deterministic; 0 for ONNX). */
  minAgreement?: number;
  /** Canary error rate, at most (default 0). */
  maxErrorRate: number;
  /** Canary p95 latency in ms, at most (optional). */
  maxP95Ms?: number;
}

export const DEFAULT_THRESHOLDS: CanaryThresholds = { maxLatencyRatio: 1.5, maxErrorRate: 0 };

/** Used when no validation set is given (GGUF): short prompts whose greedy continuations must not change. */
export const DEFAULT_GOLDEN_PROMPTS = ['The capital of France is', 'def fibonacci(n):', 'Hello', 'abc', 'Once upon a time', '1, 2, 3,', 'SELECT * FROM', 'xyz'];

export interface SideStats {
  version: string;
  requests: number;
  errors: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  meanMs: number;
}

export interface CanaryReport {
  model: string;
  stable: SideStats;
  canary: SideStats;
  /** Share of requests where both sides answered identically. */
  agreement: number;
  mismatches: Array<{ index: number; stable: string; canary: string }>;
  thresholds: CanaryThresholds;
  latencyRatio: number;
  verdict: 'promoted' | 'passed' | 'rejected';
  /** Why it was rejected (empty when it passed). */
  reasons: string[];
  promotion?: SwitchOutcome;
  canaryContainer: string;
  auditError?: string;
}

export interface CanaryOptions {
  root: string;
  ref: string;
  requests?: CanaryRequest[];
  maxTokens?: number;
  thresholds?: Partial<CanaryThresholds>;
  /** Promote automatically when every threshold holds (default true). */
  autoPromote?: boolean;
  /** Registry alias moved on promotion (a git commit). */
  alias?: string;
  mode?: ModelMode;
  baseImage?: string;
  limits?: Partial<ResourceLimits>;
  serveArgs?: string[];
  requestTimeoutMs?: number;
  log?: (line: string) => void;
  /** Called after each replayed pair (tests use it to disturb the canary mid-run). */
  onProgress?: (done: number, total: number) => void | Promise<void>;
}

/**
 * Canary: the new version starts BESIDE the stable one (same isolation, its own container on the model's
 * internal network; the gateway keeps sending traffic to the stable version), the validation set is
 * replayed to both, latency, errors and outputs are compared, and the canary is promoted only when every
 * threshold holds. Otherwise it is removed, the stable version keeps serving, and the reasons are reported.
 */
export async function runCanary(o: CanaryOptions): Promise<CanaryReport> {
  const docker = await connectDocker();
  const cache = await FileFactCache.open();
  const model = await resolveDeployableModel(o.root, o.ref, cache);
  const before = await listDeployments({ docker, model: model.name });
  const stable = before.find((d) => d.role === 'stable' && d.running);
  if (!stable?.directUrl) throw new UsageError(`${model.name} has no running stable deployment to compare with`, `deploy one first: sovereign deploy staging ${model.name}@VERSION`);
  if (stable.version === model.version) throw new UsageError(`${model.name}@${model.version} is already the stable version`, 'canary a different version');
  // A leftover canary, or a stopped copy of this version, is replaced by the fresh canary.
  for (const d of before) if (d.role === 'canary' || (d.version === model.version && d.role !== 'stable')) await removeContainer(docker, d.containerId);

  const requests = o.requests ?? (model.format === 'gguf' ? DEFAULT_GOLDEN_PROMPTS.map((prompt) => ({ prompt })) : undefined);
  if (!requests?.length) throw new UsageError('an ONNX canary needs a validation set', 'pass --inputs FILE (JSON lines of /v1/predict bodies)');
  const thresholds: CanaryThresholds = { ...DEFAULT_THRESHOLDS, minAgreement: model.format === 'gguf' ? 1 : 0, ...stripUndefined(o.thresholds ?? {}) };

  const images = await prepareImages(docker, { model, mode: o.mode ?? 'mount', baseImage: o.baseImage, cache, log: o.log });
  o.log?.(`starting ${model.name}@${model.version} as canary beside ${stable.version}`);
  const canary = await startVersion(docker, { name: canaryContainerName(model.name), model, image: images.image, modelPath: images.modelPath, role: 'canary', mode: o.mode ?? 'mount', limits: o.limits, serveArgs: o.serveArgs, root: o.root });

  const stableSide = new Side(stable.version);
  const canarySide = new Side(model.version);
  const mismatches: CanaryReport['mismatches'] = [];
  let agreeing = 0;
  let replayed = 0;
  let canaryGone = false;
  for (let i = 0; i < requests.length && !canaryGone; i++) {
    const [s, c] = await Promise.all([send(stable.directUrl, requests[i]), send(canary.directUrl, requests[i])]);
    stableSide.add(s);
    canarySide.add(c);
    replayed++;
    if (s.output !== undefined && s.output === c.output) agreeing++;
    else if (mismatches.length < 10) mismatches.push({ index: i, stable: s.output ?? `error: ${s.error}`, canary: c.output ?? `error: ${c.error}` });
    if (c.error && !(await isRunning(docker, canary.containerId))) canaryGone = true;
    await o.onProgress?.(i + 1, requests.length);
  }

  const st = stableSide.stats();
  const ca = canarySide.stats(requests.length);
  const agreement = replayed ? agreeing / requests.length : 0;
  const latencyRatio = st.p50Ms > 0 ? ca.p50Ms / st.p50Ms : ca.p50Ms > 0 ? Infinity : 1;
  const reasons: string[] = [];
  if (canaryGone) reasons.push(`the canary container stopped during the replay (after ${replayed} of ${requests.length} requests)`);
  if (ca.errorRate > thresholds.maxErrorRate) reasons.push(`canary error rate ${pct(ca.errorRate)} > ${pct(thresholds.maxErrorRate)}`);
  if (agreement < (thresholds.minAgreement ?? 0)) reasons.push(`outputs agree on ${pct(agreement)} of requests < ${pct(thresholds.minAgreement ?? 0)}`);
  if (!canaryGone && latencyRatio > thresholds.maxLatencyRatio) reasons.push(`canary p50 ${ca.p50Ms.toFixed(1)} ms is ${latencyRatio.toFixed(2)}x stable's ${st.p50Ms.toFixed(1)} ms > ${thresholds.maxLatencyRatio}x`);
  if (thresholds.maxP95Ms !== undefined && ca.p95Ms > thresholds.maxP95Ms) reasons.push(`canary p95 ${ca.p95Ms.toFixed(1)} ms > ${thresholds.maxP95Ms} ms`);

  const report: CanaryReport = {
    model: model.name,
    stable: st,
    canary: ca,
    agreement,
    mismatches,
    thresholds,
    latencyRatio,
    verdict: reasons.length ? 'rejected' : o.autoPromote === false ? 'passed' : 'promoted',
    reasons,
    canaryContainer: canary.container,
  };
  if (reasons.length) {
    // Keep the stable version; the canary goes (it may already be dead).
    await removeContainer(docker, canary.containerId);
  }
  report.auditError = await auditDeploy(o.root, 'canary', `${model.name}@${model.version}`, {
    verdict: report.verdict,
    reasons,
    stable: st,
    canary: ca,
    agreement,
    latencyRatio,
    thresholds,
    digest: model.sha256,
  });
  if (report.verdict === 'promoted') {
    report.promotion = await promote({ root: o.root, model: model.name, alias: o.alias, reason: 'canary within thresholds' });
  }
  return report;

  async function send(url: string, r: CanaryRequest): Promise<Outcome> {
    try {
      const res =
        'prompt' in r
          ? await postJson(`${url}/v1/completions`, { prompt: r.prompt, max_tokens: r.maxTokens ?? o.maxTokens ?? 16, temperature: 0, seed: 0 }, { root: o.root, timeoutMs: o.requestTimeoutMs ?? 30_000 })
          : await postJson(`${url}/v1/predict`, r.predict, { root: o.root, timeoutMs: o.requestTimeoutMs ?? 30_000 });
      if (res.status !== 200) return { ms: res.ms, error: `HTTP ${res.status}: ${res.text.slice(0, 200)}` };
      return { ms: res.ms, output: outputOf(res.json, 'prompt' in r) };
    } catch (err) {
      return { ms: 0, error: (err as Error).message };
    }
  }
}

interface Outcome {
  ms: number;
  output?: string;
  error?: string;
}

/** The part of an answer that must match: the generated text, or the prediction outputs. */
function outputOf(json: unknown, completion: boolean): string {
  const j = (json ?? {}) as Record<string, unknown>;
  if (completion) {
    const choices = j.choices as Array<{ text?: string }> | undefined;
    return choices?.[0]?.text ?? JSON.stringify(j);
  }
  return JSON.stringify(j.outputs ?? j);
}

class Side {
  private readonly latencies: number[] = [];
  private errors = 0;
  constructor(private readonly version: string) {}
  add(o: Outcome): void {
    if (o.error) this.errors++;
    else this.latencies.push(o.ms);
  }
  /** `planned`: requests that were meant to be sent (the ones never sent after a crash count as errors). */
  stats(planned?: number): SideStats {
    const requests = planned ?? this.latencies.length + this.errors;
    const errors = requests - this.latencies.length;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const q = (p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : 0);
    return {
      version: this.version,
      requests,
      errors,
      errorRate: requests ? errors / requests : 0,
      p50Ms: round(q(0.5)),
      p95Ms: round(q(0.95)),
      meanMs: round(sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0),
    };
  }
}

async function isRunning(docker: Docker, id: string): Promise<boolean> {
  try {
    return ((await docker.getContainer(id).inspect()) as { State: { Running: boolean } }).State.Running;
  } catch {
    return false;
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
