import { buildEvent, type Envelope } from '@warden/contracts';
import { describe, expect, it } from 'vitest';
import { DeniedError, errorOf, InDoubtError, RejectedError } from './errors.js';
import { needsRefresh, parseTimestampMs } from './token-source.js';

describe('needsRefresh', () => {
  it('keeps a token until less than a fifth of its lifetime is left', () => {
    expect(needsRefresh(0, 1000, 700)).toBe(false);
    expect(needsRefresh(0, 1000, 801)).toBe(true);
    expect(needsRefresh(0, 1000, 2000)).toBe(true);
  });
});

describe('parseTimestampMs', () => {
  it('reads Warden’s microsecond timestamps', () => {
    expect(parseTimestampMs('2026-01-02T03:04:05.123456Z')).toBe(
      Date.UTC(2026, 0, 2, 3, 4, 5, 123),
    );
  });
});

function resolved(data: Envelope<'intent.resolved'>['data']): Envelope<'intent.resolved'> {
  return buildEvent({
    type: 'intent.resolved',
    env: 'dev',
    eventId: '01JD0000000000000000000000',
    producer: { service: 't', instance: 't', version: '0' },
    data,
  });
}

describe('errorOf', () => {
  it('maps each non-executing status to its error class, with reason and stage', () => {
    const denied = errorOf(
      resolved({ status: 'denied', stage: 'policy', reason: 'not_allowed', policy_ids: ['p1'] }),
      'i1',
    );
    expect(denied).toBeInstanceOf(DeniedError);
    expect(denied).toMatchObject({
      intentId: 'i1',
      stage: 'policy',
      reason: 'not_allowed',
      policyIds: ['p1'],
    });
    expect(
      errorOf(resolved({ status: 'rejected', stage: 'identity', reason: 'token_expired' }), 'i'),
    ).toBeInstanceOf(RejectedError);
    expect(errorOf(resolved({ status: 'in_doubt', stage: 'executor' }), 'i')).toBeInstanceOf(
      InDoubtError,
    );
  });

  it('returns nothing for calls that ran, failed or not', () => {
    expect(errorOf(resolved({ status: 'executed', stage: 'executor' }), 'i')).toBeUndefined();
    expect(errorOf(resolved({ status: 'failed', stage: 'executor' }), 'i')).toBeUndefined();
  });
});
