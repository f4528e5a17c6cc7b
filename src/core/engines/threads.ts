import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { UsageError } from '../util/errors';

/**
 * How many CPU threads an engine uses. llama.cpp's generation is memory-bound and its worker threads spin:
 * more threads than cores (or threads that fight the host process for the same cores) collapse throughput
 * (measured on 2 cores: 4 threads ~2 tok/s, 1 thread ~255 tok/s on a 46 MB model). So the default is the
 * physical cores we may actually use (affinity and cgroup quota), minus one on small machines so the host
 * process (extension host, HTTP server) keeps a core; at least 1. `SOVEREIGN_THREADS` or an explicit
 * option overrides it.
 */
export function defaultThreads(): number {
  const usable = Math.min(physicalCores(), availableParallelism(), cgroupCpuLimit() ?? Infinity);
  const reserved = usable <= 4 ? 1 : 0;
  return Math.max(1, Math.floor(usable) - reserved);
}

/** An explicit value, else SOVEREIGN_THREADS, else the default. */
export function resolveThreads(explicit?: number, env: NodeJS.ProcessEnv = process.env): number {
  if (explicit !== undefined) return checkThreads(explicit, '--threads');
  const fromEnv = env.SOVEREIGN_THREADS;
  if (fromEnv !== undefined && fromEnv !== '') return checkThreads(Number(fromEnv), 'SOVEREIGN_THREADS');
  return defaultThreads();
}

function checkThreads(n: number, source: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new UsageError(`${source} must be a whole number of threads from 1 to 1024, got ${n}`, 'omit it to use the physical cores');
  }
  return n;
}

/** Distinct (physical id, core id) pairs in /proc/cpuinfo; the logical CPU count elsewhere. */
export function physicalCores(): number {
  const logical = cpus().length || 1;
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const cores = new Set<string>();
    let physical = '0';
    for (const line of text.split('\n')) {
      const [key, value] = line.split(':').map((s) => s?.trim());
      if (key === 'physical id') physical = value;
      else if (key === 'core id') cores.add(`${physical}:${value}`);
    }
    return cores.size > 0 ? Math.min(cores.size, logical) : logical;
  } catch {
    return logical;
  }
}

/** The CPU quota of this cgroup in cores (v2 cpu.max, v1 cfs quota), undefined when unlimited or unknown. */
export function cgroupCpuLimit(): number | undefined {
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (quota !== 'max' && Number(period) > 0) return Math.max(1, Number(quota) / Number(period));
    return undefined;
  } catch {
    // cgroup v1
  }
  try {
    const quota = Number(readFileSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us', 'utf8'));
    const period = Number(readFileSync('/sys/fs/cgroup/cpu/cpu.cfs_period_us', 'utf8'));
    return quota > 0 && period > 0 ? Math.max(1, quota / period) : undefined;
  } catch {
    return undefined;
  }
}
