import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Ticket } from '../src/index.js';
import { API_TOKEN, TestHelpdesk } from './harness.js';

describe('helpdesk idempotency and faults', () => {
  const helpdesk = TestHelpdesk.forSuite({ resetEachTest: true });

  const note = (body: string, key: string) =>
    helpdesk.call('POST', '/tickets/2/notes', { body: { body }, key });
  const notesOf = async (id: number) =>
    ((await helpdesk.call('GET', `/tickets/${id}`)).body['ticket'] as Ticket).notes;
  const applied = async (key: string) =>
    (await helpdesk.writes()).filter((write) => write.idempotency_key === key).length;

  it('applies a write once for a key sent twice, and replays the first answer', async () => {
    const first = await note('Asked for the mail logs.', 'intent-a');
    const second = await note('Asked for the mail logs.', 'intent-a');
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(await notesOf(2)).toHaveLength(1);
    expect(await applied('intent-a')).toBe(1);
    expect(await helpdesk.writes()).toEqual([
      expect.objectContaining({
        operation: 'add_note',
        ticket_ids: [2],
        idempotency_key: 'intent-a',
      }),
    ]);
  });

  it('treats the same JSON with fields in another order as the same request', async () => {
    const body = { status: 'open', priority: 'high' };
    await helpdesk.call('PATCH', '/tickets/2', { body, key: 'intent-order' });
    const again = await helpdesk.call('PATCH', '/tickets/2', {
      rawBody: '{ "priority": "high", "status": "open" }',
      key: 'intent-order',
    });
    expect(again.status).toBe(200);
    expect(await applied('intent-order')).toBe(1);
  });

  it('answers 422 when a key is reused with another request', async () => {
    await note('First.', 'intent-b');
    const other = await note('Second.', 'intent-b');
    expect(other).toMatchObject({ status: 422, body: { error: 'idempotency_key_reused' } });
    const elsewhere = await helpdesk.call('POST', '/tickets/3/notes', {
      body: { body: 'First.' },
      key: 'intent-b',
    });
    expect(elsewhere.status).toBe(422);
    expect(await applied('intent-b')).toBe(1);
  });

  it('applies writes without a key every time', async () => {
    await helpdesk.call('POST', '/tickets/2/notes', { body: { body: 'x' } });
    await helpdesk.call('POST', '/tickets/2/notes', { body: { body: 'x' } });
    expect(await notesOf(2)).toHaveLength(2);
  });

  it('remembers keys across a restart on the same data dir', async () => {
    await note('Before the restart.', 'intent-c');
    await helpdesk.restart();
    const replay = await note('Before the restart.', 'intent-c');
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await applied('intent-c')).toBe(1);
    expect((await note('Changed.', 'intent-c')).status).toBe(422);
  });

  it('does not spend a key on a refused write', async () => {
    const refused = await helpdesk.call('PATCH', '/tickets/2', {
      body: { status: 'archived' },
      key: 'intent-d',
    });
    expect(refused.status).toBe(400);
    const fixed = await helpdesk.call('PATCH', '/tickets/2', {
      body: { status: 'open' },
      key: 'intent-d',
    });
    expect(fixed.status).toBe(200);
  });

  it('fails the next n ticket requests with the status asked, then serves again', async () => {
    const set = await helpdesk.admin('POST', '/faults', { fail_next: 5 });
    expect(set.body['faults']).toMatchObject({ fail_next: 5, status: 500 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (await helpdesk.call('PATCH', '/tickets/2', { body: { status: 'open' } })).status,
      );
    }
    expect(statuses).toEqual([500, 500, 500, 500, 500, 200]);
    expect(await helpdesk.writes()).toHaveLength(1);

    await helpdesk.admin('POST', '/faults', { fail_next: 1, status: 503 });
    // Neither health nor admin requests spend an injected failure.
    await helpdesk.call('GET', '/healthz');
    await helpdesk.admin('GET', '/faults');
    const unavailable = await helpdesk.call('GET', '/tickets/1');
    expect(unavailable).toMatchObject({ status: 503, body: { error: 'injected_fault' } });
  });

  it('clears faults on DELETE', async () => {
    await helpdesk.admin('POST', '/faults', { fail_next: 3 });
    await helpdesk.admin('DELETE', '/faults');
    expect((await helpdesk.call('GET', '/tickets/1')).status).toBe(200);
  });

  it('refuses an invalid fault plan', async () => {
    const bad = await helpdesk.admin('POST', '/faults', { fail_next: 1, status: 418 });
    expect(bad.status).toBe(400);
    const unknown = await helpdesk.admin('POST', '/faults', { drop: true });
    expect(unknown.body['error']).toBe('unknown_fields');
  });

  it('delays responses by delay_ms', async () => {
    await helpdesk.admin('POST', '/faults', { delay_ms: 300 });
    const started = Date.now();
    expect((await helpdesk.call('GET', '/tickets/1')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('applies a held write once even when the caller gives up and retries meanwhile', async () => {
    await helpdesk.admin('POST', '/faults', { delay_before_apply_ms: 400 });
    const body = JSON.stringify({ body: 'Held write.' });
    const headers = {
      authorization: `Bearer ${API_TOKEN}`,
      'content-type': 'application/json',
      'idempotency-key': 'intent-held',
    };
    // The first attempt times out on the caller's side after 100 ms: the write is applied anyway.
    const abandoned = fetch(`${helpdesk.url}/tickets/2/notes`, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(100),
    });
    await expect(abandoned).rejects.toThrow();
    expect(await notesOf(2)).toHaveLength(0);
    // The retry arrives while the first is still held: both settle on one application.
    const retry = await note('Held write.', 'intent-held');
    expect(retry.status).toBe(201);
    await sleep(50);
    expect(await notesOf(2)).toHaveLength(1);
    expect(await applied('intent-held')).toBe(1);
  });
});
