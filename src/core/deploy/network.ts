import { RefusedError } from '../util/errors';
import { statusOf, type Docker } from './engine';
import { LABEL } from './labels';
import { EDGE_NETWORK, internalNetworkName } from './names';

export interface NetworkRef {
  id: string;
  name: string;
  created: boolean;
}

/**
 * The model's internal network: `Internal: true` gives it no route out (the engine sets no NAT and, with
 * its own firewall rules enabled, drops anything leaving the bridge). The model containers are attached to
 * it ONLY. The host reaches them through the bridge (container IP) and the gateway (127.0.0.1).
 */
export async function ensureInternalNetwork(docker: Docker, model: string): Promise<NetworkRef> {
  return ensureNetwork(docker, internalNetworkName(model), true, internalLabels(model));
}

/** The ordinary bridge the gateways publish from (port publishing does not exist on internal networks). */
export async function ensureEdgeNetwork(docker: Docker): Promise<NetworkRef> {
  return ensureNetwork(docker, EDGE_NETWORK, false, edgeLabels());
}

function internalLabels(model: string): Record<string, string> {
  return { [LABEL.managed]: 'true', [LABEL.kind]: 'internal-network', [LABEL.model]: model };
}

function edgeLabels(): Record<string, string> {
  return { [LABEL.managed]: 'true', [LABEL.kind]: 'edge-network' };
}

/**
 * Checks, before anything is built or started, that the networks a deployment of `model` will use are
 * ours if they exist already (see verifyNetwork). Missing ones are fine: they are created when needed.
 */
export async function checkExistingNetworks(docker: Docker, model: string): Promise<void> {
  for (const [name, internal, labels] of [
    [internalNetworkName(model), true, internalLabels(model)],
    [EDGE_NETWORK, false, edgeLabels()],
  ] as const) {
    const id = await findNetwork(docker, name);
    if (id) await verifyNetwork(docker, id, name, internal, labels);
  }
}

interface NetworkInfo {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Scope?: string;
  Labels?: Record<string, string> | null;
}

/**
 * A network found under the expected name is used only when it is the one this product would create: a
 * local bridge, Internal exactly as expected (the model network must have no route out; the edge network
 * must be able to publish), and our labels (managed, kind, model). Anything else (a network someone
 * created by hand or by another tool, with a route to the outside) is refused, never joined.
 */
export async function verifyNetwork(docker: Docker, id: string, name: string, internal: boolean, labels: Record<string, string>): Promise<void> {
  const info = (await docker.getNetwork(id).inspect()) as NetworkInfo;
  const problems: string[] = [];
  if (info.Driver !== 'bridge') problems.push(`its driver is ${info.Driver ?? 'unknown'}, not bridge`);
  if (info.Scope !== undefined && info.Scope !== 'local') problems.push(`its scope is ${info.Scope}, not local`);
  if (Boolean(info.Internal) !== internal) problems.push(internal ? 'it is not internal (it has a route out of the host)' : 'it is internal (a gateway cannot publish from it)');
  const missing = Object.entries(labels).filter(([k, v]) => info.Labels?.[k] !== v);
  if (missing.length) problems.push(`it was not created by Sovereign for this purpose (labels ${missing.map(([k, v]) => `${k}=${v}`).join(', ')} missing)`);
  if (!problems.length) return;
  throw new RefusedError(
    `a Docker network named ${name} exists but cannot be used: ${problems.join('; ')}`,
    `nothing was started; if nothing of yours uses it, remove it (\`docker network rm ${name}\`; \`docker network inspect ${name}\` shows what is attached) and deploy again: Sovereign creates it ${internal ? 'internal (no route out)' : 'as a plain bridge'} with its labels`,
  );
}

async function ensureNetwork(docker: Docker, name: string, internal: boolean, labels: Record<string, string>): Promise<NetworkRef> {
  const found = await findNetwork(docker, name);
  if (found) {
    await verifyNetwork(docker, found, name, internal, labels);
    return { id: found, name, created: false };
  }
  try {
    const net = await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      Internal: internal,
      CheckDuplicate: true,
      Labels: labels,
      Options: internal ? { 'com.docker.network.bridge.enable_ip_masquerade': 'false' } : {},
    });
    return { id: net.id, name, created: true };
  } catch (err) {
    // Two deploys racing: the other one created it first.
    if (statusOf(err) === 409) {
      const again = await findNetwork(docker, name);
      if (again) {
        await verifyNetwork(docker, again, name, internal, labels);
        return { id: again, name, created: false };
      }
    }
    throw err;
  }
}

export async function findNetwork(docker: Docker, name: string): Promise<string | undefined> {
  const list = await docker.listNetworks({ filters: { name: [name] } });
  // The name filter matches substrings: compare exactly.
  return list.find((n) => n.Name === name)?.Id;
}

/** Removes a network if no container uses it any more (clean-up after a failed or removed deployment). */
export async function removeNetworkIfUnused(docker: Docker, name: string): Promise<boolean> {
  const id = await findNetwork(docker, name);
  if (!id) return false;
  const net = docker.getNetwork(id);
  const info = (await net.inspect()) as { Containers?: Record<string, unknown>; Labels?: Record<string, string> | null };
  // Never someone else's network that happens to carry the name.
  if (info.Labels?.[LABEL.managed] !== 'true') return false;
  if (info.Containers && Object.keys(info.Containers).length) return false;
  try {
    await net.remove();
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}
