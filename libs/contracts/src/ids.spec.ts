import { describe, expect, it } from 'vitest';
import { isSubjectToken } from './ids.js';

describe('isSubjectToken', () => {
  it('accepts lower-case ids with dashes and underscores', () => {
    expect(isSubjectToken('support-triage_v3')).toBe(true);
  });
  it.each(['', 'a.b', 'a*', '>', 'A', '-a', 'a b', 'x'.repeat(65)])('refuses %j', (id) => {
    expect(isSubjectToken(id)).toBe(false);
  });
});
