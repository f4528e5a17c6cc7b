/**
 * Shadow traffic: the serving runtime copies a share of its live text/predict requests to a second
 * runtime (a canary) AFTER it has answered its own client, and compares the answers.
 *
 * - The live request is never slowed or failed by the mirror: the copy is sent fire-and-forget once the
 *   response has ended, at most `maxInFlight` copies are in flight (more are counted as skipped), and each
 *   copy has its own timeout.
 * - Requests are picked deterministically (an accumulator: share 0.5 mirrors every second eligible
 *   request), so tests and replays are reproducible.
 * - Streamed client requests are mirrored with `stream: false` and compared with the text the stable side
 *   streamed.
 * - Comparison: exact output equality for deterministic requests (GGUF with temperature 0, ONNX predict);
 *   GGUF requests with temperature > 0 count for latency and errors only.
 * - Stats are bounded and in memory: counts, latency samples (the last 512 per side), the first few
 *   mismatches (outputs truncated, never the prompts).
 * - The target passes the egress guard (the policy's allowed endpoints: loopback and private ranges by
 *   default) when mirroring is switched on AND on every copy (a host name could resolve elsewhere later).
 * - A request carrying `X-Sovereign-Shadow` is never mirrored: copies send `copy` (no loops), the canary
 *   controller's replay sends `replay` (the replay is compared on its own; it is not live traffic).
 */
import type { EndpointRule } from '../net/endpoints';
import { checkEndpoint, guardedFetch } from '../net/egress';
import { HttpError } from './http-util';

/** Marks a request that must not be mirrored (value `copy` or `replay`). */
export const SHADOW_HEADER = 'x-sovereign-shadow';

/** The routes whose requests may be mirrored, and the temperature each one uses when none is given. */
export const MIRRORED_ROUTES: Record<string, { defaultTemperature: number }> = {
  '/v1/completions': { defaultTemperature: 0.8 },
  '/v1/chat/completions': { defaultTemperature: 0.8 },
  '/infill': { defaultTemperature: 0 },
  '/v1/predict': { defaultTemperature: 0 },
};

const MAX_SAMPLES = 512;
const MAX_MISMATCHES = 5;
const SNIPPET = 80;

export interface MirrorSettings {
  /** Origin of the second runtime (http://host:port). */
  target: string;
  /** Share of eligible requests mirrored, in (0, 1]. */
  share: number;
  /** Mirroring switches itself off after this many seconds (a safety net if the controller goes away). */
  seconds?: number;
  /** Timeout of one mirrored request (default 30 s). */
  timeoutMs?: number;
  /** Mirrored requests in flight at most (default 2); more are skipped. */
  maxInFlight?: number;
  /** Largest request body mirrored, in bytes (default 256 KiB); larger ones are skipped. */
  maxBodyBytes?: number;
}

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p95Ms: number;
}

export interface MirrorStats {
  /** on: mirroring; expired: switched itself off after `seconds`; off: never switched on / deleted. */
  state: 'on' | 'expired' | 'off';
  target?: string;
  share?: number;
  since?: string;
  expiresAt?: string;
  /** Requests answered 200 on a mirrored route while mirroring was on. */
  eligible: number;
  /** Mirrored requests that finished (answered or failed). */
  mirrored: number;
  inFlight: number;
  maxInFlightSeen: number;
  skipped: { busy: number; tooBig: number };
  /** Mirrored requests whose outputs can be compared exactly (GGUF temperature 0, ONNX predict). */
  comparable: number;
  agreeing: number;
  /** agreeing / comparable; null when nothing was comparable. */
  agreement: number | null;
  /** Mirrored requests the target failed: an error status, a network error or the timeout. */
  canaryErrors: number;
  errorRate: number | null;
  stable: LatencySummary;
  canary: LatencySummary;
  /** The first few differences: route and truncated outputs only (never the request). */
  mismatches: Array<{ route: string; stable: string; canary: string }>;
}

/** What the server knows about an answered request. */
export interface AnsweredRequest {
  route: string;
  body: Record<string, unknown>;
  /** The comparable output the stable side answered (the whole text, also when streamed). */
  output: string | undefined;
  kind: 'gguf' | 'onnx';
  /** Stable side: request start to response end. */
  ms: number;
}

