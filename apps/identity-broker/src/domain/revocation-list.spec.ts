import { describe, expect, it } from 'vitest';
import {
  issuedAtAfter,
  revocationKey,
  RevocationList,
  revocationOf,
  revocationValue,
  type Revocation,
} from './revocation-list.js';

describe('RevocationList', () => {
  it('only tightens: an agent’s cut-off moves later, never earlier', () => {
    const list = new RevocationList();
    list.apply({ kind: 'agent', agentId: 'a', issuedBeforeMs: 5_000 });
    list.apply({ kind: 'agent', agentId: 'a', issuedBeforeMs: 3_000 });
    expect(list.revokedBefore('a')).toBe(5_000);
    expect(list.isRevokedForAgent('a', 4)).toBe(true);
    // iat 5 means issued in [5.000, 6.000): not before the cut-off.
    expect(list.isRevokedForAgent('a', 5)).toBe(false);
    expect(list.isRevokedForAgent('b', 0)).toBe(false);
  });

  it('forgets entries once they can no longer matter', () => {
    const list = new RevocationList();
    list.apply({ kind: 'jti', jti: 'old', revokedAtMs: 0 });
    list.apply({ kind: 'jti', jti: 'new', revokedAtMs: 9_000 });
    list.prune(10_000, 5_000);
    expect(list.isRevoked('old')).toBe(false);
    expect(list.isRevoked('new')).toBe(true);
  });

  it('round-trips through its KV key and value, and ignores what it does not understand', () => {
    const entries: Revocation[] = [
      { kind: 'jti', jti: '01J0ABC', revokedAtMs: 12 },
      { kind: 'agent', agentId: 'bot-1', issuedBeforeMs: 34 },
    ];
    for (const entry of entries) {
      expect(revocationOf(revocationKey(entry), revocationValue(entry))).toEqual(entry);
    }
    expect(revocationOf('jti.x', null)).toBeUndefined();
    expect(revocationOf('agent.x', { issued_before_ms: 'soon' })).toBeUndefined();
    expect(revocationOf('other', {})).toBeUndefined();
  });
});

describe('issuedAtAfter', () => {
  it('never gives a token minted after a cut-off a second that overlaps it', () => {
    expect(issuedAtAfter(10_700, undefined)).toBe(10);
    expect(issuedAtAfter(10_950, 10_900)).toBe(11);
    expect(issuedAtAfter(11_200, 10_900)).toBe(11);
    // Minted before the cut-off (a clock behind the revoker's): keeps its iat, and is refused.
    expect(issuedAtAfter(10_800, 10_900)).toBe(10);
  });
});
