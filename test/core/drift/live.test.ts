import assert from 'node:assert/strict';
import { join } from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { buildBaseline, type DriftReport } from '../../../src/core/drift/baseline';
import { LiveDriftMonitor } from '../../../src/core/drift/live';
import { addModel } from '../../../src/core/govern/admission';
import { startServe, type RunningServer } from '../../../src/core/serve/start';
import { FRAUD_FEATURE_COUNT, FRAUD_FEATURES, fraudDataToCsv, syntheticFraudData, type FraudData } from '../../fixtures/onnx/fraudData';
import { writeMlpClassifier } from '../../fixtures/onnx/mlpClassifier';
import { runCli } from '../../helpers/cli';
import { makeOpenRegistry, type TestRepo } from '../registry/repo';
import { call } from '../serve/http-client';
import { summarizeMetrics } from '../../../src/core/views/deployment-metrics';

function shifted(data: FraudData, by: number): number[] {
  const out = Array.from(data.features);
  for (let r = 0; r < data.n; r++) out[r * FRAUD_FEATURE_COUNT] += by;
  return out;
}

const request = (data: number[], rows: number) => ({ inputs: { features: { type: 'float32', dims: [rows, FRAUD_FEATURE_COUNT], data } } });

describe('live drift: the windowed monitor', () => {
  const validation = syntheticFraudData(2000, 31);
  const columns = FRAUD_FEATURES.map((name, j) => ({ name, values: Array.from({ length: validation.n }, (_, r) => validation.features[r * 8 + j]) }));
  const baseline = buildBaseline(columns, Array.from(validation.labels, String), undefined, { createdAt: 'x', data: { path: 'v.csv', rows: 2000 } });
  const outputs = (rows: number): string => JSON.stringify({ label: { type: 'int64', dims: [rows], data: Array.from({ length: rows }, (_, i) => i % 2) } });

  it('keeps only the last WINDOW rows: an old shift ages out, a new one shows', () => {
    const monitor = new LiveDriftMonitor(baseline, { window: 500 });
    const live = syntheticFraudData(1000, 32);
    monitor.observe(request(shifted(live, 1), 1000), outputs(1000));
    assert.deepEqual(monitor.report(0).features.filter((f) => f.drifted).map((f) => f.name), ['amount_log']);
    monitor.observe(request(Array.from(live.features), 1000), outputs(1000));
    const r = monitor.report(5000);
    assert.equal(r.live.rows, 500, 'the window is bounded');
    assert.equal(monitor.observed, 2000);
    assert.equal(r.features.find((f) => f.name === 'amount_log')!.drifted, false, 'the shifted rows left the window');
    assert.ok(r.prediction, 'predictions are compared too');
  });

  it('reads live values as float32 like eval did, so a categorical 0.1 is not an unseen category', () => {
    const values = Array.from({ length: 200 }, (_, i) => Math.fround(i % 2 ? 0.1 : 0.7));
    const b = buildBaseline([{ name: 'x', values }], [], undefined, { createdAt: 'x', data: { path: 'v.csv', rows: 200 } }, { categorical: ['x'] });
    const monitor = new LiveDriftMonitor(b, { minRows: 1 });
    monitor.observe({ inputs: { x: { type: 'float32', dims: [200, 1], data: Array.from({ length: 200 }, (_, i) => (i % 2 ? 0.1 : 0.7)) } } }, undefined);
    const f = monitor.report().features[0];
    assert.equal(f.kind, 'categorical');
    assert.equal(f.unseen, undefined);
    assert.equal(f.psi, 0);
  });

  it('judges nothing below minRows, and skips inputs of the wrong shape', () => {
    const monitor = new LiveDriftMonitor(baseline, { minRows: 100 });
    const live = syntheticFraudData(10, 33);
    monitor.observe(request(shifted(live, 5), 10), outputs(10));
    monitor.observe({ inputs: { features: { type: 'float32', dims: [1, 3], data: [1, 2, 3] } } }, undefined);
    const r = monitor.report();
    assert.equal(r.drifted, false);
    assert.match(r.note!, /10 rows in the window: drift is judged from 100/);
    assert.equal(monitor.skipped, 1);
  });
});

