import { createHash } from 'node:crypto';
import { SHADOW_HEADER, type MirrorStats } from '../serve/mirror';
import { UsageError } from '../util/errors';
import { auditDeploy } from './audit';
import { removeContainer } from './containers';
import { FileFactCache } from './digest-cache';
import { listDeployments, readAdminToken } from './deployments';
import { connectDocker, type Docker } from './engine';
import { deployFetch, postJson } from './http';
import { prepareImages } from './images';
import type { ResourceLimits } from './isolation';
import type { ModelMode } from './labels';
import { promote, type SwitchOutcome } from './lifecycle';
import { resolveDeployableModel, type ShippedFile } from './model-ref';
import { canaryContainerName } from './names';
import { checkExistingNetworks } from './network';
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

/** Live traffic mirrored from the stable version to the canary while the canary ran (see serve/mirror.ts). */
export interface ShadowReport {
  /** Share of live requests mirrored. */
  share: number;
  /** Seconds live traffic was observed after the replay (mirroring was on during the replay too). */
  seconds: number;
  /** Live requests the stable version answered on a mirrored route while mirroring was on. */
  eligible: number;
  /** Copies sent to the canary that finished (answered or failed). */
  mirrored: number;
  /** Requests picked for mirroring but not sent (copies in flight at the bound, body too big). */
  skipped: number;
  /** Mirrored requests with one right answer (GGUF temperature 0, ONNX): their outputs were compared. */
  comparable: number;
  /** Share of comparable requests with identical outputs; null when none was comparable. */
  agreement: number | null;
  canaryErrors: number;
  /** canaryErrors / mirrored; null when nothing was mirrored. */
  errorRate: number | null;
  stableP50Ms: number;
  canaryP50Ms: number;
  /** The first few differences (route and truncated outputs; never the requests). Not in the audit log. */
  mismatches: Array<{ route: string; stable: string; canary: string }>;
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
  /** Shadow traffic results, when --shadow-share was given. */
  shadow?: ShadowReport;
  /** Facts that are not failures (e.g. no live request arrived during the shadow window). */
  notes: string[];
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
  /** Stops before the images are prepared and before the canary starts. */
  signal?: AbortSignal;
  /** Called after each replayed pair (tests use it to disturb the canary mid-run). */
  onProgress?: (done: number, total: number) => void | Promise<void>;
  /**
   * Shadow traffic: the stable version mirrors `share` (0..1] of its live requests to the canary from
   * before the replay until `seconds` after it (default 30). Off when absent or share 0.
   */
  shadow?: { share: number; seconds?: number };
}

export const DEFAULT_SHADOW_SECONDS = 30;

/**
 * Canary: the new version starts BESIDE the stable one (same isolation, its own container on the model's
 * internal network; the gateway keeps sending traffic to the stable version), the validation set is
 * replayed to both, latency, errors and outputs are compared, and the canary is promoted only when every
 * threshold holds. Otherwise it is removed, the stable version keeps serving, and the reasons are reported.
 */
