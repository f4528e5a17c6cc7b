import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { InfillBackend } from '../../../src/core/completion/backends/llama-server';
import { OpenAiBackend } from '../../../src/core/completion/backends/openai';
import { buildContext } from '../../../src/core/completion/context';
import { guardedTransport } from '../../../src/core/completion/http';
import { NoFimSupportError, type BackendRequest } from '../../../src/core/completion/types';
import { openTarget, postTimed } from '../../../src/core/bench/http';
import { writeRandomLlama } from '../../fixtures/gguf/random-llama';
import { writeTinyLlama, type TinyLlamaInfo } from '../../fixtures/gguf/tiny-llama';
import { nativeBuildsOf, requireLlamaServer, startLlamaServer, startSovereignServe, type RunningLlamaServer } from '../../helpers/llama-server';
import { tempDir } from '../../helpers/tmp';
import { withCursor } from './doc';

/**
 * The completion backends against the real peer: llama.cpp's own llama-server, built from the llama.cpp source
 * node-llama-cpp ships (scripts/llama-server/build.sh), serving the generated tiny llama whose greedy output is
 * known (each text token is followed by the next one in the vocabulary's order, whatever came before). The
 * scripted server in backends.test.ts stays for what a real server cannot be made to answer.
 */
describe('completion backends against a real llama-server (built from the bundled llama.cpp)', function () {
  this.timeout(120_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  let fim: RunningLlamaServer | undefined;
  let noFim: RunningLlamaServer | undefined;
  let info: TinyLlamaInfo;
  const transport = guardedTransport();

  before(async function () {
    const bin = requireLlamaServer(this);
    dir = await tempDir();
    info = await writeTinyLlama(join(dir.path, 'tiny-fim.gguf'));
    await writeTinyLlama(join(dir.path, 'tiny-nofim.gguf'), { fim: false });
    fim = await startLlamaServer(bin, info.path);
    noFim = await startLlamaServer(bin, join(dir.path, 'tiny-nofim.gguf'));
  });
  after(async () => {
    await fim?.stop();
    await noFim?.stop();
    await dir?.cleanup();
  });

  const request = (maxTokens: number): BackendRequest => {
    const { doc, pos } = withCursor('import os\ndef main():\n    pri|\n\nmain()\n');
    return { context: buildContext(doc, pos, [{ filename: 'util.py', text: 'def helper(): pass\n' }]), maxTokens, maxTimeMs: 5000, temperature: 0, stop: ['\n\n'] };
  };

  it('/infill: prefix, cursor line and suffix around the FIM tokens; the n_predict tokens and timings come back', async () => {
    const result = await new InfillBackend(fim!.url, transport).complete(request(6), new AbortController().signal);
    // The context ends with <|fim_middle|>: greedy decoding starts the middle at "a".
    assert.equal(result.text, info.expectedInfill('import os\ndef main():\n    pri', '\n\nmain()\n', 6));
    assert.equal(result.timings?.predictedTokens, 6);
    assert.ok((result.timings?.promptTokens ?? 0) > 0, 'prompt tokens reported');
    assert.ok((result.timings?.tokensPerSecond ?? 0) > 0, 'tokens/s reported');
  });

  it('/infill twice with the same prefix: the second request reuses the cached prompt', async () => {
    const backend = new InfillBackend(fim!.url, transport);
    await backend.complete(request(4), new AbortController().signal);
    const again = await backend.complete(request(4), new AbortController().signal);
    assert.equal(again.text, info.expectedInfill('import os\ndef main():\n    pri', '\n\nmain()\n', 4));
    // cache_prompt: only the tokens past the common prefix are evaluated again (at least the last one).
    assert.ok((again.timings?.promptTokens ?? Infinity) <= 2, `prompt tokens evaluated again: ${again.timings?.promptTokens}`);
  });

  it('/v1/completions: llama-server ignores `suffix` (a plain completion); the template mode sends the raw FIM prompt it completes', async () => {
    const plain = await new OpenAiBackend(fim!.url, 'tiny', transport).complete(request(5), new AbortController().signal);
    assert.equal(plain.text, info.expectedCompletion('import os\ndef main():\n    pri', 5), 'the prefix continued, as if no suffix had been sent');
    // The tiny model's FIM tokens are Qwen2.5-Coder's: the template of that family, parsed as special tokens.
    const result = await new OpenAiBackend(fim!.url, 'qwen2.5-coder-1.5b', transport, 'template').complete(request(5), new AbortController().signal);
    assert.equal(result.text, info.expectedInfill('', '', 5));
    assert.equal(result.timings?.predictedTokens, 5);
  });

  it('streaming /v1/completions: one SSE event per token, timed by the benchmark client, usage at the end', async () => {
    const target = await openTarget(fim!.url, undefined, 1);
    try {
      const t = await postTimed(target, '/v1/completions', { prompt: 'Hello', max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true } });
      assert.equal(t.status, 200, t.body);
      assert.ok(t.events >= 8, `events: ${t.events}`);
      assert.ok(t.firstEventMs !== undefined && t.lastTokenEventMs !== undefined && t.firstEventMs <= t.lastTokenEventMs);
      const text = t.body
        .split('data: ')
        .map((s) => s.trim())
        .filter((s) => s && s !== '[DONE]')
        .map((s) => (JSON.parse(s) as { choices?: { text?: string }[] }).choices?.[0]?.text ?? '')
        .join('');
      assert.equal(text, info.expectedCompletion('Hello', 8));
      assert.equal(t.usage?.completion_tokens, 8);
    } finally {
      target.close();
    }
  });

  it('`sovereign serve` answers /infill with the same tokens as llama-server on a model whose output depends on the context, on both llama.cpp builds', async function () {
    const bin = requireLlamaServer(this);
    const model = join(dir.path, 'random-fim.gguf');
    await writeRandomLlama(model, { name: 'peer-parity', embd: 512, layers: 8, heads: 8, ffn: 1536, contextLength: 2048, seed: 4242, scale: 0.08, weightType: 'F16', wordStartTokens: true, outputWithoutEos: true, fim: true });
    const peer = await startLlamaServer(bin, model);
    const prebuilt = await startSovereignServe(model, { extraArgs: ['--llama-cpp', 'prebuilt'] });
    // The CI's llama-server build is a native build (build.sh runs `sovereign engine build`): serve runs on it.
    const native = await startSovereignServe(model, { extraArgs: ['--llama-cpp', 'native'], env: { SOVEREIGN_LLAMA_CPP_BUILDS: nativeBuildsOf(bin) } });
    try {
      for (const [server, expected] of [[prebuilt, 'prebuilt'], [native, 'native']] as const) {
        const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { meta: { llama_cpp?: string } }[] };
        assert.equal(models.data[0].meta.llama_cpp, expected);
      }
      for (const ours of [prebuilt, native]) {
        const base = 'import os\nimport sys\n\ndef parse(argv):\n    """Parse the command line."""\n    args = []\n    for a in argv:\n        args.append(a)\n    return args\n\n\ndef main():\n';
        for (const prompt of ['    result = pa', '    result = par', '    result = parse']) {
          const body = { input_prefix: base, prompt, input_suffix: '\n\nif __name__ == "__main__":\n    main()\n', n_predict: 8, temperature: 0 };
          const [a, b] = await Promise.all([peer.url, ours.url].map(async (u) => {
            const r = await fetch(`${u}/infill`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
            const text = await r.text();
            assert.equal(r.status, 200, `${u}: ${text}`);
            return (JSON.parse(text) as { content: string }).content;
          }));
          assert.ok(a.length > 0, 'llama-server generated something');
          assert.equal(b, a, `prompt ${JSON.stringify(prompt)}`);
        }
      }
    } finally {
      await peer.stop();
      await prebuilt.stop();
      await native.stop();
    }
  });

  it('a model without FIM tokens: llama-server refuses /infill and the backend says "cannot do FIM"', async () => {
    await assert.rejects(new InfillBackend(noFim!.url, transport).complete(request(4), new AbortController().signal), (err: unknown) => {
      assert.ok(err instanceof NoFimSupportError, String(err));
      return true;
    });
  });
});
