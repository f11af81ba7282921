import { describe, expect, it } from 'vitest';
import { buildEvent, subjectOf, type Envelope } from './envelope.js';
import { deriveEventId } from './ids.js';
import { parseEvent } from './parse.js';

const producer = { service: 'sdk', instance: 'test-1', version: '0.1.0' };

function proposed(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const event = buildEvent({
    type: 'intent.proposed',
    eventId: '01JD0Z9X4M8N3F5V7W2Q6R1T8Y',
    env: 'dev',
    runId: 'run-1',
    intentId: '01JD0Z9X4M8N3F5V7W2Q6R1T8Y',
    agentId: 'triage-bot',
    producer,
    data: { tool: 'zendesk.update_ticket', args: { ticket_id: 883192 }, step: 1 },
  });
  return { ...event, ...overrides };
}

describe('parseEvent', () => {
  it('accepts a valid event and types it', () => {
    const result = parseEvent(JSON.stringify(proposed()), {
      env: 'dev',
      subject: 'warden.dev.evt.intent.proposed.triage-bot',
    });
    expect(result.ok).toBe(true);
    if (result.ok && result.event.type === 'intent.proposed')
      expect(result.event.data.tool).toBe('zendesk.update_ticket');
  });

  it('refuses oversize events before parsing them', () => {
    const big = JSON.stringify(
      proposed({ data: { tool: 'echo', args: { blob: 'x'.repeat(300_000) }, step: 1 } }),
    );
    expect(parseEvent(big)).toMatchObject({ ok: false, reason: 'oversize' });
  });

  it('refuses malformed JSON', () => {
    expect(parseEvent('{"type": "intent.proposed",')).toMatchObject({
      ok: false,
      reason: 'malformed_json',
    });
  });

  it('refuses an unknown type and names it', () => {
    expect(parseEvent(JSON.stringify(proposed({ type: 'intent.teleported' })))).toMatchObject({
      ok: false,
      reason: 'unknown_type',
      type: 'intent.teleported',
    });
  });

  it('refuses a bad envelope with the path of every problem', () => {
    const result = parseEvent(
      JSON.stringify(proposed({ agent_id: 'bad.agent>', occurred_at: 'yesterday' })),
    );
    expect(result).toMatchObject({ ok: false, reason: 'invalid_envelope' });
    if (!result.ok) {
      expect(result.detail).toContain('agent_id');
      expect(result.detail).toContain('occurred_at');
    }
  });

  it('refuses unknown fields in data as invalid_data', () => {
    const result = parseEvent(
      JSON.stringify(proposed({ data: { tool: 'echo', args: {}, step: 1, sneaky: true } })),
    );
    expect(result).toMatchObject({ ok: false, reason: 'invalid_data' });
  });

  it('refuses events of another env', () => {
    expect(parseEvent(JSON.stringify(proposed()), { env: 'prod' })).toMatchObject({
      ok: false,
      reason: 'wrong_env',
    });
  });

  it('refuses an event whose subject names another agent', () => {
    const result = parseEvent(JSON.stringify(proposed()), {
      subject: 'warden.dev.evt.intent.proposed.other-bot',
    });
    expect(result).toMatchObject({ ok: false, reason: 'subject_mismatch' });
  });

  it.each([null, 42, '"text"', '[]'])('refuses a JSON value that is not an object: %s', (raw) => {
    expect(parseEvent(String(raw))).toMatchObject({ ok: false });
  });
});

describe('buildEvent', () => {
  const cause = proposed() as unknown as Envelope<'intent.proposed'>;

  it('derives the id from the cause and inherits its context', () => {
    const decided = buildEvent({
      type: 'policy.decided',
      cause,
      producer,
      data: {
        tool: 'echo',
        args: {},
        step: 1,
        effect: 'allow',
        determining_policy_ids: ['p1'],
        policy_version: 1,
        errors: [],
        eval_us: 80,
      },
    });
    expect(decided.event_id).toBe(deriveEventId(cause.event_id, 'policy.decided'));
    expect(decided).toMatchObject({
      env: 'dev',
      run_id: 'run-1',
      intent_id: cause.intent_id,
      agent_id: 'triage-bot',
      causation_id: cause.event_id,
      correlation_id: 'run-1',
    });
    expect(subjectOf(decided)).toBe('warden.dev.evt.policy.decided.triage-bot');
    expect(parseEvent(JSON.stringify(decided)).ok).toBe(true);
  });

  it('makes an uncaused event its own cause and correlation', () => {
    const event = buildEvent({
      type: 'policy.published',
      eventId: '01JD0Z9X4M8N3F5V7W2Q6R1T8Z',
      env: 'dev',
      producer,
      data: { version: 3, content_hash: 'sha256:abc', author: 'alice@example.com' },
    });
    expect(event.causation_id).toBe(event.event_id);
    expect(event.correlation_id).toBe(event.event_id);
    expect(subjectOf(event)).toBe('warden.dev.evt.policy.published._');
  });

  it('refuses to build an uncaused event without an id', () => {
    expect(() => buildEvent({ type: 'run.started', env: 'dev', producer, data: {} })).toThrow(
      /needs an eventId/,
    );
  });
});
