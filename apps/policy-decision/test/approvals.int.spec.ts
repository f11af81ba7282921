import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { buildEvent, digestArgs, type Envelope, type Producer } from '@warden/contracts';
import {
  connectNats,
  ensureKvBuckets,
  EventPublisher,
  provisionEnv,
  removeEnv,
} from '@warden/messaging';
import { createLogger, memoryDestination, type MemoryDestination } from '@warden/telemetry';
import {
  eventsOfType,
  proposedEvent,
  startNats,
  TEST_PRODUCER,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApprovalBook,
  ApprovalDesk,
  ApprovalRecord,
  ApprovalSweeper,
  type ApprovalNeed,
} from '../src/approvals/index.js';

const TTL_SECONDS = 60;
const LEADS = 'support-leads';
const lead = { human_id: 'lena', roles: ['support', LEADS] };
const otherLead = { human_id: 'lars', roles: [LEADS] };
const owner = { human_id: 'olga', roles: [LEADS] };
const outsider = { human_id: 'sam', roles: ['support'] };

let nats: TestNats;
const connections: NatsConnection[] = [];
const envs: string[] = [];

beforeAll(async () => {
  nats = await startNats();
  for (const name of ['approvals-a', 'approvals-b']) {
    connections.push(await connectNats({ servers: nats.url, name }));
  }
});

afterAll(async () => {
  const [nc] = connections;
  if (nc) await Promise.all(envs.map((env) => removeEnv(nc, env)));
  await Promise.all(connections.map((c) => c.close()));
  await nats.stop();
});

/** One replica of the policy decision service's approvals, on its own connection. */
interface Replica {
  readonly book: ApprovalBook;
  readonly desk: ApprovalDesk;
  readonly sweeper: ApprovalSweeper;
  readonly publisher: EventPublisher;
  readonly logs: MemoryDestination;
}

/** A fresh env, and a shared clock its replicas read (epoch ms; tests move it). */
interface World {
  readonly env: string;
  readonly kv: KV;
  readonly clock: { now: number };
  replica(index: number): Promise<Replica>;
  nc(): NatsConnection;
}

async function world(prefix: string): Promise<World> {
  const nc = connections[0]!;
  const env = uniqueEnv(prefix);
  envs.push(env);
  await provisionEnv(nc, env);
  const { approvals } = await ensureKvBuckets(nc, env, ['approvals']);
  const clock = { now: Date.now() };
  return {
    env,
    kv: approvals,
    clock,
    nc: () => nc,
    async replica(index) {
      const connection = connections[index]!;
      const { approvals: kv } = await ensureKvBuckets(connection, env, ['approvals']);
      const producer: Producer = {
        service: 'policy-decision',
        instance: `p-${index}`,
        version: '0.0.0',
      };
      const publisher = new EventPublisher(connection, { env, producer });
      const logs = memoryDestination();
      const logger = createLogger({ service: 'policy-decision', destination: logs });
      const book = new ApprovalBook(kv, { ttlSeconds: TTL_SECONDS, clock: () => clock.now });
      return {
        book,
        publisher,
        logs,
        desk: new ApprovalDesk({ book, publisher, logger }),
        sweeper: new ApprovalSweeper({ book, publisher, logger, intervalMs: 20 }),
      };
    },
  };
}

function authenticated(
  env: string,
  args: Record<string, unknown>,
  agent = 'agent-1',
): Envelope<'intent.authenticated'> {
  const proposed = proposedEvent(env, { agent, tool: 'zendesk.close_tickets', args });
  return buildEvent({
    type: 'intent.authenticated',
    cause: proposed,
    producer: TEST_PRODUCER,
    data: {
      ...proposed.data,
      principal: { agent_id: agent, owner: owner.human_id, domains: ['support'] },
    },
  });
}

