import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { buildEvent, subjects, type Envelope, type EventType } from '@warden/contracts';
import {
  connectNats,
  durableName,
  ensureKvBuckets,
  EventPublisher,
  kvBucketName,
  removeEnv,
} from '@warden/messaging';
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
import { ulid } from 'ulid';
import type { GovernorControls } from '../src/domain/controls.js';
import type { RunRecord } from '../src/domain/step-cap.js';
import { service } from '../src/service.js';

/** What one allowed (or denied) decision is about. */
export interface DecisionSpec {
  readonly run: string;
  readonly effect?: 'allow' | 'deny';
  readonly costMicroUsd?: number;
  readonly agent?: string;
  readonly tool?: string;
  /** Default: distinct args per intent (the same call repeated is a loop). */
  readonly args?: Record<string, unknown>;
  /** When policy decided (the day its daily budgets are charged to). Default: now. */
  readonly occurredAt?: string;
  readonly workflow?: string;
}

/**
 * A NATS server of its own, an env, and cost-governor replicas in this process, with builders of
 * the events the governor consumes and readers of what it wrote.
 */
export class GovernorHarness {
  readonly env = uniqueEnv('governor');
  readonly running: RunningService[] = [];
  private nats!: TestNats;
  nc!: NatsConnection;
  publisher!: EventPublisher;
  private runs!: KV;
  private budgets!: KV;
  private decidedCount = 0;

  constructor(private readonly settings: Record<string, string> = {}) {}

  async start(): Promise<void> {
    this.nats = await startNats();
    this.nc = await connectNats({ servers: this.nats.url, name: 'governor-test' });
    await this.startReplica();
    this.publisher = new EventPublisher(this.nc, { env: this.env, producer: TEST_PRODUCER });
    const kvm = new Kvm(this.nc);
    this.runs = await kvm.open(kvBucketName(this.env, 'runs'));
    this.budgets = await kvm.open(kvBucketName(this.env, 'budgets'));
  }

  async stop(): Promise<void> {
    await Promise.all(this.running.map((replica) => replica.stop()));
    await removeEnv(this.nc, this.env);
    await this.nc.close();
    await this.nats.stop();
  }

  async startReplica(): Promise<void> {
    this.running.push(
      await service.start(
        service.config({
          WARDEN_ENV: this.env,
          NATS_URL: this.nats.url,
          HTTP_PORT: '0',
          LOG_LEVEL: 'warn',
          GOVERNOR_MAX_STEPS: '1000',
          ...this.settings,
        }),
      ),
    );
  }

  /** A `policy.decided` for one call. */
  decided(spec: DecisionSpec): Envelope<'policy.decided'> {
    const tool = spec.tool ?? 'noop';
    const args = spec.args ?? { n: (this.decidedCount += 1) };
    const agent = spec.agent ?? 'gov-agent';
    const proposed = proposedEvent(this.env, { run: spec.run, agent, tool, args });
    return buildEvent({
      type: 'policy.decided',
      cause: spec.workflow === undefined ? proposed : { ...proposed, workflow: spec.workflow },
      producer: TEST_PRODUCER,
      ...(spec.occurredAt === undefined ? {} : { occurredAt: spec.occurredAt }),
      data: {
        tool,
        args,
        step: 1,
        effect: spec.effect ?? 'allow',
        determining_policy_ids: [],
        policy_version: 0,
        errors: [],
        eval_us: 1,
        ...(spec.costMicroUsd === undefined ? {} : { cost_micro_usd: spec.costMicroUsd }),
      },
    });
  }

  /** A `run.started` of `agent`, declaring these limits. */
  runStarted(
    run: string,
    limits: { max_steps?: number; budget_micro_usd?: number } = {},
    agent = 'gov-agent',
    workflow?: string,
  ): Envelope<'run.started'> {
    return buildEvent({
      type: 'run.started',
      env: this.env,
      eventId: ulid(),
      runId: run,
      agentId: agent,
      ...(workflow === undefined ? {} : { workflow }),
      producer: TEST_PRODUCER,
      data: { limits, ...(workflow === undefined ? {} : { workflow }) },
    });
  }

