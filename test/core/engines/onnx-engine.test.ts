import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEngine, type OpenedEngine } from '../../../src/core/engines';
import { OnnxEngine } from '../../../src/core/engines/onnx/onnx-engine';
import { FRAUD_FEATURE_COUNT, syntheticFraudData } from '../../fixtures/onnx/fraudData';
import { predictMlp, writeMlpClassifier, type MlpModelInfo } from '../../fixtures/onnx/mlpClassifier';

describe('ONNX engine (real onnxruntime-node)', function () {
  this.timeout(60000);
  let dir: string;
  let model: MlpModelInfo;
  const data = syntheticFraudData(64, 7);
  const expected = (): ReturnType<typeof predictMlp> => predictMlp(model.weights, data.features, data.n);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-onnx-'));
    model = await writeMlpClassifier(join(dir, 'fraud.onnx'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('describes inputs, outputs and the execution providers, in process', async () => {
    const engine = await OnnxEngine.load(model.path);
    try {
      const d = engine.description;
      assert.deepEqual(d.inputs?.map((i) => i.name), [model.inputName]);
      assert.deepEqual(d.inputs?.[0].dims, ['N', FRAUD_FEATURE_COUNT]);
      assert.equal(d.inputs?.[0].type, 'float32');
      assert.deepEqual(d.outputs?.map((o) => o.name), model.outputNames);
      assert.equal(d.threads, 1);
      assert.ok(d.executionProviders?.includes('cpu'));
      assert.equal(d.versions['onnxruntime-node'], '1.30.0');
    } finally {
      await engine.dispose();
    }
  });

  it('runs a batch in a supervised child with the probabilities of the reference computation', async () => {
    let opened: OpenedEngine | undefined;
    try {
      opened = await openEngine(model.path);
      assert.equal(opened.description.kind, 'onnx');
      const result = await opened.engine.predict({ [model.inputName]: { type: 'float32', dims: [data.n, FRAUD_FEATURE_COUNT], data: Array.from(data.features) } });
      const probs = result.outputs.probabilities;
      assert.deepEqual(probs.dims, [data.n, 2]);
      const want = expected();
      probs.data.forEach((p, i) => assert.ok(Math.abs(p - want.probabilities[i]) < 1e-4, `row ${i >> 1}: ${p} vs ${want.probabilities[i]}`));
      assert.deepEqual(result.outputs.label.data, Array.from(want.labels));
      assert.equal(result.outputs.label.type, 'int64');
    } finally {
      await opened?.engine.stop();
    }
  });

  it('rejects inputs of the wrong size or name with a message naming the input', async () => {
    const engine = await OnnxEngine.load(model.path);
    try {
      await assert.rejects(engine.predict({ [model.inputName]: { type: 'float32', dims: [2, FRAUD_FEATURE_COUNT], data: [1, 2, 3] } }), /has 3 values for dims \[2,8\]/);
      await assert.rejects(engine.predict({ nope: { type: 'float32', dims: [1], data: [1] } }), /missing input "features"/);
    } finally {
      await engine.dispose();
    }
  });
});
