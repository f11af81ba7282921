import { buildEvent, type Envelope } from '@warden/contracts';
import { describe, expect, it } from 'vitest';
import {
  ApprovalDeniedError,
  ApprovalPendingError,
  BudgetExceededError,
  DeniedError,
  InDoubtError,
  RateLimitedError,
  RejectedError,
  RunHaltedError,
  StepCapReachedError,
  WardenCallError,
} from './errors.js';
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

describe('the error of a denial, by reason', () => {
  it.each([
    ['run_budget', 'budget', BudgetExceededError],
    ['daily_budget', 'budget', BudgetExceededError],
    ['budget_exhausted', 'budget', BudgetExceededError],
    ['step_cap', 'budget', StepCapReachedError],
    ['rate_limited', 'budget', RateLimitedError],
    ['paused', 'budget', RunHaltedError],
    ['upstream_degraded', 'budget', RunHaltedError],
    ['loop', 'budget', RunHaltedError],
    ['approval_denied', 'approval', ApprovalDeniedError],
    ['approval_expired', 'approval', ApprovalDeniedError],
  ] as const)('%s is a %s-stage %o, still a DeniedError', (reason, stage, kind) => {
    const settled = settle(resolved({ status: 'denied', stage, reason, message: 'why' }), 'i1');
    const error = settled.ok ? undefined : settled.error;
    expect(error).toBeInstanceOf(kind);
    expect(error).toBeInstanceOf(DeniedError);
    expect(error).toMatchObject({ name: kind.name, status: 'denied', stage, reason });
  });

  it.each(['not_permitted', 'forbidden', 'no_policy', 'no_run', undefined])(
    'keeps %s a plain DeniedError',
    (reason) => {
      const settled = settle(
        resolved({ status: 'denied', stage: 'policy', ...(reason ? { reason } : {}) }),
        'i1',
      );
      const error = settled.ok ? undefined : settled.error;
      expect(error?.constructor).toBe(DeniedError);
      expect(error?.name).toBe('DeniedError');
    },
  );

  it('never makes a rejection or an in-doubt outcome a denial, whatever its reason', () => {
    for (const status of ['rejected', 'in_doubt'] as const) {
      const settled = settle(resolved({ status, stage: 'budget', reason: 'step_cap' }), 'i1');
      expect(settled.ok ? undefined : settled.error).not.toBeInstanceOf(DeniedError);
    }
  });
});

describe('ApprovalPendingError', () => {
  it('carries the approval, who may answer, when it expires, and the command that approves it', () => {
    const request = buildEvent({
      type: 'approval.requested',
      env: 'staging',
      eventId: '01JD0000000000000000000002',
      intentId: '01JD0000000000000000000001',
      producer: { service: 't', instance: 't', version: '0' },
      data: {
        approval_id: '01JD0000000000000000000003',
        tool: 'zendesk.bulk_close',
        args: { ids: [1, 2, 3] },
        args_hash: 'a'.repeat(64),
        step: 4,
        group: 'support-leads',
        separation_of_duties: true,
        owner: 'alice',
        policy_ids: ['bulk-needs-leads'],
        policy_version: 3,
        expires_at: '2030-01-01T00:00:00.000000Z',
      },
    });
    const error = new ApprovalPendingError(request, '01JD0000000000000000000001');
    expect(error).toBeInstanceOf(WardenCallError);
    expect(error).not.toBeInstanceOf(DeniedError);
    expect(error).toMatchObject({
      name: 'ApprovalPendingError',
      intentId: '01JD0000000000000000000001',
      status: 'approval_pending',
      stage: 'approval',
      approvalId: '01JD0000000000000000000003',
      group: 'support-leads',
      separationOfDuties: true,
      owner: 'alice',
      expiresAt: '2030-01-01T00:00:00.000000Z',
      policyIds: ['bulk-needs-leads'],
      command: 'warden approvals approve 01JD0000000000000000000003 --env staging --reason "<why>"',
    });
    expect(error.message).toContain('support-leads');
  });
});
