import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  fitMlpWeights,
  fraudDataToCsv,
  FRAUD_FEATURE_COUNT,
  MLP_INPUT,
  MLP_LABEL,
  MLP_PROBABILITIES,
  predictMlp,
  syntheticFraudData,
  TINY_WEIGHTS,
  writeCustomOpModel,
  writeExternalDataModel,
  writeMicrosoftOpModel,
  writeMlpClassifier,
  writeOnnxModel,
  localFunctionModelProto,
} from '../../fixtures/onnx';

/** The fixtures other suites depend on, checked against the REAL onnxruntime-node (CPU, 1 thread). */

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, executionProviders: ['cpu'] };

async function runClassifier(path: string, features: Float32Array, n: number): Promise<{ probabilities: Float32Array; labels: BigInt64Array }> {
  const session = await ort.InferenceSession.create(path, SESSION_OPTIONS);
  try {
    const out = await session.run({ [MLP_INPUT]: new ort.Tensor('float32', features, [n, FRAUD_FEATURE_COUNT]) });
    assert.deepEqual(out[MLP_PROBABILITIES].dims, [n, 2]);
    assert.deepEqual(out[MLP_LABEL].dims, [n]);
    return { probabilities: out[MLP_PROBABILITIES].data as Float32Array, labels: out[MLP_LABEL].data as BigInt64Array };
  } finally {
    await session.release();
  }
}

