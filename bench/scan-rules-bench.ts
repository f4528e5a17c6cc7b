/**
 * Throughput of the malware-rule stage (the default YARA pack through YARA-X, in overlapping chunks) on a
 * 64 MiB file of float32 weights, against sha256 of the same file read the same way, in the same run (the
 * ratio holds up on a loaded machine; the MB/s figure does not). Also the first-scan cost: loading the
 * native engine and compiling the pack.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource } from '../src/core/formats/source';
import { loadRuleStage, RULE_CHUNK } from '../src/core/scan/rules';
import { median, round, runIfMain } from './util';

const BYTES = 64 << 20;

export async function run(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'sovereign-rules-bench-'));
  const file = join(dir, 'weights.bin');
  const values = new Float32Array(BYTES / 4);
  let seed = 42;
  for (let i = 0; i < values.length; i++) {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    values[i] = (seed / 2 ** 32 - 0.5) * 0.2;
  }
  await writeFile(file, Buffer.from(values.buffer));
  try {
    const t0 = performance.now();
    const stage = await loadRuleStage();
    const compileMs = performance.now() - t0;
    const rules: number[] = [];
    const hash: number[] = [];
    for (let i = 0; i < 3; i++) {
      const source = await FileSource.open(file);
      try {
        let t = performance.now();
        const findings = await stage.scan(source, { format: 'unknown' });
        rules.push(performance.now() - t);
        if (findings.length) throw new Error(`the benchmark weights matched ${findings.map((f) => f.rule).join(', ')}`);
        t = performance.now();
        const h = createHash('sha256');
        for (let off = 0; off < source.size; off += RULE_CHUNK) h.update(await source.readAt(off, RULE_CHUNK));
        h.digest();
        hash.push(performance.now() - t);
      } finally {
        await source.close();
      }
    }
    const rulesMBps = BYTES / 1e6 / (median(rules) / 1000);
    const sha256MBps = BYTES / 1e6 / (median(hash) / 1000);
    return {
      fileBytes: BYTES,
      firstLoadAndCompileMs: round(compileMs, 1),
      rulesMs: round(median(rules), 1),
      rulesMBps: round(rulesMBps, 1),
      sha256MBps: round(sha256MBps, 1),
      ratioVsSha256: round(rulesMBps / sha256MBps),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

runIfMain(module, run);
