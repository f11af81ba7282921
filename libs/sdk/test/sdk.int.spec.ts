import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { buildEvent, CREDENTIAL_HEADER, subjects, type Envelope } from '@warden/contracts';
import {
  connectNats,
  consumeEvents,
  Outcome,
  provisionEnv,
  type EventConsumer,
  type EventContext,
} from '@warden/messaging';
import { eventsOfType, spawnNatsServer, uniqueEnv, type SpawnedNatsServer } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CallTimeoutError,
  DeniedError,
  RejectedError,
  Warden,
  WardenConnectionError,
} from '../src/index.js';

/**
 * The SDK against a real NATS server of its own (so it can be restarted) and a fake mesh that
 * plays the services: a token responder and one handler that answers every intent.
 */
let server: SpawnedNatsServer;
let nc: NatsConnection;
let tokens: Subscription;
let mesh: EventConsumer;
const env = uniqueEnv('sdk');

/** What the fake mesh answers for each tool. */
async function answer(event: Envelope<'intent.proposed'>, ctx: EventContext): Promise<Outcome> {
  if (ctx.headers[CREDENTIAL_HEADER] !== `token-for-${event.agent_id ?? ''}`) {
    throw new Error('intent without its credential');
  }
  const { tool, args } = event.data;
  if (tool === 'never') return Outcome.processed;
  if (tool === 'slow') await new Promise((resolve) => setTimeout(resolve, 1500));
  const data: Envelope<'intent.resolved'>['data'] =
    tool === 'fail'
      ? { status: 'denied', stage: 'policy', tool, reason: 'not_allowed', policy_ids: ['p'] }
      : tool === 'reject.me'
        ? { status: 'rejected', stage: 'identity', tool, reason: 'token_expired' }
        : { status: 'executed', stage: 'executor', tool, output: args };
  await ctx.publish(
    buildEvent({ type: 'intent.resolved', cause: event, producer: ctx.producer, data }),
  );
  return Outcome.processed;
}

async function startMesh(): Promise<void> {
  tokens = nc.subscribe(subjects.api(env, 'identity', 'token'), {
    callback: (_, message) => {
      const { agent_id: agentId } = message.json<{ agent_id: string }>();
      const expiresAt = new Date(Date.now() + 300_000).toISOString().replace('Z', '000Z');
      message.respond(
        JSON.stringify({
          ok: true,
          result: { token: `token-for-${agentId}`, jti: 'j', expires_at: expiresAt },
        }),
      );
    },
  });
  mesh = await consumeEvents(nc, {
    env,
    service: 'fake-mesh',
    eventType: 'intent.proposed',
    handle: answer,
    maxDeliver: 1,
  });
}

beforeAll(async () => {
  server = await spawnNatsServer();
  nc = await connectNats({ servers: server.url, name: 'sdk-test' });
  await provisionEnv(nc, env);
  await startMesh();
});

afterAll(async () => {
  await mesh.stop();
  tokens.unsubscribe();
  await nc.close();
  await server.stop();
});

const connect = (agentId: string, callTimeoutMs?: number) =>
  Warden.connect({
    servers: server.url,
    env,
    agentId,
    ...(callTimeoutMs ? { callTimeoutMs } : {}),
  });

describe('@warden/sdk', () => {
  it('runs calls, counting steps, and resolves to their outcome', async () => {
    const warden = await connect('agent-calls');
    try {
      const run = await warden.startRun({ workflow: 'tests', limits: { maxSteps: 5 } });
      for (let i = 0; i < 3; i++) {
        await expect(run.call('echo', { i })).resolves.toMatchObject({
          status: 'executed',
          output: { i },
        });
      }
      await run.end({ status: 'succeeded' });
      const proposed = (await eventsOfType(nc, env, 'intent.proposed')).filter(
        (e) => e.run_id === run.runId,
      );
      expect(proposed.map((e) => (e.data as { step: number }).step)).toEqual([1, 2, 3]);
      const started = (await eventsOfType(nc, env, 'run.started')).find(
        (e) => e.run_id === run.runId,
      );
      expect(started).toMatchObject({ workflow: 'tests', data: { limits: { max_steps: 5 } } });
      const ended = (await eventsOfType(nc, env, 'run.ended')).find((e) => e.run_id === run.runId);
      expect(ended?.data).toEqual({ status: 'succeeded' });
    } finally {
      await warden.close();
    }
  });

  it('throws typed errors for denied and rejected calls, and a timeout when no answer comes', async () => {
    const warden = await connect('agent-errors', 500);
    try {
      const run = await warden.startRun({});
      await expect(run.call('fail', {})).rejects.toBeInstanceOf(DeniedError);
      await expect(run.call('fail', {})).rejects.toMatchObject({
        reason: 'not_allowed',
        policyIds: ['p'],
      });
      await expect(run.call('reject.me', {})).rejects.toBeInstanceOf(RejectedError);
      await expect(run.call('never', {})).rejects.toBeInstanceOf(CallTimeoutError);
    } finally {
      await warden.close();
    }
  });

  it('says what to do when no identity broker answers', async () => {
    const error = await Warden.connect({
      servers: server.url,
      env: 'nobody-here',
      agentId: 'a',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WardenConnectionError);
    expect((error as Error).message).toMatch(
      /no identity broker answers for env "nobody-here".*npm start/,
    );
  });

  it('still delivers the outcome when the NATS server restarts mid-call', async () => {
    const warden = await connect('agent-restart', 30_000);
    try {
      const run = await warden.startRun({});
      const call = run.call('slow', { n: 1 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await server.kill();
      await server.restart();
      await expect(call).resolves.toMatchObject({ status: 'executed', output: { n: 1 } });
    } finally {
      await warden.close();
    }
  }, 40_000);

  it('closes in well under a second, rejecting what still waits', async () => {
    const warden = await connect('agent-close');
    const run = await warden.startRun({});
    const pending = run.call('never', {}).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await warden.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(WardenConnectionError);
  });
});