function needOf(
  cause: Envelope<'intent.authenticated'>,
  overrides: Partial<ApprovalNeed> = {},
): ApprovalNeed {
  const { tool, args, step, principal } = cause.data;
  return {
    cause,
    tool,
    toolVersion: 2,
    args,
    argsHash: digestArgs(tool, args),
    step,
    group: LEADS,
    separationOfDuties: true,
    owner: principal.owner,
    policyIds: ['bulk-close-needs-lead'],
    policyVersion: 7,
    ...overrides,
  };
}

/** What the decision stage does on `approval_required`: open, then publish the request. */
async function request(
  replica: Replica,
  env: string,
  overrides: Partial<ApprovalNeed> = {},
  args: Record<string, unknown> = { ticket_ids: [1, 2, 3], status: 'closed' },
) {
  const cause = authenticated(env, args);
  const need = needOf(cause, overrides);
  const opened = await replica.book.open(need);
  if (opened.outcome === 'conflict') throw new Error(opened.message);
  const requested = replica.publisher.build({
    type: 'approval.requested',
    cause,
    data: opened.data,
  });
  await replica.publisher.publish(requested);
  return { cause, need, requested, approval: opened.approval, id: opened.approval.approval_id };
}

async function eventsFor(nc: NatsConnection, env: string, type: string, intentId: string) {
  return (await eventsOfType(nc, env, type)).filter((e) => e.intent_id === intentId);
}

