import type { NatsConnection } from '@nats-io/transport-node';
import { buildEvent, subjects, type Envelope } from '@warden/contracts';
import { EventPublisher, removeEnv } from '@warden/messaging';
import { proposedEvent, TEST_PRODUCER } from '@warden/testing';
import { ulid } from 'ulid';
import { startApp } from './app-process.js';

/** Reservations per second of the cost governor, with one and with two replicas. */
export interface GovernorResult {
  intents: number;
  runs: number;
  /** Replicas → decisions answered per second (reserved or denied). */
  perSecond: Record<string, number>;
  /** How many of the intents were reserved (the rest denied `run_budget`): the budget held. */
  reserved: Record<string, number>;
  /** Replicas → share of compare-and-set rounds on run records lost to another replica. */
  conflictRate: Record<string, number>;
}

/**
 * The governor as deployed (a process per replica on NATS): `intents` allowed decisions spread
 * over `runs` runs, published in one burst, each run with budget for half of its intents, so
 * replicas race on every run's record. Times the burst until every intent has its answer.
 */
export async function measureGovernor(
  nc: NatsConnection,
  envPrefix: string,
  natsUrl: string,
  intents: number,
  runs = 20,
): Promise<GovernorResult> {
  const result: GovernorResult = { intents, runs, perSecond: {}, reserved: {}, conflictRate: {} };
  for (const replicas of [1, 2]) {
    const env = `${envPrefix}-${replicas}`;
    const processes = await Promise.all(
      Array.from({ length: replicas }, () =>
        startApp(
          'cost-governor',
          {
            WARDEN_ENV: env,
            NATS_URL: natsUrl,
            GOVERNOR_MAX_STEPS: '10000',
            // Its shutdown line counts the compare-and-set rounds (info).
            LOG_LEVEL: 'info',
          },
          { logs: true },
        ),
      ),
    );
    try {
      const publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
      const perRun = Math.ceil(intents / runs);
      const runIds = Array.from({ length: runs }, (_, i) => `bench-run-${i}`);
      await publisher.publishMany(runIds.map((run) => started(env, run, Math.floor(perRun / 2))));
      // run.started travels on its own durable: give it a moment to land before the burst.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const batch = Array.from({ length: intents }, (_, i) =>
        decided(env, runIds[i % runs] ?? '', i),
      );
      const { elapsedMs, reserved } = await answerAll(nc, env, publisher, batch);
      result.perSecond[String(replicas)] = (intents / elapsedMs) * 1000;
      result.reserved[String(replicas)] = reserved;
    } finally {
      await Promise.all(processes.map((process) => process.stop()));
      await removeEnv(nc, env);
    }
    result.conflictRate[String(replicas)] = conflictRate(processes.flatMap((p) => p.logs));
  }
  return result;
}

/** Conflicts over rounds, summed over the replicas' shutdown lines. */
function conflictRate(logs: readonly string[]): number {
  let rounds = 0;
  let conflicts = 0;
  for (const line of logs) {
    if (!line.includes('compare-and-set rounds')) continue;
    const stats = JSON.parse(line) as { cas_rounds?: number; cas_conflicts?: number };
    rounds += stats.cas_rounds ?? 0;
    conflicts += stats.cas_conflicts ?? 0;
  }
  return rounds === 0 ? 0 : conflicts / rounds;
}

async function answerAll(
  nc: NatsConnection,
  env: string,
  publisher: EventPublisher,
  batch: Envelope<'policy.decided'>[],
): Promise<{ elapsedMs: number; reserved: number }> {
  const pending = new Set(batch.map((event) => event.intent_id ?? ''));
  let reserved = 0;
  const subscriptions = ['budget.reserved', 'intent.resolved'].map((type) =>
    nc.subscribe(subjects.eventType(env, type)),
  );
  const done = new Promise<void>((resolve) => {
    for (const subscription of subscriptions) {
      void (async () => {
        for await (const message of subscription) {
          const event = message.json<{ type: string; intent_id?: string }>();
          if (!pending.delete(event.intent_id ?? '')) continue;
          if (event.type === 'budget.reserved') reserved++;
          if (pending.size === 0) resolve();
        }
      })();
    }
  });
  const started = performance.now();
  await publisher.publishMany(batch);
  await done;
  for (const subscription of subscriptions) subscription.unsubscribe();
  return { elapsedMs: performance.now() - started, reserved };
}

function started(env: string, run: string, budgetMicroUsd: number): Envelope<'run.started'> {
  return buildEvent({
    type: 'run.started',
    env,
    eventId: ulid(),
    runId: run,
    agentId: 'bench-agent',
    producer: TEST_PRODUCER,
    data: { limits: { max_steps: 10_000, budget_micro_usd: budgetMicroUsd } },
  });
}

/** An allowed decision; its args differ per intent, as the same call repeated is a loop. */
function decided(env: string, run: string, i: number): Envelope<'policy.decided'> {
  const proposed = proposedEvent(env, { run, agent: 'bench-agent', tool: 'echo', args: { i } });
  return buildEvent({
    type: 'policy.decided',
    cause: proposed,
    producer: TEST_PRODUCER,
    data: {
      tool: 'echo',
      args: { i },
      step: 1,
      effect: 'allow',
      determining_policy_ids: ['bench'],
      policy_version: 1,
      errors: [],
      eval_us: 1,
      cost_micro_usd: 1,
    },
  });
}
