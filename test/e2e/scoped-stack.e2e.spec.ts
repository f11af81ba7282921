import { readFile } from 'node:fs/promises';
import { AckPolicy, DeliverPolicy, jetstreamManager } from '@nats-io/jetstream';
import { createCurve, createUser } from '@nats-io/nkeys';
import {
  credsAuthenticator,
  connect,
  jwtAuthenticator,
  nanos,
  nuid,
  type Msg,
  type NatsConnection,
} from '@nats-io/transport-node';
import {
  buildEvent,
  CREDENTIAL_HEADER,
  parseEvent,
  SealedTokenResult,
  subjects,
  TokenReply,
  TokenResult,
  type Envelope,
} from '@warden/contracts';
import { EventPublisher } from '@warden/messaging';
import * as natsAuth from '@warden/nats-auth';
import {
  auditSql,
  makeTempDir,
  removeTempDir,
  startScopedNats,
  TEST_PRODUCER,
  uniqueEnv,
  waitFor,
  type ScopedNats,
} from '@warden/testing';
import { DeniedError, Warden } from '@warden/sdk';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack, STACK_SERVICES } from './support/stack.js';

/**
 * The harness for a whole scoped deployment (DESIGN §6, deploy/nats), proved end to end: every
 * service process connects with its own `.creds`, the stack registers agents with the CLI's, and
 * an agent does what the SDK will do — first token over the shared bootstrap credential, sealed,
 * then its own NATS JWT — and gets its call executed.
 */
