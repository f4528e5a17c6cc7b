import { APP_UID } from './base-image';

/**
 * The isolation every deployment gets, in one place: the Docker containers and the exported Kubernetes
 * manifests are generated from these values, so the two cannot disagree.
 */
export interface ResourceLimits {
  memoryMb: number;
  cpus: number;
  pids: number;
}

export const ISOLATION = {
  uid: APP_UID,
  gid: APP_UID,
  readOnlyRootFilesystem: true,
  noNewPrivileges: true,
  capDrop: ['ALL'] as string[],
  /** Writable scratch only in memory, never executable. */
  tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=64m' } as Record<string, string>,
  tmpfsSizeMb: 64,
  init: true,
};

/** Memory: the weights (mapped) plus working memory, at least 512 MiB. One CPU, 256 processes. */
export function defaultLimits(modelBytes: number): ResourceLimits {
  return { memoryMb: Math.max(512, Math.ceil((modelBytes * 1.5) / 2 ** 20) + 384), cpus: 1, pids: 256 };
}

/** The gateway forwards bytes: a fixed small budget. */
export const GATEWAY_LIMITS: ResourceLimits = { memoryMb: 96, cpus: 0.5, pids: 32 };

export function hostConfigIsolation(limits: ResourceLimits): Record<string, unknown> {
  return {
    ReadonlyRootfs: ISOLATION.readOnlyRootFilesystem,
    SecurityOpt: ['no-new-privileges:true'],
    CapDrop: ISOLATION.capDrop,
    Tmpfs: ISOLATION.tmpfs,
    Init: ISOLATION.init,
    Memory: limits.memoryMb * 2 ** 20,
    MemorySwap: limits.memoryMb * 2 ** 20,
    NanoCpus: Math.round(limits.cpus * 1e9),
    PidsLimit: limits.pids,
    RestartPolicy: { Name: 'no' },
    LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
  };
}
