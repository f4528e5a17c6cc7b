import { SovereignError } from '../util/errors';
import { statusOf, type Docker } from './engine';
import { hostConfigIsolation, ISOLATION, GATEWAY_LIMITS, type ResourceLimits } from './isolation';
import { LABEL, type DeployRole, type ModelMode } from './labels';
import { EDGE_NETWORK, SERVE_PORT, gatewayContainerName, internalNetworkName, liveContainerName } from './names';
import type { DeployableModel } from './model-ref';
import { DRIFT_BASELINE_PATH_IN_CONTAINER, DRIFT_PROMPTS_PATH_IN_CONTAINER, POLICY_PATH_IN_CONTAINER } from './policy';

export interface AppContainerOptions {
  /** The container name (version name, or the canary name). */
  name: string;
  model: DeployableModel;
  image: string;
  role: DeployRole;
  mode: ModelMode;
  modelPath: string;
  limits: ResourceLimits;
  /** Extra `sovereign serve` arguments (threads, context size...). */
  serveArgs?: string[];
  /** The runtime's admin token (shadow traffic control), handed over in its environment. */
  adminToken?: string;
}

/**
 * The environment variable that carries a container's admin token. The controller reads it back from the
 * container's configuration (`inspect`): no copy is kept anywhere else, and `listContainers` (what
 * `deploy status` reads) does not return environments. Anyone who can read the Docker API can read it, as
 * they can read every label, exec into the container or start a privileged one: root-equivalent already.
 */
export const ADMIN_TOKEN_ENV = 'SOVEREIGN_ADMIN_TOKEN';

/** The container that runs `sovereign serve` on the model's internal network, and nowhere else. */
export function appContainerSpec(o: AppContainerOptions): Record<string, unknown> {
  const net = internalNetworkName(o.model.name);
  return {
    name: o.name,
    Image: o.image,
    // Threads follow the CPU limit: the runtime would otherwise size itself to the HOST's cores and
    // oversubscribe the quota (generation collapses on an oversubscribed CPU).
    // --policy: the workspace policy shipped in the image gates the model inside the container too (its
    // exceptions for NAME@VERSION apply there as they did on the host). --drift-baseline: the version's
    // validation baseline shipped beside it (the container has no manifest to find it by); --drift-baseline-prompts:
    // a language model's baseline prompt set, the same way.
    Cmd: ['--model', o.modelPath, '--policy', POLICY_PATH_IN_CONTAINER, '--policy-model', `${o.model.name}@${o.model.version}`, ...(o.model.driftBaseline ? ['--drift-baseline', DRIFT_BASELINE_PATH_IN_CONTAINER] : []), ...(o.model.driftPrompts ? ['--drift-baseline-prompts', DRIFT_PROMPTS_PATH_IN_CONTAINER] : []), '--host', '0.0.0.0', '--port', String(SERVE_PORT), ...(o.serveArgs?.includes('--threads') ? [] : ['--threads', String(Math.max(1, Math.floor(o.limits.cpus)))]), ...(o.serveArgs ?? [])],
    User: `${ISOLATION.uid}:${ISOLATION.gid}`,
    Env: ['NODE_ENV=production', 'HOME=/tmp', 'NODE_LLAMA_CPP_SKIP_DOWNLOAD=true', ...(o.adminToken ? [`${ADMIN_TOKEN_ENV}=${o.adminToken}`] : [])],
    ExposedPorts: { [`${SERVE_PORT}/tcp`]: {} },
    Labels: {
      [LABEL.managed]: 'true',
      [LABEL.kind]: 'app',
      [LABEL.model]: o.model.name,
      [LABEL.version]: o.model.version,
      [LABEL.sha256]: o.model.sha256,
      [LABEL.format]: o.model.format,
      [LABEL.manifestCommit]: o.model.manifestCommit,
      [LABEL.role]: o.role,
      [LABEL.image]: o.image,
      [LABEL.created]: new Date().toISOString(),
      [LABEL.modelMode]: o.mode,
      [LABEL.policySha256]: o.model.policy.sha256,
    },
    HostConfig: {
      ...hostConfigIsolation(o.limits),
      NetworkMode: net,
      // The store object, read-only: the container can neither change the weights nor see anything else.
      Binds: o.mode === 'mount' ? [`${o.model.file}:${o.modelPath}:ro`] : [],
    },
    // No extra aliases: the container NAME is what the engine's DNS answers, and it follows renames.
    NetworkingConfig: { EndpointsConfig: { [net]: {} } },
  };
}

