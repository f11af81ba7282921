import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { buildEvent, subjects, type Envelope } from '@warden/contracts';
import { connectNats, EventPublisher, provisionEnv, removeEnv } from '@warden/messaging';
import {
  readStream,
  sleep,
  spawnNatsServer,
  startNats,
  TEST_PRODUCER,
  uniqueEnv,
  waitFor,
  type SpawnedNatsServer,
  type TestNats,
} from '@warden/testing';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CallTimeoutError,
  DeniedError,
  RejectedError,
  Warden,
  WardenCallError,
  WardenConnectionError,
} from '../src/index.js';
import { FAKE_CLIENT_SECRET, startFakeMesh, type FakeMesh } from './fake-mesh.js';

const credential = { clientSecret: FAKE_CLIENT_SECRET };

/**
 * The SDK against a real NATS server, with the services played by a fake mesh (a token API and
 * one handler answering every intent; see fake-mesh.ts for what each tool gets).
 */
describe('@warden/sdk against a running NATS', () => {
  const env = uniqueEnv('sdk');
  let nats: TestNats;
  let nc: NatsConnection;
  let mesh: FakeMesh;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ servers: nats.url, name: 'sdk-test' });
    await provisionEnv(nc, env);
    mesh = await startFakeMesh(nc, env, {
      tokenTtlMs: (agentId) => (agentId === 'agent-refresh' ? 1_000 : 300_000),
    });
  });

  afterAll(async () => {
    await mesh.stop();
    await removeEnv(nc, env);
    await nc.close();
    await nats.stop();
  });

  const connect = (agentId: string, callTimeoutMs?: number): Promise<Warden> =>
    Warden.connect({
      servers: nats.url,
      env,
      agentId,
      credential,
      name: 'sdk-int-test',
      ...(callTimeoutMs === undefined ? {} : { callTimeoutMs }),
    });

  const ofAgent = async <
    T extends 'intent.proposed' | 'intent.resolved' | 'run.started' | 'run.ended',
  >(
    type: T,
    agentId: string,
  ): Promise<Envelope<T>[]> =>
    (await readStream(nc, env, subjects.event(env, type, agentId))).map(
      (m) => m.event as Envelope<T>,
    );

  it('resolves calls to their output, numbering the steps and opening and closing the run', async () => {
    const warden = await connect('agent-calls');
    try {
      const run = await warden.startRun({ workflow: 'tests', limits: { maxSteps: 5 } });
      expect(run.runId).toMatch(/^run-[0-9a-z]{26}$/);
      for (const i of [1, 2, 3]) {
        const result = await run.call('echo', { text: 'hi', i });
        expect(result).toMatchObject({
          status: 'executed',
          output: { text: 'hi', i },
          durationMs: 1,
        });
        expect(result.event).toMatchObject({ type: 'intent.resolved', intent_id: result.intentId });
      }
      await run.end({ status: 'succeeded', outcome: 'three echoes' });

      const proposed = await ofAgent('intent.proposed', 'agent-calls');
      expect(proposed.map((e) => [e.run_id, e.workflow, e.data.step])).toEqual([
        [run.runId, 'tests', 1],
        [run.runId, 'tests', 2],
        [run.runId, 'tests', 3],
      ]);
      for (const event of proposed) {
        expect(event.event_id).toBe(event.intent_id);
        expect(event.producer).toEqual({
          service: 'sdk',
          instance: 'sdk-int-test',
          version: '0.1.0',
        });
        // The credential rode in the header, and only there.
        const credential = mesh.credentials.get(event.event_id);
        expect(credential).toMatch(/^t-agent-calls-/);
        expect(JSON.stringify(event)).not.toContain(credential);
      }
      expect(await ofAgent('run.started', 'agent-calls')).toMatchObject([
        {
          run_id: run.runId,
          workflow: 'tests',
          data: { workflow: 'tests', limits: { max_steps: 5 } },
        },
      ]);
      expect(await ofAgent('run.ended', 'agent-calls')).toMatchObject([
        { run_id: run.runId, data: { status: 'succeeded', outcome: 'three echoes' } },
      ]);
    } finally {
      await warden.close();
    }
  });

  it('gives a run of a workflow the release the policy service assigns, and logs it', async () => {
    const warden = await connect('agent-release');
    // Nobody answers release-assign yet: the run keeps the caller's version, at once.
    const started = Date.now();
    const plain = await warden.startRun({ workflow: 'tests', version: 'v1' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect([plain.version, plain.canary]).toEqual(['v1', undefined]);

    const canary = { id: ulid(), arm: 'canary' as const };
    const asked: unknown[] = [];
    const responder = nc.subscribe(subjects.api(env, 'policy', 'release-assign'), {
      callback: (_error, message) => {
        asked.push(message.json<unknown>());
        message.respond(JSON.stringify({ ok: true, result: { version: 'v2', canary } }));
      },
    });
    try {
      const run = await warden.startRun({ workflow: 'tests', version: 'v1' });
      expect([run.version, run.canary]).toEqual(['v2', canary]);
      expect(asked).toEqual([{ workflow: 'tests', run_id: run.runId }]);
      // A run of no workflow is in no canary: nothing is asked.
      const loose = await warden.startRun({ version: 'v1' });
      expect([loose.version, asked.length]).toEqual(['v1', 1]);
      await expect(warden.startRun({ version: 'v 2' })).rejects.toThrow(/version "v 2" must be/);

      const logged = await ofAgent('run.started', 'agent-release');
      expect(logged.map((e) => [e.run_id, e.data.version, e.data.canary])).toEqual([
        [plain.runId, 'v1', undefined],
        [run.runId, 'v2', canary],
        [loose.runId, 'v1', undefined],
      ]);
    } finally {
      responder.unsubscribe();
      await warden.close();
    }
  });

  it('hands each of many concurrent calls its own outcome', async () => {
    const warden = await connect('agent-many');
    try {
      const run = await warden.startRun({});
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => run.call(i % 5 === 0 ? 'slow' : 'echo', { i })),
      );
      expect(results.map((r) => r.output)).toEqual(Array.from({ length: 50 }, (_, i) => ({ i })));
      const steps = (await ofAgent('intent.proposed', 'agent-many')).map((e) => e.data.step);
      expect(steps.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    } finally {
      await warden.close();
    }
  });

  it('throws a DeniedError, a RejectedError, or returns a failed result, as Warden answered', async () => {
    const warden = await connect('agent-errors');
    try {
      const run = await warden.startRun({});
      const denied = await run.call('fail', {}).catch((e: unknown) => e);
      expect(denied).toBeInstanceOf(DeniedError);
      expect(denied).toBeInstanceOf(WardenCallError);
      expect(denied).toMatchObject({
        name: 'DeniedError',
        status: 'denied',
        stage: 'policy',
        reason: 'not_allowed',
        policyIds: ['deny-fail'],
      });
      expect((denied as DeniedError).intentId).toMatch(/^[0-9A-Z]{26}$/);

      const rejected = await run.call('reject.me', {}).catch((e: unknown) => e);
      expect(rejected).toBeInstanceOf(RejectedError);
      expect(rejected).toMatchObject({
        name: 'RejectedError',
        status: 'rejected',
        stage: 'validation',
        reason: 'invalid_args',
        details: [{ path: 'ticket', message: 'required' }],
      });

      await expect(run.call('unknown.tool', {})).resolves.toMatchObject({
        status: 'failed',
        reason: 'unknown_tool',
      });
      // A tool name the contract refuses never leaves the client.
      await expect(run.call('Not A Tool', {})).rejects.toMatchObject({
        name: 'MessagingError',
        code: 'invalid_event',
      });
    } finally {
      await warden.close();
    }
  });

  it('gives up with a CallTimeoutError when no outcome comes in time', async () => {
    const warden = await connect('agent-timeout', 400);
    try {
      const run = await warden.startRun({});
      const started = performance.now();
      const error = await run.call('never', {}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CallTimeoutError);
      expect(error).toMatchObject({ status: 'timeout', reason: 'timeout', timeoutMs: 400 });
      expect(performance.now() - started).toBeGreaterThanOrEqual(390);
      // A per-call timeout overrides the client's.
      await expect(run.call('never', {}, { timeoutMs: 100 })).rejects.toMatchObject({
        name: 'CallTimeoutError',
        timeoutMs: 100,
      });
    } finally {
      await warden.close();
    }
  });

  it('keeps a retried intent at its step and proposes it only once', async () => {
    const warden = await connect('agent-retry', 300);
    try {
      const run = await warden.startRun({});
      const intentId = ulid();
      await expect(run.call('echo', { n: 1 }, { intentId })).resolves.toMatchObject({ intentId });
      await expect(run.call('echo', { n: 1 }, { intentId })).resolves.toMatchObject({
        intentId,
        output: { n: 1 },
      });
      // An id younger than the client is found again too: JetStream says its proposal is a
      // duplicate, and the first outcome is read from the stream.
      const young = ulid(Date.now() + 60_000);
      await expect(run.call('echo', { n: 2 }, { intentId: young })).resolves.toMatchObject({
        output: { n: 2 },
      });
      await expect(run.call('echo', { n: 2 }, { intentId: young })).resolves.toMatchObject({
        intentId: young,
        output: { n: 2 },
      });
      await run.call('echo', { n: 3 });
      const proposed = await ofAgent('intent.proposed', 'agent-retry');
      expect(proposed.map((e) => e.data.step)).toEqual([1, 2, 3]);
      expect(mesh.handled.get(intentId)).toBe(1);
      expect(mesh.handled.get(young)).toBe(1);
    } finally {
      await warden.close();
    }
  });

  it.each([
    ['after the new client connected', false],
    ['before the new client connected', true],
  ])(
    'gives a new client the outcome of an intent an earlier client proposed, published %s',
    async (_, outcomeFirst) => {
      const agentId = outcomeFirst ? 'agent-back-late' : 'agent-back-early';
      const first = await connect(agentId);
      const run = await first.startRun({});
      const intentId = ulid();
      const abandoned = run.call('slow', { n: 7 }, { intentId }).catch((e: unknown) => e);
      // The proposal is stored; the agent goes away before its outcome (500 ms later).
      await waitFor(async () => (await ofAgent('intent.proposed', agentId)).length === 1);
      await first.close();
      expect(await abandoned).toMatchObject({ name: 'WardenConnectionError', code: 'closed' });
      if (outcomeFirst) {
        await sleep(1_000);
        expect(await ofAgent('intent.resolved', agentId)).toHaveLength(1);
      }

      const second = await connect(agentId);
      try {
        const result = await second
          .resumeRun(run.runId, { nextStep: 2 })
          .call('slow', { n: 7 }, { intentId });
        expect(result).toMatchObject({ intentId, status: 'executed', output: { n: 7 } });
      } finally {
        await second.close();
      }
      // Asked twice, proposed and done once.
      expect(await ofAgent('intent.proposed', agentId)).toHaveLength(1);
      expect(mesh.handled.get(intentId)).toBe(1);
      if (!outcomeFirst) expect(await ofAgent('intent.resolved', agentId)).toHaveLength(1);
    },
  );

  it('sends a new credential once the old one is about to expire', async () => {
    // This agent's tokens live one second.
    const warden = await connect('agent-refresh');
    try {
      const run = await warden.startRun({});
      const { intentId: first } = await run.call('echo', {});
      await sleep(1_000);
      const { intentId: second } = await run.call('echo', {});
      const [before, after] = [mesh.credentials.get(first), mesh.credentials.get(second)];
      expect(before).toMatch(/^t-agent-refresh-/);
      expect(after).toMatch(/^t-agent-refresh-/);
      expect(after).not.toBe(before);
    } finally {
      await warden.close();
    }
  });

  it('ignores outcomes that are malformed or of intents nobody waits for', async () => {
    const agentId = 'agent-noise';
    const warden = await connect(agentId);
    try {
      const run = await warden.startRun({});
      const intentId = ulid();
      const pending = run.call('slow', { n: 1 }, { intentId });
      await waitFor(async () => (await ofAgent('intent.proposed', agentId)).length === 1);
      const raw = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
      const subject = subjects.event(env, 'intent.resolved', agentId);
      await raw.publishRaw(subject, '{ not json');
      // The right intent id, but data that breaks the contract.
      await raw.publishRaw(
        subject,
        JSON.stringify({
          ...buildEvent({
            type: 'intent.resolved',
            env,
            eventId: ulid(),
            intentId,
            agentId,
            producer: TEST_PRODUCER,
            data: { status: 'denied', stage: 'policy' },
          }),
          data: { status: 'bogus', stage: 'policy' },
        }),
      );
      await raw.publish(
        buildEvent({
          type: 'intent.resolved',
          env,
          eventId: ulid(),
          intentId: ulid(),
          agentId,
          producer: TEST_PRODUCER,
          data: { status: 'executed', stage: 'executor' },
        }),
      );
      await expect(pending).resolves.toMatchObject({ status: 'executed', output: { n: 1 } });
      await expect(run.call('echo', { n: 2 })).resolves.toMatchObject({ output: { n: 2 } });
    } finally {
      await warden.close();
    }
  });

  it('closes in well under a second, ending the calls still waiting and removing its consumers', async () => {
    const agentId = 'agent-close';
    const warden = await connect(agentId);
    const run = await warden.startRun({});
    const waiting = run.call('never', {}).catch((e: unknown) => e);
    // An intent from a minute ago: its call also reads the stream from then.
    const catchingUp = run
      .call('never', {}, { intentId: ulid(Date.now() - 60_000) })
      .catch((e: unknown) => e);
    await waitFor(async () => (await ofAgent('intent.proposed', agentId)).length === 2);

    const started = performance.now();
    await warden.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    for (const error of [await waiting, await catchingUp]) {
      expect(error).toBeInstanceOf(WardenConnectionError);
      expect(error).toMatchObject({ code: 'closed', message: 'the Warden client was closed' });
    }
    await expect(run.call('echo', {})).rejects.toMatchObject({ code: 'closed' });
    await expect(warden.startRun({})).rejects.toMatchObject({ code: 'closed' });

    const jsm = await jetstreamManager(nc);
    const filter = subjects.event(env, 'intent.resolved', agentId);
    const left = [];
    for await (const consumer of jsm.consumers.list(subjects.streamName(env))) {
      if (consumer.config.filter_subject === filter) left.push(consumer.name);
    }
    expect(left).toEqual([]);
  });

  it('replaces its outcome consumer when the server loses it, and still gets the answer', async () => {
    const agentId = 'agent-lost-consumer';
    const warden = await connect(agentId, 20_000);
    try {
      const run = await warden.startRun({});
      await run.call('echo', { n: 1 });
      // The consumer disappears behind the client's back (an operator, a server that lost it):
      // its heartbeats stop, and the reader makes a new one after the last outcome it saw.
      const jsm = await jetstreamManager(nc);
      const filter = subjects.event(env, 'intent.resolved', agentId);
      for await (const consumer of jsm.consumers.list(subjects.streamName(env))) {
        if (consumer.config.filter_subject === filter) {
          await jsm.consumers.delete(subjects.streamName(env), consumer.name);
        }
      }
      await expect(run.call('echo', { n: 2 })).resolves.toMatchObject({ output: { n: 2 } });
    } finally {
      await warden.close();
    }
  }, 30_000);

  it('says what to do when Warden is not running for the env', async () => {
    const noNats = await Warden.connect({
      servers: 'nats://127.0.0.1:1',
      env,
      agentId: 'a',
      credential,
    }).catch((e: unknown) => e);
    expect(noNats).toMatchObject({ name: 'WardenConnectionError', code: 'nats_unreachable' });
    expect((noNats as Error).message).toContain('nats://127.0.0.1:1');

    const unknown = await Warden.connect({
      servers: nats.url,
      env: 'nobody-here',
      agentId: 'a',
      credential,
    }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(WardenConnectionError);
    expect(unknown).toMatchObject({ code: 'no_identity_broker' });
    expect((unknown as Error).message).toMatch(
      /no identity broker answers for env "nobody-here".*npm start.*warden up --env nobody-here/,
    );

    // A token API that answers, for an env whose stream was never made.
    const bare = uniqueEnv('sdk-bare');
    const broker = nc.subscribe(subjects.api(bare, 'identity', 'token'), {
      callback: (_, message) => {
        message.respond(
          JSON.stringify({
            ok: true,
            result: { token: 't', jti: 'j', expires_at: '2999-01-01T00:00:00.000000Z' },
          }),
        );
      },
    });
    try {
      const error = await Warden.connect({
        servers: nats.url,
        env: bare,
        agentId: 'a',
        credential,
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'WardenConnectionError', code: 'env_not_provisioned' });
    } finally {
      broker.unsubscribe();
    }

    await expect(
      Warden.connect({ servers: nats.url, env, agentId: 'Not.A.Token', credential }),
    ).rejects.toMatchObject({ code: 'invalid_options' });
  });

  it('says the broker refused the credential, never quoting it', async () => {
    const secret = 'wsec_not-the-right-one';
    const error = await Warden.connect({
      servers: nats.url,
      env,
      agentId: 'agent-wrong',
      credential: { clientSecret: secret },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'WardenConnectionError', code: 'invalid_client' });
    expect((error as Error).message).not.toContain(secret);
    await expect(
      Warden.connect({
        servers: nats.url,
        env,
        agentId: 'agent-wrong',
        credential: {} as { clientSecret: string },
      }),
    ).rejects.toMatchObject({ code: 'invalid_options' });
  });
});