export interface MirrorOptions {
  /** Endpoints a target may be on (default: loopback and private ranges). */
  allowed?: readonly EndpointRule[];
  /** Workspace whose audit log records the egress (origin only). */
  auditRoot?: string;
}

class Samples {
  private readonly values: number[] = [];
  private next = 0;
  add(v: number): void {
    if (this.values.length < MAX_SAMPLES) this.values.push(v);
    else this.values[this.next++ % MAX_SAMPLES] = v;
  }
  summary(): LatencySummary {
    const sorted = [...this.values].sort((a, b) => a - b);
    const q = (p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : 0);
    return { samples: sorted.length, p50Ms: round(q(0.5)), p95Ms: round(q(0.95)) };
  }
}

interface Session {
  target: string;
  share: number;
  since: Date;
  expiresAt?: number;
  timeoutMs: number;
  maxInFlight: number;
  maxBodyBytes: number;
  accumulator: number;
  eligible: number;
  mirrored: number;
  inFlight: number;
  maxInFlightSeen: number;
  skippedBusy: number;
  skippedTooBig: number;
  comparable: number;
  agreeing: number;
  canaryErrors: number;
  stable: Samples;
  canary: Samples;
  mismatches: MirrorStats['mismatches'];
  controller: AbortController;
}

export class Mirror {
  private session: Session | undefined;

  constructor(private readonly options: MirrorOptions = {}) {}

  /** Switches mirroring on (or replaces the running session: stats start again). 400 on a bad or refused target. */
  async configure(settings: MirrorSettings): Promise<MirrorStats> {
    const target = parseTarget(settings.target);
    if (!(typeof settings.share === 'number' && settings.share > 0 && settings.share <= 1)) throw new HttpError(400, '"share" must be a number in (0, 1]');
    const check = await checkEndpoint(target, this.options.allowed);
    if (!check.allowed) throw new HttpError(400, `the mirror target is refused: ${check.reason}`);
    this.session?.controller.abort();
    this.session = {
      target,
      share: settings.share,
      since: new Date(),
      expiresAt: settings.seconds ? Date.now() + settings.seconds * 1000 : undefined,
      timeoutMs: settings.timeoutMs ?? 30_000,
      maxInFlight: settings.maxInFlight ?? 2,
      maxBodyBytes: settings.maxBodyBytes ?? 256 * 1024,
      // Starts at 0: share 0.5 mirrors the 2nd, 4th, ... eligible request; share 1 every one.
      accumulator: 0,
      eligible: 0,
      mirrored: 0,
      inFlight: 0,
      maxInFlightSeen: 0,
      skippedBusy: 0,
      skippedTooBig: 0,
      comparable: 0,
      agreeing: 0,
      canaryErrors: 0,
      stable: new Samples(),
      canary: new Samples(),
      mismatches: [],
      controller: new AbortController(),
    };
    return this.stats();
  }

  /** Switches mirroring off; returns the final stats (copies still in flight are abandoned). */
  stop(): MirrorStats {
    const stats = this.stats();
    this.session?.controller.abort();
    this.session = undefined;
    return stats.state === 'off' ? stats : { ...stats, state: 'off' };
  }

  stats(): MirrorStats {
    const s = this.session;
    if (!s) {
      const none = { samples: 0, p50Ms: 0, p95Ms: 0 };
      return { state: 'off', eligible: 0, mirrored: 0, inFlight: 0, maxInFlightSeen: 0, skipped: { busy: 0, tooBig: 0 }, comparable: 0, agreeing: 0, agreement: null, canaryErrors: 0, errorRate: null, stable: none, canary: none, mismatches: [] };
    }
    return {
      state: this.expired(s) ? 'expired' : 'on',
      target: s.target,
      share: s.share,
      since: s.since.toISOString(),
      expiresAt: s.expiresAt ? new Date(s.expiresAt).toISOString() : undefined,
      eligible: s.eligible,
      mirrored: s.mirrored,
      inFlight: s.inFlight,
      maxInFlightSeen: s.maxInFlightSeen,
      skipped: { busy: s.skippedBusy, tooBig: s.skippedTooBig },
      comparable: s.comparable,
      agreeing: s.agreeing,
      agreement: s.comparable ? s.agreeing / s.comparable : null,
      canaryErrors: s.canaryErrors,
      errorRate: s.mirrored ? s.canaryErrors / s.mirrored : null,
      stable: s.stable.summary(),
      canary: s.canary.summary(),
      mismatches: s.mismatches.map((m) => ({ ...m })),
    };
  }

