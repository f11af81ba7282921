import { readFile } from 'node:fs/promises';
import {
  PermissionViolationError,
  UserAuthenticationExpiredError,
  type NatsConnection,
  type Status,
} from '@nats-io/transport-node';
import { subjects, type Envelope } from '@warden/contracts';
import { consumeEvents, Outcome, provisionEnv, type EventConsumer } from '@warden/messaging';
import * as natsAuth from '@warden/nats-auth';
import { sleep, startScopedNats, uniqueEnv, waitFor, type ScopedNats } from '@warden/testing';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetExceededError, DeniedError, Warden } from '../src/index.js';
import {
  FAKE_CLIENT_SECRET,
  startFakeGovernor,
  startFakeMesh,
  type FakeGovernor,
  type FakeMesh,
} from './fake-mesh.js';

const credential = { clientSecret: FAKE_CLIENT_SECRET };
/** Tokens (and so NATS JWTs) of this agent live 6 s: long enough to connect, short enough to expire. */
const SHORT_LIVED = 'agent-short';
const SHORT_TTL_MS = 6_000;

/**
 * The connection a client acts over. Private on purpose (an agent has no business with it); the
 * test reads it to prove that it is the agent's own scoped connection.
 */
function connectionOf(warden: Warden): NatsConnection {
  return Reflect.get(warden, 'nc') as NatsConnection;
}

/** Follows a connection's status events until stopped. */
function recordStatuses(nc: NatsConnection): { seen: Status[]; stop(): void } {
  const statuses = nc.status() as AsyncIterable<Status> & { stop(): void };
  const seen: Status[] = [];
  void (async () => {
    for await (const status of statuses) seen.push(status);
  })();
  return {
    seen,
    stop: () => {
      statuses.stop();
    },
  };
}

/**
 * The SDK against a nats-server running deploy/nats/nats-server.conf with a freshly generated
 * setup: the agent gets its NATS credential from a fake identity broker (the identity-broker
 * user, minting with the broker's account signing key and sealing bootstrap replies), and a fake
 * mesh on the same user answers its intents.
 */
