import { buildEvent, ENVELOPES, type Envelope } from '@warden/contracts';
import { describe, expect, it } from 'vitest';
import { outcomeEvents } from './approval-events.js';
import type { ApprovalRecord } from './approval-record.js';

const producer = { service: 'policy-decision', instance: 'p-1', version: '1.0.0' };
const other = { service: 'policy-decision', instance: 'p-2', version: '1.0.0' };

// The approval.requested envelope the decision stage publishes; the record keeps its ids.
const authenticated = buildEvent({
  type: 'intent.authenticated',
  env: 'test',
  eventId: '01JD0000000000000000000004',
  intentId: '01JD0000000000000000000002',
  runId: 'run-1',
  agentId: 'agent-1',
  workflow: 'triage',
  producer,
  data: {
    tool: 'zendesk.close_tickets',
    args: { ticket_ids: [1, 2] },
    step: 2,
    principal: { agent_id: 'agent-1', domains: [], owner: 'olga' },
  },
});

function record(overrides: Partial<ApprovalRecord>): ApprovalRecord {
  const requestId = buildEvent({
    type: 'approval.requested',
    cause: authenticated,
    producer,
    data: {
      approval_id: '01JD0000000000000000000001',
      tool: 'zendesk.close_tickets',
      args: { ticket_ids: [1, 2] },
      args_hash: 'a'.repeat(64),
      step: 2,
      group: 'support-leads',
      separation_of_duties: false,
      policy_ids: ['bulk-close'],
      policy_version: 3,
      expires_at: '2026-11-26T16:01:00.000000Z',
    },
  }).event_id;
  return {
    approval_id: '01JD0000000000000000000001',
    status: 'pending',
    intent_id: '01JD0000000000000000000002',
    run_id: 'run-1',
    agent_id: 'agent-1',
    tool: 'zendesk.close_tickets',
    args: { ticket_ids: [1, 2] },
    args_hash: 'a'.repeat(64),
    step: 2,
    group: 'support-leads',
    separation_of_duties: false,
    policy_ids: ['bulk-close'],
    policy_version: 3,
    requested_at: '2026-11-26T16:00:00.000000Z',
    expires_at: '2026-11-26T16:01:00.000000Z',
    request: {
      event_id: requestId,
      env: 'test',
      causation_id: authenticated.event_id,
      correlation_id: 'run-1',
      run_id: 'run-1',
      intent_id: '01JD0000000000000000000002',
      agent_id: 'agent-1',
      workflow: 'triage',
    },
    published: false,
    ...overrides,
  };
}

const answered = {
  answered_by: 'human:lena',
  answered_at: '2026-11-26T16:00:30.000000Z',
  comment: 'checked',
};

function expectValid(events: Envelope[]): void {
  for (const event of events) {
    expect(ENVELOPES[event.type].safeParse(event).success, event.type).toBe(true);
  }
}

describe('outcomeEvents', () => {
  it('announces nothing for a pending approval', () => {
    expect(outcomeEvents(record({}), producer)).toEqual([]);
  });

  it('grants with exactly what was approved, caused by the request', () => {
    const granted = record({ status: 'granted', ...answered });
    const events = outcomeEvents(granted, producer);
    expectValid(events);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'approval.granted',
      causation_id: granted.request.event_id,
      correlation_id: 'run-1',
      intent_id: granted.intent_id,
      agent_id: 'agent-1',
      workflow: 'triage',
      data: {
        approval_id: granted.approval_id,
        args: { ticket_ids: [1, 2] },
        args_hash: 'a'.repeat(64),
        approver: 'human:lena',
        comment: 'checked',
        policy_version: 3,
      },
    });
  });

  it('denies with approval.denied and the terminal intent.resolved', () => {
    const events = outcomeEvents(record({ status: 'denied', ...answered }), producer);
    expectValid(events);
    expect(events.map((e) => e.type)).toEqual(['approval.denied', 'intent.resolved']);
    expect(events[1]?.data).toMatchObject({
      status: 'denied',
      stage: 'approval',
      reason: 'approval_denied',
      policy_ids: ['bulk-close'],
    });
  });

  it('expires with approval.expired and intent.resolved{approval_expired}', () => {
    const events = outcomeEvents(record({ status: 'expired' }), producer);
    expectValid(events);
    expect(events.map((e) => e.type)).toEqual(['approval.expired', 'intent.resolved']);
    expect(events[1]?.data).toMatchObject({ status: 'denied', reason: 'approval_expired' });
  });

  it('gives the same ids on every replica, and one intent.resolved id whatever ended it', () => {
    const denied = record({ status: 'denied', ...answered });
    const ids = outcomeEvents(denied, producer).map((e) => e.event_id);
    expect(outcomeEvents(denied, other).map((e) => e.event_id)).toEqual(ids);
    const expiredIds = outcomeEvents(record({ status: 'expired' }), producer).map(
      (e) => e.event_id,
    );
    expect(expiredIds[1]).toBe(ids[1]);
    expect(new Set([...ids, ...expiredIds]).size).toBe(3);
  });
});
