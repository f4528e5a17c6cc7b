import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufEngine } from '../../../src/core/engines/gguf/gguf-engine';
import { validateModelFile } from '../../../src/core/engines/validate';
import { buildFimPrompt, getFimTemplate } from '../../../src/core/fim/templates';
import { writeTinyLlama } from '../../fixtures/gguf/tiny-llama';

// In process (no child): the file is validated first, and this test checks the prompt path, not supervision.
describe('GGUF infill through a family template (model without FIM tokens)', function () {
  this.timeout(60000);
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'sovereign-fim-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('detects the family by name and fills in the middle with its exact prompt', async () => {
    const info = await writeTinyLlama(join(dir, 'qwen.gguf'), { fim: false, name: 'Qwen2.5-Coder-tiny' });
    await validateModelFile(info.path);
    const engine = await GgufEngine.load(info.path, 1, { contextSize: 512 });
    try {
      assert.equal(engine.description.infill, 'template');
      assert.equal(engine.description.fimFamily, 'qwen2.5-coder');
      const controller = new AbortController();
      const result = await engine.infill({ prefix: 'def f(', suffix: '):', maxTokens: 6 }, controller.signal, () => undefined);
      const prompt = buildFimPrompt(getFimTemplate('qwen2.5-coder')!, { prefix: 'def f(', suffix: '):' });
      assert.equal(result.text, info.expectedCompletion(prompt, 6));
    } finally {
      await engine.dispose();
    }
  });
});