/**
 * A NATS server of the test's own, killed and started again on the same port and store while
 * calls are in flight.
 */
describe('@warden/sdk across a NATS server restart', () => {
  const env = uniqueEnv('sdk-restart');
  let server: SpawnedNatsServer;
  let nc: NatsConnection;
  let mesh: FakeMesh;

  beforeAll(async () => {
    server = await spawnNatsServer();
    nc = await connectNats({ servers: server.url, name: 'sdk-restart-test' });
    await provisionEnv(nc, env);
    mesh = await startFakeMesh(nc, env);
  });

  afterAll(async () => {
    await mesh.stop();
    await nc.close();
    await server.stop();
  });

  const proposals = async (agentId: string): Promise<number> =>
    (await readStream(nc, env, subjects.event(env, 'intent.proposed', agentId))).length;

  it('delivers the outcome of a call in flight, and of every call after it', async () => {
    const agentId = 'agent-restart';
    const warden = await Warden.connect({ servers: server.url, env, agentId, credential });
    try {
      const run = await warden.startRun({});
      // No outcome seen yet by this client: its reader resumes from its start position.
      const call = run.call('slow', { n: 1 });
      await waitFor(async () => (await proposals(agentId)) === 1);
      await server.kill();
      await sleep(300);
      await server.restart();
      await expect(call).resolves.toMatchObject({ status: 'executed', output: { n: 1 } });
      for (const n of [2, 3, 4]) {
        await expect(run.call('echo', { n })).resolves.toMatchObject({ output: { n } });
      }
    } finally {
      await warden.close();
    }
  }, 30_000);

  it('proposes a call made while the server is down once it is back', async () => {
    const warden = await Warden.connect({
      servers: server.url,
      env,
      agentId: 'agent-down',
      credential,
    });
    try {
      const run = await warden.startRun({});
      await run.call('echo', { n: 0 });
      await server.kill();
      const call = run.call('echo', { n: 1 });
      await sleep(500);
      await server.restart();
      await expect(call).resolves.toMatchObject({ status: 'executed', output: { n: 1 } });
    } finally {
      await warden.close();
    }
  }, 30_000);

  it('closes in well under a second while the server is down', async () => {
    const warden = await Warden.connect({
      servers: server.url,
      env,
      agentId: 'agent-gone',
      credential,
    });
    const run = await warden.startRun({});
    const waiting = run.call('never', {}).catch((e: unknown) => e);
    await waitFor(async () => (await proposals('agent-gone')) === 1);
    await server.kill();
    try {
      const started = performance.now();
      await warden.close();
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(await waiting).toMatchObject({ code: 'closed' });
    } finally {
      await server.restart();
    }
  }, 30_000);
});
