/*
 * The tests `warden canary report` uses to say whether a difference between its two arms is real:
 * deterministic (no resampling, so the same log always gives the same verdict) and two-sided.
 *
 *   - a rate (a share of runs): the two-proportion z-test, or Fisher's exact test when a cell of
 *     the 2×2 table expects fewer than 5 runs (where the normal approximation is poor);
 *   - anything measured per run or per call (cost, duration, latency, counts): the Mann-Whitney U
 *     test (Wilcoxon rank-sum), normal approximation with tie and continuity correction as R's
 *     `wilcox.test(exact = FALSE)` and SciPy's `mannwhitneyu(method = 'asymptotic')` compute it.
 *     Costs and latencies are skewed with long tails; a rank test does not assume normality.
 *
 * The rank test takes sufficient statistics (sizes, the rank sum of one sample, the tie term) so
 * the audit log can compute them in SQL over any number of runs (canary-queries.ts); `rankSummary`
 * computes the same from two samples in memory.
 */

/** The significance level of every verdict. */
export const ALPHA = 0.05;

/** Below this many runs in an arm, the report says the p-values are rough. */
export const FEW_RUNS = 30;

/** Whether a difference is real, as the report says it. */
export type Verdict = 'significant' | 'not enough evidence';

/** The test a comparison used. */
export type TestName = 'two-proportion z' | 'fisher exact' | 'mann-whitney u';

/** A test's outcome: its two-sided p-value, or none when a sample is empty. */
export interface TestResult {
  readonly test: TestName;
  /** Two-sided; null when it cannot be computed (an arm without any observation). */
  readonly p_value: number | null;
}

/** `significant` below {@link ALPHA}; anything else (no p-value included) is not enough evidence. */
export function verdictOf(pValue: number | null): Verdict {
  return pValue !== null && pValue < ALPHA ? 'significant' : 'not enough evidence';
}

/**
 * The complementary error function, to about 1e-15 relative: the positive-term series of erf
 * below 2 (no cancellation), a continued fraction (modified Lentz) above, where 1 − erf would
 * lose every digit of a small p-value.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) return 1 - erfSeries(x);
  if (x > 27) return 0; // below the smallest double
  return erfcContinuedFraction(x);
}

/** erf(x) = 2/√π · e^(−x²) · Σ (2x²)ⁿ · x / (1·3·…·(2n+1)): every term positive. */
function erfSeries(x: number): number {
  const x2 = 2 * x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= x2 / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

/** erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))). */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/** The two-sided p-value of a standard normal statistic: P(|Z| ≥ |z|). */
export function twoSidedNormalP(z: number): number {
  return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}

/** Successes out of a number of trials (runs). */
export interface Proportion {
  readonly successes: number;
  readonly trials: number;
}

/**
 * The two-proportion z-test (pooled standard error, no continuity correction): whether `a` and
 * `b` come from one rate. 1 when both rates are 0 or both 1 (nothing varies).
 */
export function twoProportionZTest(a: Proportion, b: Proportion): number {
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials));
  if (se === 0) return 1;
  return twoSidedNormalP((a.successes / a.trials - b.successes / b.trials) / se);
}

/**
 * Fisher's exact test of the 2×2 table [[a.successes, a.failures], [b.successes, b.failures]],
 * two-sided as R's `fisher.test` computes it: the probability, under the hypergeometric law with
 * the table's margins, of every table no more likely than the one observed (with R's relative
 * tolerance of 1e-7, so tables equally likely up to rounding count).
 */
export function fisherExactTest(a: Proportion, b: Proportion): number {
  const m = a.successes + b.successes; // successes in all
  const n = a.trials + b.trials - m; // failures in all
  const k = a.trials; // the first row's size
  const low = Math.max(0, k - n);
  const high = Math.min(k, m);
  // Log-probabilities up to a constant, by the ratio of consecutive terms:
  // P(x+1)/P(x) = (m−x)(k−x) / ((x+1)(n−k+x+1)). No factorial ever overflows.
  const logs: number[] = [0];
  for (let x = low; x < high; x++) {
    const previous = logs[logs.length - 1] ?? 0;
    logs.push(previous + Math.log(((m - x) * (k - x)) / ((x + 1) * (n - k + x + 1))));
  }
  const top = Math.max(...logs);
  const weights = logs.map((log) => Math.exp(log - top));
  const total = weights.reduce((sum, w) => sum + w, 0);
  const observed = weights[a.successes - low] ?? 0;
  const limit = observed * (1 + 1e-7);
  const tail = weights.filter((w) => w <= limit).reduce((sum, w) => sum + w, 0);
  return Math.min(1, tail / total);
}

/**
 * Compares two rates: Fisher's exact test when a cell of the 2×2 table expects fewer than 5
 * (the usual rule for when the z-test's normal approximation is poor), else the z-test. No
 * p-value when an arm has no trial.
 */
export function compareProportions(a: Proportion, b: Proportion): TestResult {
  if (a.trials === 0 || b.trials === 0) return { test: 'two-proportion z', p_value: null };
  const total = a.trials + b.trials;
  const successes = a.successes + b.successes;
  const failures = total - successes;
  const smallest =
    (Math.min(a.trials, b.trials) * Math.min(successes, failures)) / Math.max(total, 1);
  return smallest < 5
    ? { test: 'fisher exact', p_value: fisherExactTest(a, b) }
    : { test: 'two-proportion z', p_value: twoProportionZTest(a, b) };
}

/**
 * What the rank test needs of two samples `a` and `b`, pooled and ranked (ties get their mean
 * rank): each size, the rank sum of `b`, and Σ(t³ − t) over groups of t equal values.
 */
export interface RankSummary {
  readonly na: number;
  readonly nb: number;
  readonly rankSumB: number;
  readonly tieTerm: number;
}

/** The {@link RankSummary} of two samples, in memory (the SQL computes the same in the log). */
export function rankSummary(a: readonly number[], b: readonly number[]): RankSummary {
  const pooled = [
    ...a.map((value) => ({ value, inB: false })),
    ...b.map((value) => ({ value, inB: true })),
  ].sort((x, y) => x.value - y.value);
  let rankSumB = 0;
  let tieTerm = 0;
  for (let start = 0; start < pooled.length;) {
    let end = start;
    while (end < pooled.length && pooled[end]?.value === pooled[start]?.value) end++;
    const t = end - start;
    // Ranks start+1 … end: their mean.
    const rank = (start + 1 + end) / 2;
    for (let i = start; i < end; i++) if (pooled[i]?.inB === true) rankSumB += rank;
    tieTerm += t * t * t - t;
    start = end;
  }
  return { na: a.length, nb: b.length, rankSumB, tieTerm };
}

/**
 * The Mann-Whitney U test of two samples from their {@link RankSummary}: U of `b`, its normal
 * approximation with the variance corrected for ties and a continuity correction of ½. 1 when
 * every value is the same; no p-value when a sample is empty.
 */
export function mannWhitneyU(summary: RankSummary): TestResult & { readonly u: number | null } {
  const { na, nb, rankSumB, tieTerm } = summary;
  if (na === 0 || nb === 0) return { test: 'mann-whitney u', p_value: null, u: null };
  const n = na + nb;
  const u = rankSumB - (nb * (nb + 1)) / 2;
  const mean = (na * nb) / 2;
  const variance = ((na * nb) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (!(variance > 0)) return { test: 'mann-whitney u', p_value: 1, u };
  const z = Math.max(0, Math.abs(u - mean) - 0.5) / Math.sqrt(variance);
  return { test: 'mann-whitney u', p_value: twoSidedNormalP(z), u };
}
