import { SovereignError } from '../util/errors';
import { createAndStart, gatewayContainerSpec, removeContainer, stopContainer } from './containers';
import { listDeployments, listGateways, type Gateway } from './deployments';
import type { Docker } from './engine';
import { waitReady } from './health';
import { appContainerName, internalNetworkName, liveContainerName } from './names';
import { ensureEdgeNetwork } from './network';

export interface SwitchResult {
  url: string;
  hostPort: number;
  /** The version that served before, if any (renamed back to its version name, kept running: warm). */
  from?: { container: string; version: string };
  /** The rename itself (the moment traffic moves). */
  switchMs: number;
  /** Everything: gateway check or creation, renames, stopping older standbys. */
  ms: number;
}

/**
 * Makes a running, ready container the model's live version: the current live container is renamed back
 * to its version name (and stays running as a warm standby for rollback), the new one is renamed
 * `sov-NAME-live`. The gateway resolves that name per connection, so traffic moves with the rename, and
 * the 127.0.0.1 URL never changes. New connections in the few milliseconds between the two renames are
 * refused (existing connections continue on the old version). Older standbys are stopped: at most one
 * previous version is kept warm.
 */
export async function switchTraffic(
  docker: Docker,
  o: { model: string; containerId: string; gatewayImage: string; root?: string },
): Promise<SwitchResult> {
  const started = performance.now();
  const live = liveContainerName(o.model);
  const all = await listDeployments({ docker, model: o.model });
  const target = all.find((d) => d.containerId === o.containerId);
  if (!target) throw new SovereignError(`container ${o.containerId.slice(0, 12)} is not a deployment of ${o.model}`);
  const old = all.find((d) => d.container === live && d.containerId !== o.containerId);
  const t0 = performance.now();
  if (old) {
    const back = appContainerName(o.model, old.version);
    // A stale container may still carry that name (an earlier copy of the same version): it goes.
    const stale = all.find((d) => d.container === back && d.containerId !== old.containerId);
    if (stale) await removeContainer(docker, stale.containerId);
    await docker.getContainer(old.containerId).rename({ name: back });
  }
  if (target.container !== live) await docker.getContainer(o.containerId).rename({ name: live });
  const switchMs = performance.now() - t0;
  const gw = await ensureGateway(docker, o.model, o.gatewayImage);
  // Through the gateway, at the HTTP level: the switch is done when the live name answers there.
  await waitReady(docker, { url: gw.url!, container: live, timeoutMs: 20_000, root: o.root });
  for (const d of all) {
    if (d.running && d.containerId !== o.containerId && d.containerId !== old?.containerId && d.role === 'previous') await stopContainer(docker, d.containerId);
  }
  return { url: gw.url!, hostPort: gw.hostPort!, from: old ? { container: appContainerName(o.model, old.version), version: old.version } : undefined, switchMs, ms: performance.now() - started };
}

/** The model's gateway, created on first use (and re-created if it stopped), on the same host port when it had one. */
export async function ensureGateway(docker: Docker, model: string, image: string): Promise<Gateway> {
  const existing = (await listGateways(docker, model))[0];
  if (existing?.running && existing.url) return existing;
  await ensureEdgeNetwork(docker);
  if (existing) await removeContainer(docker, existing.containerId);
  await createAndStart(docker, gatewayContainerSpec({ model, image, hostPort: existing?.hostPort }), [internalNetworkName(model)]);
  const gw = (await listGateways(docker, model))[0];
  if (!gw?.url) {
    if (gw) await removeContainer(docker, gw.containerId);
    throw new SovereignError(`the gateway of ${model} has no published port`, 'see the engine log (/var/log/sovereign-dockerd.log)');
  }
  return gw;
}
