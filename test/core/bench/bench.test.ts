import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_SCHEMA, runBench, saveBenchReport } from '../../../src/core/bench/bench';
import { startServe } from '../../../src/core/serve/start';
import { writeTinyLlama, type TinyLlamaInfo } from '../../fixtures/gguf/tiny-llama';

describe('sovereign bench (real engine)', function () {
  this.timeout(90000);
  let dir: string;
  let info: TinyLlamaInfo;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-bench-'));
    info = await writeTinyLlama(join(dir, 'tiny.gguf'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('measures a model: cold load, TTFT, pp and tg as mean ± stddev, and a short load test without errors', async () => {
    const report = await runBench({ target: info.path, repetitions: 2, warmup: 1, promptTokens: 64, generateTokens: 32, concurrency: 4, durationS: 2, threads: 1 });
    assert.equal(report.schema, BENCH_SCHEMA);
    assert.equal(report.target.kind, 'model');
    assert.match(report.target.sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.equal(report.engine?.threads, 1);
    const r = report.results;
    assert.ok(r.coldLoadMs! > 0 && r.modelLoadMs! > 0 && r.coldLoadMs! >= r.modelLoadMs!);
    assert.equal(r.ttftMs?.n, 2);
    assert.ok(r.pp!.tokens > 32 && r.pp!.tokens <= 65, `pp tokens ${r.pp!.tokens}`);
    assert.ok(r.pp!.tokensPerSecond.mean > 0);
    assert.equal(r.tg!.tokens, 32);
    assert.ok(r.tg!.tokensPerSecond.mean > 0 && r.tg!.tokensPerSecond.n === 2);
    assert.equal(r.load!.errors, 0);
    assert.ok(r.load!.requests > 4);
    assert.ok(r.load!.latencyMs.p99 >= r.load!.latencyMs.p50);
    assert.ok(report.machine.logicalCores >= 1 && report.machine.node.startsWith('v'));
    const file = await saveBenchReport(report, dir, 'tiny', '1.0.0');
    assert.ok(file.startsWith(join(dir, '.sovereign', 'benchmarks', 'tiny', '1.0.0')));
    assert.equal(JSON.parse(await readFile(file, 'utf8')).schema, BENCH_SCHEMA);
  });

  it('measures an OpenAI-compatible URL the same way', async () => {
    const server = await startServe({ model: info.path, port: 0, load: { threads: 1 } });
    try {
      const report = await runBench({ target: server.url, repetitions: 2, warmup: 1, promptTokens: 64, generateTokens: 16, concurrency: 2, durationS: 1 });
      assert.equal(report.target.kind, 'url');
      assert.equal(report.target.name, 'sovereign-tiny-llama');
      assert.ok(report.results.ttftMs!.mean > 0);
      assert.equal(report.results.tg!.tokens, 16);
      assert.ok(report.results.tg!.tokensPerSecond.mean > 0);
      assert.equal(report.results.load!.errors, 0);
    } finally {
      await server.close();
    }
  });

  it('refuses a URL outside loopback and private networks before connecting', async () => {
    await assert.rejects(runBench({ target: 'http://203.0.113.7:8080', repetitions: 1 }), /203\.0\.113\.7/);
  });
});
