import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type RunningServer } from '../../../src/core/serve/start';
import { FRAUD_FEATURE_COUNT, syntheticFraudData } from '../../fixtures/onnx/fraudData';
import { predictMlp, writeMlpClassifier, type MlpModelInfo } from '../../fixtures/onnx/mlpClassifier';
import { call } from './http-client';

describe('sovereign serve over HTTP with an ONNX model', function () {
  this.timeout(60000);
  let dir: string;
  let model: MlpModelInfo;
  let server: RunningServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-serve-onnx-'));
    model = await writeMlpClassifier(join(dir, 'fraud.onnx'));
    server = await startServe({ model: model.path, port: 0 });
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('POST /v1/predict runs a batch and returns JSON tensors equal to the reference', async () => {
    const data = syntheticFraudData(10, 3);
    const reply = await call(server.url, 'POST', '/v1/predict', { inputs: { features: { type: 'float32', dims: [10, FRAUD_FEATURE_COUNT], data: Array.from(data.features) } } });
    assert.equal(reply.status, 200);
    const body = reply.json<{ outputs: Record<string, { dims: number[]; data: number[] }>; run_ms: number }>();
    const want = predictMlp(model.weights, data.features, data.n);
    assert.deepEqual(body.outputs.label.data, Array.from(want.labels));
    body.outputs.probabilities.data.forEach((p, i) => assert.ok(Math.abs(p - want.probabilities[i]) < 1e-4));
    assert.ok(body.run_ms >= 0);
  });

  it('describes the inputs in /v1/models, refuses text routes, and reports bad tensors as 400', async () => {
    const models = await call(server.url, 'GET', '/v1/models');
    const meta = models.json<{ data: { meta: { kind: string; inputs: { name: string }[] } }[] }>().data[0].meta;
    assert.equal(meta.kind, 'onnx');
    assert.deepEqual(meta.inputs.map((i) => i.name), ['features']);
    assert.equal((await call(server.url, 'POST', '/v1/completions', { prompt: 'x' })).status, 400);
    const bad = await call(server.url, 'POST', '/v1/predict', { inputs: { features: { type: 'float32', dims: [1, 8], data: [1] } } });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /has 1 values/);
  });
});