/** A tiny TCP forwarder (runs in the base image with `node -e`): 127.0.0.1 on the host -> the model. */
export const GATEWAY_SCRIPT = [
  "const net=require('net');",
  'const host=process.argv[1],port=Number(process.argv[2]);',
  'const server=net.createServer((c)=>{',
  '  const u=net.connect({host,port});',
  '  const end=()=>{c.destroy();u.destroy();};',
  "  u.on('error',end);c.on('error',end);u.on('close',end);c.on('close',end);",
  '  c.pipe(u);u.pipe(c);',
  '});',
  `server.listen(${SERVE_PORT},'0.0.0.0');`,
  "process.on('SIGTERM',()=>server.close(()=>process.exit(0)));",
].join('');

/**
 * The gateway container: on the edge network (which can publish ports) with the port bound to 127.0.0.1
 * only, and on the model's internal network to reach the target by name. It runs no model code.
 */
export function gatewayContainerSpec(o: { model: string; image: string; hostPort?: number }): Record<string, unknown> {
  return {
    name: gatewayContainerName(o.model),
    Image: o.image,
    Entrypoint: ['node', '-e', GATEWAY_SCRIPT],
    // Resolved per connection: whichever container is named `-live` now.
    Cmd: [liveContainerName(o.model), String(SERVE_PORT)],
    User: `${ISOLATION.uid}:${ISOLATION.gid}`,
    ExposedPorts: { [`${SERVE_PORT}/tcp`]: {} },
    Labels: {
      [LABEL.managed]: 'true',
      [LABEL.kind]: 'gateway',
      [LABEL.model]: o.model,
      [LABEL.target]: liveContainerName(o.model),
      [LABEL.image]: o.image,
      [LABEL.created]: new Date().toISOString(),
    },
    HostConfig: {
      ...hostConfigIsolation(GATEWAY_LIMITS),
      NetworkMode: EDGE_NETWORK,
      PortBindings: { [`${SERVE_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: o.hostPort ? String(o.hostPort) : '' }] },
    },
  };
}

/** Creates (and, for the gateway, connects) and starts a container; on failure removes what it created. */
export async function createAndStart(docker: Docker, spec: Record<string, unknown>, extraNetworks: string[] = []): Promise<string> {
  let id: string | undefined;
  try {
    const c = await docker.createContainer(spec as never);
    id = c.id;
    for (const net of extraNetworks) await docker.getNetwork(net).connect({ Container: c.id });
    await c.start();
    return c.id;
  } catch (err) {
    if (id) await removeContainer(docker, id);
    if (statusOf(err) === 409) {
      throw new SovereignError(`a container named ${String(spec.name)} already exists`, '`sovereign deploy status` shows it; `sovereign deploy remove NAME` removes the model\'s deployments');
    }
    if (statusOf(err) === 404 && /image/i.test((err as Error).message)) {
      throw new SovereignError(`the image ${String(spec.Image)} is not in the local engine`, 'leave --base-image out, or load the image first (no registry is reachable)');
    }
    throw new SovereignError(`could not start ${String(spec.name)}: ${(err as Error).message}`, 'see the engine log; `sovereign deploy status` lists what exists');
  }
}

export async function removeContainer(docker: Docker, idOrName: string): Promise<boolean> {
  try {
    await docker.getContainer(idOrName).remove({ force: true, v: true });
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    // "removal already in progress"
    if (statusOf(err) === 409) return true;
    throw err;
  }
}

/** Stops a container quickly: Init forwards SIGTERM, the runtime exits in well under a second. */
export async function stopContainer(docker: Docker, idOrName: string, timeoutS = 5): Promise<void> {
  try {
    await docker.getContainer(idOrName).stop({ t: timeoutS });
  } catch (err) {
    if (statusOf(err) === 304 || statusOf(err) === 404) return; // already stopped / gone
    throw err;
  }
}
