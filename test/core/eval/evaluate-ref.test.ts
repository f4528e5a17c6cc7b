import assert from 'node:assert/strict';
import { join } from 'node:path';
import { evaluateRef } from '../../../src/core/eval/evaluate-ref';
import { writeFraudCsv } from '../../fixtures/onnx/fraudData';
import { writeMlpClassifier } from '../../fixtures/onnx/mlpClassifier';
import { tempDir } from '../../helpers/tmp';

/** The eval use case both front ends call (the CLI command and the extension's core client). */
describe('evaluateRef (the eval use case of the CLI and the extension)', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  before(async () => (dir = await tempDir()));
  after(() => dir.cleanup());

  it('evaluates a model file and saves nothing outside a workspace', async () => {
    const model = await writeMlpClassifier(join(dir.path, 'fraud.onnx'));
    await writeFraudCsv(join(dir.path, 'valid.csv'), 600, 3);
    const seen: number[] = [];
    const { report, saved } = await evaluateRef({ model: model.path, data: join(dir.path, 'valid.csv'), label: 'label', onProgress: (done) => seen.push(done) });
    assert.equal(report.rows, 600);
    assert.equal(saved, undefined);
    assert.deepEqual(seen, [256, 512, 600]);
  });

  it('a cancelled evaluation stops between batches with an AbortError (the extension\'s cancel button)', async () => {
    const model = await writeMlpClassifier(join(dir.path, 'fraud2.onnx'));
    await writeFraudCsv(join(dir.path, 'valid2.csv'), 600, 4);
    const controller = new AbortController();
    const seen: number[] = [];
    await assert.rejects(
      evaluateRef({
        model: model.path,
        data: join(dir.path, 'valid2.csv'),
        label: 'label',
        signal: controller.signal,
        onProgress: (done) => {
          seen.push(done);
          controller.abort();
        },
      }),
      (err: Error) => err.name === 'AbortError',
    );
    assert.deepEqual(seen, [256], 'no batch after the cancellation');
  });
});