describe('live drift in the serving runtime (real ONNX Runtime, real registry, GET /v1/drift, /metrics, drift --url)', function () {
  this.timeout(120_000);
  let repo: TestRepo;
  let server: RunningServer;
  let plain: RunningServer;

  before(async () => {
    repo = await makeOpenRegistry();
    await writeMlpClassifier(join(repo.base, 'fraud.onnx'));
    await addModel(repo.root, { input: join(repo.base, 'fraud.onnx'), name: 'fraud', version: '1.0.0' });
    await repo.write('../validation.csv', fraudDataToCsv(syntheticFraudData(2000, 41)));
    const ev = await runCli(['eval', 'fraud@1.0.0', '--data', join(repo.base, 'validation.csv'), '--label', 'label'], { cwd: repo.root, env: { SOVEREIGN_STORE: repo.store } });
    assert.equal(ev.code, 0, ev.stderr);
    server = await startServe({ model: join(repo.root, '.sovereign/models/fraud/1.0.0.yaml'), port: 0, workspaceRoot: repo.root });
    plain = await startServe({ model: join(repo.base, 'fraud.onnx'), port: 0 });
  });

  after(async () => {
    await server?.close();
    await plain?.close();
    await repo?.cleanup();
  });

  it('traffic like the validation set: /v1/drift and drift --url report no drift, /metrics has the PSI per feature', async () => {
    const live = syntheticFraudData(600, 42);
    for (let at = 0; at < 600; at += 100) {
      const r = await call(server.url, 'POST', '/v1/predict', request(Array.from(live.features.subarray(at * 8, (at + 100) * 8)), 100));
      assert.equal(r.status, 200);
    }
    const d = await call(server.url, 'GET', '/v1/drift');
    assert.equal(d.status, 200, d.text);
    const report = d.json<DriftReport & { window: number }>();
    assert.equal(report.live.rows, 600);
    assert.equal(report.drifted, false, JSON.stringify(report.features.map((f) => [f.name, f.psi])));
    assert.equal(report.features.length, 8);
    assert.ok(report.prediction && report.prediction.live.rows === 600);
    const metrics = parsePrometheus((await call(server.url, 'GET', '/metrics')).text);
    const psi = metrics.find((m) => m.name === 'sovereign_drift_psi');
    assert.ok(psi, 'sovereign_drift_psi is exported');
    const amount = psi.metrics.find((m) => m.labels?.feature === 'amount_log');
    assert.equal(amount?.labels?.model, 'fraud@1.0.0');
    assert.ok(Math.abs(Number(amount?.value) - report.features[0].psi) < 1e-9);
    assert.ok(metrics.find((m) => m.name === 'sovereign_drift_prediction_psi'));
    // what the Deployments view charts, from the same scrape
    const summary = summarizeMetrics((await call(server.url, 'GET', '/metrics')).text).drift!;
    assert.deepEqual(summary.features.map((f) => f.name), report.features.map((f) => f.name));
    summary.features.forEach((f, i) => {
      assert.ok(Math.abs(f.psi - report.features[i].psi) < 1e-9);
      assert.equal(f.threshold, 0.2);
    });
    assert.equal(summary.windowRows, 600);
    assert.ok(summary.predictionPsi !== undefined);
    const cli = await runCli(['drift', 'fraud@1.0.0', '--url', server.url, '--json'], { cwd: repo.root });
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal((JSON.parse(cli.stdout) as DriftReport).features.length, 8);
  });

  it('shifted traffic: amount_log drifts, and only it; drift --url exits 1', async () => {
    const live = syntheticFraudData(1000, 43);
    const r = await call(server.url, 'POST', '/v1/predict', request(shifted(live, 1), 1000));
    assert.equal(r.status, 200);
    await new Promise((done) => setTimeout(done, 1100)); // the report is cached for a second
    const report = (await call(server.url, 'GET', '/v1/drift')).json<DriftReport>();
    assert.deepEqual(report.features.filter((f) => f.drifted).map((f) => f.name), ['amount_log']);
    const cli = await runCli(['drift', 'fraud@1.0.0', '--url', server.url], { cwd: repo.root });
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stdout, /DRIFT amount_log/);
  });

  it('a model served without a baseline answers 404 at /v1/drift, and drift --url exits 2', async () => {
    const d = await call(plain.url, 'GET', '/v1/drift');
    assert.equal(d.status, 404);
    assert.match(d.text, /no drift baseline/);
    const cli = await runCli(['drift', 'fraud@1.0.0', '--url', plain.url], { cwd: repo.root });
    assert.equal(cli.code, 2);
  });
});
