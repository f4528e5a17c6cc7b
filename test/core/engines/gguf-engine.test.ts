import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEngine, validateModelFile, EngineCrashedError, EngineSupervisor, type OpenedEngine } from '../../../src/core/engines';
import { RefusedError } from '../../../src/core/util/errors';
import { sha256File } from '../../../src/core/hash/sha256';
import { writeTinyLlama, TINY_LLAMA_IDS, type TinyLlamaInfo } from '../../fixtures/gguf/tiny-llama';
import { writeAbortingLlama } from './abort-model';

describe('GGUF engine in a supervised child process (real node-llama-cpp)', function () {
  this.timeout(60000);
  let dir: string;
  let info: TinyLlamaInfo;
  let opened: OpenedEngine;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-engine-'));
    info = await writeTinyLlama(join(dir, 'tiny.gguf'), { fim: true, chatTemplate: true });
    opened = await openEngine(info.path, {
      load: { threads: 1, sequences: 2, contextSize: 512 },
      supervisor: { env: { SOVEREIGN_ENGINE_TEST_HOOKS: '1' }, restartDelayMs: 50 },
    });
  });

  after(async () => {
    await opened?.engine.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('validates, loads and describes the model', () => {
    const d = opened.description;
    assert.equal(opened.model.format, 'gguf');
    assert.match(opened.model.sha256, /^[0-9a-f]{64}$/);
    assert.equal(d.kind, 'gguf');
    assert.equal(d.architecture, 'llama');
    assert.equal(d.infill, 'native');
    assert.equal(d.hasChatTemplate, true);
    assert.equal(d.sequences, 2);
    assert.equal(d.threads, 1);
    assert.equal(d.vocabularySize, info.vocabSize);
    assert.equal(d.versions['node-llama-cpp'], '3.21.1');
    // Where it runs: on this machine's CPU build nothing is offloaded (GPU machines: scripts/gpu-check.sh).
    assert.equal(d.totalLayers, 3, 'the 2 blocks and the output layer');
    if (d.gpu === false) assert.equal(d.gpuLayers, 0);
    else assert.ok((d.gpuLayers ?? 0) > 0, `a ${d.gpu} build offloads layers`);
    assert.ok(d.loadMs > 0);
  });

  it('completes exactly what greedy decoding predicts, streaming the same text', async () => {
    const pieces: string[] = [];
    const result = await opened.engine.complete({ prompt: 'Hello', maxTokens: 10, temperature: 0 }, { onToken: (t) => pieces.push(t) });
    assert.equal(result.text, info.expectedCompletion('Hello', 10));
    assert.equal(pieces.join(''), result.text);
    assert.equal(result.generatedTokens, 10);
    assert.equal(result.stopReason, 'max-tokens');
    assert.ok(result.ttftMs > 0 && result.generateMs >= 0);
  });

  it('sends one IPC message per token only to a streaming caller; a plain request gets its result alone', async () => {
    const before = opened.engine.tokenMessages;
    const plain = await opened.engine.complete({ prompt: 'Hello', maxTokens: 10, temperature: 0 });
    assert.equal(plain.text, info.expectedCompletion('Hello', 10));
    assert.equal(opened.engine.tokenMessages, before, 'no token messages for a request without onToken');
    const pieces: string[] = [];
    const streamed = await opened.engine.complete({ prompt: 'Hello', maxTokens: 10, temperature: 0 }, { onToken: (t) => pieces.push(t) });
    assert.equal(pieces.join(''), streamed.text);
    assert.equal(opened.engine.tokenMessages - before, pieces.length);
  });

  it('fills in the middle with the native FIM tokens', async () => {
    const result = await opened.engine.infill({ prefix: 'def f(', suffix: '):\n    pass', maxTokens: 6 });
    assert.equal(result.text, info.expectedInfill('def f(', '):\n    pass', 6));
  });

  it('infill as the bundled llama-server lays it out, and a keystroke re-evaluates only from the cursor on', async () => {
    const prefix = 'def main():\n    args = parse()\n';
    const suffix = '\n\nmain()\n';
    // The cursor line (`prompt`) ends the prefix, before FIM_SUF: the context ends with FIM_MID.
    const first = await opened.engine.infill({ prefix, suffix, prompt: '    pri', maxTokens: 5, temperature: 0 });
    assert.equal(first.text, info.expectedInfill(prefix + '    pri', suffix, 5));
    // Two sequences in this engine: a request may land on the other one (nothing cached there yet), so ask
    // until one lands where the previous request ran.
    let next = await opened.engine.infill({ prefix, suffix, prompt: '    prin', maxTokens: 5, temperature: 0 });
    for (let i = 0; i < 3 && !next.cachedTokens; i++) next = await opened.engine.infill({ prefix, suffix, prompt: '    prin', maxTokens: 5, temperature: 0 });
    assert.equal(next.text, info.expectedInfill(prefix + '    prin', suffix, 5));
    const cached = next.cachedTokens ?? 0;
    assert.ok(cached >= info.tokenize(prefix).length, `the prefix is reused: ${cached} cached`);
    assert.ok(cached < next.promptTokens - info.tokenize(suffix).length, `the suffix after the cursor is evaluated again: ${cached} of ${next.promptTokens}`);
  });

  it('runs two sequences at once, each exact', async () => {
    const [a, b] = await Promise.all([
      opened.engine.complete({ prompt: 'Hello z', maxTokens: 5 }),
      opened.engine.complete({ prompt: 'Hello', maxTokens: 8 }),
    ]);
    assert.equal(a.text, info.expectedCompletion('Hello z', 5));
    assert.equal(b.text, info.expectedCompletion('Hello', 8));
  });

  it('chats through the model chat template', async () => {
    const result = await opened.engine.chat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 4 });
    // The ChatML prompt ends with "\n" (a byte token); the model's successor chain starts from it.
    assert.equal(result.text, info.detokenize(info.greedyTokens([TINY_LLAMA_IDS.firstByte + 0x0a], 4)));
  });

  it('computes embeddings', async () => {
    const result = await opened.engine.embed(['abc', 'xyz']);
    assert.equal(result.vectors.length, 2);
    assert.equal(result.vectors[0].length, 64);
    assert.ok(result.vectors[0].some((v) => v !== 0));
  });

  it('stops generating when the AbortSignal fires, and keeps serving', async () => {
    const controller = new AbortController();
    let tokens = 0;
    const pending = opened.engine.complete({ prompt: 'a', maxTokens: 100000 }, {
      signal: controller.signal,
      onToken: () => {
        if (++tokens === 3) controller.abort();
      },
    });
    await assert.rejects(pending, (err: Error) => err.name === 'AbortError');
    // The child got the cancel: no request stays busy.
    let health = await opened.engine.health();
    for (let i = 0; i < 50 && health.busy > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      health = await opened.engine.health();
    }
    assert.equal(health.busy, 0);
    const again = await opened.engine.complete({ prompt: 'Hello', maxTokens: 3 });
    assert.equal(again.text, info.expectedCompletion('Hello', 3));
  });

  it('reports health and the child memory', async () => {
    const health = await opened.engine.health();
    assert.equal(health.pid, opened.engine.pid);
    assert.notEqual(health.pid, process.pid);
    assert.ok(health.rssBytes > 10_000_000);
    const rss = await opened.engine.rssBytes();
    assert.ok(rss !== undefined && rss > 10_000_000);
  });

  it('survives an abort of the engine process, reports it, and restarts', async () => {
    const oldPid = opened.engine.pid;
    const restarted = new Promise((resolve) => opened.engine.once('restart', resolve));
    await assert.rejects(opened.engine.crashForTest('abort'), (err: Error) => {
      assert.ok(err instanceof EngineCrashedError);
      assert.match(err.message, /SIGABRT|134/);
      return true;
    });
    await restarted;
    await opened.engine.whenSettled();
    assert.equal(opened.engine.state, 'ready');
    assert.notEqual(opened.engine.pid, oldPid);
    const exit = opened.engine.exits.at(-1);
    assert.ok(exit && (exit.signal === 'SIGABRT' || exit.code === 134));
    const result = await opened.engine.complete({ prompt: 'Hello', maxTokens: 4 });
    assert.equal(result.text, info.expectedCompletion('Hello', 4));
  });
});

