import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitModel } from '../../../src/core/bench/fit';
import { writeRandomLlama, type RandomLlamaOptions } from '../../fixtures/gguf/random-llama';
import { runCli } from '../../helpers/cli';
import { measureEngine } from './fit-measure';

/** Generated llama shapes (F16) from 0.2 MB to 150 MB, with and without grouped-query attention, at two contexts each. */
const SHAPES: (Omit<RandomLlamaOptions, 'seed' | 'scale' | 'weightType'> & { contexts: number[] })[] = [
  { name: 'fit-a', embd: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, contextLength: 2048, contexts: [256, 2048] },
  { name: 'fit-b', embd: 256, layers: 4, heads: 4, ffn: 688, contextLength: 2048, contexts: [512, 2048] },
  { name: 'fit-c', embd: 512, layers: 8, heads: 8, kvHeads: 2, ffn: 1376, contextLength: 4096, contexts: [1024, 4096] },
  { name: 'fit-d', embd: 1024, layers: 6, heads: 16, ffn: 2816, contextLength: 8192, contexts: [2048, 8192] },
];

describe('sovereign fit against what the engine really uses (real llama.cpp, peak RSS of the engine process)', function () {
  this.timeout(300_000);
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'sovereign-fit-measured-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('the estimate is within 15% of the measured peak RSS on every shape and context', async () => {
    const rows: string[] = [];
    const errors: number[] = [];
    for (const shape of SHAPES) {
      const path = join(dir, `${shape.name}.gguf`);
      await writeRandomLlama(path, { ...shape, seed: 1, scale: 0.1, weightType: 'F16' });
      for (const ctx of shape.contexts) {
        const measured = await measureEngine(path, ctx);
        const estimate = await fitModel(path, ctx);
        const error = (estimate.memory.totalBytes - measured.peakRssBytes) / measured.peakRssBytes;
        errors.push(error);
        rows.push(`${shape.name} ctx ${ctx}: measured ${(measured.peakRssBytes / 2 ** 20).toFixed(1)} MiB, estimated ${(estimate.memory.totalBytes / 2 ** 20).toFixed(1)} MiB (${(error * 100).toFixed(1)}%)`);
      }
    }
    console.log(`      ${rows.join('\n      ')}`);
    for (const [i, e] of errors.entries()) assert.ok(Math.abs(e) <= 0.15, rows[i]);
  });

  it('warns when the context asked for exceeds the trained context', async () => {
    const path = join(dir, 'warn.gguf');
    await writeRandomLlama(path, { ...SHAPES[0], contextLength: 1024, seed: 1, scale: 0.1, weightType: 'F16' });
    const report = await fitModel(path, 4096);
    assert.equal(report.warnings.length, 1);
    assert.match(report.warnings[0], /4096 tokens exceeds the 1024 the model was trained for/);
    assert.deepEqual((await fitModel(path, 1024)).warnings, []);
    const r = await runCli(['fit', path, '--context', '4096']);
    assert.match(r.stderr, /warning: a context of 4096 tokens exceeds the 1024/);
  });

  it('without flash attention the attention scores of a micro-batch grow with the context', async () => {
    const path = join(dir, `${SHAPES[1].name}.gguf`);
    const fa = await fitModel(path, 2048);
    const noFa = await fitModel(path, 2048, { flashAttention: false });
    assert.equal(noFa.memory.totalBytes - fa.memory.totalBytes, 512 * 2048 * SHAPES[1].heads * 4);
  });
});
