/**
 * Drift statistics (pure functions, no I/O): the Population Stability Index, the two-sample
 * Kolmogorov-Smirnov test and Pearson's chi-square test of homogeneity, with their p-values.
 * docs/drift.md gives the formulas and the conventions (bins, epsilon, unseen categories).
 */

/** Proportions below this are clamped to it in PSI, so an empty bin gives a large finite term, not Infinity. */
export const PSI_EPSILON = 1e-4;

/**
 * PSI = sum over bins of (a - e) * ln(a / e), a and e the live and baseline proportions (each clamped to
 * `epsilon`). 0 means identical; the customary reading is < 0.1 stable, 0.1-0.2 moderate, > 0.2 drifted.
 */
export function psi(expectedCounts: readonly number[], actualCounts: readonly number[], epsilon = PSI_EPSILON): number {
  if (expectedCounts.length !== actualCounts.length) throw new RangeError('psi: the two count vectors differ in length');
  const e = proportions(expectedCounts);
  const a = proportions(actualCounts);
  let sum = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = Math.max(e[i], epsilon);
    const ai = Math.max(a[i], epsilon);
    sum += (ai - ei) * Math.log(ai / ei);
  }
  return sum;
}

function proportions(counts: readonly number[]): number[] {
  const total = counts.reduce((s, c) => s + c, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
}

/**
 * Quantile cut points of `values` for `bins` equal-frequency bins: the interior edges e_1 < ... < e_k
 * (duplicates removed, so a feature with ties gets fewer bins). Bin i holds x with e_i < x <= e_{i+1}
 * (e_0 = -Infinity, e_{k+1} = +Infinity). Edges are order statistics (type-1 quantiles), so they are
 * values that occur in the data.
 */
export function quantileEdges(values: readonly number[], bins: number): number[] {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const sorted = [...values].sort((x, y) => x - y);
  const n = sorted.length;
  if (n === 0) return [];
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const edge = sorted[Math.min(n - 1, Math.max(0, Math.ceil((k * n) / bins) - 1))];
    if (edge !== edges.at(-1) && edge !== sorted[n - 1]) edges.push(edge);
  }
  return edges;
}

/** Counts of `values` in the bins the interior `edges` define (edges.length + 1 bins, right-closed). */
export function binCounts(values: Iterable<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) counts[binIndex(v, edges)]++;
  return counts;
}

/** The bin of `v`: the number of edges strictly below it (binary search). */
export function binIndex(v: number, edges: readonly number[]): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `k` order statistics that stand for a sorted sample's empirical distribution: all of it when it has at
 * most k values, else the values at the mid-points (i + 0.5) * n / k. The ECDF of the result is within
 * 1/k of the full one everywhere, which bounds the error of a KS statistic computed from it.
 */
export function quantileSample(values: readonly number[], k: number): number[] {
  const sorted = [...values].sort((x, y) => x - y);
  if (sorted.length <= k) return sorted;
  const out: number[] = [];
  for (let i = 0; i < k; i++) out.push(sorted[Math.floor(((i + 0.5) * sorted.length) / k)]);
  return out;
}

export interface TestResult {
  statistic: number;
  pValue: number;
}

/**
 * Two-sample Kolmogorov-Smirnov: D = max |F_a(x) - F_b(x)| over the pooled values, and its asymptotic
 * two-sided p-value Q_KS((sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) * D), ne = n m / (n + m) (Stephens'
 * correction, as in Numerical Recipes' kstwo; scipy's `ks_2samp(method="asymp")` is within a few percent).
 */
export function ksTwoSample(a: readonly number[], b: readonly number[]): TestResult {
  if (a.length === 0 || b.length === 0) return { statistic: 0, pValue: 1 };
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i], y[j]);
    while (i < x.length && x[i] <= v) i++;
    while (j < y.length && y[j] <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  const ne = (x.length * y.length) / (x.length + y.length);
  const en = Math.sqrt(ne);
  return { statistic: d, pValue: kolmogorovQ((en + 0.12 + 0.11 / en) * d) };
}

/** Q_KS(lambda) = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lambda^2), the Kolmogorov distribution's tail. */
export function kolmogorovQ(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let sum = 0;
  let sign = 1;
  for (let j = 1; j <= 100; j++) {
    const term = sign * Math.exp(-2 * j * j * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12 * Math.abs(sum)) return Math.min(1, Math.max(0, 2 * sum));
    sign = -sign;
  }
  return 1; // did not converge: lambda is tiny
}

/**
 * Pearson's chi-square test of homogeneity of two count vectors over the same categories (a 2 x K table;
 * categories empty in both are left out): statistic sum (O - E)^2 / E, K - 1 degrees of freedom.
 */
export function chiSquareHomogeneity(expectedCounts: readonly number[], actualCounts: readonly number[]): TestResult & { dof: number } {
  if (expectedCounts.length !== actualCounts.length) throw new RangeError('chi-square: the two count vectors differ in length');
  const cols = expectedCounts.map((e, i) => [e, actualCounts[i]]).filter(([e, a]) => e + a > 0);
  const n1 = cols.reduce((s, [e]) => s + e, 0);
  const n2 = cols.reduce((s, [, a]) => s + a, 0);
  const n = n1 + n2;
  if (cols.length < 2 || n1 === 0 || n2 === 0) return { statistic: 0, pValue: 1, dof: Math.max(0, cols.length - 1) };
  let stat = 0;
  for (const [e, a] of cols) {
    const total = e + a;
    const ee = (n1 * total) / n;
    const ea = (n2 * total) / n;
    stat += (e - ee) ** 2 / ee + (a - ea) ** 2 / ea;
  }
  const dof = cols.length - 1;
  return { statistic: stat, pValue: chiSquareSurvival(stat, dof), dof };
}

/** P(X > x) for X ~ chi-square(dof): the regularized upper incomplete gamma Q(dof / 2, x / 2). */
export function chiSquareSurvival(x: number, dof: number): number {
  if (x <= 0) return 1;
  return gammaQ(dof / 2, x / 2);
}

/** Regularized upper incomplete gamma Q(a, x) (series below a + 1, Lentz continued fraction above). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnPrefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.min(1, Math.max(0, 1 - sum * Math.exp(lnPrefix)));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.min(1, Math.max(0, Math.exp(lnPrefix) * h));
}

/** ln Gamma(x), Lanczos approximation (g = 7, 9 terms), ~15 significant digits for x > 0. */
export function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const xx = x - 1;
  let s = c[0];
  for (let i = 1; i < 9; i++) s += c[i] / (xx + i);
  const t = xx + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(t) - t + Math.log(s);
}