describe('GGUF models that must not reach llama.cpp, or that kill it', function () {
  this.timeout(60000);
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'sovereign-engine-bad-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('refuses a structurally invalid GGUF before any native loader, naming the rule', async () => {
    const bad = await writeTinyLlama(join(dir, 'no-ffn.gguf'), { omitKeys: ['llama.feed_forward_length'] });
    let started = false;
    const supervisor = { onLog: () => (started = true) };
    await assert.rejects(openEngine(bad.path, { supervisor }), (err: Error) => {
      assert.ok(err instanceof RefusedError);
      assert.match(err.message, /rule gguf\/missing-key/);
      assert.match(err.message, /before any native code/);
      return true;
    });
    assert.equal(started, false);
  });

  it('refuses a file that is not a model', async () => {
    await writeFile(join(dir, 'notes.gguf'), 'just text, not a model');
    await assert.rejects(openEngine(join(dir, 'notes.gguf')), RefusedError);
  });

  it('a GGUF that aborts llama.cpp is refused by validation, and if loaded anyway leaves this process running, reports the abort, and is not restarted', async () => {
    const path = join(dir, 'gqa-mismatch.gguf');
    await writeAbortingLlama(path);
    // First line of defence: the TypeScript validator knows this crash class.
    await assert.rejects(validateModelFile(path), (err: Error) => err instanceof RefusedError && /not a multiple of/.test(err.message));
    // Second line: the supervisor is started directly (no validation) to prove a native abort is contained.
    const engine = new EngineSupervisor({ restartDelayMs: 10 });
    let restarts = 0;
    engine.on('restart', () => restarts++);
    await assert.rejects(engine.start({ path, kind: 'gguf', sha256: await sha256File(path), options: { threads: 1, contextSize: 64 } }), (err: Error) => {
      assert.ok(err instanceof EngineCrashedError, String(err));
      assert.match(err.message, /during the model load/);
      assert.match(err.message, /SIGABRT|134/);
      assert.match(err.message, /GGML_ASSERT/);
      return true;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(restarts, 0, 'a child that dies while loading is not restarted (it would abort again)');
    assert.equal(engine.state, 'failed');
    assert.equal(engine.pid, undefined);
    await engine.stop();
  });
});
