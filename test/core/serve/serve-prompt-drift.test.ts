import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPromptBaseline, LivePromptWindow } from '../../../src/core/drift/prompts';
import { startServe, type RunningServer } from '../../../src/core/serve/start';
import { englishPrompts, russianPrompts } from '../../fixtures/prompts/promptSets';
import { writeTinyLlama } from '../../fixtures/gguf/tiny-llama';
import { call } from './http-client';
import { runCli } from '../../helpers/cli';
import { promptBaselineRelPath } from '../../../src/core/eval/results-store';
import { addModel } from '../../../src/core/govern/admission';
import { summarizeMetrics } from '../../../src/core/views/deployment-metrics';
import { makeOpenRegistry, type TestRepo } from '../registry/repo';

interface Report { drifted: boolean; observed: number; live: { prompts: number }; features: { name: string; psi: number; drifted: boolean }[] }

describe('live LLM prompt drift: /v1/completions and /v1/chat/completions feed a bounded window at GET /v1/drift (real engine)', function () {
  this.timeout(180000);
  /** Requests in batches of 8 (the server runs 2 at once, queues the rest). */
  const all = async (bodies: unknown[], path: string): Promise<void> => {
    for (let i = 0; i < bodies.length; i += 8) {
      for (const res of await Promise.all(bodies.slice(i, i + 8).map((b) => call(server.url, 'POST', path, b)))) assert.equal(res.status, 200, res.text);
    }
  };
  let dir: string;
  let server: RunningServer;
  let window: LivePromptWindow;
  const drift = async (): Promise<Report> => {
    const r = await call(server.url, 'GET', '/v1/drift');
    assert.equal(r.status, 200, r.text);
    return r.json<Report>();
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-prompt-drift-'));
    const info = await writeTinyLlama(join(dir, 'tiny.gguf'), { chatTemplate: true });
    window = new LivePromptWindow(buildPromptBaseline(englishPrompts(400, 1)), 'base.jsonl', { window: 100, minPrompts: 20 });
    server = await startServe({ model: info.path, port: 0, parallel: 2, load: { threads: 1, contextSize: 512 }, promptDrift: window });
  });

  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('below minPrompts: no features yet, nothing drifted', async () => {
    const r = await drift();
    assert.deepEqual([r.drifted, r.features.length, r.observed], [false, 0, 0]);
  });

  it("English prompts like the baseline's: no summary drifted", async () => {
    await all(englishPrompts(100, 2).map((prompt) => ({ prompt, max_tokens: 1, temperature: 0 })), '/v1/completions');
    const r = await drift();
    assert.equal(r.observed, 100);
    assert.equal(r.live.prompts, 100);
    assert.deepEqual(r.features.map((f) => f.name), ['prompt_chars', 'prompt_words', 'script', 'tokens']);
    for (const f of r.features) assert.equal(f.drifted, false, `${f.name} PSI ${f.psi}`);
  });

  it('Cyrillic chat traffic replaces the window (bounded at 100): the script summary drifted', async () => {
    await all(russianPrompts(100, 3).map((content) => ({ messages: [{ role: 'user', content }], max_tokens: 1, temperature: 0 })), '/v1/chat/completions');
    const r = await drift();
    assert.equal(r.observed, 200);
    assert.equal(r.live.prompts, 100, 'the window keeps the last 100');
    assert.equal(r.drifted, true);
    assert.ok(r.features.find((f) => f.name === 'script')!.drifted);
    // The CLI reads the same window: exit 1, the script summary drifted.
    const cli = await runCli(['drift', 'tiny@1.0.0', '--url', server.url], { cwd: dir });
    assert.equal(cli.code, 1, cli.stderr + cli.stdout);
    assert.match(cli.stdout, /DRIFT script/);
  });

  it('/metrics carries one PSI per summary and its threshold, which the Deployments view charts', async () => {
    const text = await (await call(server.url, 'GET', '/metrics')).text;
    assert.match(text, /sovereign_prompt_drift_window_prompts\{model="tiny.gguf"\} 100/);
    const summary = summarizeMetrics(text).promptDrift;
    assert.ok(summary, 'the view finds prompt drift in /metrics');
    const report = await drift();
    // The same numbers as GET /v1/drift, summary by summary.
    assert.deepEqual(summary.features.map((f) => [f.name, f.psi, f.threshold]), report.features.map((f) => [f.name, f.psi, 0.2]));
    assert.deepEqual(summary.features.filter((f) => f.psi > f.threshold!).map((f) => f.name), report.features.filter((f) => f.drifted).map((f) => f.name));
    assert.equal(summary.windowRows, 100);
  });
});

describe('live LLM prompt drift of a registered version: the baseline prompt set kept beside its evals is found from the manifest (real engine)', function () {
  this.timeout(180000);
  let repo: TestRepo;
  let served: RunningServer | undefined;

  before(async () => {
    repo = await makeOpenRegistry();
    const info = await writeTinyLlama(join(repo.base, 'tiny.gguf'));
    await addModel(repo.root, { input: info.path, name: 'tinychat', version: '1.0.0' });
  });

  afterEach(async () => {
    await served?.close();
    served = undefined;
  });
  after(async () => repo?.cleanup());

  it('without .sovereign/evals/NAME/VERSION/baseline-prompts.txt: no window, GET /v1/drift answers 404', async () => {
    served = await startServe({ model: join(repo.root, '.sovereign/models/tinychat/1.0.0.yaml'), port: 0, load: { threads: 1, contextSize: 256 } });
    assert.equal(served.promptDrift, undefined);
    assert.equal((await call(served.url, 'GET', '/v1/drift')).status, 404);
  });

  it('with it: the window compares against it under the workspace policy threshold, and /metrics exports it', async () => {
    await repo.write(promptBaselineRelPath('tinychat', '1.0.0'), englishPrompts(120, 7).map((prompt) => JSON.stringify({ prompt })).join('\n') + '\n');
    await repo.write('.sovereign/policy.yaml', 'version: 1\ndrift:\n  psi: 0.35\n');
    served = await startServe({ model: join(repo.root, '.sovereign/models/tinychat/1.0.0.yaml'), port: 0, load: { threads: 1, contextSize: 256 } });
    assert.ok(served.promptDrift, 'the stored baseline prompt set was found');
    assert.equal(served.promptDrift.baseline.prompts, 120);
    assert.equal(served.promptDrift.threshold, 0.35);
    const r = await call(served.url, 'GET', '/v1/drift');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json<{ baseline: { prompts: number } }>().baseline.prompts, 120);
    assert.match((await call(served.url, 'GET', '/metrics')).text, /sovereign_prompt_drift_window_prompts\{model="tinychat@1.0.0"\} 0/);
  });
});
