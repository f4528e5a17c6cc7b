import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';
import { writeFraudCsv } from '../fixtures/onnx/fraudData';
import { predictMlp, writeMlpClassifier } from '../fixtures/onnx/mlpClassifier';

describe('sovereign eval (the CLI)', function () {
  this.timeout(60000);
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'sovereign-cli-eval-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('prints a report, writes JSON with --json FILE, and exits 0', async () => {
    const model = await writeMlpClassifier(join(dir, 'm.onnx'));
    const data = await writeFraudCsv(join(dir, 'v.csv'), 300, 4);
    const out = join(dir, 'eval.json');
    const r = await runCli(['eval', model.path, '--data', join(dir, 'v.csv'), '--label', 'label', '--json', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /accuracy/);
    const report = JSON.parse(await readFile(out, 'utf8')) as { accuracy: number; rows: number };
    const ref = predictMlp(model.weights, data.features, data.n);
    assert.equal(report.accuracy, ref.labels.filter((l, i) => l === data.labels[i]).length / 300);
  });

  it('exits 2 for a label column that does not exist', async () => {
    const model = await writeMlpClassifier(join(dir, 'm2.onnx'));
    await writeFraudCsv(join(dir, 'v2.csv'), 10, 4);
    const r = await runCli(['eval', model.path, '--data', join(dir, 'v2.csv'), '--label', 'fraud']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no "fraud" column/);
  });
});
