import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { InfillBackend } from '../../../src/core/completion/backends/llama-server';
import { guardedTransport } from '../../../src/core/completion/http';
import { CompletionService, DEFAULT_COMPLETION_SETTINGS } from '../../../src/core/completion/service';
import { parseServeBackend, parseServeUrl, ServeProcess, type ServeState } from '../../../src/core/local/serve-process';
import { detectGpu, gpuAdvice } from '../../../src/core/engines/gpu';
import { writeTinyLlama, type TinyLlamaInfo } from '../../fixtures/gguf/tiny-llama';
import { REPO_ROOT } from '../../helpers/cli';
import { tempDir } from '../../helpers/tmp';
import { withCursor } from '../completion/doc';

/**
 * The embedded completion backend end to end, with real parts: a supervised `sovereign serve` child
 * (dist/cli.js) running llama.cpp on the generated tiny GGUF, and the completion pipeline over /infill.
 */
describe('supervised local engine (sovereign serve child) and completion through it', function () {
  this.timeout(120_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  let info: TinyLlamaInfo;
  let proc: ServeProcess;
  let url: string;

  before(async () => {
    execFileSync(process.execPath, ['esbuild.mjs'], { cwd: REPO_ROOT });
    dir = await tempDir();
    info = await writeTinyLlama(join(dir.path, 'tiny.gguf'));
    proc = new ServeProcess({ cliPath: join(REPO_ROOT, 'dist', 'cli.js'), model: info.path, args: ['--threads', '1'], backoffMs: 100, cwd: dir.path });
    url = await proc.start();
  });
  after(async () => {
    await proc?.stop();
    await dir?.cleanup();
  });

  it('starts on 127.0.0.1, answers /health and reports its memory', async () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/health`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const rss = await proc.memory();
    assert.ok(rss && rss > 10 * 1024 * 1024, `rss ${rss}`);
    assert.equal(proc.stats.state, 'ready');
  });

  it('serves inline completions from the model through /infill, exactly as greedy decoding predicts', async () => {
    const svc = new CompletionService(new InfillBackend(url, guardedTransport(), 'embedded', 'embedded tiny'), { ...DEFAULT_COMPLETION_SETTINGS, maxTokens: 6, temperature: 0 });
    const { doc, pos } = withCursor('let x = |\nlet y = 2\n');
    const outcome = await svc.complete(doc, pos, [], { debounce: false });
    assert.equal(outcome?.text, info.expectedInfill('let x = ', '\nlet y = 2\n', 6));
    assert.equal(outcome?.source, 'request');
    assert.ok((outcome?.timings?.predictedTokens ?? 0) > 0);
    const again = await svc.complete(doc, pos, [], { debounce: false });
    assert.equal(again?.source, 'cache');
  });

  it('restarts with back-off after a crash and keeps the parent alive', async () => {
    const states: ServeState[] = [];
    proc.on('state', (s: ServeState) => states.push(s));
    const pid = proc.stats.pid!;
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 60_000;
    while (!(proc.stats.state === 'ready' && proc.stats.pid !== pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(states.slice(0, 1), ['restarting']);
    assert.equal(proc.stats.state, 'ready');
    assert.equal(proc.stats.restarts, 1);
    assert.match(proc.stats.lastError ?? '', /SIGKILL/);
    url = proc.stats.url!;
    const res = await fetch(`${url}/health`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });

  it('reports a model that cannot start, with the runtime\'s own message', async () => {
    const bad = new ServeProcess({ cliPath: join(REPO_ROOT, 'dist', 'cli.js'), model: join(dir.path, 'missing.gguf'), readyTimeoutMs: 30_000 });
    await assert.rejects(bad.start(), (err: Error & { hint?: string }) => /did not start/.test(err.message) && /missing\.gguf/.test(err.hint ?? ''));
    assert.equal(bad.stats.state, 'failed');
  });

  it('reports the llama.cpp backend the model loaded on: the CPU build, 0 layers offloaded (where no GPU build is installed)', async function () {
    // A machine with a GPU build installed loads on it: scripts/gpu-check.sh is the check for such a machine.
    if (gpuAdvice(await detectGpu({ modulesFrom: REPO_ROOT })).status === 'ready') this.skip();
    // The tiny model's 2 blocks and its output layer: llama.cpp counts 3 layers to offload.
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { meta: { gpu: unknown; gpu_layers: unknown; total_layers: unknown; llama_cpp: unknown } }[] };
    assert.deepEqual([models.data[0].meta.gpu, models.data[0].meta.gpu_layers, models.data[0].meta.total_layers], [false, 0, 3]);
    assert.ok(models.data[0].meta.llama_cpp === 'prebuilt' || models.data[0].meta.llama_cpp === 'native');
    assert.deepEqual(proc.stats.backend, { gpu: false, gpuLayers: 0, totalLayers: 3, llamaCpp: models.data[0].meta.llama_cpp });
  });

  it('reads the backend from the runtime\'s ready line, and nothing from other lines', () => {
    assert.deepEqual(parseServeBackend('{"url":"http://127.0.0.1:4321","gpu":"cuda","gpuLayers":33,"totalLayers":33,"llamaCpp":"native"}'), { gpu: 'cuda', gpuLayers: 33, totalLayers: 33, llamaCpp: 'native' });
    assert.deepEqual(parseServeBackend('{"url":"http://127.0.0.1:4321","gpu":false,"gpuLayers":0}'), { gpu: false, gpuLayers: 0, totalLayers: undefined, llamaCpp: undefined });
    assert.deepEqual(parseServeBackend('{"url":"http://127.0.0.1:4321","gpu":false,"llamaCpp":"elsewhere"}'), { gpu: false, gpuLayers: undefined, totalLayers: undefined, llamaCpp: undefined });
    assert.equal(parseServeBackend('{"url":"http://127.0.0.1:4321","kind":"onnx"}'), undefined);
    assert.equal(parseServeBackend('ready: tiny (gguf, backend cpu, 0/3 layers offloaded)'), undefined);
  });

  it('finds the URL in the runtime\'s announcement', () => {
    assert.equal(parseServeUrl('{"url":"http://127.0.0.1:4321/","port":4321}'), 'http://127.0.0.1:4321');
    assert.equal(parseServeUrl('listening on http://127.0.0.1:8080; loading the model...'), 'http://127.0.0.1:8080');
    assert.equal(parseServeUrl('nothing here'), undefined);
  });
});
