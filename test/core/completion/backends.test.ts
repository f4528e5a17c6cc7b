import { strict as assert } from 'node:assert';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InfillBackend } from '../../../src/core/completion/backends/llama-server';
import { OllamaBackend } from '../../../src/core/completion/backends/ollama';
import { OpenAiBackend } from '../../../src/core/completion/backends/openai';
import { buildContext } from '../../../src/core/completion/context';
import { guardedTransport } from '../../../src/core/completion/http';
import { NoFimSupportError, type BackendRequest } from '../../../src/core/completion/types';
import { withCursor } from './doc';

/**
 * The wire format each backend speaks, checked against a real HTTP server on 127.0.0.1 that records the
 * requests and answers as llama-server, an OpenAI-compatible server and Ollama do. (Answers from a real
 * model through `sovereign serve` are covered in the serve and extension suites.)
 */
describe('completion backends (wire format over real HTTP on 127.0.0.1)', () => {
  let server: Server;
  let base: string;
  const seen: { path: string; body: Record<string, unknown> }[] = [];
  let reply: (path: string) => { status: number; body: unknown } = () => ({ status: 404, body: {} });

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let data = '';
      req.on('data', (d: Buffer) => (data += d.toString()));
      req.on('end', () => {
        seen.push({ path: req.url ?? '', body: JSON.parse(data || '{}') as Record<string, unknown> });
        const r = reply(req.url ?? '');
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(r.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => (seen.length = 0));

  const request = (): BackendRequest => {
    const { doc, pos } = withCursor('import os\ndef main():\n    pri|\n\nmain()\n');
    return { context: buildContext(doc, pos, [{ filename: 'util.py', text: 'def helper(): pass\n' }]), maxTokens: 32, maxTimeMs: 500, temperature: 0, stop: ['\n\n'] };
  };
  const transport = guardedTransport();

  it('llama-server /infill: prefix above, cursor line as prompt, suffix, extra chunks, timings back', async () => {
    reply = () => ({ status: 200, body: { content: 'nt("hi")', timings: { prompt_n: 20, prompt_ms: 5, predicted_n: 4, predicted_ms: 8, predicted_per_second: 500 } } });
    const result = await new InfillBackend(base, transport).complete(request(), new AbortController().signal);
    assert.equal(result.text, 'nt("hi")');
    assert.equal(result.timings?.tokensPerSecond, 500);
    assert.equal(seen[0].path, '/infill');
    assert.equal(seen[0].body.input_prefix, 'import os\ndef main():\n');
    assert.equal(seen[0].body.prompt, '    pri');
    assert.equal(seen[0].body.input_suffix, '\n\nmain()\n');
    assert.deepEqual(seen[0].body.input_extra, [{ filename: 'util.py', text: 'def helper(): pass\n' }]);
    assert.equal(seen[0].body.n_predict, 32);
    assert.equal(seen[0].body.t_max_predict_ms, 500);
  });

  it('llama-server without FIM tokens (HTTP 501) becomes a clear "cannot do FIM" error', async () => {
    reply = () => ({ status: 501, body: { error: { message: 'Infill is not supported by this model' } } });
    await assert.rejects(new InfillBackend(base, transport).complete(request(), new AbortController().signal), NoFimSupportError);
  });

  it('OpenAI-compatible: prompt + suffix, or a raw FIM prompt from the family template', async () => {
    reply = () => ({ status: 200, body: { choices: [{ text: 'nt()' }], usage: { completion_tokens: 2 } } });
    const r1 = await new OpenAiBackend(base, 'tiny', transport).complete(request(), new AbortController().signal);
    assert.equal(r1.text, 'nt()');
    assert.equal(seen[0].path, '/v1/completions');
    assert.equal(seen[0].body.prompt, 'import os\ndef main():\n    pri');
    assert.equal(seen[0].body.suffix, '\n\nmain()\n');
    await new OpenAiBackend(base, 'qwen2.5-coder-1.5b', transport, 'template').complete(request(), new AbortController().signal);
    assert.match(String(seen[1].body.prompt), /^<\|file_sep\|>util\.py\n.*<\|fim_prefix\|>import os\n.*<\|fim_suffix\|>\n\nmain\(\)\n<\|fim_middle\|>$/s);
    assert.equal(seen[1].body.suffix, undefined);
    await assert.rejects(new OpenAiBackend(base, 'gpt-instruct', transport, 'template').complete(request(), new AbortController().signal), NoFimSupportError);
  });

  it('Ollama /api/generate with suffix and options', async () => {
    reply = () => ({ status: 200, body: { response: 'nt(1)', eval_count: 3, eval_duration: 6_000_000 } });
    const r = await new OllamaBackend(base, 'qwen2.5-coder:1.5b-base', transport).complete(request(), new AbortController().signal);
    assert.equal(r.text, 'nt(1)');
    assert.equal(r.timings?.tokensPerSecond, 500);
    assert.equal(seen[0].path, '/api/generate');
    assert.equal(seen[0].body.suffix, '\n\nmain()\n');
    assert.deepEqual(seen[0].body.options, { num_predict: 32, temperature: 0, stop: ['\n\n'] });
  });

  it('refuses an endpoint outside the allowed ranges before connecting', async () => {
    const backend = new InfillBackend('http://192.0.2.10:8080', guardedTransport({ allowed: ['127.0.0.0/8'] }));
    await assert.rejects(backend.complete(request(), new AbortController().signal), /outside the allowed endpoints/);
    assert.equal(seen.length, 0);
  });
});
