import { describe, expect, it } from 'vitest';
import {
  compareProportions,
  erfc,
  fisherExactTest,
  mannWhitneyU,
  rankSummary,
  twoProportionZTest,
  twoSidedNormalP,
  verdictOf,
} from './stats.js';

// Reference values from SciPy 1.17 (scipy.special.erfc, scipy.stats.fisher_exact,
// scipy.stats.mannwhitneyu(method='asymptotic', use_continuity=True)), which agree with R.

/** Within `digits` significant digits of `expected`. */
function close(actual: number | null, expected: number, digits = 12): void {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual ?? Number.NaN) - expected)).toBeLessThanOrEqual(
    Math.abs(expected) * 10 ** -digits,
  );
}

describe('erfc', () => {
  it.each([
    [0, 1],
    [0.1, 0.8875370839817152],
    [0.5, 0.4795001221869535],
    [1, 0.15729920705028516],
    [1.5, 0.03389485352468927],
    [1.99, 0.004888586800383002],
    [2, 0.004677734981047266],
    [2.5, 0.00040695201744495886],
    [3, 2.2090496998585445e-5],
    [5, 1.5374597944280347e-12],
    [10, 2.0884875837625446e-45],
    [26, 5.663192408856145e-296],
  ])('erfc(%s) = %s', (x, expected) => {
    close(erfc(x), expected);
  });

  it('is 2 − erfc(x) for negative x, and 0 past the smallest double', () => {
    close(erfc(-1), 2 - 0.15729920705028516);
    expect(erfc(40)).toBe(0);
  });

  it('gives the textbook two-sided p of z = 1.96', () => {
    close(twoSidedNormalP(1.96), 0.04999579029644087);
    close(twoSidedNormalP(-1.96), 0.04999579029644087);
    expect(twoSidedNormalP(0)).toBe(1);
  });
});

describe('twoProportionZTest', () => {
  it('compares 30/500 with 10/500 (z = 3.227)', () => {
    close(
      twoProportionZTest({ successes: 30, trials: 500 }, { successes: 10, trials: 500 }),
      0.0012488309880884251,
      10,
    );
  });

  it('compares 45/100 with 56/100 (z = −1.556)', () => {
    close(
      twoProportionZTest({ successes: 45, trials: 100 }, { successes: 56, trials: 100 }),
      0.11977642377972286,
      10,
    );
  });

  it('is 1 when nothing varies', () => {
    expect(twoProportionZTest({ successes: 0, trials: 40 }, { successes: 0, trials: 9 })).toBe(1);
    expect(twoProportionZTest({ successes: 5, trials: 5 }, { successes: 9, trials: 9 })).toBe(1);
  });
});

describe('fisherExactTest', () => {
  it("gives the lady tasting tea's p = 0.4857 (3 of 4 cups right)", () => {
    close(
      fisherExactTest({ successes: 3, trials: 4 }, { successes: 1, trials: 4 }),
      0.48571428571428565,
    );
  });

  it('gives p = 0.00276 for [[1, 9], [11, 3]]', () => {
    close(
      fisherExactTest({ successes: 1, trials: 10 }, { successes: 11, trials: 14 }),
      0.0027594561852200836,
      10,
    );
  });

  it('handles a zero cell and large tables without overflow', () => {
    close(
      fisherExactTest({ successes: 0, trials: 50 }, { successes: 3, trials: 50 }),
      0.24242424242424243,
      10,
    );
    close(
      fisherExactTest({ successes: 30, trials: 500 }, { successes: 10, trials: 500 }),
      0.0018083493190978333,
      8,
    );
    const huge = fisherExactTest(
      { successes: 900, trials: 90_000 },
      { successes: 80, trials: 10_000 },
    );
    expect(huge).toBeGreaterThan(0);
    expect(huge).toBeLessThanOrEqual(1);
  });

  it('is symmetric in the two rows', () => {
    const a = { successes: 2, trials: 17 };
    const b = { successes: 9, trials: 21 };
    close(fisherExactTest(a, b), fisherExactTest(b, a));
  });
});

describe('compareProportions', () => {
  it('uses the z-test when every cell expects at least 5 runs', () => {
    expect(
      compareProportions({ successes: 30, trials: 500 }, { successes: 10, trials: 500 }).test,
    ).toBe('two-proportion z');
  });

  it("uses Fisher's exact test for rare events or small arms", () => {
    const result = compareProportions({ successes: 0, trials: 50 }, { successes: 3, trials: 50 });
    expect(result.test).toBe('fisher exact');
    close(result.p_value, 0.24242424242424243, 10);
  });

  it('has no p-value when an arm has no run', () => {
    expect(compareProportions({ successes: 0, trials: 0 }, { successes: 3, trials: 50 })).toEqual({
      test: 'two-proportion z',
      p_value: null,
    });
  });
});

describe('mannWhitneyU', () => {
  // Hollander & Wolfe's permeability data, the example of R's wilcox.test.
  const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
  const y = [1.15, 0.88, 0.9, 0.74, 1.21];

  it("gives R's example W = 35 and its asymptotic p = 0.2446", () => {
    const result = mannWhitneyU(rankSummary(y, x));
    expect(result.u).toBe(35);
    close(result.p_value, 0.24462360512698333, 10);
  });

  it('corrects for ties (counts per run, mostly zeros)', () => {
    const a = [0, 0, 0, 1, 0, 2, 0, 0, 1, 0, 0, 0, 3, 0, 0, 1, 0, 0, 0, 0];
    const b = [1, 0, 2, 1, 0, 3, 1, 2, 0, 1, 4, 1, 0, 2, 1];
    const summary = rankSummary(a, b);
    expect(summary.rankSumB).toBe(344);
    const result = mannWhitneyU(summary);
    expect(result.u).toBe(224);
    close(result.p_value, 0.006886214752160227, 10);
  });

  it('is 1 when every value is equal, and has no p-value without a sample', () => {
    expect(mannWhitneyU(rankSummary([0, 0, 0], [0, 0])).p_value).toBe(1);
    expect(mannWhitneyU(rankSummary([], [1, 2])).p_value).toBeNull();
  });

  it('ranks ties by their mean rank', () => {
    // Pooled 1, 2, 2, 3: ranks 1, 2.5, 2.5, 4; b holds a 2 and the 3.
    expect(rankSummary([1, 2], [2, 3])).toEqual({ na: 2, nb: 2, rankSumB: 6.5, tieTerm: 6 });
  });
});

describe('verdictOf', () => {
  it('calls p < 0.05 significant, anything else not enough evidence', () => {
    expect(verdictOf(0.0499)).toBe('significant');
    expect(verdictOf(0.05)).toBe('not enough evidence');
    expect(verdictOf(null)).toBe('not enough evidence');
  });
});
