import { stat } from 'node:fs/promises';

/** One running or stopped deployment, with the isolation settings an auditor checks. */
export interface DeploymentEvidence {
  id: string;
  name: string;
  state: string;
  image: string;
  /** Every `sovereign.*` label: model, version, digest, deployment name, stage. */
  labels: Record<string, string>;
  isolation: {
    networkMode?: string;
    readOnlyRootfs?: boolean;
    privileged?: boolean;
    capDrop?: string[];
    capAdd?: string[];
    securityOpt?: string[];
    memoryBytes?: number;
    nanoCpus?: number;
    pidsLimit?: number;
    user?: string;
    /** host:port bindings; loopback-only bindings are what the product creates. */
    publishedPorts: string[];
  };
}

export interface DeploymentsEvidence {
  /** docker: listed from the engine; hook: from a registered lister; unavailable: none could be listed. */
  source: 'docker' | 'hook' | 'unavailable';
  reason?: string;
  items: DeploymentEvidence[];
}

export type DeploymentLister = () => Promise<DeploymentEvidence[]>;

let registered: DeploymentLister | undefined;

/**
 * HOOK for the deployment feature: once `listDeployments()` exists in src/core/deploy, register it here
 * (or call it from the evidence command) and the bundle uses it instead of reading labels itself.
 */
export function registerDeploymentLister(lister: DeploymentLister | undefined): void {
  registered = lister;
}

/** Deployments from the registered lister, else containers labelled `sovereign.*` on a reachable engine. */
export async function collectDeployments(): Promise<DeploymentsEvidence> {
  if (registered) {
    try {
      return { source: 'hook', items: await registered() };
    } catch (err) {
      return { source: 'unavailable', reason: `the deployment lister failed: ${(err as Error).message}`, items: [] };
    }
  }
  return listLabelledContainers();
}

/**
 * The local Docker engine, over its unix socket only (DOCKER_HOST=unix://... or /var/run/docker.sock): a
 * remote engine would be an outbound connection the egress guard has not approved.
 */
export async function listLabelledContainers(socketPath = dockerSocketPath()): Promise<DeploymentsEvidence> {
  if (!socketPath) {
    return { source: 'unavailable', reason: `DOCKER_HOST=${process.env.DOCKER_HOST} is not a unix socket; only the local engine is queried`, items: [] };
  }
  try {
    if (!(await stat(socketPath)).isSocket()) throw new Error('not a socket');
  } catch {
    return { source: 'unavailable', reason: `no Docker engine socket at ${socketPath}: deployments unknown`, items: [] };
  }
  try {
    const { default: Docker } = await import('dockerode');
    const docker = new Docker({ socketPath, timeout: 5000 });
    const containers = await docker.listContainers({ all: true });
    const ours = containers.filter((c) => Object.keys(c.Labels ?? {}).some((k) => k.startsWith('sovereign.')));
    const items: DeploymentEvidence[] = [];
    for (const c of ours) {
      const info = await docker.getContainer(c.Id).inspect();
      const hc = info.HostConfig ?? {};
      const ports = Object.entries(hc.PortBindings ?? {}).flatMap(([containerPort, bindings]) =>
        ((bindings as Array<{ HostIp?: string; HostPort?: string }> | null) ?? []).map((b) => `${b.HostIp || '0.0.0.0'}:${b.HostPort || '(auto)'}->${containerPort}`),
      );
      items.push({
        id: c.Id.slice(0, 12),
        name: (c.Names?.[0] ?? '').replace(/^\//, ''),
        state: c.State,
        image: c.Image,
        labels: Object.fromEntries(Object.entries(c.Labels ?? {}).filter(([k]) => k.startsWith('sovereign.'))),
        isolation: {
          networkMode: hc.NetworkMode,
          readOnlyRootfs: hc.ReadonlyRootfs,
          privileged: hc.Privileged,
          capDrop: hc.CapDrop ?? undefined,
          capAdd: hc.CapAdd ?? undefined,
          securityOpt: hc.SecurityOpt ?? undefined,
          memoryBytes: hc.Memory || undefined,
          nanoCpus: hc.NanoCpus || undefined,
          pidsLimit: hc.PidsLimit || undefined,
          user: info.Config?.User || undefined,
          publishedPorts: ports,
        },
      });
    }
    return { source: 'docker', items };
  } catch (err) {
    return { source: 'unavailable', reason: `the Docker engine at ${socketPath} did not answer: ${(err as Error).message}`, items: [] };
  }
}

function dockerSocketPath(): string | undefined {
  const host = process.env.DOCKER_HOST;
  if (!host) return '/var/run/docker.sock';
  return host.startsWith('unix://') ? host.slice('unix://'.length) : undefined;
}
