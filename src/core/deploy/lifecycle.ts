import { setAlias } from '../govern/ops';
import { SovereignError, UsageError } from '../util/errors';
import { auditDeploy } from './audit';
import { removeContainer, stopContainer } from './containers';
import { listDeployments, listGateways, type Deployment } from './deployments';
import { connectDocker, statusOf, type Docker } from './engine';
import { waitReady } from './health';
import { LABEL } from './labels';
import { internalNetworkName } from './names';
import { removeNetworkIfUnused } from './network';
import { checkDeployedVersion } from './policy';
import { containerUrl } from './start-version';
import { switchTraffic } from './traffic';

export interface SwitchOutcome {
  model: string;
  from?: string;
  to: string;
  url: string;
  /** Wall time of the whole operation (start if needed, readiness, rename, check through the gateway). */
  ms: number;
  /** The renames alone: the moment traffic moved. */
  switchMs?: number;
  /** Rollback: the previous version was still running (warm standby). */
  warm?: boolean;
  alias?: { name: string; commit?: string; changed: boolean };
  auditError?: string;
}

async function gatewayImageOf(docker: Docker, d: Deployment): Promise<string> {
  const gw = (await listGateways(docker, d.model))[0];
  if (gw) {
    const info = (await docker.getContainer(gw.containerId).inspect()) as { Config: { Labels: Record<string, string> } };
    if (info.Config.Labels[LABEL.image]) return info.Config.Labels[LABEL.image];
  }
  throw new SovereignError(`${d.model} has no gateway`, `deploy it with \`sovereign deploy staging ${d.model}@${d.version}\``);
}

async function moveAlias(root: string, model: string, version: string, alias: string | undefined): Promise<SwitchOutcome['alias']> {
  if (!alias) return undefined;
  const r = await setAlias(root, `${model}@${version}`, alias);
  return { name: alias, commit: r.commit, changed: r.changed };
}

/**
 * Promote: the running canary becomes the live version (a rename; the old live version stays running as
 * the warm standby for rollback), and with `alias` the registry alias moves to it (a git commit).
 */
export async function promote(o: { root: string; model: string; alias?: string; reason?: string }): Promise<SwitchOutcome> {
  const started = performance.now();
  const docker = await connectDocker();
  const all = await listDeployments({ docker, model: o.model });
  const stable = all.find((d) => d.role === 'stable');
  const canary = all.find((d) => d.role === 'canary');
  if (!canary) {
    if (!stable) throw new UsageError(`${o.model} has no deployment`, `deploy it: sovereign deploy staging ${o.model}@VERSION`);
    // Nothing to switch: promoting means moving the alias to what serves.
    const alias = await moveAlias(o.root, o.model, stable.version, o.alias);
    const auditError = await auditDeploy(o.root, 'promote', `${o.model}@${stable.version}`, { from: stable.version, to: stable.version, alias: alias ?? null, reason: o.reason ?? 'manual' });
    return { model: o.model, from: stable.version, to: stable.version, url: stable.url ?? '', ms: performance.now() - started, alias, auditError };
  }
  if (!stable) {
    throw new UsageError(`${o.model} has a canary (${canary.version}) but no stable deployment to replace`, `deploy it as stable: sovereign deploy staging ${o.model}@${canary.version}`);
  }
  // The policy may have changed since the canary started (`--no-promote`, then a manual promote).
  await checkDeployedVersion(o.root, o.model, canary.version, 'promote');
  const image = await gatewayImageOf(docker, stable);
  const sw = await switchTraffic(docker, { model: o.model, containerId: canary.containerId, gatewayImage: image, root: o.root });
  const alias = await moveAlias(o.root, o.model, canary.version, o.alias);
  const ms = performance.now() - started;
  const auditError = await auditDeploy(o.root, 'promote', `${o.model}@${canary.version}`, { from: stable.version, to: canary.version, alias: alias ?? null, reason: o.reason ?? 'manual', ms: Math.round(ms) });
  return { model: o.model, from: stable.version, to: canary.version, url: sw.url, ms, switchMs: sw.switchMs, alias, auditError };
}

