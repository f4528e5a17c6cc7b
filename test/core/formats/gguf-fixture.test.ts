import * as assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Llama, LlamaModel } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { CHATML_TEMPLATE, writeTinyLlama, type TinyLlamaInfo, type TinyLlamaOptions } from '../../fixtures/gguf/tiny-llama';

// The generated tiny llama, loaded by the REAL node-llama-cpp: other suites rely on its exact greedy output.
describe('tiny llama GGUF fixture (real node-llama-cpp)', function () {
  this.timeout(60_000);
  let dir: string;
  let llama: Llama;
  let nlc: typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-gguf-fixture-'));
    // ESM-only package: a dynamic import from CommonJS. Never build or download llama.cpp in a test.
    nlc = await import('node-llama-cpp');
    llama = await nlc.getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: nlc.LlamaLogLevel.error });
  });

  after(async () => {
    await llama?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  async function load(file: string, options: TinyLlamaOptions): Promise<{ info: TinyLlamaInfo; model: LlamaModel }> {
    const info = await writeTinyLlama(join(dir, file), options);
    const model = await llama.loadModel({ modelPath: info.path });
    return { info, model };
  }

  async function complete(model: LlamaModel, run: (c: InstanceType<typeof nlc.LlamaCompletion>) => Promise<string>): Promise<string> {
    // 1 thread: the default (4) collapses generation on a 2-core machine.
    const context = await model.createContext({ contextSize: 256, threads: 1 });
    try {
      return await run(new nlc.LlamaCompletion({ contextSequence: context.getSequence() }));
    } finally {
      await context.dispose();
    }
  }

  for (const weights of ['F32', 'F16', 'Q8_0'] as const) {
    describe(`${weights} weights`, () => {
      let info: TinyLlamaInfo;
      let model: LlamaModel;
      before(async () => ({ info, model } = await load(`tiny-${weights}.gguf`, { weights })));
      after(async () => model?.dispose());

      it('tokenizes plain text exactly as the fixture predicts (one token per character, bytes as fallback)', () => {
        for (const text of ['Hello world', 'x = y + 1;', 'naïve Ωμέγα', 'tab\tand 😀']) {
          assert.deepEqual(model.tokenize(text), info.tokenize(text), text);
        }
        assert.equal(model.tokens.bos, info.ids.bos);
        assert.equal(model.tokens.eos, info.ids.eos);
      });

      it('generates the predicted greedy continuation', async () => {
        const cases: Array<[string, number]> = [['Hello', 10], ['Hello z', 12], ['{', 4], ['tab\t', 3], ['', 5]];
        for (const [prompt, maxTokens] of cases) {
          const text = await complete(model, (c) => c.generateCompletion(prompt, { maxTokens }));
          assert.equal(text, info.expectedCompletion(prompt, maxTokens), `prompt ${JSON.stringify(prompt)}`);
        }
        assert.equal(info.expectedCompletion('Hello', 10), 'pqrstuvwxy');
        assert.equal(info.expectedCompletion('{', 4), '|}~ ');
      });

      it('stops with EOS after the last character of the vocabulary', async () => {
        const last = info.tokens[info.textOrder.at(-2)!];
        const result = await complete(model, async (c) => {
          const r = await c.generateCompletionWithMeta(`abc ${last}`, { maxTokens: 20 });
          assert.equal(r.metadata.stopReason, 'eogToken');
          return r.response;
        });
        assert.equal(result, info.tokens[info.textOrder.at(-1)!]);
        assert.equal(result, info.expectedCompletion(`abc ${last}`, 20));
      });

      it('fills in the middle through the FIM tokens', async () => {
        const text = await complete(model, async (c) => {
          assert.equal(c.infillSupported, true);
          return c.generateInfillCompletion('function add(a, b) {\n  return ', ';\n}\n', { maxTokens: 6 });
        });
        assert.equal(text, info.expectedInfill('', '', 6));
        assert.equal(text, 'abcdef');
      });
    });
  }

  it('without FIM keys or texts, node-llama-cpp refuses infill', async () => {
    const { model } = await load('tiny-nofim.gguf', { fim: false });
    try {
      await complete(model, async (c) => {
        assert.equal(c.infillSupported, false);
        await assert.rejects(c.generateInfillCompletion('a', 'b', { maxTokens: 2 }), /Infill completions are not supported/);
        return '';
      });
    } finally {
      await model.dispose();
    }
  });

  it('carries an optional ChatML chat template that node-llama-cpp reads back and chats with', async () => {
    const { info, model } = await load('tiny-chat.gguf', { chatTemplate: true, f16: true });
    try {
      assert.equal(info.chatTemplate, CHATML_TEMPLATE);
      assert.equal(model.fileInfo.metadata.tokenizer.chat_template, CHATML_TEMPLATE);
      assert.equal(model.fileInfo.metadata.general.architecture, 'llama');
      // One token per character: keep the system prompt empty (the default one needs ~400 tokens).
      const context = await model.createContext({ contextSize: 512, threads: 1 });
      try {
        const session = new nlc.LlamaChatSession({ contextSequence: context.getSequence(), systemPrompt: '' });
        assert.equal(session.chatWrapper.wrapperName, 'ChatML');
        const answer = await session.prompt('Hello there', { maxTokens: 8 });
        assert.equal(answer, info.expectedChatResponse(8));
        assert.equal(answer, 'abcdefgh');
      } finally {
        await context.dispose();
      }
    } finally {
      await model.dispose();
    }
  });

  it('is byte-identical across builds (deterministic weights)', async () => {
    const a = await writeTinyLlama(join(dir, 'a.gguf'));
    const b = await writeTinyLlama(join(dir, 'b.gguf'));
    const { readFile } = await import('node:fs/promises');
    assert.ok((await readFile(a.path)).equals(await readFile(b.path)));
    assert.equal(a.vocabSize, 602);
  });
});