  /**
   * Called by the server after it has ANSWERED a request with 200 on a mirrored route. Decides
   * synchronously whether to mirror it and returns at once; the copy runs in the background.
   */
  offer(answered: AnsweredRequest): void {
    const s = this.session;
    if (!s || this.expired(s) || !(answered.route in MIRRORED_ROUTES)) return;
    s.eligible++;
    s.accumulator += s.share;
    if (s.accumulator < 1 - 1e-9) return;
    s.accumulator -= 1;
    if (s.inFlight >= s.maxInFlight) {
      s.skippedBusy++;
      return;
    }
    const body = 'stream' in answered.body ? { ...answered.body, stream: false } : answered.body;
    const payload = JSON.stringify(body);
    if (Buffer.byteLength(payload) > s.maxBodyBytes) {
      s.skippedTooBig++;
      return;
    }
    s.inFlight++;
    s.maxInFlightSeen = Math.max(s.maxInFlightSeen, s.inFlight);
    void this.send(s, answered, payload).finally(() => {
      s.inFlight--;
    });
  }

  private expired(s: Session): boolean {
    return s.expiresAt !== undefined && Date.now() > s.expiresAt;
  }

  private async send(s: Session, answered: AnsweredRequest, payload: string): Promise<void> {
    const started = performance.now();
    let output: string | undefined;
    let failed = false;
    try {
      const res = await guardedFetch(
        `${s.target}${answered.route}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', [SHADOW_HEADER]: 'copy' },
          body: payload,
          redirect: 'error',
          signal: AbortSignal.any([s.controller.signal, AbortSignal.timeout(s.timeoutMs)]),
        },
        { allowed: this.options.allowed, audit: this.options.auditRoot ? { root: this.options.auditRoot } : undefined, via: 'serve-mirror' },
      );
      const text = await res.text();
      if (res.status !== 200) failed = true;
      else output = outputOf(answered.route, text);
    } catch {
      failed = true;
    }
    // A session replaced or stopped meanwhile does not take late results.
    if (this.session !== s) return;
    s.mirrored++;
    s.stable.add(answered.ms);
    if (failed) {
      s.canaryErrors++;
      return;
    }
    s.canary.add(performance.now() - started);
    if (!deterministic(answered)) return;
    s.comparable++;
    if (output !== undefined && output === answered.output) s.agreeing++;
    else if (s.mismatches.length < MAX_MISMATCHES) s.mismatches.push({ route: answered.route, stable: snippet(answered.output), canary: snippet(output) });
  }
}

/** GGUF with temperature 0 (greedy decoding), and every ONNX prediction, give one answer per input. */
function deterministic(a: AnsweredRequest): boolean {
  if (a.kind === 'onnx') return a.route === '/v1/predict';
  const t = a.body.temperature;
  const temperature = typeof t === 'number' ? t : MIRRORED_ROUTES[a.route].defaultTemperature;
  return temperature === 0;
}

/** The comparable part of a non-streamed answer of each route. */
export function outputOf(route: string, text: string): string | undefined {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  switch (route) {
    case '/v1/completions':
      return (j.choices as Array<{ text?: string }> | undefined)?.[0]?.text;
    case '/v1/chat/completions':
      return (j.choices as Array<{ message?: { content?: string } }> | undefined)?.[0]?.message?.content;
    case '/infill':
      return typeof j.content === 'string' ? j.content : undefined;
    case '/v1/predict':
      return j.outputs === undefined ? undefined : JSON.stringify(j.outputs);
    default:
      return undefined;
  }
}

function parseTarget(value: unknown): string {
  if (typeof value !== 'string') throw new HttpError(400, '"target" must be a URL such as http://10.0.0.5:8080');
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new HttpError(400, `"target" is not a URL: ${value.slice(0, 100)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new HttpError(400, '"target" must be an http or https URL');
  if (u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
    throw new HttpError(400, '"target" must be an origin only (scheme://host:port): no credentials, path or query');
  }
  return u.origin;
}

function snippet(s: string | undefined): string {
  if (s === undefined) return '(no output)';
  return s.length > SNIPPET ? `${s.slice(0, SNIPPET)}...` : s;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
