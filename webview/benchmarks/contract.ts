/** The benchmark view's message contract, and the stored report shape it reads. */
import type { ViewContract } from '../shared/ipc';

export interface MeanStd {
  mean: number;
  stddev: number;
  n: number;
}

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  mean?: number;
  max?: number;
  n?: number;
}

/**
 * A `sovereign bench --save` report (schema `sovereign.bench/v1`, docs/bench.md), read leniently: files are
 * committed and hand-editable, so every result may be missing and the view shows what is there.
 */
export interface StoredBenchReport {
  schema: string;
  createdAt: string;
  target?: { kind?: string; name?: string; format?: string; path?: string; url?: string; sizeBytes?: number };
  machine?: { os?: string; arch?: string; cpuModel?: string; logicalCores?: number; physicalCores?: number; memoryBytes?: number; gpus?: { name?: string }[]; node?: string };
  engine?: { threads?: number; contextSize?: number; gpu?: string | false; gpuLayers?: number };
  settings?: { repetitions?: number; warmup?: number; promptTokens?: number; generateTokens?: number; concurrency?: number; durationS?: number };
  results?: {
    coldLoadMs?: number;
    modelLoadMs?: number;
    validationMs?: number;
    ttftMs?: MeanStd;
    pp?: { tokens: number; tokensPerSecond: MeanStd };
    tg?: { tokens: number; tokensPerSecond: MeanStd };
    predict?: { batch: number; latencyMs: Latency };
    load?: { clients: number; requests: number; errors: number; errorRate: number; requestsPerSecond: number; completionTokensPerSecond: number; latencyMs: Latency };
    engineRssBytes?: number;
  };
}

/** One stored run: `.sovereign/benchmarks/NAME/VERSION/<file>.json`. */
export interface BenchmarkRun {
  /** Repository-relative path: the run's identity. */
  id: string;
  model: string;
  version: string;
  createdAt: string;
  report: StoredBenchReport;
}

export interface BenchmarkFileProblem {
  file: string;
  message: string;
}

export type BenchmarksState =
  | { kind: 'runs'; runs: BenchmarkRun[]; problems: BenchmarkFileProblem[] }
  | { kind: 'empty'; message: string; problems: BenchmarkFileProblem[] }
  | { kind: 'loading' };

export interface BenchmarksContract extends ViewContract {
  host: {
    /** Saves through a save dialog; resolves to the saved path, or undefined when cancelled. */
    saveFile: (params: { suggestedName: string; kind: 'png' | 'svg' | 'csv'; text?: string; base64?: string }) => string | undefined;
    openFile: (params: { id: string }) => boolean;
    refresh: (params: undefined) => void;
  };
  toWebview: { state: BenchmarksState };
  toHost: Record<string, never>;
}

export interface BenchmarksViewState {
  selected: string[];
  mode: 'runs' | 'latest-per-version';
}