/**
 * Rollback in one command: the previous version becomes live again. Usually it is still running (the warm
 * standby), so this is a readiness check and a rename; otherwise the most recently stopped version starts
 * again (container, image and read-only model are still there) and takes over once /health answers. The
 * version that served becomes the standby, so rolling back twice rolls forward.
 */
export async function rollback(o: { root: string; model: string; alias?: string; reason?: string; readyTimeoutMs?: number }): Promise<SwitchOutcome> {
  const started = performance.now();
  const docker = await connectDocker();
  const all = await listDeployments({ docker, model: o.model });
  const stable = all.find((d) => d.role === 'stable');
  const candidates = all.filter((d) => d.role === 'previous');
  const previous = candidates.find((d) => d.running) ?? candidates.sort((a, b) => ((b.finishedAt ?? '') < (a.finishedAt ?? '') ? -1 : 1))[0];
  if (!previous) {
    throw new UsageError(`${o.model} has no previous version to roll back to`, '`sovereign deploy status` lists its deployments; deploy the version you want with `sovereign deploy staging`');
  }
  // Before it is started or takes traffic: the policy may have changed since it was deployed.
  await checkDeployedVersion(o.root, o.model, previous.version, 'rollback');
  const image = stable ? await gatewayImageOf(docker, stable) : undefined;
  const wasRunning = previous.running;
  if (!wasRunning) await docker.getContainer(previous.containerId).start();
  try {
    const url = await containerUrl(docker, previous.containerId, internalNetworkName(o.model));
    await waitReady(docker, { url, container: previous.container, timeoutMs: o.readyTimeoutMs ?? 60_000, root: o.root });
    const gw = image ?? (await gatewayImageOf(docker, previous));
    const sw = await switchTraffic(docker, { model: o.model, containerId: previous.containerId, gatewayImage: gw, root: o.root });
    const ms = performance.now() - started;
    const alias = await moveAlias(o.root, o.model, previous.version, o.alias);
    const auditError = await auditDeploy(o.root, 'rollback', `${o.model}@${previous.version}`, { from: stable?.version ?? null, to: previous.version, reason: o.reason ?? 'manual', ms: Math.round(ms), alias: alias ?? null });
    return { model: o.model, from: stable?.version, to: previous.version, url: sw.url, ms, switchMs: sw.switchMs, warm: wasRunning, alias, auditError };
  } catch (err) {
    if (!wasRunning) await stopContainer(docker, previous.containerId).catch(() => undefined);
    throw err;
  }
}

export interface RemoveResult {
  model: string;
  containers: string[];
  networks: string[];
}

/** Removes every container of the model (versions and gateway) and its internal network. Images stay (cache). */
export async function removeModelDeployments(o: { model: string; version?: string }): Promise<RemoveResult> {
  const docker = await connectDocker();
  const all = await listDeployments({ docker, model: o.model });
  const gateways = await listGateways(docker, o.model);
  const targets = o.version ? all.filter((d) => d.version === o.version) : all;
  if (!targets.length && (o.version || !gateways.length)) {
    throw new UsageError(`no deployment of ${o.model}${o.version ? `@${o.version}` : ''}`, '`sovereign deploy status` lists what is deployed');
  }
  const removed: string[] = [];
  // Versions first, the gateway last: traffic stops only when everything is going anyway.
  for (const d of targets) if (await removeContainer(docker, d.containerId)) removed.push(d.container);
  const gatewayGone = !o.version || targets.some((d) => d.role === 'stable');
  if (gatewayGone) for (const g of gateways) if (await removeContainer(docker, g.containerId)) removed.push(g.container);
  const networks: string[] = [];
  try {
    if (await removeNetworkIfUnused(docker, internalNetworkName(o.model))) networks.push(internalNetworkName(o.model));
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
  return { model: o.model, containers: removed, networks };
}
