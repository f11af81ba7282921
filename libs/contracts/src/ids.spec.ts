import { describe, expect, it } from 'vitest';
import { deriveEventId, isSubjectToken, ULID_PATTERN } from './ids.js';

describe('isSubjectToken', () => {
  it('accepts lower-case ids with dashes and underscores', () => {
    expect(isSubjectToken('support-triage_v3')).toBe(true);
  });
  it.each(['', 'a.b', 'a*', '>', 'A', '-a', 'a b', 'x'.repeat(65)])('refuses %j', (id) => {
    expect(isSubjectToken(id)).toBe(false);
  });
});

describe('deriveEventId', () => {
  const cause = '01JD0Z9X4M8N3F5V7W2Q6R1T8Y';

  it('gives the same id for the same cause and type', () => {
    expect(deriveEventId(cause, 'policy.decided')).toBe(deriveEventId(cause, 'policy.decided'));
  });

  it('gives different ids for different types, causes and discriminators', () => {
    const ids = new Set([
      deriveEventId(cause, 'policy.decided'),
      deriveEventId(cause, 'intent.resolved'),
      deriveEventId('01JD0Z9X4M8N3F5V7W2Q6R1T8Z', 'policy.decided'),
      deriveEventId(cause, 'policy.decided', '2'),
    ]);
    expect(ids.size).toBe(4);
  });

  it('keeps the timestamp of a ULID cause so derived events sort beside it', () => {
    const id = deriveEventId(cause, 'policy.decided');
    expect(id).toMatch(ULID_PATTERN);
    expect(id.slice(0, 10)).toBe(cause.slice(0, 10));
  });

  it('returns a valid ULID for a cause that is not one', () => {
    for (let i = 0; i < 200; i++)
      expect(deriveEventId(`stream-seq-${i}`, 'event.rejected')).toMatch(ULID_PATTERN);
  });
});
