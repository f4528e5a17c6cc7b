import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateModel } from '../../../src/core/eval/evaluate';
import { classificationReport } from '../../../src/core/eval/metrics';
import { readDataset } from '../../../src/core/eval/dataset';
import { fraudDataToJsonl, syntheticFraudData, writeFraudCsv } from '../../fixtures/onnx/fraudData';
import { predictMlp, writeMlpClassifier } from '../../fixtures/onnx/mlpClassifier';

describe('eval', function () {
  this.timeout(30000);
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'sovereign-eval-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('computes accuracy, the confusion matrix and per-class precision/recall from their definitions', () => {
    const actual = ['0', '0', '0', '1', '1', '2'];
    const predicted = ['0', '1', '0', '1', '0', '2'];
    const r = classificationReport(actual, predicted);
    assert.deepEqual(r.labels, ['0', '1', '2']);
    assert.deepEqual(r.confusion, [[2, 1, 0], [1, 1, 0], [0, 0, 1]]);
    assert.equal(r.accuracy, 4 / 6);
    assert.equal(r.errorRate, 1 - 4 / 6);
    assert.equal(r.perClass[0].precision, 2 / 3);
    assert.equal(r.perClass[0].recall, 2 / 3);
    assert.equal(r.perClass[1].precision, 1 / 2);
    assert.equal(r.perClass[2].f1, 1);
  });

  it('evaluates the ONNX classifier on CSV data exactly as the reference forward pass predicts', async () => {
    const model = await writeMlpClassifier(join(dir, 'fraud.onnx'));
    const data = await writeFraudCsv(join(dir, 'valid.csv'), 400, 11);
    const report = await evaluateModel({ model: model.path, data: join(dir, 'valid.csv'), label: 'label' });
    const reference = predictMlp(model.weights, data.features, data.n);
    const correct = reference.labels.reduce((n, l, i) => n + (l === data.labels[i] ? 1 : 0), 0);
    assert.equal(report.rows, 400);
    assert.equal(report.accuracy, correct / 400);
    assert.equal(report.confusion.flat().reduce((a, b) => a + b, 0), 400);
    assert.equal(report.model.output, 'label');
    assert.equal(report.schema, 'sovereign.eval/v1');
    assert.ok(report.latency.batch1Ms.p50 > 0 && report.latency.batch1Ms.p99 >= report.latency.batch1Ms.p50);
  });

  it('reads JSON Lines with a features array, and names a bad cell', async () => {
    const model = await writeMlpClassifier(join(dir, 'fraud2.onnx'));
    const data = syntheticFraudData(50, 5);
    await writeFile(join(dir, 'valid.jsonl'), fraudDataToJsonl(data));
    const report = await evaluateModel({ model: model.path, data: join(dir, 'valid.jsonl'), label: 'label' });
    assert.equal(report.rows, 50);
    await writeFile(join(dir, 'bad.csv'), 'a,b,label\n1,x,0\n');
    await assert.rejects(readDataset(join(dir, 'bad.csv'), 'label'), /row 1, feature b is not a number/);
  });
});