describe('ONNX fixtures with real onnxruntime-node', function () {
  this.timeout(60_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-onnx-fixture-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('syntheticFraudData is deterministic, labelled 0/1, and mixes both classes', () => {
    const a = syntheticFraudData(500, 7);
    const b = syntheticFraudData(500, 7);
    const c = syntheticFraudData(500, 8);
    assert.deepEqual(a.features, b.features);
    assert.deepEqual(a.labels, b.labels);
    assert.notDeepEqual(a.features, c.features);
    assert.equal(a.features.length, 500 * FRAUD_FEATURE_COUNT);
    const frauds = a.labels.reduce((s, v) => s + v, 0);
    assert.ok(frauds > 50 && frauds < 200, `fraud rate ${frauds}/500 should be a minority but not rare`);
    assert.ok(a.labels.every((v) => v === 0 || v === 1));
  });

  it('fraudDataToCsv writes a header and values that read back as the same float32', () => {
    const data = syntheticFraudData(20, 3);
    const lines = fraudDataToCsv(data).trimEnd().split('\n');
    assert.equal(lines.length, 21);
    assert.equal(lines[0], [...data.featureNames, 'label'].join(','));
    const cells = lines[5].split(',').map(Number);
    assert.deepEqual(Float32Array.from(cells.slice(0, 8)), data.features.subarray(4 * 8, 5 * 8));
    assert.equal(cells[8], data.labels[4]);
  });

  it('writes byte-identical classifiers for the same options', async () => {
    const a = await writeMlpClassifier(join(dir, 'a.onnx'));
    const b = await writeMlpClassifier(join(dir, 'b.onnx'));
    assert.deepEqual(await readFile(a.path), await readFile(b.path));
    assert.deepEqual(a.outputNames, [MLP_PROBABILITIES, MLP_LABEL]);
  });

  it('loads in onnxruntime with a dynamic batch and matches the TypeScript reference', async () => {
    const info = await writeMlpClassifier(join(dir, 'mlp.onnx'));
    const data = syntheticFraudData(257, 11);
    const expected = predictMlp(info.weights, data.features, data.n);
    const got = await runClassifier(info.path, data.features, data.n);
    for (let i = 0; i < data.n * 2; i++) {
      assert.ok(Math.abs(got.probabilities[i] - expected.probabilities[i]) < 1e-6, `row ${i >> 1}: ${got.probabilities[i]} vs ${expected.probabilities[i]}`);
    }
    assert.deepEqual(Array.from(got.labels, Number), Array.from(expected.labels));
    // A batch of one works too (the batch dimension is the dim_param "N").
    const one = await runClassifier(info.path, data.features.subarray(0, 8), 1);
    assert.equal(Number(one.labels[0]), expected.labels[0]);
  });

  it('gives bit-identical outputs on repeated runs', async () => {
    const info = await writeMlpClassifier(join(dir, 'mlp-repeat.onnx'));
    const data = syntheticFraudData(64, 5);
    const first = await runClassifier(info.path, data.features, data.n);
    const second = await runClassifier(info.path, data.features, data.n);
    assert.deepEqual(first.probabilities, second.probabilities);
  });

  it('classifies held-out synthetic fraud well but not perfectly', async () => {
    const info = await writeMlpClassifier(join(dir, 'mlp-eval.onnx'));
    const data = syntheticFraudData(2000, 2024);
    const got = await runClassifier(info.path, data.features, data.n);
    let correct = 0;
    let majority = 0;
    let bayes = 0;
    for (let i = 0; i < data.n; i++) {
      if (Number(got.labels[i]) === data.labels[i]) correct++;
      if (data.labels[i] === 0) majority++;
      if ((data.trueProbabilities[i] > 0.5 ? 1 : 0) === data.labels[i]) bayes++;
    }
    const accuracy = correct / data.n;
    assert.ok(accuracy > majority / data.n + 0.05, `accuracy ${accuracy} should beat always-legitimate ${majority / data.n}`);
    assert.ok(accuracy > bayes / data.n - 0.03, `accuracy ${accuracy} should be near the best possible ${bayes / data.n}`);
    assert.ok(accuracy < 0.98, `accuracy ${accuracy}: the labels are noisy, a perfect score means a broken fixture`);
  });

  it('fits the same weights for the same seed and different ones for another', () => {
    assert.deepEqual(fitMlpWeights({ seed: 42 }).w1, fitMlpWeights({ seed: 42 }).w1);
    assert.notDeepEqual(fitMlpWeights({ seed: 42, steps: 10 }).w1, fitMlpWeights({ seed: 43, steps: 10 }).w1);
  });

  it('the classifier with external data loads and gives the same outputs', async () => {
    const inline = await writeMlpClassifier(join(dir, 'inline', 'model.onnx'));
    const external = await writeMlpClassifier(join(dir, 'external', 'model.onnx'), { externalDataLocation: 'weights/model.bin' });
    assert.ok(external.externalData && external.externalData.bytes > 0);
    assert.ok(external.bytes < inline.bytes, 'the weights moved out of the .onnx file');
    const data = syntheticFraudData(32, 9);
    const a = await runClassifier(inline.path, data.features, data.n);
    const b = await runClassifier(external.path, data.features, data.n);
    assert.deepEqual(a.probabilities, b.probabilities);
  });

  it('the tiny external-data model (offset 64) loads and adds W', async () => {
    const path = await writeExternalDataModel(join(dir, 'tiny-ext'), 'data/w.bin', 64);
    const session = await ort.InferenceSession.create(path, SESSION_OPTIONS);
    const out = await session.run({ X: new ort.Tensor('float32', new Float32Array(8), [2, 4]) });
    assert.deepEqual(Array.from(out.Y.data as Float32Array), [...TINY_WEIGHTS, ...TINY_WEIGHTS]);
    await session.release();
  });

  it('a com.microsoft contrib op loads (built in), a third-party domain does not (needs native code)', async () => {
    const contrib = await writeMicrosoftOpModel(join(dir, 'contrib.onnx'));
    const session = await ort.InferenceSession.create(contrib, SESSION_OPTIONS);
    const out = await session.run({ X: new ort.Tensor('float32', Float32Array.from([0, 1, -1, 2]), [1, 4]) });
    assert.ok(Math.abs((out.Y.data as Float32Array)[1] - 0.8413447) < 1e-5);
    await session.release();
    const custom = await writeCustomOpModel(join(dir, 'custom.onnx'));
    await assert.rejects(ort.InferenceSession.create(custom, SESSION_OPTIONS));
  });

  it('a model-local function runs without any custom library', async () => {
    const path = join(dir, 'function.onnx');
    await writeOnnxModel(path, localFunctionModelProto());
    const session = await ort.InferenceSession.create(path, SESSION_OPTIONS);
    const out = await session.run({ X: new ort.Tensor('float32', Float32Array.from([-1, 1, 2, -3]), [1, 4]) });
    assert.deepEqual(Array.from(out.Y.data as Float32Array), [0, 2, 4, 0]);
    await session.release();
  });
});
