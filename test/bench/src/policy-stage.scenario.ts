import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { buildEvent, subjects, type Envelope, type Principal } from '@warden/contracts';
import { EventPublisher, removeEnv } from '@warden/messaging';
import { BUILTIN_POLICY_FILES, shippedSchemaText } from '@warden/policy';
import {
  adminToken,
  callPolicy,
  identityTestEnv,
  proposedEvent,
  TEST_PRODUCER,
} from '@warden/testing';
import { startApp } from './app-process.js';
import { percentiles, type Percentiles } from './stats.js';

/** The policy stage over NATS: one policy-decision process, fed `intent.authenticated` directly. */
export interface PolicyStageResult {
  intents: number;
  perSecond: number;
  /** From publish to `policy.decided` received, ms, with every intent in flight at once. */
  latencyMs: Percentiles;
}

// The bench runs from dist/test/bench/: the repository root is three levels up.
const ROOT = new URL('../../../', import.meta.url);
const EXAMPLE = new URL('examples/support-triage/', ROOT);

const AGENT: Principal = {
  agent_id: 'stage-bot',
  owner: 'alice',
  domains: ['support'],
  tool_groups: ['zendesk'],
};
/** The reference scenarios' calls: reads, updates, a forbidden urgent priority, bulk approvals. */
const CALLS: [string, Record<string, unknown>][] = [
  ['zendesk.get_ticket', { ticket_id: 7 }],
  ['zendesk.update_ticket', { ticket_id: 7, status: 'solved' }],
  ['zendesk.update_ticket', { ticket_id: 7, priority: 'urgent' }],
  ['zendesk.bulk_close', { ticket_ids: [1, 2, 3], reason: 'spam' }],
  ['payroll.run', { period: '2026-11-01' }],
];

/**
 * Decisions per second of the policy stage as deployed: a policy-decision process (and the
 * identity broker, which only verifies the admin who registers the reference tools and policies)
 * on NATS; the bench publishes `intent.authenticated` events for the reference scenarios in one
 * burst and times each until its `policy.decided` arrives.
 */
export async function measurePolicyStage(
  nc: NatsConnection,
  env: string,
  natsUrl: string,
  intents: number,
): Promise<PolicyStageResult> {
  const services = await Promise.all(
    ['identity-broker', 'policy-decision'].map((app) =>
      startApp(app, { ...identityTestEnv(), WARDEN_ENV: env, NATS_URL: natsUrl }),
    ),
  );
  try {
    await registerReference(nc, env);
    const publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
    const batch = Array.from({ length: intents }, (_, i) => authenticated(env, i));
    // Warm-up: JIT, the consumer, the Cedar slices of each call shape.
    await decideAll(
      nc,
      env,
      publisher,
      Array.from({ length: 200 }, (_, i) => authenticated(env, i)),
    );
    const { elapsedMs, latencies } = await decideAll(nc, env, publisher, batch);
    return {
      intents,
      perSecond: (intents / elapsedMs) * 1000,
      latencyMs: percentiles(latencies),
    };
  } finally {
    await Promise.all(services.map((service) => service.stop()));
    await removeEnv(nc, env);
  }
}

async function decideAll(
  nc: NatsConnection,
  env: string,
  publisher: EventPublisher,
  batch: Envelope<'intent.authenticated'>[],
): Promise<{ elapsedMs: number; latencies: number[] }> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const subscription = nc.subscribe(subjects.eventType(env, 'policy.decided'));
  const done = (async () => {
    for await (const message of subscription) {
      const intentId = message.json<{ intent_id?: string }>().intent_id ?? '';
      const sent = sentAt.get(intentId);
      if (sent === undefined) continue;
      sentAt.delete(intentId);
      latencies.push(performance.now() - sent);
      if (latencies.length === batch.length) break;
    }
  })();
  const started = performance.now();
  for (const event of batch) sentAt.set(event.intent_id ?? '', started);
  await publisher.publishMany(batch);
  await done;
  subscription.unsubscribe();
  return { elapsedMs: performance.now() - started, latencies };
}

function authenticated(env: string, i: number): Envelope<'intent.authenticated'> {
  const [tool, args] = CALLS[i % CALLS.length] ?? CALLS[0] ?? ['', {}];
  const proposed = proposedEvent(env, {
    agent: AGENT.agent_id,
    tool,
    args,
    run: `stage-${i % 50}`,
  });
  return buildEvent({
    type: 'intent.authenticated',
    cause: proposed,
    producer: TEST_PRODUCER,
    data: { ...proposed.data, principal: AGENT },
  });
}

async function registerReference(nc: NatsConnection, env: string): Promise<void> {
  const token = await adminToken(nc, env);
  for (const { name, text } of exampleFiles('tools')) {
    await callPolicy(nc, env, 'tool-register', { source: text, file: name }, token);
  }
  await callPolicy(
    nc,
    env,
    'policy-publish',
    {
      schema: shippedSchemaText(),
      files: [...exampleFiles('policies'), ...BUILTIN_POLICY_FILES],
      message: 'bench: support-triage reference policies',
    },
    token,
  );
}

function exampleFiles(folder: string): { name: string; text: string }[] {
  const dir = new URL(`${folder}/`, EXAMPLE);
  return readdirSync(fileURLToPath(dir))
    .sort()
    .map((name) => ({ name, text: readFileSync(new URL(name, dir), 'utf8') }));
}
