import { buildEvent, subjectOf, type Envelope } from '@warden/contracts';
import { describe, expect, it } from 'vitest';
import { deduplicationToken, prepareBatch, type IncomingMessage } from './prepare-batch.js';

const producer = { service: 'sdk', instance: 'i-1', version: '0.1.0' };
const encoder = new TextEncoder();

function proposed(n: number, args: Record<string, unknown> = { n }): Envelope<'intent.proposed'> {
  const id = `01JD0Z9X4M8N3F5V7W2Q6R${String(n).padStart(4, '0')}`;
  return buildEvent({
    type: 'intent.proposed',
    eventId: id,
    intentId: id,
    env: 'dev',
    runId: 'run-1',
    agentId: 'triage-bot',
    producer,
    data: { tool: 'echo', args, step: n },
  });
}

function message(
  event: object,
  seq: number,
  subject?: string,
  redelivered = false,
): IncomingMessage {
  return {
    subject: subject ?? subjectOf(event as Envelope),
    data: encoder.encode(JSON.stringify(event)),
    seq,
    redelivered,
  };
}

describe('prepareBatch', () => {
  it('turns valid events into rows with the filterable columns lifted out of data', () => {
    const batch = prepareBatch('dev', 'WARDEN_DEV', [message(proposed(1), 7)], 0);
    expect(batch.stored).toBe(1);
    expect(batch.rows[0]).toMatchObject({
      event_id: proposed(1).event_id,
      type: 'intent.proposed',
      run_id: 'run-1',
      agent_id: 'triage-bot',
      tool: 'echo',
      stream_seq: 7,
    });
  });

  it('records every bad message as event.rejected with its reason, and keeps the good ones', () => {
    const good = proposed(1);
    const batch = prepareBatch(
      'dev',
      'WARDEN_DEV',
      [
        message(good, 1),
        {
          subject: 'warden.dev.evt.intent.proposed.triage-bot',
          data: encoder.encode('{not json'),
          seq: 2,
          redelivered: false,
        },
        message(
          { ...proposed(3), type: 'intent.teleported' },
          3,
          'warden.dev.evt.intent.proposed.triage-bot',
        ),
        message({ ...proposed(4), env: 'prod' }, 4, 'warden.dev.evt.intent.proposed.triage-bot'),
        message(
          { ...proposed(5), agent_id: 'a.*' },
          5,
          'warden.dev.evt.intent.proposed.triage-bot',
        ),
        message(proposed(6, { blob: 'x'.repeat(300_000) }), 6),
      ],
      Date.now() * 1000,
    );
    expect(batch.stored).toBe(1);
    expect(batch.rejected).toEqual({
      malformed_json: 1,
      unknown_type: 1,
      wrong_env: 1,
      invalid_envelope: 1,
      oversize: 1,
    });
    const rejectedRows = batch.rows.filter((row) => row.type === 'event.rejected');
    expect(rejectedRows.map((row) => row.reason).sort()).toEqual([
      'invalid_envelope',
      'malformed_json',
      'oversize',
      'unknown_type',
      'wrong_env',
    ]);
    const oversize = rejectedRows.find((row) => row.reason === 'oversize')!;
    expect(JSON.parse(oversize.data)).toMatchObject({
      stream_seq: 6,
      size_bytes: expect.any(Number) as number,
    });
    expect(oversize.data.length).toBeLessThan(10_000);
  });

  it('gives a rejected message the same id when it is delivered again', () => {
    const bad = {
      subject: 'warden.dev.evt.x.y._',
      data: encoder.encode('nope'),
      seq: 9,
      redelivered: false,
    };
    const first = prepareBatch('dev', 'WARDEN_DEV', [bad], 1_000_000);
    const again = prepareBatch('dev', 'WARDEN_DEV', [{ ...bad, redelivered: true }], 9_000_000);
    expect(again.rows[0]!.event_id).toBe(first.rows[0]!.event_id);
  });

  it('stores an event that appears twice in one batch once', () => {
    const batch = prepareBatch(
      'dev',
      'WARDEN_DEV',
      [message(proposed(1), 1), message(proposed(1), 2)],
      0,
    );
    expect(batch.rows).toHaveLength(1);
    expect(batch.duplicates).toBe(1);
  });

  it('lists the rows of redelivered messages for a check against the table', () => {
    const batch = prepareBatch(
      'dev',
      'WARDEN_DEV',
      [message(proposed(1), 1), message(proposed(2), 2, undefined, true)],
      0,
    );
    expect(batch.redeliveredIds).toEqual([proposed(2).event_id]);
  });

  it('redacts data before it becomes a row', () => {
    const event = proposed(1, { note: 'card 4111 1111 1111 1111, mail jane.doe@example.com' });
    const [row] = prepareBatch('dev', 'WARDEN_DEV', [message(event, 1)], 0).rows;
    expect(row!.data).not.toContain('4111');
    expect(row!.data).not.toContain('jane.doe@example.com');
    expect(row!.redactions).toEqual(['card', 'email']);
  });

  it('keeps a sealed output whole in the sealed column, out of the redacted data', () => {
    // Base64 can hold a digit run that looks like a card number: redacting it would break the tag.
    const sealed = {
      alg: 'A256GCM' as const,
      key_id: 'run-1',
      iv: 'aXYtaXYtaXYtaXY=',
      ciphertext: 'Q2lwaGVy4111111111111111dGV4dA==',
      tag: 'dGFnLXRhZy10YWctdGFnLQ==',
    };
    const event = buildEvent({
      type: 'intent.resolved',
      cause: proposed(1),
      producer,
      data: {
        status: 'executed',
        stage: 'executor',
        tool: 'echo',
        output: { requester: 'jane.doe@example.com' },
        sealed_output: sealed,
      },
    });
    const [row] = prepareBatch('dev', 'WARDEN_DEV', [message(event, 1)], 0).rows;
    expect(JSON.parse(row!.sealed)).toEqual(sealed);
    expect(row!.data).not.toContain('sealed_output');
    expect(row!.data).not.toContain('jane.doe@example.com');
    expect(row!.redactions).toEqual(['email']);
    expect(prepareBatch('dev', 'WARDEN_DEV', [message(proposed(2), 2)], 0).rows[0]!.sealed).toBe(
      '',
    );
  });
});

describe('deduplicationToken', () => {
  it('is the same for the same rows and differs for others', () => {
    const rows = prepareBatch(
      'dev',
      'WARDEN_DEV',
      [message(proposed(1), 1), message(proposed(2), 2)],
      0,
    ).rows;
    expect(deduplicationToken(rows)).toBe(deduplicationToken([...rows]));
    expect(deduplicationToken(rows.slice(1))).not.toBe(deduplicationToken(rows));
  });
});