describe('a scoped deployment', () => {
  const env = uniqueEnv('scoped');
  const agentId = 'scout';
  let nats: ScopedNats<natsAuth.WardenService>;
  let dataDir: string;
  let stack: Stack;
  const opened: NatsConnection[] = [];

  beforeAll(async () => {
    nats = await startScopedNats(env, natsAuth);
    dataDir = await makeTempDir('warden-scoped-');
    stack = await Stack.start({
      env,
      natsUrl: nats.url,
      dataDir,
      serviceEnv: (service) => nats.serviceEnv(service),
      adminNats: { credsFile: nats.creds.cli, inboxPrefix: nats.inboxPrefix('cli') },
    });
  }, 60_000);

  afterAll(async () => {
    for (const nc of opened) await nc.close();
    // beforeAll may have failed half-way: stop what was started.
    await (stack as Stack | undefined)?.stop();
    await (nats as ScopedNats | undefined)?.stop();
    if ((dataDir as string | undefined) !== undefined) await removeTempDir(dataDir);
  }, 60_000);

  /** What an agent host does first: a token and a NATS JWT, asked over the bootstrap user. */
  async function firstToken(
    secret: string,
    userPublicKey: string,
  ): Promise<{ result: TokenResult; sniffed: Msg[] }> {
    const bootstrap = await connect({
      servers: nats.url,
      authenticator: credsAuthenticator(await readFile(nats.creds.bootstrap)),
      inboxPrefix: natsAuth.BOOTSTRAP_INBOX_PREFIX,
      reconnect: false,
    });
    try {
      // Another holder of the bootstrap credential, listening on the shared inbox.
      const sniffed: Msg[] = [];
      const sniff = bootstrap.subscribe(`${natsAuth.BOOTSTRAP_INBOX_PREFIX}.>`, {
        callback: (_, message) => {
          sniffed.push(message);
        },
      });
      const mine = createCurve();
      const reply = await bootstrap.request(
        subjects.api(env, 'identity', 'token'),
        JSON.stringify({
          grant: 'client_secret',
          agent_id: agentId,
          client_secret: secret,
          nats_public_key: userPublicKey,
          reply_xkey: mine.getPublicKey(),
        }),
        { timeout: 10_000 },
      );
      sniff.unsubscribe();
      const parsed = TokenReply.parse(reply.json());
      if (!parsed.ok) throw new Error(`${parsed.error.code}: ${parsed.error.message}`);
      const sealed = SealedTokenResult.parse(parsed.result);
      const plain = mine.open(Buffer.from(sealed.sealed, 'base64'), sealed.sender_xkey);
      if (plain === null) throw new Error('the sealed reply did not open with our key');
      return {
        result: TokenResult.parse(JSON.parse(new TextDecoder().decode(plain))),
        sniffed,
      };
    } finally {
      await bootstrap.close();
    }
  }

  it('runs every service under its own credential, and an agent gets a call executed under its own', async () => {
    for (const service of STACK_SERVICES) {
      expect(stack.processes(service), service).toHaveLength(1);
    }
    // Registered through the broker's admin API, over the CLI's credential.
    const secret = await stack.clientSecret(agentId);

    const user = createUser();
    const { result, sniffed } = await firstToken(secret, user.getPublicKey());
    expect(result.nats_jwt).toBeDefined();
    // The bootstrap inbox is shared: what went by there was ciphertext only.
    expect(sniffed.length).toBeGreaterThan(0);
    for (const message of sniffed) {
      expect(new TextDecoder().decode(message.data)).not.toContain(result.token);
    }

    const agent = await connect({
      servers: nats.url,
      authenticator: jwtAuthenticator(result.nats_jwt ?? '', user.getSeed()),
      inboxPrefix: natsAuth.agentInboxPrefix(agentId),
      reconnect: false,
      name: `agent ${agentId}`,
    });
    opened.push(agent);

    // Its outcomes, through a push consumer delivering into its own inbox: the create subject
    // `$JS.API.CONSUMER.CREATE.<stream>.<name>.<its outcomes>` is the one it may use.
    const outcomes = subjects.event(env, 'intent.resolved', agentId);
    const deliver = `${natsAuth.agentInboxPrefix(agentId)}.${nuid.next()}`;
    const resolved: Envelope[] = [];
    agent.subscribe(deliver, {
      callback: (error, message) => {
        const parsed = error === null ? parseEvent(message.data, { env }) : undefined;
        if (parsed?.ok === true) resolved.push(parsed.event);
      },
    });
    const jsm = await jetstreamManager(agent, { checkAPI: false });
    await jsm.consumers.add(subjects.streamName(env), {
      name: nuid.next(),
      filter_subject: outcomes,
      deliver_subject: deliver,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(30_000),
    });

    const publisher = new EventPublisher(agent, { env, producer: TEST_PRODUCER });
    const intentId = ulid();
    await publisher.publish(
      buildEvent({
        type: 'intent.proposed',
        env,
        eventId: intentId,
        intentId,
        runId: 'scoped-run-1',
        agentId,
        producer: TEST_PRODUCER,
        data: { tool: 'echo', args: { text: 'scoped' }, step: 1 },
      }),
      { headers: { [CREDENTIAL_HEADER]: result.token } },
    );

    const outcome = await waitFor(() => resolved.find((event) => event.intent_id === intentId), {
      timeoutMs: 15_000,
      message: `intent.resolved of ${intentId}`,
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${stack.output()}`);
    });
    expect(outcome).toMatchObject({ type: 'intent.resolved', data: { status: 'executed' } });

    // The collector recorded the whole chain, read back through the audit API over the CLI's
    // credential; and no process met a permission it lacks on the way.
    const cli = await nats.connectCreds('cli');
    opened.push(cli);
    await waitFor(
      async () => {
        const rows = await auditSql(
          cli,
          env,
          'SELECT type FROM events WHERE env = {env:String} AND intent_id = {intent:String}',
          { env, intent: intentId },
        );
        return rows.some((row) => row.type === 'intent.resolved') || undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250, message: 'the chain in the audit log' },
    );
    expect(stack.output()).not.toMatch(/Permissions Violation/i);
  }, 40_000);

  it('serves an agent written with the SDK: bootstrap credential, its own NATS JWT, calls answered', async () => {
    const warden = await Warden.connect({
      servers: nats.url,
      env,
      agentId: 'sdk-scout',
      credential: { clientSecret: await stack.clientSecret('sdk-scout') },
      nats: { bootstrapCreds: nats.creds.bootstrap },
    });
    try {
      const run = await warden.startRun({ workflow: 'scoped' });
      await expect(run.call('echo', { text: 'through scoped NATS' })).resolves.toMatchObject({
        status: 'executed',
        output: { text: 'through scoped NATS' },
      });
      const denied: unknown = await run.call('fail', {}).catch((error: unknown) => error);
      expect(denied).toBeInstanceOf(DeniedError);
      expect(denied).toMatchObject({ stage: 'policy', reason: 'not_permitted' });
      await run.end({ status: 'succeeded' });
    } finally {
      await warden.close();
    }
    expect(stack.output()).not.toMatch(/Permissions Violation/i);
  }, 40_000);
});
