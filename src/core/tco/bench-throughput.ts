/**
 * The throughput `sovereign tco` prices: read from the workspace's own stored benchmark results
 * (`.sovereign/benchmarks/NAME/VERSION/*.json`, written by `sovereign bench --save`), newest first.
 * Output tokens/s: the load test's aggregate completion tokens/s when the run had one (concurrent clients),
 * else the single-stream tg mean. Input tokens/s: the pp mean.
 */
import type { BenchmarkRun } from '../../../webview/benchmarks/contract';
import type { BenchReport } from '../bench/bench';
import { UsageError } from '../util/errors';
import { benchmarkRuns } from '../worker/webview-methods';
import type { Throughput } from './tco';

const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'unnamed';

export async function throughputFromBenchmarks(root: string, name: string, version: string): Promise<Throughput & { file: string; underLoad: boolean }> {
  return throughputFromRuns((await benchmarkRuns(root)).runs, name, version);
}

/** The same from runs already read (the extension reads them in its core worker). */
export function throughputFromRuns(runs: readonly BenchmarkRun[], name: string, version: string): Throughput & { file: string; underLoad: boolean } {
  const mine = runs.filter((r) => r.model === safe(name) && r.version === safe(version)).reverse();
  for (const run of mine) {
    const results = (run.report as unknown as BenchReport).results;
    const pp = results?.pp?.tokensPerSecond?.mean;
    const tg = results?.tg?.tokensPerSecond?.mean;
    const load = results?.load;
    const loaded = load && load.completionTokensPerSecond > 0 && load.errorRate < 0.5 ? load.completionTokensPerSecond : undefined;
    const output = loaded ?? tg;
    if (typeof pp === 'number' && pp > 0 && typeof output === 'number' && output > 0) {
      return {
        inputTokensPerSecond: pp,
        outputTokensPerSecond: output,
        source: `${run.id} (${loaded !== undefined ? `load test, ${load!.clients} clients` : 'single stream: no load test in this run'})`,
        file: run.id,
        underLoad: loaded !== undefined,
      };
    }
  }
  throw new UsageError(
    mine.length ? `no stored benchmark of ${name}@${version} has pp and tg results` : `no stored benchmark results for ${name}@${version} under .sovereign/benchmarks/`,
    `run \`sovereign bench .sovereign/models/${name}/${version}.yaml --save --concurrency 4\` first, or give --output-tokens-per-second and --input-tokens-per-second`,
  );
}
