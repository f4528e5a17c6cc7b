import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitModel } from '../../../src/core/bench/fit';
import { latencySummary, meanStd, percentile } from '../../../src/core/bench/stats';
import { TINY_LLAMA_SHAPE, writeTinyLlama } from '../../fixtures/gguf/tiny-llama';

describe('fit and statistics', function () {
  this.timeout(30000);
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'sovereign-fit-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('sizes the KV cache from the GGUF facts and caps the largest context at the training context', async () => {
    const info = await writeTinyLlama(join(dir, 'tiny.gguf'));
    const r = await fitModel(info.path, 1024);
    const S = TINY_LLAMA_SHAPE;
    const perToken = 2 * S.nLayer * S.nHeadKv * (S.nEmbd / S.nHead) * 2;
    assert.equal(r.memory.kvBytesPerToken, perToken);
    assert.equal(r.memory.kvCacheBytes, perToken * 1024);
    assert.equal(r.memory.weightsBytes, info.size);
    assert.equal(r.memory.totalBytes, r.memory.weightsBytes + r.memory.kvCacheBytes + r.memory.computeBytes);
    assert.equal(r.fits.ram, r.memory.totalBytes <= r.available.ramBytes);
    assert.equal(r.maxContext?.ram, S.contextLength);
  });

  it('refuses an invalid model instead of guessing', async () => {
    const bad = await writeTinyLlama(join(dir, 'bad.gguf'), { omitKeys: ['llama.block_count'] });
    await assert.rejects(fitModel(bad.path, 512), /rule gguf\//);
  });

  it('computes mean ± sample stddev and interpolated percentiles', () => {
    assert.deepEqual(meanStd([2, 4, 4, 4, 5, 5, 7, 9]), { mean: 5, stddev: Math.sqrt(32 / 7), n: 8 });
    assert.equal(percentile([10, 20, 30, 40], 50), 25);
    const s = latencySummary([5, 1, 3]);
    assert.equal(s.p50, 3);
    assert.equal(s.max, 5);
  });
});
