import { describe, expect, it } from 'vitest';
import { advanceHead, EMPTY_HEAD } from './stored-policy.js';

describe('advanceHead', () => {
  it('makes each newer active version the one in force', () => {
    const one = advanceHead(EMPTY_HEAD, { version: 1, mode: 'active' });
    expect(one).toEqual({ active: 1, latest: 1 });
    expect(advanceHead(one, { version: 2, mode: 'active' })).toEqual({ active: 2, latest: 2 });
  });

  it('never goes back: an older version applied late changes nothing', () => {
    const head = { active: 3, latest: 3 };
    expect(advanceHead(head, { version: 2, mode: 'active' })).toEqual(head);
    expect(advanceHead(head, { version: 2, mode: 'shadow' })).toEqual(head);
  });

  it('evaluates a shadow version beside the active one until a newer active version', () => {
    const shadowed = advanceHead({ active: 1, latest: 1 }, { version: 2, mode: 'shadow' });
    expect(shadowed).toEqual({ active: 1, shadow: 2, latest: 2 });
    // Promoting it (a rollback to 2 publishes 3) clears the shadow.
    expect(advanceHead(shadowed, { version: 3, mode: 'active' })).toEqual({ active: 3, latest: 3 });
  });

  it('keeps a shadow that is newer than an active version applied out of order', () => {
    const head = { active: 1, shadow: 3, latest: 3 };
    expect(advanceHead(head, { version: 2, mode: 'active' })).toEqual({
      active: 2,
      shadow: 3,
      latest: 3,
    });
  });

  it('is idempotent', () => {
    const head = advanceHead(EMPTY_HEAD, { version: 1, mode: 'active' });
    expect(advanceHead(head, { version: 1, mode: 'active' })).toEqual(head);
  });
});
