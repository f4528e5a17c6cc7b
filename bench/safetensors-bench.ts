import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectSafetensors } from '../src/core/formats/safetensors';
import { validSafetensorsSpec, writeSafetensors, writeSparseSafetensors } from '../test/fixtures/safetensors/writer';
import { median, round } from './util';

const GIB = 2 ** 30;
const REPS = 25;
const TENSORS = 2000;

/**
 * safetensors header parse time (open + read length + read header + validate) for: a tiny file; 2,000
 * tensors with 2 bytes of data each; the same 2,000-tensor layout over 4 GiB and 64 GiB of (sparse)
 * data. The reader never touches tensor data, so the three 2,000-tensor files should take the same time:
 * `ratio64GiBvsTiny` near 1.0 is the claim. Files are sparse, so they cost no disk.
 */
export async function run(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'sovereign-safetensors-bench-'));
  try {
    const small = join(dir, 'small.safetensors');
    await writeSafetensors(small, validSafetensorsSpec(), { metadata: { format: 'pt' } });
    const files: Record<string, string> = { small };
    for (const [name, bytes] of [['tinyData', TENSORS * 2], ['data4GiB', 4 * GIB], ['data64GiB', 64 * GIB]] as const) {
      files[name] = join(dir, `${name}.safetensors`);
      await writeSparseSafetensors(files[name], TENSORS, bytes);
    }
    // Round-robin over the files, so machine load (2 shared cores) falls on all of them alike.
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(files).map((k) => [k, []]));
    const tensors: Record<string, number> = {};
    for (let i = 0; i < REPS + 2; i++) {
      for (const [name, path] of Object.entries(files)) {
        const t0 = performance.now();
        const r = await inspectSafetensors(path);
        const ms = performance.now() - t0;
        if (r.findings.length > 0) throw new Error(`${name}: unexpected findings ${JSON.stringify(r.findings)}`);
        tensors[name] = r.facts!.tensorCount;
        if (i >= 2) times[name].push(ms); // two warm-up rounds
      }
    }
    const results: Record<string, unknown> = {};
    const medians: Record<string, number> = {};
    for (const [name, path] of Object.entries(files)) {
      medians[name] = median(times[name]);
      results[name] = { fileBytes: (await stat(path)).size, tensors: tensors[name], medianMs: round(medians[name]), minMs: round(Math.min(...times[name])), maxMs: round(Math.max(...times[name])) };
    }
    return {
      reps: REPS,
      ...results,
      ratio4GiBvsTiny: round(medians.data4GiB / medians.tinyData, 2),
      ratio64GiBvsTiny: round(medians.data64GiB / medians.tinyData, 2),
      // Minimums are the least disturbed by other load on the machine.
      minRatio64GiBvsTiny: round(Math.min(...times.data64GiB) / Math.min(...times.tinyData), 2),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
