import type { Envelope } from '@warden/contracts';
import { ApiFailure, type EventPublisher } from '@warden/messaging';
import { describe, expect, it } from 'vitest';
import { finishedRecord, startedRecord } from '../domain/execution-record.js';
import { MemoryExecutionStore } from '../infra/execution-store.memory.js';
import { ExecutionReviews } from './execution-reviews.js';

const INTENT = '01JD4K6Z8V3M2T9Q7W5X1Y0B3C';

/** A publisher that records what it is given (its `build` is the real envelope builder's shape). */
function recordingPublisher(): { publisher: EventPublisher; published: Envelope[] } {
  const published: Envelope[] = [];
  const publisher = {
    build: (input: Record<string, unknown>) => ({ ...input }) as unknown as Envelope,
    publish: (event: Envelope) => {
      published.push(event);
      return Promise.resolve({ seq: published.length, duplicate: false });
    },
  } as unknown as EventPublisher;
  return { publisher, published };
}

async function storeWith(status: 'in_doubt' | 'executed'): Promise<MemoryExecutionStore> {
  const store = new MemoryExecutionStore();
  const started = startedRecord(
    {
      intentId: INTENT,
      tool: 'zendesk.bulk_close',
      argsDigest: 'd'.repeat(64),
      causeEventId: INTENT,
      owner: 'test',
      runId: 'run-7',
      agentId: 'triage-bot',
      workflow: 'support-triage',
    },
    { now: 1_800_000_000_000, leaseMs: 1000 },
  );
  await store.create(INTENT, started);
  const current = await store.get(INTENT);
  await store.update(
    INTENT,
    finishedRecord(started, {
      outcome: { status, reason: 'interrupted' },
      resolvedAt: '2026-11-27T10:00:00.000000Z',
      owner: 'test',
    }),
    current?.revision ?? 0,
  );
  return store;
}

describe('ExecutionReviews', () => {
  it('records a verdict on an in-doubt execution, logged first, once', async () => {
    const store = await storeWith('in_doubt');
    const { publisher, published } = recordingPublisher();
    const reviews = new ExecutionReviews(store, publisher);
    const first = await reviews.review(INTENT, 'not_applied', 'nothing closed', 'human:ops');
    expect(first).toMatchObject({
      verdict: 'not_applied',
      reviewed_by: 'human:ops',
      changed: true,
    });
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      type: 'execution.reviewed',
      intentId: INTENT,
      // In the run it belongs to, so the run's timeline shows the review.
      runId: 'run-7',
      agentId: 'triage-bot',
      workflow: 'support-triage',
      data: { tool: 'zendesk.bulk_close', verdict: 'not_applied', note: 'nothing closed' },
    });
    const record = (await store.get(INTENT))?.record;
    expect(record?.state === 'done' ? record.review : undefined).toMatchObject({
      verdict: 'not_applied',
      by: 'human:ops',
    });
    // The same verdict again changes nothing; another one is refused.
    expect(await reviews.review(INTENT, 'not_applied', 'again', 'human:b')).toMatchObject({
      changed: false,
      reviewed_by: 'human:ops',
    });
    expect(published).toHaveLength(1);
    const other = await reviews.review(INTENT, 'applied', 'no', 'human:b').catch((e: unknown) => e);
    expect(other instanceof ApiFailure && other.code).toBe('already_reviewed');
  });

  it('refuses an execution that is not in doubt, or unknown', async () => {
    const { publisher } = recordingPublisher();
    const executed = new ExecutionReviews(await storeWith('executed'), publisher);
    const refused = await executed
      .review(INTENT, 'applied', 'x', 'human:a')
      .catch((e: unknown) => e);
    expect(refused instanceof ApiFailure && refused.code).toBe('not_in_doubt');
    const empty = new ExecutionReviews(new MemoryExecutionStore(), publisher);
    const unknown = await empty.review(INTENT, 'applied', 'x', 'human:a').catch((e: unknown) => e);
    expect(unknown instanceof ApiFailure && unknown.code).toBe('not_found');
  });
});
