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
  return ensureNetwork(docker, internalNetworkName(model), true, { [LABEL.model]: model });
}

/** The ordinary bridge the gateways publish from (port publishing does not exist on internal networks). */
export async function ensureEdgeNetwork(docker: Docker): Promise<NetworkRef> {
  return ensureNetwork(docker, EDGE_NETWORK, false, {});
}

async function ensureNetwork(docker: Docker, name: string, internal: boolean, labels: Record<string, string>): Promise<NetworkRef> {
  const found = await findNetwork(docker, name);
  if (found) return { id: found, name, created: false };
  try {
    const net = await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      Internal: internal,
      CheckDuplicate: true,
      Labels: { [LABEL.managed]: 'true', [LABEL.kind]: internal ? 'internal-network' : 'edge-network', ...labels },
      Options: internal ? { 'com.docker.network.bridge.enable_ip_masquerade': 'false' } : {},
    });
    return { id: net.id, name, created: true };
  } catch (err) {
    // Two deploys racing: the other one created it first.
    if (statusOf(err) === 409) {
      const again = await findNetwork(docker, name);
      if (again) return { id: again, name, created: false };
    }
    throw err;
  }
}

async function findNetwork(docker: Docker, name: string): Promise<string | undefined> {
  const list = await docker.listNetworks({ filters: { name: [name] } });
  // The name filter matches substrings: compare exactly.
  return list.find((n) => n.Name === name)?.Id;
}

/** Removes a network if no container uses it any more (clean-up after a failed or removed deployment). */
export async function removeNetworkIfUnused(docker: Docker, name: string): Promise<boolean> {
  const id = await findNetwork(docker, name);
  if (!id) return false;
  const net = docker.getNetwork(id);
  const info = (await net.inspect()) as { Containers?: Record<string, unknown> };
  if (info.Containers && Object.keys(info.Containers).length) return false;
  try {
    await net.remove();
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}
