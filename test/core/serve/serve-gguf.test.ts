import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { startServe, type RunningServer } from '../../../src/core/serve/start';
import { ServeRuntime } from '../../../src/core/serve/server';
import { writeTinyLlama, type TinyLlamaInfo } from '../../fixtures/gguf/tiny-llama';
import { call, stream } from './http-client';

const TOKEN = 'test-token-0123456789';
const auth = { Authorization: `Bearer ${TOKEN}` };

describe('sovereign serve over HTTP with a GGUF model (real engine on 127.0.0.1)', function () {
  this.timeout(90000);
  let dir: string;
  let info: TinyLlamaInfo;
  let server: RunningServer;
  const post = (path: string, body: unknown, headers: Record<string, string> = auth) => call(server.url, 'POST', path, body, headers);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-serve-'));
    info = await writeTinyLlama(join(dir, 'tiny.gguf'), { fim: true, chatTemplate: true });
    server = await startServe({ model: info.path, port: 0, token: TOKEN, parallel: 2, queue: 64, maxBodyBytes: 64 * 1024, load: { threads: 1, contextSize: 512 } });
  });

  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('binds loopback, reports health without a token, and refuses other routes without one', async () => {
    assert.equal(server.host, '127.0.0.1');
    const health = await call(server.url, 'GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(health.json().status, 'ok');
    const denied = await call(server.url, 'GET', '/v1/models');
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['www-authenticate'], 'Bearer');
    assert.equal((await call(server.url, 'GET', '/v1/models', undefined, { Authorization: 'Bearer wrong' })).status, 401);
  });

  it('lists the model', async () => {
    const models = await call(server.url, 'GET', '/v1/models', undefined, auth);
    assert.equal(models.status, 200);
    const data = models.json<{ data: { id: string; meta: { infill: string; chat: boolean; parallel: number } }[] }>().data;
    assert.equal(data[0].id, 'sovereign-tiny-llama');
    assert.equal(data[0].meta.infill, 'native');
    assert.equal(data[0].meta.chat, true);
    assert.equal(data[0].meta.parallel, 2);
  });

  it('POST /v1/completions answers the exact greedy completion with usage', async () => {
    const reply = await post('/v1/completions', { prompt: 'Hello', max_tokens: 7, temperature: 0 });
    assert.equal(reply.status, 200);
    const body = reply.json<{ object: string; choices: { text: string; finish_reason: string }[]; usage: { completion_tokens: number } }>();
    assert.equal(body.object, 'text_completion');
    assert.equal(body.choices[0].text, info.expectedCompletion('Hello', 7));
    assert.equal(body.choices[0].finish_reason, 'length');
    assert.equal(body.usage.completion_tokens, 7);
  });

  it('streams a completion as server-sent events ending with [DONE]', async () => {
    const events: string[] = [];
    const { done } = stream(server.url, '/v1/completions', { prompt: 'Hello', max_tokens: 6, temperature: 0, stream: true }, auth, (d) => events.push(d));
    assert.equal(await done, 200);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: { text: string; finish_reason: string | null }[] });
    assert.equal(chunks.map((c) => c.choices[0].text).join(''), info.expectedCompletion('Hello', 6));
    assert.equal(chunks.at(-1)?.choices[0].finish_reason, 'length');
  });

  it('fills in the middle with `suffix` on /v1/completions', async () => {
    const reply = await post('/v1/completions', { prompt: 'def f(', suffix: '):', max_tokens: 5, temperature: 0 });
    assert.equal(reply.json<{ choices: { text: string }[] }>().choices[0].text, info.expectedInfill('def f(', '):', 5));
  });

  it('POST /infill (llama-server) returns content and timings', async () => {
    const reply = await post('/infill', {
      input_prefix: 'import os\n',
      prompt: 'def f(',
      input_suffix: '):\n',
      input_extra: [{ filename: 'util.py', text: 'X = 1\n' }],
      n_predict: 4,
      t_max_predict_ms: 5000,
      cache_prompt: true,
    });
    assert.equal(reply.status, 200);
    const body = reply.json<{ content: string; timings: Record<string, number>; tokens_predicted: number }>();
    assert.equal(body.content, info.expectedInfill('import os\ndef f(', '):\n', 4));
    assert.equal(body.tokens_predicted, 4);
    for (const key of ['prompt_n', 'prompt_ms', 'predicted_n', 'predicted_ms', 'predicted_per_second']) assert.equal(typeof body.timings[key], 'number', key);
    assert.equal(body.timings.predicted_n, 4);
  });

  it('POST /v1/chat/completions uses the chat template', async () => {
    const reply = await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, temperature: 0 });
    assert.equal(reply.status, 200);
    const body = reply.json<{ object: string; choices: { message: { role: string; content: string } }[] }>();
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.choices[0].message.role, 'assistant');
    assert.equal(body.choices[0].message.content.length, 3);
  });

  it('POST /v1/embeddings returns one vector per input', async () => {
    const reply = await post('/v1/embeddings', { input: ['a', 'b'] });
    assert.equal(reply.status, 200);
    const data = reply.json<{ data: { embedding: number[] }[] }>().data;
    assert.equal(data.length, 2);
    assert.equal(data[0].embedding.length, 64);
  });

  it('answers client errors: 400 bad JSON or fields, 404 route, 405 method, 413 body too large, 400 predict on GGUF', async () => {
    assert.equal((await post('/v1/completions', '{not json')).status, 400);
    assert.equal((await post('/v1/completions', { prompt: 42 })).status, 400);
    assert.equal((await post('/v1/completions', { prompt: 'a', max_tokens: 'many' })).status, 400);
    assert.equal((await post('/nope', {})).status, 404);
    assert.equal((await call(server.url, 'GET', '/v1/completions', undefined, auth)).status, 405);
    const big = await post('/v1/completions', { prompt: 'x'.repeat(100 * 1024) });
    assert.equal(big.status, 413);
    assert.match(big.json<{ error: { message: string } }>().error.message, /limit/);
    assert.equal((await post('/v1/predict', { inputs: {} })).status, 400);
  });

  it('stops the generation when the client disconnects', async () => {
    let seen = 0;
    const { done } = stream(server.url, '/v1/completions', { prompt: 'a', max_tokens: 30000, temperature: 0, stream: true }, auth, (_d, req) => {
      if (++seen === 5) req.destroy();
    });
    await done;
    assert.ok(seen >= 5, `${seen} events before the disconnect`);
    // The engine has nothing running soon after: the cancel reached the child.
    let busy = -1;
    for (let i = 0; i < 100; i++) {
      busy = (await server.engine.health()).busy;
      if (busy === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(busy, 0);
    const text = (await call(server.url, 'GET', '/metrics', undefined, auth)).text;
    const cancelled = parsePrometheus(text).find((m) => m.name === 'sovereign_cancelled_requests_total');
    assert.ok(cancelled && cancelled.metrics.some((m) => Number(m.value) >= 1), text.split('\n').filter((l) => l.includes('cancel')).join('\n'));
  });

  it('answers 503 when the queue is full', async () => {
    // A second front end on the same engine, with one slot and room for one waiting request.
    const tight = new ServeRuntime(server.engine, { port: 0, parallel: 1, queue: 1 });
    const { url } = await tight.listen();
    try {
      const slow = { input_prefix: 'a', input_suffix: 'b', n_predict: 30000, t_max_predict_ms: 1500 };
      // All three at once: the tiny model reaches EOS in a few hundred tokens, so on a fast machine a request
      // sent after a delay may find the slot free again. Sent together, one runs, one waits, one is refused:
      // whichever arrives last gets the 503.
      const replies = await Promise.all([call(url, 'POST', '/infill', slow), call(url, 'POST', '/infill', slow), call(url, 'POST', '/infill', slow)]);
      const refused = replies.filter((r) => r.status === 503);
      assert.equal(refused.length, 1, `statuses ${replies.map((r) => r.status).join(', ')}`);
      assert.equal(refused[0].headers['retry-after'], '1');
      assert.deepEqual(replies.filter((r) => r.status !== 503).map((r) => r.status), [200, 200]);
      const metrics = parsePrometheus((await call(url, 'GET', '/metrics')).text);
      const errors = metrics.find((m) => m.name === 'sovereign_http_errors_total');
      assert.ok(errors?.metrics.some((m) => m.labels?.kind === 'overload' && Number(m.value) === 1));
    } finally {
      await tight.close();
    }
  });

  it('serves 16 concurrent clients for 3 s with no errors and bounded memory', async () => {
    const rssBefore = (await server.engine.rssBytes())!;
    const deadline = Date.now() + 3000;
    let ok = 0;
    let failed = 0;
    await Promise.all(Array.from({ length: 16 }, async (_, c) => {
      while (Date.now() < deadline) {
        const reply = await post('/v1/completions', { prompt: `Hello ${c % 2 ? 'z' : ''}`, max_tokens: 8, temperature: 0 });
        if (reply.status === 200) ok++;
        else failed++;
      }
    }));
    const rssAfter = (await server.engine.rssBytes())!;
    assert.equal(failed, 0);
    assert.ok(ok >= 16, `${ok} requests answered`);
    assert.ok(rssAfter < rssBefore + 64 * 1024 * 1024, `engine RSS grew from ${rssBefore} to ${rssAfter}`);
  });

  it('exposes Prometheus metrics that a real parser reads: latency histogram, tokens, queue, errors, load time', async () => {
    const reply = await call(server.url, 'GET', '/metrics', undefined, auth);
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /text\/plain/);
    const families = new Map(parsePrometheus(reply.text).map((f) => [f.name, f]));
    const latency = families.get('sovereign_http_request_duration_seconds');
    assert.equal(latency?.type, 'HISTOGRAM');
    assert.ok(latency?.metrics[0].buckets && '+Inf' in latency.metrics[0].buckets);
    // parse-prometheus-text-format folds labelled histograms into one sample, so the per-route count is read from the text.
    const count = /^sovereign_http_request_duration_seconds_count\{route="\/v1\/completions",status="200"\} (\d+)$/m.exec(reply.text);
    assert.ok(count && Number(count[1]) > 16, 'per-route request count');
    assert.ok(Number(families.get('sovereign_generated_tokens_total')?.metrics[0].value) > 0);
    assert.equal(families.get('sovereign_generation_tokens_per_second')?.type, 'HISTOGRAM');
    assert.equal(families.get('sovereign_queue_depth')?.metrics[0].value, '0');
    assert.ok(Number(families.get('sovereign_model_load_seconds')?.metrics[0].value) > 0);
    assert.ok(Number(families.get('sovereign_engine_resident_memory_bytes')?.metrics[0].value) > 1e7);
    assert.ok(families.get('sovereign_http_errors_total')?.metrics.some((m) => m.labels?.kind === 'client'));
  });
});