describe('@warden/sdk with scoped NATS access', () => {
  const env = uniqueEnv('sdk-scoped');
  let server: ScopedNats<natsAuth.WardenService>;
  let broker: NatsConnection;
  let mesh: FakeMesh;
  let bootstrapCreds: string;
  let governorNc: NatsConnection;
  let governor: FakeGovernor;
  let collectorNc: NatsConnection;
  let collector: EventConsumer;
  /** Every event of the env, as the trace collector's durable (the one reader of all) gets them. */
  const logged: Envelope[] = [];

  beforeAll(async () => {
    server = await startScopedNats(env, natsAuth);
    const accountSigningSeed = server.brokerSigningSeed;
    bootstrapCreds = server.creds.bootstrap;
    broker = await server.connectCreds('identity-broker');
    await provisionEnv(broker, env);
    mesh = await startFakeMesh(broker, env, {
      service: 'identity-broker',
      nats: { accountSigningSeed, accountPublicKey: server.accountPublicKey },
      tokenTtlMs: (agentId) => (agentId === SHORT_LIVED ? SHORT_TTL_MS : 300_000),
    });
    governorNc = await server.connectCreds('cost-governor');
    governor = await startFakeGovernor(governorNc, env, 'cost-governor');
    collectorNc = await server.connectCreds('trace-collector');
    collector = await consumeEvents(collectorNc, {
      env,
      service: 'trace-collector',
      durable: 'trace-collector',
      filterSubject: subjects.allEvents(env),
      handle: (event: Envelope) => {
        logged.push(event);
        return Promise.resolve(Outcome.processed);
      },
    });
  }, 30_000);

  afterAll(async () => {
    await collector.stop();
    await collectorNc.close();
    await governor.stop();
    await governorNc.close();
    await mesh.stop();
    await broker.close();
    await server.stop();
  });

  const connect = (agentId: string, creds = bootstrapCreds): Promise<Warden> =>
    Warden.connect({
      servers: server.url,
      env,
      agentId,
      credential,
      nats: { bootstrapCreds: creds },
    });

  it('connects through the bootstrap user, on a connection that is the agent’s own', async () => {
    const warden = await connect('agent-scoped');
    try {
      const run = await warden.startRun({});
      await expect(run.call('echo', { n: 1 })).resolves.toMatchObject({
        status: 'executed',
        output: { n: 1 },
      });
      await expect(run.call('fail', {})).rejects.toBeInstanceOf(DeniedError);
      await run.end({ status: 'succeeded' });

      // The first token came sealed over the bootstrap inbox, with the agent's nkey.
      const requests = mesh.tokenRequests.filter((r) => r.agentId === 'agent-scoped');
      expect(requests[0]).toMatchObject({
        sealed: true,
        natsPublicKey: expect.stringMatching(/^U/) as unknown,
      });
      expect(requests[0]?.replyTo).toMatch(/^_INBOX_bootstrap\./);

      // The client's connection is the scoped one: its own inbox, and no right to decide.
      const nc = connectionOf(warden);
      const statuses = recordStatuses(nc);
      try {
        const forged = subjects.event(env, 'policy.decided', 'agent-scoped');
        nc.publish(forged, '{}');
        await nc.flush();
        await sleep(200);
        expect(
          statuses.seen.some(
            (status) =>
              status.type === 'error' &&
              status.error instanceof PermissionViolationError &&
              status.error.subject === forged,
          ),
          'publishing policy.decided was not refused',
        ).toBe(true);
      } finally {
        statuses.stop();
      }
      // Its requests answer on its own inbox, and it still works after the refusal.
      await expect(run.call('echo', { n: 2 })).resolves.toMatchObject({ output: { n: 2 } });
    } finally {
      await warden.close();
    }
  });

  it('asks the policy service which release a new run gets, under its own grants', async () => {
    const policyNc = await server.connectCreds('policy-decision');
    const canary = { id: ulid(), arm: 'canary' as const };
    const responder = policyNc.subscribe(subjects.api(env, 'policy', 'release-assign'), {
      callback: (_error, message) => {
        message.respond(JSON.stringify({ ok: true, result: { version: 'v2', canary } }));
      },
    });
    await policyNc.flush();
    const warden = await connect('agent-release');
    try {
      const run = await warden.startRun({ workflow: 'triage', version: 'v1' });
      expect([run.version, run.canary]).toEqual(['v2', canary]);
      await waitFor(() =>
        logged.find((event) => event.type === 'run.started' && event.run_id === run.runId),
      );
    } finally {
      await warden.close();
      responder.unsubscribe();
      await policyNc.close();
    }
  });

  it('asks for a model, reports its usage and records spans under the agent’s own credential', async () => {
    const warden = await connect('agent-models');
    try {
      const run = await warden.startRun({});
      const route = await run.span('plan', { step: 1 }, () =>
        run.model({ taskClass: 'extraction', estimatedTokens: 300 }),
      );
      expect(route).toMatchObject({
        model: 'fake-model',
        estimatedMicroUsd: 300,
        maxOutputTokens: 256,
      });
      await run.reportModelUsage({
        model: route.model,
        inputTokens: 280,
        outputTokens: 40,
        latencyMs: 12,
      });
      await expect(
        run.model({ taskClass: 'unaffordable', estimatedTokens: 1 }),
      ).rejects.toBeInstanceOf(BudgetExceededError);

      // Everything reached the stream on the agent's own subjects, and was answered.
      const ofRun = (type: string) =>
        logged.filter((event) => event.type === type && event.run_id === run.runId);
      await waitFor(() => ofRun('budget.settled').length === 1 || undefined, {
        timeoutMs: 5_000,
        message: 'budget.settled of the model call',
      });
      expect(ofRun('budget.settled')).toMatchObject([
        { intent_id: route.intentId, data: { cost_micro_usd: 320 } },
      ]);
      expect(ofRun('model.usage')).toMatchObject([
        { intent_id: route.intentId, agent_id: 'agent-models' },
      ]);
      expect(ofRun('trace.span')).toMatchObject([
        {
          agent_id: 'agent-models',
          data: { name: 'plan', kind: 'other', attributes: { step: 1 } },
        },
      ]);
    } finally {
      await warden.close();
    }
  });

  it('takes the bootstrap credential as the file’s contents too', async () => {
    const warden = await connect('agent-inline', await readFile(bootstrapCreds, 'utf8'));
    try {
      const run = await warden.startRun({});
      await expect(run.call('echo', { inline: true })).resolves.toMatchObject({
        output: { inline: true },
      });
    } finally {
      await warden.close();
    }
  });

  it('replaces a NATS JWT that expires mid-session; calls resolve across the server’s disconnect', async () => {
    const warden = await connect(SHORT_LIVED);
    const statuses = recordStatuses(connectionOf(warden));
    try {
      const run = await warden.startRun({});
      const until = Date.now() + 2 * SHORT_TTL_MS;
      let n = 0;
      while (Date.now() < until) {
        n++;
        await expect(run.call('echo', { n })).resolves.toMatchObject({ output: { n } });
        await sleep(250);
      }
      // The server ended the connection of each expired JWT, and the client came back with the
      // next one each time; later tokens came over the agent's own inbox, unsealed.
      const expired = statuses.seen.filter(
        (status) =>
          status.type === 'error' && status.error instanceof UserAuthenticationExpiredError,
      );
      expect(expired.length).toBeGreaterThanOrEqual(1);
      expect(
        statuses.seen.filter((status) => status.type === 'reconnect').length,
      ).toBeGreaterThanOrEqual(expired.length);
      const requests = mesh.tokenRequests.filter((r) => r.agentId === SHORT_LIVED);
      expect(requests.length).toBeGreaterThanOrEqual(3);
      expect(
        requests.slice(1).every((r) => !r.sealed && r.replyTo?.startsWith('_INBOX_agent_')),
      ).toBe(true);
      // The same nkey throughout: the seed stays in the process, only the JWT changes.
      expect(new Set(requests.map((r) => r.natsPublicKey)).size).toBe(1);
    } finally {
      statuses.stop();
      await warden.close();
    }
  }, 30_000);

  it('says what to do with a bootstrap credential it cannot read', async () => {
    await expect(connect('agent-nocreds', '/nonexistent/bootstrap.creds')).rejects.toMatchObject({
      name: 'WardenConnectionError',
      code: 'invalid_options',
      message: expect.stringContaining('/nonexistent/bootstrap.creds (ENOENT)') as unknown,
    });
  });
});
