import type { NatsConnection } from '@nats-io/transport-node';
import { type Envelope, type EventType } from '@warden/contracts';
import { connectNats, ensureKvBuckets, removeEnv } from '@warden/messaging';
import { BUILTIN_POLICY_FILES, shippedSchemaText } from '@warden/policy';
import {
  adminToken,
  callPolicy,
  eventsOfType,
  humanWithToken,
  registerAgents,
  seedBuiltins,
  startNats,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApprovalPendingError,
  BudgetExceededError,
  DeniedError,
  StepCapReachedError,
  Warden,
  type Run,
} from '../src/index.js';
import { startServices, type RunningServices } from './support/services.js';

const AGENT = 'sdk-governed';
const LEADS = 'sdk-leads';

/**
 * The SDK against the real services (identity broker, policy decision, cost governor, tool
 * executor, each its own process from `npm run build`) on a real NATS: the typed errors, an
 * approval answered by a human, a routed model call and its usage, and spans.
 */
describe('@warden/sdk against the real services', () => {
  const env = uniqueEnv('sdk-governed');
  let nats: TestNats | undefined;
  let nc: NatsConnection;
  let services: RunningServices | undefined;
  let warden: Warden | undefined;

  beforeAll(async () => {
    const server = await startNats();
    nats = server;
    nc = await connectNats({ servers: server.url, name: 'sdk-governed-test' });
    services = await startServices(env, server.url);
    await seedBuiltins(nc, env);
    // The built-in policy, but `noop` needs the approval of an sdk-lead.
    const [builtin] = BUILTIN_POLICY_FILES;
    if (builtin === undefined) throw new Error('no built-in policy file');
    await callPolicy(
      nc,
      env,
      'policy-publish',
      {
        schema: shippedSchemaText(),
        message: 'noop needs approval',
        files: [
          {
            name: builtin.name,
            text: builtin.text.replace(
              'unless { resource == Warden::Tool::"fail" }',
              'unless { resource == Warden::Tool::"fail" || resource == Warden::Tool::"noop" }',
            ),
          },
          {
            name: 'approvals.cedar',
            text: `@id("noop-needs-leads")\n@approval("${LEADS}")\npermit (principal, action == Warden::Action::"invoke", resource == Warden::Tool::"noop");\n`,
          },
        ],
      },
      await adminToken(nc, env),
    );
    const secrets = await registerAgents(nc, env, [AGENT]);
    warden = await Warden.connect({
      servers: server.url,
      env,
      agentId: AGENT,
      credential: { clientSecret: secrets.get(AGENT) ?? '' },
      name: 'sdk-governed-test',
      callTimeoutMs: 20_000,
    });
  }, 120_000);

  afterAll(async () => {
    // Each guarded: a beforeAll that failed half-way leaves the rest unset.
    await warden?.close();
    await services?.stop();
    if (nats !== undefined) {
      await removeEnv(nc, env);
      await nc.close();
      await nats.stop();
    }
  }, 60_000);

  /** The events of `type` about one intent (or, without one, of one run). */
  const eventsOf = async <T extends EventType>(
    type: T,
    match: { intentId?: string; runId?: string },
  ): Promise<Envelope<T>[]> =>
    ((await eventsOfType(nc, env, type)) as Envelope<T>[]).filter(
      (event) =>
        (match.intentId === undefined || event.intent_id === match.intentId) &&
        (match.runId === undefined || event.run_id === match.runId),
    );

  /**
   * A run the cost governor has recorded from its `run.started` (with its declared limits): its
   * first decisions race `run.started` on another durable, and a test of a limit must not.
   */
  const startRecordedRun = async (limits: Parameters<Warden['startRun']>[0]): Promise<Run> => {
    if (warden === undefined) throw new Error('the agent did not connect');
    const run = await warden.startRun(limits);
    const { runs } = await ensureKvBuckets(nc, env, ['runs']);
    await waitFor(
      async () => {
        const entry = await runs.get(run.runId);
        return (
          entry !== null &&
          entry.operation === 'PUT' &&
          entry.json<{ started_at?: string }>().started_at
        );
      },
      { timeoutMs: 10_000, message: `the governor's record of ${run.runId}` },
    );
    return run;
  };

  it('throws a StepCapReachedError, a DeniedError, once the run has used its steps', async () => {
    const run = await startRecordedRun({ workflow: 'sdk-tests', limits: { maxSteps: 1 } });
    await expect(run.call('echo', { text: 'one' })).resolves.toMatchObject({
      status: 'executed',
      output: { text: 'one' },
    });
    const error = await run.call('echo', { text: 'two' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepCapReachedError);
    expect(error).toBeInstanceOf(DeniedError);
    expect(error).toMatchObject({
      name: 'StepCapReachedError',
      status: 'denied',
      stage: 'budget',
      reason: 'step_cap',
    });
  }, 30_000);

  it('throws a BudgetExceededError for a model call the run cannot pay for', async () => {
    const run = await startRecordedRun({ limits: { budgetUsd: '0.000001' } });
    const error = await run
      .model({ taskClass: 'extraction', estimatedTokens: 2_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error).toMatchObject({ status: 'denied', stage: 'budget', reason: 'budget_exhausted' });
    expect((error as BudgetExceededError).message).toMatch(/small-model/);
  }, 30_000);

  it('routes a model call and books its usage', async () => {
    const run = await startRecordedRun({ limits: { budgetUsd: '1' } });
    const route = await run.model({ taskClass: 'extraction', estimatedTokens: 2_000 });
    expect(route).toMatchObject({
      model: 'small-model',
      taskClass: 'extraction',
      maxOutputTokens: 1024,
      tier: 1,
    });
    expect(route.estimatedMicroUsd).toBeGreaterThan(0);
    expect(route.estimatedUsd).toMatch(/^0\.\d+$/);
    const [requested] = await eventsOf('model.requested', { intentId: route.intentId });
    expect(requested).toMatchObject({ run_id: run.runId, agent_id: AGENT });

    await run.reportModelUsage({
      model: route.model,
      inputTokens: 1_000_000,
      outputTokens: 0,
      latencyMs: 420,
    });
    // 1M input tokens of small-model at 0.15 USD per million: exactly 150,000 µUSD.
    const [settled] = await waitFor(
      async () => {
        const found = await eventsOf('budget.settled', { intentId: route.intentId });
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 10_000, message: 'budget.settled of the model call' },
    );
    expect(settled).toMatchObject({ run_id: run.runId, data: { cost_micro_usd: 150_000 } });
    const [usage] = await eventsOf('model.usage', { intentId: route.intentId });
    expect(usage?.data).toEqual({
      model: 'small-model',
      input_tokens: 1_000_000,
      output_tokens: 0,
      latency_ms: 420,
    });
  }, 30_000);

  it('throws an ApprovalPendingError with the approval, then returns the outcome once granted, proposing once', async () => {
    const run = await startRecordedRun({});
    const intentId = ulid();
    const pending = await run.call('noop', {}, { intentId }).catch((e: unknown) => e);
    expect(pending).toBeInstanceOf(ApprovalPendingError);
    expect(pending).not.toBeInstanceOf(DeniedError);
    const { approvalId, group, command, expiresAt } = pending as ApprovalPendingError;
    expect(group).toBe(LEADS);
    expect(command).toBe(`warden approvals approve ${approvalId} --env ${env} --reason "<why>"`);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
    expect(await eventsOf('approval.requested', { intentId })).toMatchObject([
      { data: { approval_id: approvalId } },
    ]);

    // Asked again before anyone answered: the same request, at once.
    await expect(run.call('noop', {}, { intentId })).rejects.toMatchObject({
      name: 'ApprovalPendingError',
      approvalId,
    });

    const lead = await humanWithToken(nc, env, 'sdk-lead', [LEADS]);
    // The caller waits while the human decides: the grant comes after the call started waiting.
    const waiting = run.call('noop', {}, { intentId, waitForApproval: '30s' });
    await callPolicy(
      nc,
      env,
      'approval-approve',
      { approval_id: approvalId, reason: 'fine' },
      lead,
    );
    await expect(waiting).resolves.toMatchObject({ intentId, status: 'executed', output: {} });
    // A call after the outcome gets it too, without waiting for a human.
    await expect(run.call('noop', {}, { intentId })).resolves.toMatchObject({ status: 'executed' });
    expect(await eventsOf('intent.proposed', { intentId })).toHaveLength(1);
    expect(await eventsOf('intent.resolved', { intentId })).toHaveLength(1);
  }, 60_000);

  it('reports a span of the run with its duration, and the error of one that threw', async () => {
    const run = await startRecordedRun({});
    const docs = await run.span('retrieval', { query: 'refund policy', top_k: 3 }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return ['doc-1', 'doc-2'];
    });
    expect(docs).toEqual(['doc-1', 'doc-2']);
    const boom = new Error('index offline');
    await expect(
      run.span('rank', { kind: 'model' }, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    const spans = await eventsOf('trace.span', { runId: run.runId });
    expect(spans.map((span) => [span.agent_id, span.data.name, span.data.kind])).toEqual([
      [AGENT, 'retrieval', 'retrieval'],
      [AGENT, 'rank', 'model'],
    ]);
    expect(spans[0]?.data.duration_ms).toBeGreaterThanOrEqual(25);
    expect(spans[0]?.data.attributes).toEqual({ query: 'refund policy', top_k: 3 });
    expect(spans[1]?.data.attributes).toEqual({ kind: 'model', error: 'index offline' });
  }, 30_000);
});
