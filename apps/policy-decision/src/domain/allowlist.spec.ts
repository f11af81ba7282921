import { describe, expect, it } from 'vitest';
import { ALLOWLIST_POLICY_ID, decide } from './allowlist.js';

const allowed = new Set(['echo', 'noop']);

describe('decide', () => {
  it('allows a built-in tool on the allowlist', () => {
    expect(decide('echo', allowed)).toEqual({ effect: 'allow', policyIds: [ALLOWLIST_POLICY_ID] });
  });

  it('denies a known tool the allowlist does not name', () => {
    expect(decide('fail', allowed)).toMatchObject({ effect: 'deny', reason: 'not_allowed' });
  });

  it('denies a tool nobody declared, even if the allowlist names it', () => {
    expect(decide('payments.refund', new Set(['payments.refund']))).toMatchObject({
      effect: 'deny',
      reason: 'unknown_tool',
      policyIds: [],
    });
  });
});
