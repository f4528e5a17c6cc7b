/**
 * What the malware rules cost the load gate (validateModelFile) on a ~55 MB GGUF, against the same gate
 * without the rule stage, in the same run (the ratios hold up on a loaded machine; milliseconds do not):
 * - baseline: format reader + sha256 (the gate before the rules ran on loads);
 * - first cold: the first load in a process, with an empty verdict cache (engine load + pack compilation +
 *   rule scan): what `sovereign serve` pays the first time it sees a file;
 * - cold: an empty verdict cache, engine already compiled in the process (the rule scan itself);
 * - warm: the verdict is in the cache (same bytes, same pack): no rule scan.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateModelFile, type ValidateOptions } from '../src/core/engines/validate';
import { ruleVerdictStats } from '../src/core/scan/rule-verdicts';
import { writeRandomLlama } from '../test/fixtures/gguf/random-llama';
import { median, round, runIfMain } from './util';

const RUNS = 3;

export async function run(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'sovereign-load-gate-bench-'));
  const path = join(dir, 'model.gguf');
  await writeRandomLlama(path, { name: 'bench-llama-55m', embd: 512, layers: 8, heads: 8, ffn: 1536, contextLength: 2048, seed: 4242, scale: 0.08, weightType: 'F16' });
  try {
    const size = (await readFile(path)).length; // also brings the file into the page cache for every variant
    const time = async (rules: ValidateOptions['rules']): Promise<{ ms: number; cached?: boolean }> => {
      const t = performance.now();
      const model = await validateModelFile(path, { gate: null, rules });
      return { ms: performance.now() - t, cached: model.rules?.cached };
    };
    const baseline: number[] = [];
    const cold: number[] = [];
    const warm: number[] = [];
    let n = 0;
    const freshCache = (): string => join(dir, `cache-${n++}.json`);
    const scansBefore = ruleVerdictStats.scans;
    const first = await time({ cacheFile: freshCache() });
    if (first.cached !== false) throw new Error('the first load did not scan');
    for (let i = 0; i < RUNS; i++) {
      baseline.push((await time(null)).ms);
      const c = await time({ cacheFile: freshCache() });
      if (c.cached !== false) throw new Error('a cold load read a cached verdict');
      cold.push(c.ms);
    }
    const warmCache = freshCache();
    await time({ cacheFile: warmCache });
    for (let i = 0; i < RUNS; i++) {
      const w = await time({ cacheFile: warmCache });
      if (w.cached !== true) throw new Error('a warm load scanned');
      warm.push(w.ms);
    }
    const base = median(baseline);
    return {
      fileBytes: size,
      baselineMs: round(base, 1),
      firstColdMs: round(first.ms, 1),
      coldMs: round(median(cold), 1),
      warmMs: round(median(warm), 1),
      firstColdRatio: round(first.ms / base),
      coldRatio: round(median(cold) / base),
      warmRatio: round(median(warm) / base),
      ruleScans: ruleVerdictStats.scans - scansBefore,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

runIfMain(module, run);
