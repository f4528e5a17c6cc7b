import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addModel } from '../../src/core/govern/admission';
import { fraudDataToCsv, fraudDataToJsonl, syntheticFraudData, writeFraudCsv, type FraudData } from '../fixtures/onnx/fraudData';
import { writeMlpClassifier } from '../fixtures/onnx/mlpClassifier';
import { runCli } from '../helpers/cli';
import { makeOpenRegistry, type TestRepo } from '../core/registry/repo';

interface DriftJson {
  schema: string;
  drifted: boolean;
  features: { name: string; psi: number; drifted: boolean; kind: string; ks?: { statistic: number; pValue: number }; chi2?: { statistic: number; pValue: number; dof: number }; unseen?: Record<string, number> }[];
  prediction?: { psi: number; drifted: boolean };
}

/** The data set with one column edited (a CSV as a user would have it). */
function edited(data: FraudData, column: number, edit: (v: number, row: number) => number): FraudData {
  const features = Float32Array.from(data.features);
  for (let r = 0; r < data.n; r++) features[r * 8 + column] = Math.fround(edit(features[r * 8 + column], r));
  return { ...data, features };
}

describe('sovereign eval stores the drift baseline; sovereign drift compares live data with it (CLI, real ONNX Runtime, real git)', function () {
  this.timeout(120_000);
  let repo: TestRepo;
  const env = (): NodeJS.ProcessEnv => ({ SOVEREIGN_STORE: repo.store });
  const cli = (args: string[]) => runCli(args, { cwd: repo.root, env: env() });

  before(async () => {
    repo = await makeOpenRegistry();
    await writeMlpClassifier(join(repo.base, 'fraud.onnx'));
    await addModel(repo.root, { input: join(repo.base, 'fraud.onnx'), name: 'fraud', version: '1.0.0' });
    await writeFraudCsv(join(repo.base, 'validation.csv'), 2000, 21);
    const live = syntheticFraudData(1000, 22);
    await writeFile(join(repo.base, 'live-same.csv'), fraudDataToCsv(live));
    await writeFile(join(repo.base, 'live-same.jsonl'), fraudDataToJsonl(live));
    await writeFile(join(repo.base, 'live-shifted.csv'), fraudDataToCsv(edited(live, 0, (v) => v + 1)));
    await writeFile(join(repo.base, 'live-newcat.csv'), fraudDataToCsv(edited(live, 4, (v, r) => (r % 4 === 0 ? 2 : v))));
  });

  after(async () => repo?.cleanup());

  it('eval NAME@VERSION writes the report and the baseline under .sovereign/evals/ and commits them', async () => {
    const r = await cli(['eval', 'fraud@1.0.0', '--data', join(repo.base, 'validation.csv'), '--label', 'label']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /stored \.sovereign\/evals\/fraud\/1\.0\.0\/.*\.json and the drift baseline \.sovereign\/evals\/fraud\/1\.0\.0\/baseline\.json \(commit [0-9a-f]{8}\)/);
    const baseline = JSON.parse(await readFile(join(repo.root, '.sovereign/evals/fraud/1.0.0/baseline.json'), 'utf8')) as { schema: string; model: { name: string; version: string; sha256: string }; features: { name: string; kind: string }[]; prediction: { counts: Record<string, number> }; label: { rows: number } };
    assert.equal(baseline.schema, 'sovereign.drift-baseline/v1');
    assert.deepEqual([baseline.model.name, baseline.model.version], ['fraud', '1.0.0']);
    assert.equal(baseline.features.length, 8);
    assert.equal(Object.values(baseline.prediction.counts).reduce((s, c) => s + c, 0), 2000);
    assert.equal(baseline.label.rows, 2000);
    assert.equal(repo.git('status', '--porcelain', '.sovereign'), '', 'committed, nothing left over');
    const log = repo.git('log', '-1', '--name-only', '--format=%s');
    assert.match(log, /^eval: fraud@1\.0\.0 on 2000 rows/);
    assert.match(log, /\.sovereign\/evals\/fraud\/1\.0\.0\/baseline\.json/);
  });

  it('drift --data from the validation distribution: exit 0, nothing drifted', async () => {
    const r = await cli(['drift', 'fraud@1.0.0', '--data', join(repo.base, 'live-same.csv'), '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const j = JSON.parse(r.stdout) as DriftJson;
    assert.equal(j.schema, 'sovereign.drift/v1');
    assert.equal(j.drifted, false);
    assert.equal(j.features.length, 8);
    for (const f of j.features) {
      assert.equal(typeof f.psi, 'number');
      assert.equal(f.drifted, false, f.name);
      assert.ok(f.kind === 'numeric' ? f.ks : f.chi2, `${f.name} has its test`);
    }
    assert.ok(j.prediction && j.prediction.drifted === false);
  });

  it('drift --data accepts JSON Lines with a features array (by position, under the baseline\'s names)', async () => {
    const r = await cli(['drift', 'fraud@1.0.0', '--data', join(repo.base, 'live-same.jsonl'), '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const j = JSON.parse(r.stdout) as DriftJson;
    assert.deepEqual(j.features.map((f) => f.name).slice(0, 2), ['amount_log', 'distance_log']);
    const csv = JSON.parse((await cli(['drift', 'fraud@1.0.0', '--data', join(repo.base, 'live-same.csv'), '--json'])).stdout) as DriftJson;
    assert.deepEqual(j.features.map((f) => f.psi), csv.features.map((f) => f.psi), 'same rows, same numbers');
  });

  it('one shifted feature: exit 1, exactly that feature, and the text names it', async () => {
    const r = await cli(['drift', 'fraud@1.0.0', '--data', join(repo.base, 'live-shifted.csv'), '--json']);
    assert.equal(r.code, 1, r.stderr);
    const j = JSON.parse(r.stdout) as DriftJson;
    assert.deepEqual(j.features.filter((f) => f.drifted).map((f) => f.name), ['amount_log']);
    const text = await cli(['drift', 'fraud@1.0.0', '--data', join(repo.base, 'live-shifted.csv')]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /DRIFT amount_log/);
    assert.match(text.stdout, /drifted: amount_log \(PSI/);
  });

  it('a new category: exit 1, exactly that feature, with the unseen value', async () => {
    const r = await cli(['drift', 'fraud@1.0.0', '--data', join(repo.base, 'live-newcat.csv'), '--json']);
    assert.equal(r.code, 1, r.stderr);
    const j = JSON.parse(r.stdout) as DriftJson;
    assert.deepEqual(j.features.filter((f) => f.drifted).map((f) => f.name), ['foreign']);
    assert.deepEqual(j.features.find((f) => f.name === 'foreign')!.unseen, { 2: 250 });
  });

  it('the drift: section of policy.yaml sets the thresholds', async () => {
    await repo.write('.sovereign/policy.yaml', 'version: 1\ndrift:\n  psi: 0.2\n  features:\n    amount_log: { psi: 50 }\n');
    try {
      const r = await cli(['drift', 'fraud@1.0.0', '--data', join(repo.base, 'live-shifted.csv'), '--json']);
      const j = JSON.parse(r.stdout) as DriftJson;
      assert.equal(j.features.find((f) => f.name === 'amount_log')!.drifted, false);
      // the prediction distribution still moved (more amount, more fraud predicted) unless it is within its threshold
      assert.equal(r.code, j.drifted ? 1 : 0);
      await repo.write('.sovereign/policy.yaml', 'version: 1\ndrift:\n  psi: -1\n');
      const bad = await cli(['drift', 'fraud@1.0.0', '--data', join(repo.base, 'live-same.csv')]);
      assert.equal(bad.code, 2, 'a malformed drift section is a usage error');
      assert.match(bad.stderr, /policy\.yaml/);
    } finally {
      await repo.write('.sovereign/policy.yaml', 'version: 1\n');
    }
  });

  it('usage errors exit 2: no --data/--url, no baseline for the version, a file without the features', async () => {
    const none = await cli(['drift', 'fraud@1.0.0']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /exactly one of --data/);
    await writeMlpClassifier(join(repo.base, 'fraud2.onnx'), { seed: 43 });
    await addModel(repo.root, { input: join(repo.base, 'fraud2.onnx'), name: 'fraud', version: '1.1.0' });
    const missing = await cli(['drift', 'fraud@1.1.0', '--data', join(repo.base, 'live-same.csv')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no validation baseline[\s\S]*sovereign eval fraud@1\.1\.0/);
    await writeFile(join(repo.base, 'narrow.csv'), 'amount_log,label\n1,0\n');
    const narrow = await cli(['drift', 'fraud@1.0.0', '--data', join(repo.base, 'narrow.csv')]);
    assert.equal(narrow.code, 2);
    assert.match(narrow.stderr, /has no "distance_log", .* columns/);
  });

  it('serve --drift-baseline refuses a file that is not a baseline (exit 2, says what to give) before listening', async () => {
    await writeFile(join(repo.base, 'not-a-baseline.json'), '{"schema":"something/else","features":[]}');
    const wrong = await cli(['serve', '--model', join(repo.base, 'fraud.onnx'), '--port', '0', '--drift-baseline', join(repo.base, 'not-a-baseline.json')]);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /is not a sovereign\.drift-baseline\/v1 baseline[\s\S]*sovereign eval NAME@VERSION/);
    const missing = await cli(['serve', '--model', join(repo.base, 'fraud.onnx'), '--port', '0', '--drift-baseline', join(repo.base, 'nowhere.json')]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.doesNotMatch(missing.stdout, /"url"/, 'nothing listened');
  });
});