describe('approvals: the desk', () => {
  let w: World;
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    w = await world('approvals-desk');
    a = await w.replica(0);
    b = await w.replica(1);
  });

  it('grants by a member and publishes exactly what was approved', async () => {
    const { id, need, requested, cause } = await request(a, w.env);
    expect(requested.data).toMatchObject({
      approval_id: id,
      args_hash: need.argsHash,
      tool_version: 2,
      owner: 'olga',
    });

    const answer = await a.desk.approve(
      { approval_id: id, reason: 'checked all three tickets', args_hash: need.argsHash },
      lead,
    );
    expect(answer.approval).toMatchObject({
      status: 'granted',
      answered_by: 'human:lena',
      comment: 'checked all three tickets',
    });

    const granted = await eventsFor(w.nc(), w.env, 'approval.granted', cause.intent_id!);
    expect(granted).toHaveLength(1);
    expect(granted[0]).toMatchObject({
      causation_id: requested.event_id,
      correlation_id: cause.correlation_id,
      run_id: cause.run_id,
      agent_id: cause.agent_id,
      producer: { service: 'policy-decision', instance: 'p-0' },
      data: {
        approval_id: id,
        tool: 'zendesk.close_tickets',
        args: { ticket_ids: [1, 2, 3], status: 'closed' },
        args_hash: need.argsHash,
        step: 1,
        group: LEADS,
        approver: 'human:lena',
        comment: 'checked all three tickets',
        policy_version: 7,
      },
    });
    expect(await eventsFor(w.nc(), w.env, 'intent.resolved', cause.intent_id!)).toHaveLength(0);
    expect(await a.book.get(id)).toMatchObject({ status: 'granted', published: true });
  });

  it('refuses a human outside the group and leaves the approval pending', async () => {
    const { id } = await request(a, w.env);
    await expect(
      a.desk.approve({ approval_id: id, reason: 'lgtm' }, outsider),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(a.desk.deny({ approval_id: id, reason: 'no' }, outsider)).rejects.toMatchObject({
      code: 'forbidden',
    });
    expect((await a.desk.show({ approval_id: id }, outsider)).approval.status).toBe('pending');
  });

  it("refuses the agent's owner under separation of duties, and allows them without it", async () => {
    const guarded = await request(a, w.env);
    await expect(
      a.desk.approve({ approval_id: guarded.id, reason: 'mine, fine' }, owner),
    ).rejects.toMatchObject({ code: 'forbidden', message: /separation of duties/ });

    const open = await request(a, w.env, { separationOfDuties: false });
    const answer = await a.desk.approve({ approval_id: open.id, reason: 'mine, fine' }, owner);
    expect(answer.approval).toMatchObject({ status: 'granted', answered_by: 'human:olga' });
  });

  it('refuses an approver who checked other args', async () => {
    const { id } = await request(a, w.env);
    const otherHash = digestArgs('zendesk.close_tickets', { ticket_ids: [1, 2, 3, 4] });
    await expect(
      a.desk.approve({ approval_id: id, reason: 'ok', args_hash: otherHash }, lead),
    ).rejects.toMatchObject({ code: 'args_mismatch' });
    expect((await a.book.get(id))?.status).toBe('pending');
  });

  it('refuses an unknown approval', async () => {
    const missing = ApprovalBook.approvalIdOf('01JD0000000000000000000000');
    await expect(
      a.desk.approve({ approval_id: missing, reason: 'ok' }, lead),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(a.desk.show({ approval_id: missing }, lead)).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('denies with approval.denied and intent.resolved{denied, approval_denied}', async () => {
    const { id, cause, requested } = await request(a, w.env);
    const answer = await a.desk.deny({ approval_id: id, reason: 'too many tickets' }, lead);
    expect(answer.approval).toMatchObject({ status: 'denied', comment: 'too many tickets' });

    const denied = await eventsFor(w.nc(), w.env, 'approval.denied', cause.intent_id!);
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({
      causation_id: requested.event_id,
      data: { approver: 'human:lena', comment: 'too many tickets' },
    });
    const resolved = await eventsFor(w.nc(), w.env, 'intent.resolved', cause.intent_id!);
    expect(resolved).toHaveLength(1);
    expect(resolved[0]).toMatchObject({
      causation_id: requested.event_id,
      data: {
        status: 'denied',
        stage: 'approval',
        reason: 'approval_denied',
        tool: 'zendesk.close_tickets',
        policy_ids: ['bulk-close-needs-lead'],
      },
    });
    await expect(
      a.desk.approve({ approval_id: id, reason: 'ok' }, otherLead),
    ).rejects.toMatchObject({
      code: 'already_answered',
      message: /denied by human:lena.*too many tickets/,
    });
  });

  it('never grants an expired approval, expiring it on the spot if the sweeper has not', async () => {
    const { id, cause } = await request(a, w.env);
    const saved = w.clock.now;
    w.clock.now += TTL_SECONDS * 1000;
    try {
      await expect(a.desk.approve({ approval_id: id, reason: 'late' }, lead)).rejects.toMatchObject(
        { code: 'approval_expired' },
      );
    } finally {
      w.clock.now = saved;
    }
    // Back in time, it stays expired: expiry is a recorded transition, not a clock reading.
    await expect(a.desk.approve({ approval_id: id, reason: 'late' }, lead)).rejects.toMatchObject({
      code: 'approval_expired',
    });
    expect(await a.book.get(id)).toMatchObject({ status: 'expired', published: true });
    expect(await eventsFor(w.nc(), w.env, 'approval.expired', cause.intent_id!)).toHaveLength(1);
    expect(await eventsFor(w.nc(), w.env, 'approval.granted', cause.intent_id!)).toHaveLength(0);
    const resolved = await eventsFor(w.nc(), w.env, 'intent.resolved', cause.intent_id!);
    expect(resolved.map((e) => e.data)).toMatchObject([
      { status: 'denied', stage: 'approval', reason: 'approval_expired' },
    ]);
  });

  it('gives one winner when two replicas approve and deny at once', async () => {
    const races = await Promise.all(Array.from({ length: 6 }, () => request(a, w.env)));
    for (const { id, cause } of races) {
      const results = await Promise.allSettled([
        a.desk.approve({ approval_id: id, reason: 'go' }, lead),
        b.desk.deny({ approval_id: id, reason: 'stop' }, otherLead),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost.map((r) => (r.reason as { code?: string }).code)).toEqual(['already_answered']);

      const intentId = cause.intent_id!;
      const granted = await eventsFor(w.nc(), w.env, 'approval.granted', intentId);
      const denied = await eventsFor(w.nc(), w.env, 'approval.denied', intentId);
      expect(granted.length + denied.length).toBe(1);
      const stored = await a.book.get(id);
      expect(stored?.status).toBe(granted.length === 1 ? 'granted' : 'denied');
      const resolved = await eventsFor(w.nc(), w.env, 'intent.resolved', intentId);
      expect(resolved).toHaveLength(denied.length);
    }
  });

  it('reopens idempotently with the same args and refuses other args for one intent', async () => {
    const first = await request(a, w.env);
    w.clock.now += 5_000;
    const again = await b.book.open(first.need);
    expect(again).toMatchObject({ outcome: 'existing', data: first.requested.data });

    const other = { ticket_ids: [9], status: 'closed' };
    const conflict = await b.book.open({
      ...first.need,
      args: other,
      argsHash: digestArgs('zendesk.close_tickets', other),
    });
    expect(conflict).toMatchObject({
      outcome: 'conflict',
      approval: { approval_id: first.id, args_hash: first.need.argsHash, status: 'pending' },
    });
    expect((await a.book.get(first.id))?.args).toEqual(first.need.args);
  });

  it('lists approvals by status and group', async () => {
    const pending = await request(a, w.env, { group: 'payments' });
    const listed = await a.desk.list({ status: 'pending', group: 'payments' }, outsider);
    expect(listed.approvals.map((v) => v.approval_id)).toEqual([pending.id]);
    const granted = await a.desk.list({ status: 'granted' }, outsider);
    expect(granted.approvals.length).toBeGreaterThan(0);
    expect(granted.approvals.every((v) => v.status === 'granted')).toBe(true);
    // Views carry none of the bookkeeping.
    expect(listed.approvals[0]).not.toHaveProperty('published');
    expect(listed.approvals[0]).not.toHaveProperty('request');
  });
});

describe('approvals: the sweeper', () => {
  let w: World;
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    w = await world('approvals-sweep');
    a = await w.replica(0);
    b = await w.replica(1);
  });

  it('expires overdue approvals once across replicas, and denies their intents', async () => {
    const overdue = await request(a, w.env);
    w.clock.now += 30_000;
    const young = await request(a, w.env);
    w.clock.now += 30_000;

    const reports = await Promise.all([a.sweeper.sweepOnce(), b.sweeper.sweepOnce()]);
    expect(reports.map((r) => r.expired).reduce((x, y) => x + y)).toBe(1);
    expect(reports.every((r) => r.failed === 0)).toBe(true);

    const intentId = overdue.cause.intent_id!;
    const expired = await eventsFor(w.nc(), w.env, 'approval.expired', intentId);
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({
      causation_id: overdue.requested.event_id,
      data: {
        approval_id: overdue.id,
        args_hash: overdue.need.argsHash,
        expires_at: overdue.approval.expires_at,
      },
    });
    const resolved = await eventsFor(w.nc(), w.env, 'intent.resolved', intentId);
    expect(resolved.map((e) => e.data)).toMatchObject([
      { status: 'denied', stage: 'approval', reason: 'approval_expired' },
    ]);
    expect(await a.book.get(overdue.id)).toMatchObject({ status: 'expired', published: true });
    expect((await a.book.get(young.id))?.status).toBe('pending');
    await expect(
      a.desk.approve({ approval_id: overdue.id, reason: 'sorry, late' }, lead),
    ).rejects.toMatchObject({ code: 'approval_expired' });
  });

  it('publishes again the events of an answer a crash left unpublished', async () => {
    const { id, cause, requested } = await request(a, w.env);
    // The desk's compare-and-set landed, then the process died before publishing.
    const record = ApprovalRecord.parse(await a.book.get(id));
    await w.kv.put(
      id,
      JSON.stringify({
        ...record,
        status: 'denied',
        answered_by: 'human:lena',
        answered_at: record.requested_at,
        comment: 'crashed right after',
        published: false,
      } satisfies ApprovalRecord),
    );

    const report = await b.sweeper.sweepOnce();
    expect(report.republished).toBe(1);
    const denied = await eventsFor(w.nc(), w.env, 'approval.denied', cause.intent_id!);
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({
      causation_id: requested.event_id,
      data: { approver: 'human:lena', comment: 'crashed right after' },
    });
    expect(await eventsFor(w.nc(), w.env, 'intent.resolved', cause.intent_id!)).toHaveLength(1);
    expect(await a.book.get(id)).toMatchObject({ status: 'denied', published: true });
    expect((await a.sweeper.sweepOnce()).republished).toBe(0);
  });

  it('keeps an answer whose publish failed, and the sweeper publishes it', async () => {
    const { id, cause } = await request(a, w.env);
    const logs = memoryDestination();
    const failing = new ApprovalDesk({
      book: a.book,
      publisher: {
        producer: a.publisher.producer,
        publish: () => Promise.reject(new Error('JetStream did not answer')),
      },
      logger: createLogger({ service: 'policy-decision', destination: logs }),
    });
    const answer = await failing.approve({ approval_id: id, reason: 'go ahead' }, lead);
    expect(answer.approval.status).toBe('granted');
    expect(await a.book.get(id)).toMatchObject({ status: 'granted', published: false });
    expect(logs.records).toContainEqual(
      expect.objectContaining({ level: 'warn', approval_id: id, intent_id: cause.intent_id }),
    );
    expect(await eventsFor(w.nc(), w.env, 'approval.granted', cause.intent_id!)).toHaveLength(0);

    expect((await b.sweeper.sweepOnce()).republished).toBe(1);
    const granted = await eventsFor(w.nc(), w.env, 'approval.granted', cause.intent_id!);
    expect(granted.map((e) => e.data)).toMatchObject([
      { approver: 'human:lena', comment: 'go ahead' },
    ]);
    expect(await a.book.get(id)).toMatchObject({ published: true });
  });

  it('keeps sweeping past an unreadable record, logging it', async () => {
    await w.kv.put('01JD00000000000000000BROKEN', 'not json');
    const overdue = await request(a, w.env);
    w.clock.now += TTL_SECONDS * 1000;
    const report = await a.sweeper.sweepOnce();
    expect(report.failed).toBe(1);
    expect(report.expired).toBeGreaterThanOrEqual(1);
    expect(a.logs.records).toContainEqual(
      expect.objectContaining({ level: 'error', approval_id: '01JD00000000000000000BROKEN' }),
    );
    expect((await a.book.get(overdue.id))?.status).toBe('expired');
    await w.kv.delete('01JD00000000000000000BROKEN');
  });

  it('sweeps on its own once started, and stops cleanly', async () => {
    const overdue = await request(a, w.env);
    w.clock.now += TTL_SECONDS * 1000;
    a.sweeper.start();
    b.sweeper.start();
    try {
      // Generous: CI runs it beside the other suites on 2 cores and one NATS (a sweep there once
      // outlasted the default 10 s).
      await waitFor(
        async () => {
          const events = await eventsFor(
            w.nc(),
            w.env,
            'approval.expired',
            overdue.cause.intent_id!,
          );
          return events.length === 1 ? events : undefined;
        },
        { timeoutMs: 30_000 },
      );
    } finally {
      await Promise.all([a.sweeper.stop(), b.sweeper.stop()]);
    }
    expect(await a.book.get(overdue.id)).toMatchObject({ status: 'expired', published: true });
    expect(a.logs.records.filter((r) => r['msg'] === 'approval sweep failed')).toEqual([]);
  }, 90_000);
});
