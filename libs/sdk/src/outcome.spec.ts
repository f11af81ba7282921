import { buildEvent, type Envelope } from '@warden/contracts';
import { describe, expect, it } from 'vitest';
import { DeniedError, InDoubtError, RejectedError, WardenCallError } from './errors.js';
import { settle } from './outcome.js';

function resolved(data: Envelope<'intent.resolved'>['data']): Envelope<'intent.resolved'> {
  return buildEvent({
    type: 'intent.resolved',
    env: 'dev',
    eventId: '01JD0000000000000000000000',
    intentId: '01JD0000000000000000000001',
    producer: { service: 't', instance: 't', version: '0' },
    data,
  });
}

describe('settle', () => {
  it('returns the result of an executed call, output and duration included', () => {
    const event = resolved({
      status: 'executed',
      stage: 'executor',
      tool: 'echo',
      output: { text: 'hi' },
      duration_ms: 3,
    });
    expect(settle(event, 'i1')).toEqual({
      ok: true,
      result: { intentId: 'i1', status: 'executed', output: { text: 'hi' }, durationMs: 3, event },
    });
  });

  it('returns a failed call as a result with its reason, not as an error', () => {
    const settled = settle(
      resolved({ status: 'failed', stage: 'executor', reason: 'upstream_error', message: 'boom' }),
      'i1',
    );
    expect(settled).toMatchObject({
      ok: true,
      result: { status: 'failed', reason: 'upstream_error', message: 'boom' },
    });
    expect(settled.ok && 'output' in settled.result).toBe(false);
  });

  it('makes a denial a DeniedError with stage, reason and policy ids', () => {
    const settled = settle(
      resolved({
        status: 'denied',
        stage: 'policy',
        tool: 'fail',
        reason: 'not_allowed',
        policy_ids: ['p1'],
      }),
      'i1',
    );
    expect(settled.ok).toBe(false);
    const error = settled.ok ? undefined : settled.error;
    expect(error).toBeInstanceOf(DeniedError);
    expect(error).toBeInstanceOf(WardenCallError);
    expect(error).toMatchObject({
      name: 'DeniedError',
      intentId: 'i1',
      status: 'denied',
      stage: 'policy',
      reason: 'not_allowed',
      policyIds: ['p1'],
      message: 'fail denied at policy (not_allowed)',
    });
  });

  it('makes a rejection a RejectedError with its details', () => {
    const settled = settle(
      resolved({
        status: 'rejected',
        stage: 'validation',
        reason: 'invalid_args',
        details: [{ path: 'ticket', message: 'required' }],
      }),
      'i1',
    );
    const error = settled.ok ? undefined : settled.error;
    expect(error).toBeInstanceOf(RejectedError);
    expect(error).toMatchObject({
      name: 'RejectedError',
      status: 'rejected',
      stage: 'validation',
      details: [{ path: 'ticket', message: 'required' }],
    });
  });

  it('makes an in-doubt outcome an InDoubtError', () => {
    const settled = settle(resolved({ status: 'in_doubt', stage: 'executor' }), 'i1');
    const error = settled.ok ? undefined : settled.error;
    expect(error).toBeInstanceOf(InDoubtError);
    expect(error).toMatchObject({ name: 'InDoubtError', status: 'in_doubt', reason: undefined });
  });
});
