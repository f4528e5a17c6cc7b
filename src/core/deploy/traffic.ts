import { SovereignError } from '../util/errors';
import { createAndStart, gatewayContainerSpec, removeContainer } from './containers';
import { listGateways, type Gateway } from './deployments';
import type { Docker } from './engine';
import { waitReady } from './health';
import { internalNetworkName } from './names';
import { ensureEdgeNetwork } from './network';

export interface SwitchResult {
  url: string;
  hostPort: number;
  /** The version the gateway sent traffic to before, if any. */
  from?: { container: string; version: string };
  ms: number;
}

/**
 * Points the model's 127.0.0.1 front door at another container. Gateway labels are immutable, so the
 * gateway is recreated with the new target on the SAME host port (the URL stays the same across
 * promotions and rollbacks). If the new gateway cannot start, the old target is restored.
 */
export async function switchTraffic(
  docker: Docker,
  o: { model: string; target: string; targetVersion: string; gatewayImage: string; root?: string },
): Promise<SwitchResult> {
  const started = performance.now();
  await ensureEdgeNetwork(docker);
  const old = (await listGateways(docker, o.model))[0];
  if (old) await removeContainer(docker, old.containerId);
  const network = internalNetworkName(o.model);
  const start = async (target: string, version: string, image: string): Promise<Gateway> => {
    const spec = gatewayContainerSpec({ model: o.model, targetContainer: target, targetVersion: version, image, hostPort: old?.hostPort });
    await createAndStart(docker, spec, [network]);
    const gw = (await listGateways(docker, o.model))[0];
    if (!gw?.url || !gw.hostPort) throw new SovereignError(`the gateway of ${o.model} has no published port`, 'see `sovereign deploy status`');
    await waitReady(docker, { url: gw.url, container: gw.container, timeoutMs: 20_000, root: o.root });
    return gw;
  };
  try {
    const gw = await start(o.target, o.targetVersion, o.gatewayImage);
    return { url: gw.url!, hostPort: gw.hostPort!, from: old ? { container: old.target, version: old.targetVersion } : undefined, ms: performance.now() - started };
  } catch (err) {
    const failed = (await listGateways(docker, o.model))[0];
    if (failed) await removeContainer(docker, failed.containerId);
    if (old) {
      try {
        await start(old.target, old.targetVersion, o.gatewayImage);
      } catch {
        // the old target is gone too: nothing to restore; the error below says what failed first.
      }
    }
    throw err;
  }
}
