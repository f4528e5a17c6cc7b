import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { auditChatTurn, chatCandidates, countTokens, messagesFor, promptSetText, savePromptSet, servedModel, streamChat, type ChatTarget } from '../../../src/core/chat';
import { readPromptFile } from '../../../src/core/drift/prompt-file';
import { startServe, type RunningServer } from '../../../src/core/serve/start';
import { writeTinyLlama, type TinyLlamaInfo } from '../../fixtures/gguf/tiny-llama';
import { call } from '../serve/http-client';

/** Chat turns against the real `sovereign serve` (real llama.cpp, a generated GGUF with a chat template). */
describe('chat turns (src/core/chat) against a real sovereign serve', function () {
  this.timeout(120_000);
  let dir: string;
  let info: TinyLlamaInfo;
  let server: RunningServer;
  let plain: RunningServer;
  let target: ChatTarget;

  const metric = async (url: string, name: string, route: string): Promise<number> => {
    const families = parsePrometheus((await call(url, 'GET', '/metrics')).text);
    const family = families.find((f) => f.name === name);
    const sample = (family?.metrics as { labels?: Record<string, string>; value: string }[] | undefined)?.filter((m) => m.labels?.route === route) ?? [];
    return sample.reduce((n, m) => n + Number(m.value), 0);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-chat-'));
    info = await writeTinyLlama(join(dir, 'chat.gguf'), { chatTemplate: true });
    const none = await writeTinyLlama(join(dir, 'plain.gguf'), { chatTemplate: false, name: 'no-template' });
    server = await startServe({ model: info.path, port: 0, parallel: 1, load: { threads: 1, contextSize: 1024 } });
    plain = await startServe({ model: none.path, port: 0, parallel: 1, load: { threads: 1, contextSize: 512 } });
    target = { url: server.url, label: 'tiny@1.0.0', local: true };
  });

  after(async () => {
    await server?.close();
    await plain?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('says which chat template renders the model: its own (ChatML read from tokenizer.chat_template)', async () => {
    const served = await servedModel(target);
    assert.equal(served?.chat, true);
    assert.match(served?.chatTemplate ?? '', /^ChatML \(matches tokenizer\.chat_template\)$/);
    const without = await servedModel({ url: plain.url, label: 'plain', local: true });
    assert.equal(without?.chat, false);
    assert.equal(without?.chatTemplate, undefined);
  });

  it('streams the real answer piece by piece, with usage, time to first token and speed; counted in /metrics', async () => {
    const before = await metric(server.url, 'sovereign_http_requests_total', '/v1/chat/completions');
    const pieces: string[] = [];
    const r = await streamChat(target, { messages: [{ role: 'user', content: 'Hello there' }], maxTokens: 8, temperature: 0 }, { onText: (t) => pieces.push(t) });
    assert.equal(r.finish, 'length');
    assert.equal(r.text, info.expectedChatResponse(8));
    assert.ok(pieces.length > 1, `streamed in ${pieces.length} piece(s)`);
    assert.equal(pieces.join(''), r.text);
    assert.equal(r.completionTokens, 8);
    assert.ok((r.promptTokens ?? 0) > 0);
    assert.ok(r.ttftMs !== undefined && r.ttftMs > 0 && r.ttftMs <= r.totalMs);
    assert.ok((r.tokensPerSecond ?? 0) > 0);
    assert.equal(r.redactions, 0);
    assert.equal(await metric(server.url, 'sovereign_http_requests_total', '/v1/chat/completions'), before + 1);
  });

  it('a system prompt and earlier turns go through the template (the model still answers)', async () => {
    const r = await streamChat(target, { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'abc' }, { role: 'user', content: 'more' }], maxTokens: 4, temperature: 0 });
    assert.equal(r.finish, 'length');
    assert.equal(r.text, info.expectedChatResponse(4));
  });

  it('cancellation stops the engine: the turn ends "cancelled" and serve counts a cancelled generation', async () => {
    const before = await metric(server.url, 'sovereign_cancelled_requests_total', '/v1/chat/completions');
    const stop = new AbortController();
    let got = '';
    const r = await streamChat(target, { messages: [{ role: 'user', content: 'go' }], maxTokens: 4000, temperature: 0 }, { signal: stop.signal, onText: (t) => ((got += t), stop.abort()) });
    assert.equal(r.finish, 'cancelled');
    assert.ok(got.length > 0 && got.length < info.expectedChatResponse(400).length);
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) {
      await new Promise((d) => setTimeout(d, 100));
      after = await metric(server.url, 'sovereign_cancelled_requests_total', '/v1/chat/completions');
    }
    assert.equal(after, before + 1, 'serve saw the client go and stopped the generation');
    // The engine is free again: the next turn answers at once.
    assert.equal((await streamChat(target, { messages: [{ role: 'user', content: 'x' }], maxTokens: 3, temperature: 0 })).text, info.expectedChatResponse(3));
  });

  it('a template that matches no known format is rendered by the jinja template itself, and says so', async () => {
    const template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";
    const custom = await writeTinyLlama(join(dir, 'custom.gguf'), { chatTemplate: template, name: 'custom-template' });
    const own = await startServe({ model: custom.path, port: 0, parallel: 1, load: { threads: 1, contextSize: 512 } });
    try {
      const t = { url: own.url, label: 'custom@1', local: true };
      assert.equal((await servedModel(t))?.chatTemplate, 'jinja (tokenizer.chat_template)');
      const r = await streamChat(t, { messages: [{ role: 'user', content: 'hi' }], maxTokens: 4, temperature: 0 });
      assert.equal(r.finish, 'length');
      // One character per token in this vocabulary; greedy decoding is deterministic: the same answer again.
      assert.equal([...r.text].length, 4);
      assert.equal((await streamChat(t, { messages: [{ role: 'user', content: 'hi' }], maxTokens: 4, temperature: 0 })).text, r.text);
    } finally {
      await own.close();
    }
  });

  it('a model without a chat template gets a clear message, not garbage', async () => {
    const r = await streamChat({ url: plain.url, label: 'plain@1', local: true }, { messages: [{ role: 'user', content: 'hi' }], maxTokens: 4 });
    assert.equal(r.finish, 'error');
    assert.equal(r.text, '');
    assert.match(r.error ?? '', /HTTP 400: no-template has no chat template/);
  });

  it('counts tokens with the model\'s own tokenizer (POST /tokenize)', async () => {
    for (const text of ['Hello there', 'a b c', 'Zürich ✓']) assert.equal(await countTokens(target, text), info.tokenize(text).length, text);
  });

  it('redacts everything sent to a backend not in this process\'s care; a local model gets the text as typed', async () => {
    const secret = 'AKIAIOSFODNN7EXAMPLE';
    const email = 'jane.doe@example.com';
    const bodies: string[] = [];
    const backend: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`data: ${JSON.stringify({ choices: [{ delta: { content: 'ok' }, finish_reason: null }] })}\n\ndata: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1 } })}\n\ndata: [DONE]\n\n`);
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(backend.address() as { port: number }).port}`;
      const messages = [{ role: 'system' as const, content: `key ${secret}` }, { role: 'user' as const, content: `mail ${email} please` }];
      const r = await streamChat({ url, label: 'remote', local: false }, { messages, maxTokens: 4 });
      assert.equal(r.text, 'ok');
      assert.equal(r.redactions, 2);
      assert.equal(bodies.length, 1);
      assert.ok(!bodies[0].includes(secret) && !bodies[0].includes(email), bodies[0]);
      assert.match(bodies[0], /\[REDACTED:/);
      assert.deepEqual(messagesFor({ url, label: 'local', local: true }, messages).messages, messages);
    } finally {
      await new Promise((r) => backend.close(r));
    }
  });

  it('a turn in the audit log: model, tokens, latency; never the messages or the answer', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sovereign-chat-audit-'));
    try {
      const r = await streamChat(target, { messages: [{ role: 'user', content: 'secret plans for Tuesday' }], maxTokens: 5, temperature: 0 });
      await auditChatTurn(root, { surface: 'playground', target: { ...target, digest: 'a'.repeat(64) }, result: r });
      const log = await readFile(join(root, '.sovereign', 'audit.jsonl'), 'utf8');
      const entry = JSON.parse(log.trim().split('\n').at(-1)!) as { action: string; subject: string; details: Record<string, unknown> };
      assert.equal(entry.action, 'chat');
      assert.equal(entry.subject, 'tiny@1.0.0');
      assert.equal(entry.details.completionTokens, 5);
      assert.equal(entry.details.surface, 'playground');
      assert.equal(typeof entry.details.latencyMs, 'number');
      assert.ok(!log.includes('Tuesday') && !log.includes(r.text), 'no text of the turn in the log');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('saves a prompt set that the prompt-set reader of deploy canary / drift reads back', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sovereign-chat-prompts-'));
    try {
      const rel = await savePromptSet(root, 'compare-1', ['first prompt', 'second "quoted"\nline', 'first prompt', ' '], 32);
      assert.equal(rel, '.sovereign/prompts/compare-1.jsonl');
      assert.deepEqual(await readPromptFile(join(root, rel)), ['first prompt', 'second "quoted"\nline']);
      assert.deepEqual(promptSetText(['p']).trim(), '{"prompt":"p"}');
      await assert.rejects(savePromptSet(root, '../escape', ['x']), /not a prompt set name/);
      assert.throws(() => promptSetText(['', '  ']), /no prompt to save/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('offers only GGUF versions the policy admits; a refused one says why', () => {
    const v = (name: string, version: string, format = 'gguf') => ({ name, version, file: `.sovereign/models/${name}/${version}.yaml`, aliases: [], format });
    const list = chatCandidates({
      versions: [v('coder', '1.0.0'), v('coder', '2.0.0'), v('clf', '1.0.0', 'onnx')],
      violations: [
        { rule: 'license', severity: 'error', message: 'licence GPL-3.0 is not allowed', fix: '', file: '', line: 1, model: 'coder', version: '2.0.0' },
        { rule: 'signature', severity: 'warning', message: 'unsigned', fix: '', file: '', line: 1, model: 'coder', version: '1.0.0' },
      ] as never,
    });
    assert.deepEqual(list.map((c) => [c.ref, c.admitted]), [['coder@1.0.0', true], ['coder@2.0.0', false]]);
    assert.match(list[1].reason ?? '', /refused by the policy: license: licence GPL-3\.0 is not allowed/);
  });
});
