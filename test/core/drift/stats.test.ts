import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { binCounts, chiSquareHomogeneity, chiSquareSurvival, gammaQ, kolmogorovQ, ksTwoSample, psi, quantileEdges, quantileSample } from '../../../src/core/drift/stats';
import { SeededRandom } from '../../fixtures/onnx/prng';

const close = (actual: number, expected: number, tol: number, what: string): void => assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);

/** Runs a Python snippet with scipy (the independent implementation); undefined when scipy is missing. */
function scipy(script: string, input: unknown): unknown {
  const r = spawnSync('python3', ['-c', `import json,sys\n${script}`], { input: JSON.stringify(input), encoding: 'utf8' });
  if (r.status !== 0) {
    if (/No module named 'scipy'|No module named 'numpy'/.test(r.stderr)) return undefined;
    throw new Error(r.stderr);
  }
  return JSON.parse(r.stdout) as unknown;
}

describe('drift statistics (hand-worked and against scipy)', () => {
  it('PSI of two bins, worked by hand', () => {
    // e = (0.5, 0.5), a = (0.25, 0.75): (0.25-0.5) ln(0.5) + (0.75-0.5) ln(1.5) = 0.25 (ln 2 + ln 1.5) = 0.25 ln 3
    close(psi([50, 50], [25, 75]), 0.25 * Math.log(3), 1e-12, 'psi');
    close(psi([50, 50], [25, 75]), 0.274653072, 1e-9, 'psi (decimal)');
    assert.equal(psi([10, 20, 30], [1, 2, 3]), 0, 'same proportions');
  });

  it('PSI clamps an empty bin to epsilon 1e-4 instead of going infinite', () => {
    // e = (1, 0 -> 1e-4), a = (0.9, 0.1): (0.9-1) ln 0.9 + (0.1-1e-4) ln(0.1/1e-4)
    const expected = -0.1 * Math.log(0.9) + 0.0999 * Math.log(1000);
    close(psi([100, 0], [90, 10]), expected, 1e-12, 'psi');
    close(expected, 0.700621, 1e-6, 'hand value');
  });

  it('quantile edges and bin counts of 1..10 in four bins, worked by hand', () => {
    const v = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
    // cut k at the ceil(k n / bins)-th order statistic: 3rd (3), 5th (5), 8th (8)
    assert.deepEqual(quantileEdges(v, 4), [3, 5, 8]);
    assert.deepEqual(binCounts(v, [3, 5, 8]), [3, 2, 3, 2]);
    assert.deepEqual(quantileEdges([1, 1, 1, 1, 2], 4), [1], 'ties collapse to fewer bins');
    assert.deepEqual(binCounts([0.5, 1, 1.5, 2, 99], [1]), [2, 3], 'right-closed bins');
    assert.deepEqual(quantileSample([5, 1, 4, 2, 3], 10), [1, 2, 3, 4, 5]);
    assert.deepEqual(quantileSample([...Array(100).keys()], 4), [12, 37, 62, 87]);
  });

  it('KS of two small samples, worked by hand', () => {
    // F_a - F_b: at 2: 0.5 - 0; at 3: 0.75 - 0.25; at 4: 1 - 0.5; at 5: 1 - 0.75 -> D = 0.5
    const r = ksTwoSample([1, 2, 3, 4], [3, 4, 5, 6]);
    assert.equal(r.statistic, 0.5);
    // ne = 2, lambda = (sqrt 2 + 0.12 + 0.11 / sqrt 2) 0.5 = 0.80600; Q = 2 (e^-2l^2 - e^-8l^2 + e^-18l^2 ...)
    const l = (Math.SQRT2 + 0.12 + 0.11 / Math.SQRT2) * 0.5;
    let q = 0;
    for (let j = 1; j < 50; j++) q += 2 * (-1) ** (j - 1) * Math.exp(-2 * j * j * l * l);
    close(r.pValue, q, 1e-12, 'p');
    close(r.pValue, 0.5349, 5e-4, 'p (decimal)');
    assert.equal(ksTwoSample([1, 2, 3], [1, 2, 3]).statistic, 0);
    assert.equal(kolmogorovQ(0), 1);
  });

  it('chi-square of a 2 x 2 table, worked by hand', () => {
    // [[20, 30], [30, 20]]: every expected count is 25, X2 = 4 (25 / 25) = 4, df 1, p = erfc(sqrt(2)) = 0.0455003
    const r = chiSquareHomogeneity([20, 30], [30, 20]);
    close(r.statistic, 4, 1e-12, 'X2');
    assert.equal(r.dof, 1);
    close(r.pValue, 0.0455002639, 1e-9, 'p');
    // df 2: the survival function is exp(-x/2)
    close(chiSquareSurvival(3, 2), Math.exp(-1.5), 1e-12, 'df 2');
    assert.deepEqual(chiSquareHomogeneity([5, 0, 5], [5, 0, 5]), { statistic: 0, pValue: 1, dof: 1 }, 'empty categories are left out');
  });

  it('agrees with scipy on random samples (ks_2samp statistic, kstwobign, chi2_contingency, gammaincc)', function () {
    const rng = new SeededRandom(7);
    const cases = Array.from({ length: 6 }, (_, k) => ({
      a: Array.from({ length: 50 + 40 * k }, () => rng.normal(0, 1)),
      b: Array.from({ length: 70 + 25 * k }, () => rng.normal(0.1 * k, 1 + 0.05 * k)),
      e: Array.from({ length: 2 + k }, () => 5 + rng.int(100)),
      o: Array.from({ length: 2 + k }, () => 5 + rng.int(100)),
      g: [0.5 + k * 1.7, 0.3 + k * 2.1],
    }));
    const out = scipy(
      `from scipy import stats, special
cases = json.load(sys.stdin)
res = []
for c in cases:
    ks = stats.ks_2samp(c['a'], c['b'])
    n, m = len(c['a']), len(c['b'])
    en = (n * m / (n + m)) ** 0.5
    chi = stats.chi2_contingency([c['e'], c['o']], correction=False)
    res.append({'d': float(ks.statistic), 'p': float(stats.kstwobign.sf((en + 0.12 + 0.11 / en) * ks.statistic)), 'x2': float(chi[0]), 'cp': float(chi[1]), 'dof': int(chi[2]), 'q': float(special.gammaincc(c['g'][0], c['g'][1]))})
print(json.dumps(res))`,
      cases,
    ) as { d: number; p: number; x2: number; cp: number; dof: number; q: number }[] | undefined;
    if (!out) return this.skip(); // the hand-worked cases above still hold
    cases.forEach((c, i) => {
      const ks = ksTwoSample(c.a, c.b);
      close(ks.statistic, out[i].d, 1e-12, `D ${i}`);
      close(ks.pValue, out[i].p, 1e-9, `KS p ${i}`);
      const chi = chiSquareHomogeneity(c.e, c.o);
      close(chi.statistic, out[i].x2, 1e-9, `X2 ${i}`);
      assert.equal(chi.dof, out[i].dof);
      close(chi.pValue, out[i].cp, 1e-9, `chi2 p ${i}`);
      close(gammaQ(c.g[0], c.g[1]), out[i].q, 1e-10, `Q ${i}`);
    });
  });
});
