import { execFile } from 'node:child_process';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { availableParallelism } from 'node:os';
import { defaultThreads, physicalCores } from '../engines/threads';

export interface GpuFacts {
  name: string;
  memoryTotalBytes: number;
  memoryFreeBytes: number;
}

export interface MachineFacts {
  os: string;
  arch: string;
  cpuModel: string;
  logicalCores: number;
  physicalCores: number;
  availableParallelism: number;
  defaultThreads: number;
  memoryBytes: number;
  gpus: GpuFacts[];
  node: string;
}

/** NVIDIA GPUs through nvidia-smi when it is installed; none otherwise. */
export function nvidiaGpus(): Promise<GpuFacts[]> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['--query-gpu=name,memory.total,memory.free', '--format=csv,noheader,nounits'], { timeout: 5000 }, (err, stdout) => {
      if (err) return resolve([]);
      const gpus = stdout.trim().split('\n').filter(Boolean).map((line) => {
        const [name, total, free] = line.split(',').map((s) => s.trim());
        return { name, memoryTotalBytes: Number(total) * 1024 * 1024, memoryFreeBytes: Number(free) * 1024 * 1024 };
      });
      resolve(gpus);
    });
  });
}

export async function machineFacts(): Promise<MachineFacts> {
  const list = cpus();
  return {
    os: `${platform()} ${release()}`,
    arch: arch(),
    cpuModel: list[0]?.model?.trim() ?? 'unknown',
    logicalCores: list.length,
    physicalCores: physicalCores(),
    availableParallelism: availableParallelism(),
    defaultThreads: defaultThreads(),
    memoryBytes: totalmem(),
    gpus: await nvidiaGpus(),
    node: process.version,
  };
}
