import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type RunningServer } from '../../../src/core/serve/start';
import { writeRandomLlama, type RandomLlamaOptions } from '../../fixtures/gguf/random-llama';

/**
 * The random llama with `fim: true` (the ghost-text benchmark's 55 MB model, here at a small size): llama.cpp
 * finds its FIM tokens, and `/infill` through the real `sovereign serve` generates every token asked for (the
 * control tokens never win); without `fim` the same model cannot do infill.
 */
describe('random-llama fixture with FIM tokens, served for /infill', function () {
  this.timeout(60_000);
  let dir: string;
  const shape: RandomLlamaOptions = { name: 'random-fim', embd: 64, layers: 2, heads: 4, ffn: 128, contextLength: 512, seed: 7, scale: 0.08, weightType: 'F16', wordStartTokens: true, outputWithoutEos: true };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-random-fim-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function infill(server: RunningServer): Promise<{ status: number; body: { content?: string; tokens_predicted?: number; stop_type?: string } }> {
    const res = await fetch(`${server.url}/infill`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input_prefix: 'abc', input_suffix: 'xyz', n_predict: 12 }) });
    return { status: res.status, body: (await res.json()) as { content?: string; tokens_predicted?: number; stop_type?: string } };
  }

  it('with fim: /infill answers with the 12 tokens asked for', async () => {
    const path = join(dir, 'fim.gguf');
    await writeRandomLlama(path, { ...shape, fim: true });
    const server = await startServe({ model: path, port: 0, parallel: 1, load: { threads: 1, contextSize: 512 } });
    try {
      const r = await infill(server);
      assert.equal(r.status, 200);
      assert.equal(r.body.tokens_predicted, 12);
      assert.equal(r.body.stop_type, 'limit');
      assert.ok((r.body.content ?? '').length > 0);
    } finally {
      await server.close();
    }
  });

  it('without fim: the same model is refused for /infill', async () => {
    const path = join(dir, 'plain.gguf');
    await writeRandomLlama(path, shape);
    const server = await startServe({ model: path, port: 0, parallel: 1, load: { threads: 1, contextSize: 512 } });
    try {
      const r = await infill(server);
      assert.notEqual(r.status, 200, JSON.stringify(r.body));
    } finally {
      await server.close();
    }
  });
});
