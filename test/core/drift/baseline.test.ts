import assert from 'node:assert/strict';
import { buildBaseline, compareWithBaseline, UNSEEN, type Column, type NumericBaseline } from '../../../src/core/drift/baseline';
import { psi } from '../../../src/core/drift/stats';
import { FRAUD_FEATURES, syntheticFraudData, type FraudData } from '../../fixtures/onnx/fraudData';

function columns(data: FraudData, edit?: (name: string, v: number, row: number) => number): Column[] {
  return FRAUD_FEATURES.map((name, j) => ({
    name,
    values: Array.from({ length: data.n }, (_, r) => {
      const v = data.features[r * FRAUD_FEATURES.length + j];
      return edit ? edit(name, v, r) : v;
    }),
  }));
}

const live = (cols: Column[]) => ({ source: 'test', columns: new Map(cols.map((c) => [c.name, c.values])) });

describe('drift baseline and comparison (the fraud validation distribution)', () => {
  const validation = syntheticFraudData(2000, 11);
  const baseline = buildBaseline(columns(validation), [], Array.from(validation.labels, String), { createdAt: '2026-01-01T00:00:00.000Z', data: { path: 'v.csv', rows: 2000, label: 'label' } });

  it('keeps quantile bins for numeric features and frequencies for categorical ones', () => {
    const kinds = Object.fromEntries(baseline.features.map((f) => [f.name, f.kind]));
    assert.equal(kinds.amount_log, 'numeric');
    assert.equal(kinds.merchant_risk, 'numeric');
    assert.equal(kinds.foreign, 'categorical');
    assert.equal(kinds.card_present, 'categorical');
    assert.equal(kinds.night, 'categorical');
    const amount = baseline.features.find((f) => f.name === 'amount_log') as NumericBaseline;
    assert.equal(amount.edges.length, 9);
    assert.equal(amount.counts.reduce((s, c) => s + c, 0), 2000);
    for (const c of amount.counts) assert.equal(c, 200, 'equal-frequency bins');
    assert.equal(amount.sample.length, 1000);
    assert.equal(baseline.label?.rows, 2000);
  });

  it('replaying data from the validation distribution reports no drift', () => {
    for (const seed of [12, 13, 14]) {
      const r = compareWithBaseline(baseline, live(columns(syntheticFraudData(1000, seed))));
      assert.equal(r.drifted, false, JSON.stringify(r.features.map((f) => [f.name, f.psi])));
      for (const f of r.features) assert.ok(f.psi < 0.05, `${f.name} PSI ${f.psi}`);
    }
  });

  it('one shifted numeric feature is reported, and only that one', () => {
    const shifted = columns(syntheticFraudData(1000, 12), (name, v) => (name === 'amount_log' ? v + 1 : v));
    const r = compareWithBaseline(baseline, live(shifted));
    assert.equal(r.drifted, true);
    assert.deepEqual(r.features.filter((f) => f.drifted).map((f) => f.name), ['amount_log']);
    const f = r.features.find((x) => x.name === 'amount_log')!;
    assert.ok(f.psi > 0.2 && f.ks!.statistic > 0.2 && f.ks!.pValue < 1e-6, JSON.stringify(f));
    assert.match(f.reasons[0], /^PSI \d+\.\d{3} > 0\.2$/);
  });

  it('a new category goes to the unseen bucket and drifts exactly that feature', () => {
    const cols = columns(syntheticFraudData(1000, 12), (name, v, row) => (name === 'foreign' && row % 4 === 0 ? 2 : v));
    const r = compareWithBaseline(baseline, live(cols));
    assert.deepEqual(r.features.filter((f) => f.drifted).map((f) => f.name), ['foreign']);
    const f = r.features.find((x) => x.name === 'foreign')!;
    assert.deepEqual(f.unseen, { 2: 250 });
    assert.equal(f.live.proportions![UNSEEN], 0.25);
    assert.ok(f.chi2!.pValue < 1e-6);
    // the PSI is the one of the count vectors (baseline 0, 1, unseen) against (live 0, 1, unseen)
    const b = (baseline.features.find((x) => x.name === 'foreign') as { counts: Record<string, number> }).counts;
    const liveCounts = [0, 0, 0];
    for (const v of cols.find((c) => c.name === 'foreign')!.values) liveCounts[v === 0 ? 0 : v === 1 ? 1 : 2]++;
    assert.equal(f.psi, psi([b['0'], b['1'], 0], liveCounts));
  });

  it('thresholds: per-feature PSI, and the optional KS / chi-square p-value rules', () => {
    const shifted = columns(syntheticFraudData(1000, 12), (name, v) => (name === 'amount_log' ? v + 1 : v));
    const relaxed = compareWithBaseline(baseline, live(shifted), { psi: 0.2, features: { amount_log: { psi: 100 } } });
    assert.equal(relaxed.drifted, false);
    const strict = compareWithBaseline(baseline, live(shifted), { psi: 100, ks_p_value: 0.001 });
    assert.deepEqual(strict.features.filter((f) => f.drifted).map((f) => f.name), ['amount_log']);
    assert.match(strict.features.find((f) => f.name === 'amount_log')!.reasons[0], /^KS p /);
  });
});
