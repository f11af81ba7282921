import { describe, expect, it } from 'vitest';
import { unsafePatternReason } from './safe-pattern.js';

describe('unsafePatternReason', () => {
  it.each([
    '^[A-Z]{2}-[0-9]{4}$',
    '^T-[0-9]+$',
    '^[a-z0-9][a-z0-9_-]*$',
    '^(?:ab)+$',
    '^(foo|bar)?-[0-9]+$',
    '^(?<code>[A-Z]{3})-[0-9]{1,6}$',
    '^(a+)?b$',
    '^[(+*?|)]+$', // quantifier and alternation characters inside a class are literals
    '^\\(\\d+\\)$',
    '^\\p{Lu}+$',
  ])('accepts %s', (pattern) => {
    expect(unsafePatternReason(pattern)).toBeUndefined();
  });

  it.each([
    ['^(a+)+$', /repeats a group/],
    ['[a-z]+', /not anchored/],
    ['^a|b$', /top-level "\|"/],
    ['^[a-z]*[a-z]*[a-z]*0$', /3 variable-width quantifiers/],
    ['^a?b?c?$', /3 variable-width quantifiers/],
    ['^a{1,9}b{2,}c+$', /3 variable-width quantifiers/],
    ['^(a*)*b$', /repeats a group/],
    ['^(a|aa)+$', /repeats a group/],
    ['^([a-z]+\\.)+[a-z]+$', /repeats a group/],
    ['^(?:(a)+){2,}$', /repeats a group/],
    ['^(a)\\1$', /back-reference/],
    ['^(?<x>a)\\k<x>$', /back-reference/],
    ['^(?=a)a$', /look-ahead/],
    ['^(?<!a)b$', /look-behind/],
    ['[', /not a valid regular expression/],
    [`^${'x'.repeat(256)}`, /longer than 256/],
  ])('refuses %s', (pattern, reason) => {
    expect(unsafePatternReason(pattern)).toMatch(reason);
  });

  it('keeps the worst accepted shapes fast on the longest subject a pattern may see', () => {
    const subject = 'a'.repeat(1_024); // maxLength is at most 1024 beside a pattern
    for (const pattern of ['^[a-z]*[a-z]*0$', '^[a-z]+[a-z]+0$', '^(?:aa)+[a-z]*0$']) {
      expect(unsafePatternReason(pattern)).toBeUndefined();
      const start = performance.now();
      new RegExp(pattern, 'u').test(subject);
      // Quadratic at worst: about a million steps. A refused shape would take minutes here.
      expect(performance.now() - start).toBeLessThan(250);
    }
  });
});
