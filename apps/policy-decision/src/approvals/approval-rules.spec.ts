import { describe, expect, it } from 'vitest';
import type { ApprovalRecord } from './approval-record.js';
import { checkAnswer, isOverdue, type Answer } from './approval-rules.js';

const REQUESTED = Date.parse('2026-11-26T16:00:00.000Z');
const EXPIRES = REQUESTED + 60_000;

function pending(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    approval_id: '01JD0000000000000000000001',
    status: 'pending',
    intent_id: '01JD0000000000000000000002',
    run_id: 'run-1',
    agent_id: 'agent-1',
    tool: 'zendesk.close_tickets',
    args: { ticket_ids: [1, 2, 3] },
    args_hash: 'a'.repeat(64),
    step: 1,
    group: 'support-leads',
    separation_of_duties: true,
    owner: 'olga',
    policy_ids: ['bulk-close'],
    policy_version: 3,
    requested_at: '2026-11-26T16:00:00.000000Z',
    expires_at: '2026-11-26T16:01:00.000000Z',
    request: {
      event_id: '01JD0000000000000000000003',
      env: 'test',
      causation_id: '01JD0000000000000000000004',
      correlation_id: 'run-1',
      run_id: 'run-1',
      intent_id: '01JD0000000000000000000002',
      agent_id: 'agent-1',
    },
    published: false,
    ...overrides,
  };
}

const lead: Answer = {
  decision: 'granted',
  human_id: 'lena',
  roles: ['support-leads'],
  reason: 'checked the tickets',
};

describe('isOverdue', () => {
  it('holds for a pending approval from its expiry instant on', () => {
    expect(isOverdue(pending(), EXPIRES - 1)).toBe(false);
    expect(isOverdue(pending(), EXPIRES)).toBe(true);
  });

  it('never holds for an answered approval', () => {
    expect(isOverdue(pending({ status: 'granted' }), EXPIRES + 1)).toBe(false);
  });
});

describe('checkAnswer', () => {
  const id = '01JD0000000000000000000001';
  const now = REQUESTED + 1_000;

  it('lets a member of the group grant, recording who, why and when', () => {
    const check = checkAnswer(pending({ published: true }), lead, id, now);
    expect(check).toMatchObject({
      kind: 'answer',
      next: {
        status: 'granted',
        answered_by: 'human:lena',
        comment: 'checked the tickets',
        answered_at: '2026-11-26T16:00:01.000000Z',
        published: false,
      },
    });
  });

  it('records a denial as denied', () => {
    const check = checkAnswer(pending(), { ...lead, decision: 'denied' }, id, now);
    expect(check).toMatchObject({ kind: 'answer', next: { status: 'denied' } });
  });

  it('refuses an unknown approval', () => {
    expect(checkAnswer(undefined, lead, id, now)).toMatchObject({
      kind: 'refuse',
      code: 'not_found',
    });
  });

  it('refuses a human outside the group', () => {
    const check = checkAnswer(pending(), { ...lead, roles: ['support', 'admin'] }, id, now);
    expect(check).toMatchObject({ kind: 'refuse', code: 'forbidden' });
  });

  it('refuses the agent owner under separation of duties, and allows them without it', () => {
    const owner = { ...lead, human_id: 'olga' };
    const refused = checkAnswer(pending(), owner, id, now);
    expect(refused).toMatchObject({ kind: 'refuse', code: 'forbidden' });
    expect(refused.kind === 'refuse' && refused.message).toMatch(/separation of duties/);
    expect(checkAnswer(pending({ owner: 'human:olga' }), owner, id, now)).toMatchObject({
      code: 'forbidden',
    });
    expect(checkAnswer(pending({ separation_of_duties: false }), owner, id, now)).toMatchObject({
      kind: 'answer',
    });
  });

  it('refuses an approver who checked other args', () => {
    const check = checkAnswer(pending(), { ...lead, args_hash: 'b'.repeat(64) }, id, now);
    expect(check).toMatchObject({ kind: 'refuse', code: 'args_mismatch' });
    expect(checkAnswer(pending(), { ...lead, args_hash: 'a'.repeat(64) }, id, now)).toMatchObject({
      kind: 'answer',
    });
  });

  it('says who answered first when already answered', () => {
    const answered = pending({
      status: 'denied',
      answered_by: 'human:dan',
      answered_at: '2026-11-26T16:00:00.500000Z',
      comment: 'not today',
    });
    const check = checkAnswer(answered, lead, id, now);
    expect(check).toMatchObject({ kind: 'refuse', code: 'already_answered' });
    expect(check.kind === 'refuse' && check.message).toMatch(/denied by human:dan.*not today/);
  });

  it('refuses an expired approval', () => {
    expect(checkAnswer(pending({ status: 'expired' }), lead, id, now)).toMatchObject({
      kind: 'refuse',
      code: 'approval_expired',
    });
  });

  it('expires an overdue approval the sweeper has not reached, whoever asks', () => {
    const check = checkAnswer(pending(), lead, id, EXPIRES);
    expect(check).toMatchObject({ kind: 'expire', next: { status: 'expired', published: false } });
    expect(checkAnswer(pending(), { ...lead, roles: [] }, id, EXPIRES)).toMatchObject({
      kind: 'expire',
    });
  });
});
