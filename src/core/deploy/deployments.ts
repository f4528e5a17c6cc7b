import { ADMIN_TOKEN_ENV } from './containers';
import { connectDocker, type Docker } from './engine';
import { LABEL, managedFilter, type DeployRole, type ModelMode } from './labels';
import { SERVE_PORT, canaryContainerName, internalNetworkName, liveContainerName } from './names';
import { UsageError } from '../util/errors';

/** One deployed model version, as the engine reports it (labels + state); nothing else is stored. */
export interface Deployment {
  model: string;
  version: string;
  sha256: string;
  format?: string;
  manifestCommit: string;
  /**
   * The role now, from the container's name: stable (`sov-NAME-live`, the gateway sends traffic here),
   * canary (`sov-NAME-canary`), previous (any other: kept for rollback, warm when running).
   */
  role: 'stable' | 'canary' | 'previous';
  /** The role it was created for (labels are immutable). */
  createdAs: DeployRole;
  container: string;
  containerId: string;
  image: string;
  modelMode: ModelMode;
  created: string;
  state: string;
  running: boolean;
  startedAt?: string;
  finishedAt?: string;
  /** The model's stable URL on 127.0.0.1 (the gateway), for the stable deployment. */
  url?: string;
  /** The container's own address on its internal network (reachable from the host only). */
  directUrl?: string;
}

export interface Gateway {
  model: string;
  container: string;
  containerId: string;
  target: string;
  running: boolean;
  hostPort?: number;
  url?: string;
}

interface ContainerInfo {
  Id: string;
  Names: string[];
  Labels: Record<string, string>;
  State: string;
  Ports?: Array<{ PrivatePort: number; PublicPort?: number; IP?: string }>;
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

/** Every deployment the engine runs or keeps, read back from the labels. */
export async function listDeployments(options: { model?: string; docker?: Docker } = {}): Promise<Deployment[]> {
  const docker = options.docker ?? (await connectDocker());
  const [apps, gateways] = await Promise.all([listByKind(docker, 'app', options.model), listGateways(docker, options.model)]);
  const live = new Set(apps.map((c) => c.Labels[LABEL.model]).map((m) => liveContainerName(m)));
  const out: Deployment[] = [];
  for (const c of apps) {
    const l = c.Labels;
    const name = c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
    const gateway = gateways.find((g) => g.model === l[LABEL.model]);
    const running = c.State === 'running';
    const role: Deployment['role'] = live.has(name) && name === liveContainerName(l[LABEL.model]) ? 'stable' : name === canaryContainerName(l[LABEL.model]) ? 'canary' : 'previous';
    const ip = c.NetworkSettings?.Networks?.[internalNetworkName(l[LABEL.model])]?.IPAddress;
    out.push({
      model: l[LABEL.model],
      version: l[LABEL.version],
      sha256: l[LABEL.sha256],
      format: l[LABEL.format],
      manifestCommit: l[LABEL.manifestCommit],
      role,
      createdAs: (l[LABEL.role] as DeployRole) ?? 'stable',
      container: name,
      containerId: c.Id,
      image: l[LABEL.image],
      modelMode: (l[LABEL.modelMode] as ModelMode) ?? 'mount',
      created: l[LABEL.created],
      state: c.State,
      running,
      url: role === 'stable' && running && gateway?.running ? gateway.url : undefined,
      directUrl: running && ip ? `http://${ip}:${SERVE_PORT}` : undefined,
    });
  }
  // Start/finish times are not in the list answer; the rollback order needs them.
  await Promise.all(
    out.map(async (d) => {
      const info = (await docker.getContainer(d.containerId).inspect().catch(() => undefined)) as { State?: { StartedAt?: string; FinishedAt?: string } } | undefined;
      d.startedAt = info?.State?.StartedAt;
      d.finishedAt = info?.State?.FinishedAt;
    }),
  );
  return out.sort((a, b) => (a.model !== b.model ? (a.model < b.model ? -1 : 1) : a.created < b.created ? -1 : 1));
}

/**
 * The admin token of a deployed version's runtime, read from its container configuration (undefined for a
 * container created before versions had one). Never part of `Deployment`: `deploy status --json` prints those.
 */
export async function readAdminToken(docker: Docker, containerId: string): Promise<string | undefined> {
  const info = (await docker.getContainer(containerId).inspect()) as { Config?: { Env?: string[] | null } };
  const entry = (info.Config?.Env ?? []).find((e) => e.startsWith(`${ADMIN_TOKEN_ENV}=`));
  return entry ? entry.slice(ADMIN_TOKEN_ENV.length + 1) || undefined : undefined;
}

export async function listGateways(docker: Docker, model?: string): Promise<Gateway[]> {
  const list = await listByKind(docker, 'gateway', model);
  return list.map((c) => {
    const port = c.Ports?.find((p) => p.PrivatePort === SERVE_PORT && p.PublicPort)?.PublicPort;
    return {
      model: c.Labels[LABEL.model],
      container: c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12),
      containerId: c.Id,
      target: c.Labels[LABEL.target],
      running: c.State === 'running',
      hostPort: port,
      url: port ? `http://127.0.0.1:${port}` : undefined,
    };
  });
}

async function listByKind(docker: Docker, kind: string, model?: string): Promise<ContainerInfo[]> {
  return (await docker.listContainers({ all: true, filters: managedFilter(model, kind) })) as unknown as ContainerInfo[];
}

/** Whose output `deploy logs` shows: the given version, else the stable one, else the newest. */
export async function deploymentForLogs(model: string, version?: string): Promise<Deployment> {
  const list = await listDeployments({ model });
  const d = version ? list.find((x) => x.version === version) : (list.find((x) => x.role === 'stable') ?? list[list.length - 1]);
  if (!d) throw new UsageError(`no deployment of ${model}${version ? `@${version}` : ''}`, '`sovereign deploy status` lists what is deployed');
  return d;
}
