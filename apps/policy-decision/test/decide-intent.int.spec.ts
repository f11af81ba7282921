import { readdirSync, readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  buildEvent,
  type DataOf,
  type Envelope,
  type EventType,
  type Principal,
} from '@warden/contracts';
import { connectNats, ensureKvBuckets, EventPublisher, removeEnv } from '@warden/messaging';
import { BUILTIN_POLICY_FILES, builtinToolSources, shippedSchemaText } from '@warden/policy';
import type { RunningService } from '@warden/service';
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
import { PolicyRegistry } from '../src/policies/policy-registry.js';
import { PolicyStore } from '../src/policies/policy-store.js';
import { service } from '../src/service.js';
import { ToolRegistry } from '../src/tools/tool-registry.js';
import { ToolStore } from '../src/tools/tool-store.js';

/*
 * The decision stage of a real policy-decision service on a real NATS, with tools and policy
 * versions registered through the service's own use cases (ToolRegistry, PolicyRegistry: the log,
 * then KV). The APIs in front of them need the identity broker to verify human tokens: they are
 * proven across processes in test/e2e/policy-decision.e2e.spec.ts.
 */

const EXAMPLE = new URL('../../../examples/support-triage/', import.meta.url);
const caller = { human_id: 'policy-admin', roles: ['admin'] };

let nats: TestNats;
let nc: NatsConnection;
let publisher: EventPublisher;
let tools: ToolRegistry;
let policies: PolicyRegistry;
const running: RunningService[] = [];
const env = uniqueEnv('policy');

const supportAgent: Principal = {
  agent_id: 'triage-1',
  owner: 'alice',
  domains: ['support'],
  tool_groups: ['zendesk'],
};

function authenticated(
  tool: string,
  args: Record<string, unknown>,
  principal: Principal = supportAgent,
): Envelope<'intent.authenticated'> {
  const proposed = proposedEvent(env, { agent: principal.agent_id, tool, args });
  return buildEvent({
    type: 'intent.authenticated',
    cause: proposed,
    producer: TEST_PRODUCER,
    data: { ...proposed.data, principal },
  });
}

async function startReplica(): Promise<RunningService> {
  const replica = await service.start(
    service.config({ WARDEN_ENV: env, NATS_URL: nats.url, HTTP_PORT: '0', LOG_LEVEL: 'warn' }),
  );
  running.push(replica);
  return replica;
}

/** The first event of `type` caused by `intent`. */
async function outputOf<T extends EventType>(type: T, intent: Envelope): Promise<Envelope<T>> {
  return waitFor(async () =>
    (await eventsOfType(nc, env, type)).find((e) => e.intent_id === intent.intent_id),
  ) as Promise<Envelope<T>>;
}

/** Publishes an intent and returns its decision (and resolution, for a deny). */
async function decide(intent: Envelope<'intent.authenticated'>): Promise<DataOf<'policy.decided'>> {
  await publisher.publish(intent);
  return (await outputOf('policy.decided', intent)).data;
}

function exampleFiles(dir: string): { name: string; text: string }[] {
  const folder = new URL(`${dir}/`, EXAMPLE);
  return readdirSync(folder)
    .sort()
    .map((name) => ({ name, text: readFileSync(new URL(name, folder), 'utf8') }));
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'policy-test' });
  publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
  await startReplica();
  const kv = await ensureKvBuckets(nc, env, ['tools', 'policies']);
  tools = new ToolRegistry(nc, publisher, new ToolStore(kv.tools));
  policies = new PolicyRegistry(nc, publisher, new PolicyStore(kv.policies));
});

