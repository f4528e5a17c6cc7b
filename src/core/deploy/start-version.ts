import { randomBytes } from 'node:crypto';
import { SovereignError } from '../util/errors';
import { appContainerSpec, createAndStart, removeContainer } from './containers';
import type { Docker } from './engine';
import { waitReady } from './health';
import { deployFetch, postJson } from './http';
import { defaultLimits, type ResourceLimits } from './isolation';
import type { DeployRole, ModelMode } from './labels';
import type { DeployableModel } from './model-ref';
import { appContainerName, internalNetworkName, SERVE_PORT } from './names';
import { ensureInternalNetwork, removeNetworkIfUnused } from './network';

export interface StartedVersion {
  container: string;
  containerId: string;
  directUrl: string;
  timings: { containerStartMs: number; readyMs: number; modelLoadMs: number; firstTokenMs: number | null };
}

export interface StartVersionOptions {
  /** Container name: the version name (`sov-NAME-VERSION`) or the canary name. */
  name?: string;
  model: DeployableModel;
  image: string;
  modelPath: string;
  role: DeployRole;
  mode: ModelMode;
  limits?: Partial<ResourceLimits>;
  serveArgs?: string[];
  readyTimeoutMs?: number;
  root?: string;
}

/**
 * Creates and starts one model version on its internal network and waits until it serves. Anything this
 * call created is removed again when it fails (container, and the network if it was new and is unused):
 * a failed deployment leaves nothing half-created.
 */
export async function startVersion(docker: Docker, o: StartVersionOptions): Promise<StartedVersion> {
  const name = o.name ?? appContainerName(o.model.name, o.model.version);
  const net = await ensureInternalNetwork(docker, o.model.name);
  let id: string | undefined;
  try {
    const limits = { ...defaultLimits(o.model.size), ...o.limits };
    const t0 = performance.now();
    // A fresh admin token per container: it switches shadow traffic on this version (canary controller).
    const adminToken = randomBytes(24).toString('base64url');
    id = await createAndStart(docker, appContainerSpec({ name, model: o.model, image: o.image, role: o.role, mode: o.mode, modelPath: o.modelPath, limits, serveArgs: o.serveArgs, adminToken }));
    const containerStartMs = performance.now() - t0;
    const directUrl = await containerUrl(docker, id, internalNetworkName(o.model.name));
    const ready = await waitReady(docker, { url: directUrl, container: name, timeoutMs: o.readyTimeoutMs ?? 90_000, root: o.root });
    const firstTokenMs = o.model.format === 'gguf' ? await firstToken(directUrl, o.root) : null;
    const loadMs = reportedLoadMs(ready.body) ?? (await metricsLoadMs(directUrl, o.root));
    return {
      container: name,
      containerId: id,
      directUrl,
      timings: { containerStartMs, readyMs: ready.ms, modelLoadMs: loadMs ?? ready.ms, firstTokenMs },
    };
  } catch (err) {
    if (id) await removeContainer(docker, id);
    if (net.created) await removeNetworkIfUnused(docker, net.name);
    throw err;
  }
}

/** The container's address on the model's internal network (re-read after every start: it can change). */
export async function containerUrl(docker: Docker, id: string, network: string): Promise<string> {
  const info = (await docker.getContainer(id).inspect()) as { NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> } };
  const ip = info.NetworkSettings?.Networks?.[network]?.IPAddress;
  if (!ip) throw new SovereignError(`the container ${id.slice(0, 12)} has no address on ${network}`, 'see `sovereign deploy status`; remove and deploy again');
  return `http://${ip}:${SERVE_PORT}`;
}

/** The runtime's own model load time from /health, when it reports one (ms). */
function reportedLoadMs(body: unknown): number | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const model = (b.model && typeof b.model === 'object' ? b.model : {}) as Record<string, unknown>;
  for (const v of [b.loadMs, b.modelLoadMs, model.loadMs, model.load_ms, b.load_ms]) if (typeof v === 'number' && Number.isFinite(v)) return v;
  return undefined;
}

/** `sovereign_model_load_seconds` from the runtime's Prometheus metrics (the engine's own measurement). */
async function metricsLoadMs(url: string, root?: string): Promise<number | undefined> {
  try {
    const res = await deployFetch(`${url}/metrics`, {}, { root, timeoutMs: 5_000 });
    if (res.status !== 200) return undefined;
    const m = /^sovereign_model_load_seconds(?:\{[^}]*\})?\s+([0-9.eE+-]+)\s*$/m.exec(await res.text());
    const v = m ? Number(m[1]) * 1000 : NaN;
    return Number.isFinite(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Time to the first generated token: a one-token greedy completion, measured end to end. */
async function firstToken(url: string, root?: string): Promise<number | null> {
  const res = await postJson(`${url}/v1/completions`, { prompt: 'a', max_tokens: 1, temperature: 0 }, { root, timeoutMs: 30_000 });
  return res.status === 200 ? res.ms : null;
}
