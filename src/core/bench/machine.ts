import { arch, cpus, platform, release, totalmem } from 'node:os';
import { availableParallelism } from 'node:os';
import { defaultThreads, physicalCores } from '../engines/threads';
import { queryNvidiaSmi } from '../engines/gpu';

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
  return queryNvidiaSmi();
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