afterAll(async () => {
  await Promise.all(running.map((replica) => replica.stop()));
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

describe('policy-decision', () => {
  it('denies every intent while no policy version is published', async () => {
    for (const { file, source } of builtinToolSources())
      await tools.register({ source, file }, caller);
    const intent = authenticated('echo', { text: 'hi' });
    expect(await decide(intent)).toMatchObject({
      effect: 'deny',
      reason: 'no_policy',
      policy_version: 0,
      determining_policy_ids: [],
    });
    expect((await outputOf('intent.resolved', intent)).data).toMatchObject({
      status: 'denied',
      stage: 'policy',
      reason: 'no_policy',
    });
  });

  it('decides under the published version and names it', async () => {
    for (const { name, text } of exampleFiles('tools')) {
      await tools.register({ source: text, file: name }, caller);
    }
    const { version } = await policies.publish(
      {
        schema: shippedSchemaText(),
        files: [...exampleFiles('policies'), ...BUILTIN_POLICY_FILES],
        message: 'reference policies',
        mode: 'active',
      },
      caller,
    );
    const allowed = await waitFor(async () => {
      const decision = await decide(authenticated('echo', { text: 'hi' }));
      return decision.effect === 'allow' ? decision : undefined;
    });
    expect(allowed).toMatchObject({
      policy_version: version.version,
      determining_policy_ids: ['builtin-permit'],
      tool_version: 1,
      risk: { write: false, bulk: false, pii: false },
    });
  });

  it('gives each reference scenario its effect, with the determining policies', async () => {
    const cases: [string, Record<string, unknown>, Principal, string, string[]][] = [
      ['zendesk.get_ticket', { ticket_id: 7 }, supportAgent, 'allow', ['reads-in-domain']],
      [
        'zendesk.update_ticket',
        { ticket_id: 7, status: 'solved' },
        supportAgent,
        'allow',
        ['single-ticket-updates'],
      ],
      // A forbid matching beside a permit wins.
      [
        'zendesk.update_ticket',
        { ticket_id: 7, priority: 'urgent' },
        supportAgent,
        'deny',
        ['urgent-only-for-payments'],
      ],
      [
        'zendesk.update_ticket',
        { ticket_id: 7, priority: 'urgent' },
        { ...supportAgent, agent_id: 'payments-1', tool_groups: ['zendesk', 'payments'] },
        'allow',
        ['single-ticket-updates'],
      ],
      [
        'zendesk.bulk_close',
        { ticket_ids: [1, 2, 3], reason: 'spam' },
        supportAgent,
        'allow',
        ['small-bulk-close'],
      ],
      [
        'zendesk.bulk_close',
        { ticket_ids: Array.from({ length: 11 }, (_, i) => i + 1), reason: 'spam' },
        supportAgent,
        'approval_required',
        ['bulk-close-needs-support-leads'],
      ],
      ['payroll.run', { period: '2026-11-01' }, supportAgent, 'deny', ['no-payroll']],
      // Outside its domain nothing permits a read: deny by default, determined by no policy.
      [
        'zendesk.get_ticket',
        { ticket_id: 7 },
        { agent_id: 'billing-1', domains: ['billing'] },
        'deny',
        [],
      ],
    ];
    for (const [tool, args, principal, effect, ids] of cases) {
      const decision = await decide(authenticated(tool, args, principal));
      expect({ tool, effect: decision.effect, ids: decision.determining_policy_ids }).toEqual({
        tool,
        effect,
        ids,
      });
    }
  });

  it('asks support-leads to approve a bulk close of these exact args', async () => {
    const ticketIds = Array.from({ length: 12 }, (_, i) => 100 + i);
    const intent = authenticated('zendesk.bulk_close', {
      ticket_ids: ticketIds,
      reason: 'duplicate',
    });
    expect(await decide(intent)).toMatchObject({
      effect: 'approval_required',
      approval: { group: 'support-leads', separation_of_duties: true },
      risk: { bulk: true, write: true },
    });
    const requested = await outputOf('approval.requested', intent);
    expect(requested.agent_id).toBe('triage-1');
    expect(requested.data).toMatchObject({
      tool: 'zendesk.bulk_close',
      args: { ticket_ids: ticketIds, reason: 'duplicate' },
      group: 'support-leads',
      separation_of_duties: true,
      owner: 'alice',
      policy_ids: ['bulk-close-needs-support-leads'],
    });
    expect(requested.data.args_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects args that break the schema before Cedar sees them, listing every violation', async () => {
    let deep: Record<string, unknown> = { body: 'x' };
    for (let i = 0; i < 100; i++) deep = { nested: deep };
    const invalid: [Record<string, unknown>, string][] = [
      [{ ticket_id: 7, colour: 'red' }, 'colour'],
      [{ ticket_id: 7, status: 'archived' }, 'status'],
      [{ ticket_id: 0 }, 'ticket_id'],
      [{ ticket_id: 7, comment: { body: 'y'.repeat(4001) } }, 'comment.body'],
      [{ ticket_id: 7, comment: deep }, ''],
    ];
    const rejected = new Set<string>();
    for (const [args, path] of invalid) {
      const intent = authenticated('zendesk.update_ticket', args);
      rejected.add(intent.intent_id ?? '');
      await publisher.publish(intent);
      const resolved = await outputOf('intent.resolved', intent);
      expect(resolved.data).toMatchObject({
        status: 'rejected',
        stage: 'validation',
        reason: 'invalid_args',
      });
      expect(resolved.data.details?.length).toBeGreaterThan(0);
      if (path !== '') expect(resolved.data.details?.[0]?.path).toBe(path);
    }
    // Rejected before the policy stage decided anything.
    const decided = await eventsOfType(nc, env, 'policy.decided');
    expect(decided.filter((e) => rejected.has(e.intent_id ?? ''))).toEqual([]);
  });

  it('denies an unknown tool with its own reason', async () => {
    const intent = authenticated('payments.refund', { amount: 5 });
    expect(await decide(intent)).toMatchObject({ effect: 'deny', reason: 'unknown_tool' });
  });

  it('logs where a shadow version would decide differently, and enforces only the active one', async () => {
    const { version: shadow } = await policies.publish(
      {
        schema: shippedSchemaText(),
        files: [
          ...exampleFiles('policies'),
          {
            name: 'builtin.cedar',
            text: 'permit (principal, action, resource == Warden::Tool::"noop");',
          },
        ],
        message: 'candidate: only noop among the built-ins',
        mode: 'shadow',
      },
      caller,
    );
    const intent = await waitFor(
      async () => {
        const candidate = authenticated('echo', { text: 'shadowed' });
        await publisher.publish(candidate);
        const diverged = (await eventsOfType(nc, env, 'policy.shadow_diverged')).find(
          (e) => e.intent_id === candidate.intent_id,
        );
        return diverged === undefined ? undefined : candidate;
      },
      { timeoutMs: 10_000 },
    );
    expect((await outputOf('policy.decided', intent)).data.effect).toBe('allow');
    expect((await outputOf('policy.shadow_diverged', intent)).data).toMatchObject({
      active_effect: 'allow',
      shadow_version: shadow.version,
      shadow_effect: 'deny',
    });
  });

  it('shares the load between two replicas without doubling any decision', async () => {
    await startReplica();
    const intents = Array.from({ length: 200 }, (_, i) =>
      authenticated('noop', {}, { agent_id: `agent-r${i % 4}`, domains: [] }),
    );
    await publisher.publishMany(intents);
    const ids = new Set(intents.map((intent) => intent.intent_id));
    const decided = await waitFor(
      async () => {
        const all = (await eventsOfType(nc, env, 'policy.decided')) as Envelope<'policy.decided'>[];
        const mine = all.filter((e) => ids.has(e.intent_id));
        return mine.length >= intents.length ? mine : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(decided).toHaveLength(intents.length);
    expect(new Set(decided.map((e) => e.intent_id)).size).toBe(intents.length);
    expect(decided.every((e) => e.data.effect === 'allow')).toBe(true);
    const instances = new Set(decided.map((e) => e.producer.instance));
    expect(instances.size).toBe(2);
  });
});