  /** `run.started`, once the governor has written it (it travels on its own durable). */
  async startRun(
    run: string,
    limits: { max_steps?: number; budget_micro_usd?: number } = {},
    agent = 'gov-agent',
    workflow?: string,
  ): Promise<RunRecord> {
    await this.publisher.publish(this.runStarted(run, limits, agent, workflow));
    return waitFor(async () => {
      const stored = await this.record(run);
      return stored?.started_at === undefined ? undefined : stored;
    });
  }

  /** A `model.requested` of a run's agent. */
  modelRequested(
    run: string,
    agent: string,
    data: Envelope<'model.requested'>['data'],
  ): Envelope<'model.requested'> {
    const id = ulid();
    return buildEvent({
      type: 'model.requested',
      env: this.env,
      eventId: id,
      intentId: id,
      runId: run,
      agentId: agent,
      producer: TEST_PRODUCER,
      data,
    });
  }

  /** The identity broker's `agents` bucket (this harness runs no broker: tests write it). */
  async agentsBucket(): Promise<KV> {
    const { agents } = await ensureKvBuckets(this.nc, this.env, ['agents']);
    return agents;
  }

  /** The executor's `intent.resolved{executed}` for an intent. */
  executed(intent: Envelope<'policy.decided'>): Envelope<'intent.resolved'> {
    return buildEvent({
      type: 'intent.resolved',
      cause: intent,
      producer: TEST_PRODUCER,
      data: { status: 'executed', stage: 'executor', tool: intent.data.tool, output: {} },
    });
  }

  /** An event no other causes (an operator's change, a breaker), published as its producer would. */
  async publishChange<T extends EventType>(
    type: T,
    data: Envelope<T>['data'],
    context: { agentId?: string; workflow?: string } = {},
  ): Promise<Envelope<T>> {
    const event = buildEvent({
      type,
      env: this.env,
      eventId: ulid(),
      producer: TEST_PRODUCER,
      data,
      ...context,
    });
    await this.publisher.publish(event as unknown as Envelope);
    return event;
  }

  async record(run: string): Promise<RunRecord | undefined> {
    return (await this.runs.get(run))?.json<RunRecord>();
  }

  async controls(): Promise<GovernorControls | undefined> {
    return (await this.budgets.get('controls'))?.json<GovernorControls>();
  }

  /** Waits until the governor's controls satisfy `ready`. */
  async controlsWhere(ready: (controls: GovernorControls) => boolean): Promise<void> {
    await waitFor(async () => {
      const controls = await this.controls();
      return controls !== undefined && ready(controls);
    });
  }

  async budgetValue<T>(key: string): Promise<T | undefined> {
    return (await this.budgets.get(key))?.json<T>();
  }

  /** Every output of the governor for these intents, once there are at least `count`. */
  async outputsFor(intents: Envelope[], count: number): Promise<Envelope[]> {
    const ids = new Set(intents.map((intent) => intent.intent_id));
    return waitFor(
      async () => {
        const outputs = [
          ...(await eventsOfType(this.nc, this.env, 'budget.reserved')),
          ...(await eventsOfType(this.nc, this.env, 'intent.resolved')),
        ].filter((event) => ids.has(event.intent_id) && event.producer.service === 'cost-governor');
        return outputs.length >= count ? outputs : undefined;
      },
      { timeoutMs: 20_000 },
    );
  }

  /** The events of `type` about one run. */
  async eventsOfRun<T extends EventType>(type: T, run: string): Promise<Envelope<T>[]> {
    const events = await eventsOfType(this.nc, this.env, type);
    return events.filter((event) => event.run_id === run) as Envelope<T>[];
  }

  /** Resolves once the governor has acked every `policy.decided` up to stream sequence `seq`. */
  async decisionsHandledThrough(seq: number): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const durable = durableName('cost-governor', 'policy.decided');
    await waitFor(async () => {
      const info = await jsm.consumers.info(subjects.streamName(this.env), durable);
      return info.ack_floor.stream_seq >= seq && info.num_ack_pending === 0;
    });
  }
}
