import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import type { DriftReport } from '../../../src/core/drift/baseline';
import { connectDocker, type Docker } from '../../../src/core/deploy/engine';
import { removeModelDeployments } from '../../../src/core/deploy/lifecycle';
import { deployStaging } from '../../../src/core/deploy/staging';
import { addModel } from '../../../src/core/govern/admission';
import { summarizeMetrics } from '../../../src/core/views/deployment-metrics';
import { FRAUD_FEATURE_COUNT, fraudDataToCsv, syntheticFraudData } from '../../fixtures/onnx/fraudData';
import { writeMlpClassifier } from '../../fixtures/onnx/mlpClassifier';
import { runCli } from '../../helpers/cli';
import { promptBaselineRelPath } from '../../../src/core/eval/results-store';
import { writeTinyLlama } from '../../fixtures/gguf/tiny-llama';
import { englishPrompts, russianPrompts } from '../../fixtures/prompts/promptSets';
import { makeOpenRegistry, type TestRepo } from '../registry/repo';
import { requireDocker } from './docker-gate';

/**
 * Against the REAL Docker engine: a registered ONNX version whose `sovereign eval` stored a drift baseline is
 * deployed; the container gets the baseline beside its policy (it has no manifest) and watches live
 * /v1/predict traffic against it: shifted traffic through the published port is reported at /v1/drift, by
 * `sovereign drift --url`, and in /metrics as the Deployments view reads it.
 */
const MODELS = ['dfraud', 'dfraud-nobase', 'dtinyprompts'];

async function post(url: string, body: unknown): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.text();
  return res.status;
}

describe('deploy: drift of a deployed ONNX version on the real Docker engine', function () {
  this.timeout(600_000);
  let repo: TestRepo;
  let docker: Docker;

  before(async function () {
    await requireDocker(this, 'test/core/deploy/deploy-drift.test.ts');
    docker = await connectDocker();
    for (const m of MODELS) await removeModelDeployments({ model: m }).catch(() => undefined);
    repo = await makeOpenRegistry();
    await writeMlpClassifier(join(repo.base, 'fraud.onnx'));
    await addModel(repo.root, { input: join(repo.base, 'fraud.onnx'), name: 'dfraud', version: '1.0.0' });
    await addModel(repo.root, { input: join(repo.base, 'fraud.onnx'), name: 'dfraud-nobase', version: '1.0.0' });
    await repo.write('../validation.csv', fraudDataToCsv(syntheticFraudData(2000, 51)));
    // A language model whose team keeps a baseline prompt set beside its evals.
    const tiny = await writeTinyLlama(join(repo.base, 'tiny.gguf'));
    await addModel(repo.root, { input: tiny.path, name: 'dtinyprompts', version: '1.0.0' });
    await repo.write(promptBaselineRelPath('dtinyprompts', '1.0.0'), englishPrompts(200, 11).join('\n') + '\n');
    const ev = await runCli(['eval', 'dfraud@1.0.0', '--data', join(repo.base, 'validation.csv'), '--label', 'label'], { cwd: repo.root, env: { SOVEREIGN_STORE: repo.store } });
    assert.equal(ev.code, 0, ev.stderr);
  });

  after(async function () {
    if (!docker) return;
    for (const m of MODELS) await removeModelDeployments({ model: m }).catch(() => undefined);
    await repo?.cleanup();
  });

  it('ships the baseline, and shifted traffic through the published port drifts exactly that feature (/v1/drift, drift --url, /metrics)', async () => {
    const r = await deployStaging({ root: repo.root, ref: 'dfraud@1.0.0', log: () => undefined });
    const live = syntheticFraudData(1000, 52);
    const data = Array.from(live.features);
    for (let i = 0; i < live.n; i++) data[i * FRAUD_FEATURE_COUNT] += 1; // amount_log shifted
    assert.equal(await post(`${r.url}/v1/predict`, { inputs: { features: { type: 'float32', dims: [live.n, FRAUD_FEATURE_COUNT], data } } }), 200);
    await new Promise((done) => setTimeout(done, 1100)); // the report is cached for a second
    const res = await fetch(`${r.url}/v1/drift`);
    assert.equal(res.status, 200, 'the container has a baseline');
    const report = (await res.json()) as DriftReport;
    assert.equal(report.live.rows, 1000);
    assert.deepEqual(report.features.filter((f) => f.drifted).map((f) => f.name), ['amount_log']);
    const cli = await runCli(['drift', 'dfraud@1.0.0', '--url', r.url, '--json'], { cwd: repo.root, env: { SOVEREIGN_STORE: repo.store } });
    assert.equal(cli.code, 1, cli.stderr);
    const j = JSON.parse(cli.stdout) as { features: { name: string; drifted: boolean }[] };
    assert.deepEqual(j.features.filter((f) => f.drifted).map((f) => f.name), ['amount_log']);
    // What the Deployments view polls and charts.
    const summary = summarizeMetrics(await (await fetch(`${r.url}/metrics`)).text()).drift;
    assert.ok(summary, 'the Deployments view finds drift in /metrics');
    assert.equal(summary.features.length, 8);
    assert.deepEqual(summary.features.filter((f) => f.threshold !== undefined && f.psi > f.threshold).map((f) => f.name), ['amount_log']);
    assert.equal(summary.windowRows, 1000);
  });

  it("ships a language model's baseline prompt set: Cyrillic traffic through the published port drifts the script summary (/v1/drift, /metrics)", async () => {
    const r = await deployStaging({ root: repo.root, ref: 'dtinyprompts@1.0.0', log: () => undefined });
    for (const prompt of russianPrompts(60, 12)) {
      assert.equal(await post(`${r.url}/v1/completions`, { prompt, max_tokens: 1, temperature: 0 }), 200);
    }
    const res = await fetch(`${r.url}/v1/drift`);
    assert.equal(res.status, 200, 'the container has the baseline prompt set');
    const report = (await res.json()) as { drifted: boolean; baseline: { prompts: number }; features: { name: string; drifted: boolean }[] };
    assert.equal(report.baseline.prompts, 200);
    assert.equal(report.drifted, true);
    assert.ok(report.features.find((f) => f.name === 'script')?.drifted, JSON.stringify(report.features));
    const summary = summarizeMetrics(await (await fetch(`${r.url}/metrics`)).text()).promptDrift;
    assert.ok(summary, 'the Deployments view finds prompt drift in /metrics');
    assert.ok(summary.windowRows! >= 60, `window ${summary.windowRows}: the 60 prompts (and the deployment's own smoke test)`);
    assert.deepEqual(summary.features.map((f) => f.name), ['prompt_chars', 'prompt_words', 'script', 'tokens']);
    assert.ok(summary.features.some((f) => f.name === 'script' && f.psi > f.threshold!));
  });

  it('a version without a baseline deploys as before: /v1/drift answers 404', async () => {
    const r = await deployStaging({ root: repo.root, ref: 'dfraud-nobase@1.0.0', log: () => undefined });
    const res = await fetch(`${r.url}/v1/drift`);
    assert.equal(res.status, 404);
    await res.text();
  });
});