export async function runCanary(o: CanaryOptions): Promise<CanaryReport> {
  const docker = await connectDocker();
  const cache = await FileFactCache.open();
  const model = await resolveDeployableModel(o.root, o.ref, cache, 'canary');
  const before = await listDeployments({ docker, model: model.name });
  const stable = before.find((d) => d.role === 'stable' && d.running);
  if (!stable?.directUrl) throw new UsageError(`${model.name} has no running stable deployment to compare with`, `deploy one first: sovereign deploy staging ${model.name}@VERSION`);
  if (stable.version === model.version) throw new UsageError(`${model.name}@${model.version} is already the stable version`, 'canary a different version');
  // A leftover canary, or a stopped copy of this version, is replaced by the fresh canary.
  for (const d of before) if (d.role === 'canary' || (d.version === model.version && d.role !== 'stable')) await removeContainer(docker, d.containerId);

  const requests = o.requests ?? (model.format === 'gguf' ? DEFAULT_GOLDEN_PROMPTS.map((prompt) => ({ prompt })) : undefined);
  if (!requests?.length) throw new UsageError('an ONNX canary needs a validation set', 'pass --inputs FILE (JSON lines of /v1/predict bodies)');
  // A language model canary without a stored baseline prompt set watches its traffic against the validation prompts
  // it was given (`--prompts`): GET /v1/drift and /metrics on the canary say when live traffic stops looking like them.
  if (model.format === 'gguf' && !model.driftPrompts && o.requests?.length) model.driftPrompts = shippedPrompts(o.requests);
  const thresholds: CanaryThresholds = { ...DEFAULT_THRESHOLDS, minAgreement: model.format === 'gguf' ? 1 : 0, ...stripUndefined(o.thresholds ?? {}) };
  const shadow = o.shadow && o.shadow.share > 0 ? { share: o.shadow.share, seconds: o.shadow.seconds ?? DEFAULT_SHADOW_SECONDS } : undefined;
  if (shadow && !(shadow.share <= 1 && shadow.seconds >= 0)) throw new UsageError('the shadow share must be in 0..1 and the shadow seconds >= 0');
  // Checked before anything starts: the stable runtime's admin token switches mirroring on.
  const adminToken = shadow ? await readAdminToken(docker, stable.containerId) : undefined;
  if (shadow && !adminToken) {
    throw new UsageError(`the stable version ${stable.version} of ${model.name} runs without an admin token (it was deployed before shadow traffic existed), so it cannot mirror traffic`, `deploy it again (sovereign deploy staging ${model.name}@${stable.version}), or leave --shadow-share out`);
  }
  const timeoutMs = o.requestTimeoutMs ?? 30_000;

  await checkExistingNetworks(docker, model.name);
  o.signal?.throwIfAborted();
  const images = await prepareImages(docker, { model, mode: o.mode ?? 'mount', baseImage: o.baseImage, cache, log: o.log });
  o.signal?.throwIfAborted();
  o.log?.(`starting ${model.name}@${model.version} as canary beside ${stable.version}`);
  const canary = await startVersion(docker, { name: canaryContainerName(model.name), model, image: images.image, modelPath: images.modelPath, role: 'canary', mode: o.mode ?? 'mount', limits: o.limits, serveArgs: o.serveArgs, root: o.root });

  const stableSide = new Side(stable.version);
  const canarySide = new Side(model.version);
  const mismatches: CanaryReport['mismatches'] = [];
  let agreeing = 0;
  let replayed = 0;
  let canaryGone = false;
  const notes: string[] = [];
  const reasons: string[] = [];
  const admin = { url: `${stable.directUrl}/admin/mirror`, token: adminToken ?? '' };
  let mirroring = false;
  let shadowStats: MirrorStats | undefined;
  try {
    if (shadow) {
      o.log?.(`mirroring ${pct(shadow.share)} of the live traffic of ${stable.version} to the canary`);
      // Switches itself off after the longest the replay and the window can take, should this process die.
      const seconds = Math.ceil(shadow.seconds + (requests.length * timeoutMs) / 1000 + 60);
      const on = await adminCall('PUT', { target: canary.directUrl, share: shadow.share, seconds, timeout_ms: timeoutMs });
      if (on.ok) mirroring = true;
      else reasons.push(`shadow traffic could not be switched on: ${on.error}`);
    }
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
    if (mirroring && shadow && !canaryGone) {
      o.log?.(`observing live traffic for ${shadow.seconds} s`);
      const end = Date.now() + shadow.seconds * 1000;
      while (Date.now() < end) {
        await new Promise((r) => setTimeout(r, Math.min(1000, end - Date.now())));
        if (!(await isRunning(docker, canary.containerId))) {
          reasons.push('the canary container stopped during the shadow window');
          break;
        }
      }
    }
  } finally {
    if (mirroring) {
      // Always switched off, whatever happened above; DELETE answers the final stats.
      const off = await adminCall('DELETE');
      if (off.ok) shadowStats = off.stats;
      else reasons.push(`shadow traffic could not be switched off or read: ${off.error} (it switches itself off after the replay and the window)`);
    }
  }
  const shadowReport = shadow && shadowStats ? toShadowReport(shadow, shadowStats) : undefined;

  const st = stableSide.stats();
  const ca = canarySide.stats(requests.length);
  const agreement = replayed ? agreeing / requests.length : 0;
  const latencyRatio = st.p50Ms > 0 ? ca.p50Ms / st.p50Ms : ca.p50Ms > 0 ? Infinity : 1;
  if (canaryGone) reasons.push(`the canary container stopped during the replay (after ${replayed} of ${requests.length} requests)`);
  if (ca.errorRate > thresholds.maxErrorRate) reasons.push(`canary error rate ${pct(ca.errorRate)} > ${pct(thresholds.maxErrorRate)}`);
  if (agreement < (thresholds.minAgreement ?? 0)) reasons.push(`outputs agree on ${pct(agreement)} of requests < ${pct(thresholds.minAgreement ?? 0)}`);
  if (!canaryGone && latencyRatio > thresholds.maxLatencyRatio) reasons.push(`canary p50 ${ca.p50Ms.toFixed(1)} ms is ${latencyRatio.toFixed(2)}x stable's ${st.p50Ms.toFixed(1)} ms > ${thresholds.maxLatencyRatio}x`);
  if (thresholds.maxP95Ms !== undefined && ca.p95Ms > thresholds.maxP95Ms) reasons.push(`canary p95 ${ca.p95Ms.toFixed(1)} ms > ${thresholds.maxP95Ms} ms`);
  if (shadowReport) judgeShadow(shadowReport, thresholds, reasons, notes);

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
    shadow: shadowReport,
    notes,
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
    // Numbers only: live outputs (mismatches) never go to the audit log.
    shadow: shadowReport ? { ...shadowReport, mismatches: undefined } : undefined,
    notes,
    digest: model.sha256,
    policy: { file: model.policy.exists ? model.policy.file : 'default', sha256: model.policy.sha256 },
  });
  if (report.verdict === 'promoted') {
    report.promotion = await promote({ root: o.root, model: model.name, alias: o.alias, reason: 'canary within thresholds' });
  }
  return report;

  /** The stable runtime's /admin/mirror, with its admin token. */
  async function adminCall(method: 'PUT' | 'DELETE', body?: unknown): Promise<{ ok: true; stats: MirrorStats } | { ok: false; error: string }> {
    try {
      const res = await deployFetch(
        admin.url,
        { method, headers: { authorization: `Bearer ${admin.token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined },
        { root: o.root, timeoutMs: 10_000 },
      );
      const text = await res.text();
      if (res.status !== 200) {
        let message = text.slice(0, 300);
        try {
          message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
        } catch {
          // not JSON: the text is the message
        }
        return { ok: false, error: `HTTP ${res.status}: ${message}` };
      }
      return { ok: true, stats: JSON.parse(text) as MirrorStats };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  /** A replayed request; marked so that the stable version does not mirror it as live traffic. */
  function post(url: string, body: unknown): ReturnType<typeof postJson> {
    return postJson(url, body, { root: o.root, timeoutMs, headers: { [SHADOW_HEADER]: 'replay' } });
  }

  async function send(url: string, r: CanaryRequest): Promise<Outcome> {
    try {
      const res =
        'prompt' in r
          ? await post(`${url}/v1/completions`, { prompt: r.prompt, max_tokens: r.maxTokens ?? o.maxTokens ?? 16, temperature: 0, seed: 0 })
          : await post(`${url}/v1/predict`, r.predict);
      if (res.status !== 200) return { ms: res.ms, error: `HTTP ${res.status}: ${res.text.slice(0, 200)}` };
      return { ms: res.ms, output: outputOf(res.json, 'prompt' in r) };
    } catch (err) {
      return { ms: 0, error: (err as Error).message };
    }
  }
}

function toShadowReport(shadow: { share: number; seconds: number }, s: MirrorStats): ShadowReport {
  return {
    share: shadow.share,
    seconds: shadow.seconds,
    eligible: s.eligible,
    mirrored: s.mirrored,
    skipped: s.skipped.busy + s.skipped.tooBig,
    comparable: s.comparable,
    agreement: s.agreement,
    canaryErrors: s.canaryErrors,
    errorRate: s.errorRate,
    stableP50Ms: s.stable.p50Ms,
    canaryP50Ms: s.canary.p50Ms,
    mismatches: s.mismatches,
  };
}

/** The replay's thresholds, applied to live traffic: error rate on what was mirrored, agreement on what was comparable. */
function judgeShadow(r: ShadowReport, t: CanaryThresholds, reasons: string[], notes: string[]): void {
  if (r.mirrored === 0) {
    notes.push(`no live request was mirrored (${r.eligible} eligible during the shadow window): the verdict rests on the replay`);
    return;
  }
  if (r.errorRate !== null && r.errorRate > t.maxErrorRate) reasons.push(`shadow: canary error rate ${pct(r.errorRate)} (${r.canaryErrors} of ${r.mirrored} mirrored requests) > ${pct(t.maxErrorRate)}`);
  if (r.comparable === 0) notes.push(`none of the ${r.mirrored} mirrored requests was deterministic (temperature > 0): live outputs were not compared`);
  else if (r.agreement !== null && r.agreement < (t.minAgreement ?? 0)) reasons.push(`shadow: outputs agree on ${pct(r.agreement)} of ${r.comparable} comparable live requests < ${pct(t.minAgreement ?? 0)}`);
  if (r.skipped > 0) notes.push(`${r.skipped} request(s) picked for mirroring were skipped (at most 2 copies in flight, bodies up to 256 KiB)`);
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

/** Validation prompts as a shipped baseline prompt set (JSON lines of {"prompt"}, the format serve reads). */
function shippedPrompts(requests: readonly CanaryRequest[]): ShippedFile | undefined {
  const prompts = requests.flatMap((r) => ('prompt' in r ? [r.prompt] : []));
  if (!prompts.length) return undefined;
  const text = prompts.map((prompt) => JSON.stringify({ prompt })).join('\n') + '\n';
  return { text, sha256: createHash('sha256').update(text).digest('hex'), file: 'deploy canary --prompts' };
}
