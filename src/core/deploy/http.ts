import { guardedFetch } from '../net/egress';

/**
 * Every request the CLI sends to a deployment goes through the egress guard: container IPs are private
 * addresses and published ports are loopback, both allowed by the default policy, and each connection is
 * recorded (ledger, and the audit log when a workspace is given).
 */
export interface DeployHttpOptions {
  root?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export async function deployFetch(url: string, init: RequestInit = {}, options: DeployHttpOptions = {}): Promise<Response> {
  const signals = [AbortSignal.timeout(options.timeoutMs ?? 30_000), ...(options.signal ? [options.signal] : [])];
  return guardedFetch(url, { ...init, signal: AbortSignal.any(signals) }, { audit: options.root ? { root: options.root } : undefined, via: 'deploy' });
}

export async function postJson(
  url: string,
  body: unknown,
  options: DeployHttpOptions & { headers?: Record<string, string> } = {},
): Promise<{ status: number; json: unknown; text: string; ms: number }> {
  const started = performance.now();
  const res = await deployFetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...options.headers }, body: JSON.stringify(body) }, options);
  const text = await res.text();
  const ms = performance.now() - started;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, ms };
}
