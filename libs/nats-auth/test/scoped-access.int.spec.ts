import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { encodeUser, type User } from '@nats-io/jwt';
import { createCurve, createUser, fromPublic, type KeyPair } from '@nats-io/nkeys';
import {
  nanos,
  nuid,
  PermissionViolationError,
  type Msg,
  type NatsConnection,
  type Status,
} from '@nats-io/transport-node';
import { subjects } from '@warden/contracts';
import {
  ApiServer,
  durableName,
  ensureDurable,
  ensureKvBuckets,
  provisionEnv,
  silentLogger,
} from '@warden/messaging';
import { z } from 'zod';
import { sleep, startScopedNats, waitFor, type ScopedNats } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentInboxPrefix,
  BOOTSTRAP_INBOX_PREFIX,
  keyFromSeed,
  mintAgentUserJwt,
  mintUserJwt,
  SERVICE_PROFILES,
  serviceInboxPrefix,
  SETUP_FILES,
  WARDEN_SERVICES,
  type WardenService,
} from '../src/index.js';
import * as natsAuth from '../src/index.js';

const env = 'scoped';
const stream = subjects.streamName(env);
const enc = new TextEncoder();
const dec = new TextDecoder();

let server: ScopedNats<WardenService>;
const services = new Map<WardenService, NatsConnection>();
let observer: NatsConnection;
const observed: string[] = [];
let brokerSeed: string;
let accountPublicKey: string;

/** An agent connected with the NATS credential the broker would mint for it. */
interface Agent {
  readonly id: string;
  readonly key: KeyPair;
  readonly nc: NatsConnection;
}
let alice: Agent;
let bob: Agent;

function service(name: WardenService): NatsConnection {
  const nc = services.get(name);
  if (!nc) throw new Error(`${name} is not connected`);
  return nc;
}

async function connectAgent(
  id: string,
  expiresAt = new Date(Date.now() + 5 * 60_000),
): Promise<Agent> {
  const key = createUser();
  const jwt = await mintAgentUserJwt({
    accountSigningSeed: brokerSeed,
    accountPublicKey,
    env,
    agentId: id,
    userPublicKey: key.getPublicKey(),
    expiresAt,
  });
  const nc = await server.connectJwt(jwt, key.getSeed(), agentInboxPrefix(id));
  return { id, key, nc };
}

/**
 * An in-cluster tool service connected with the user it needs (deploy/nats/README.md): subscribe
 * to its own request subjects (`tools.<env>.<target>`) and answer through `allow_responses`, with
 * no publish grant of its own. Minted with the account key, as an operator would.
 */
async function connectToolService(
  name: string,
  targets: readonly string[],
): Promise<NatsConnection> {
  const key = createUser();
  const inboxPrefix = `_INBOX_tool_${name}`;
  const jwt = await mintUserJwt({
    name: `tool ${name}`,
    userPublicKey: key.getPublicKey(),
    accountPublicKey,
    signer: keyFromSeed(server.accountSeed, 'account'),
    permissions: {
      inboxPrefix,
      pub: { allow: [], deny: ['>'] },
      // No inbox of its own: it makes no requests.
      sub: { allow: targets.map((target) => subjects.toolRequest(env, target)), deny: [] },
      responses: { max: 1, ttlMs: 60_000 },
    },
  });
  return server.connectJwt(jwt, key.getSeed(), inboxPrefix);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * A user JWT signed with the broker's seed, with whatever claims a holder of that seed could
 * write (mintAgentUserJwt writes only the `agent:<id>` tag): what a leaked broker key can mint.
 */
async function mintScopedUser(
  key: KeyPair,
  claims: Partial<User>,
  options: { exp?: number } = {},
): Promise<string> {
  return encodeUser('forged', key, fromPublic(accountPublicKey), claims, {
    signer: keyFromSeed(brokerSeed, 'account'),
    scopedUser: true,
    exp: options.exp ?? nowSeconds() + 60,
  });
}

/**
 * Runs `action` and resolves with the permission error the server sent for `subject`, or fails
 * after a second. The server answers a denied publish or subscribe with `-ERR 'Permissions
 * Violation …'` and keeps the connection: nats.js reports it as an `error` status.
 */
async function denied(
  nc: NatsConnection,
  operation: 'publish' | 'subscription',
  subject: string,
  action: () => unknown,
): Promise<void> {
  // Typed as a plain AsyncIterable; the iterator nats.js returns can be stopped.
  const statuses = nc.status() as AsyncIterable<Status> & { stop(): void };
  const seen = (async () => {
    for await (const status of statuses) {
      if (
        status.type === 'error' &&
        status.error instanceof PermissionViolationError &&
        status.error.operation === operation &&
        status.error.subject === subject
      ) {
        return true;
      }
    }
    return false;
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, 1_000, false);
  });
  try {
    const result = action();
    if (result instanceof Promise) result.catch(() => undefined);
    expect(await Promise.race([seen, timeout]), `${operation} ${subject} was not refused`).toBe(
      true,
    );
  } finally {
    clearTimeout(timer);
    statuses.stop();
  }
}

/** Flushes publisher and observer, then returns what the observer saw on `subject`. */
async function observedOn(nc: NatsConnection, subject: string): Promise<string[]> {
  await nc.flush();
  await observer.flush();
  await sleep(50);
  return observed.filter((seen) => seen === subject);
}

/** A JetStream API request (raw, so the subject is exactly the one under test). */
async function jsApi(nc: NatsConnection, subject: string, body: unknown): Promise<Msg> {
  return nc.request(subject, JSON.stringify(body), { timeout: 1_000 });
}

function pushConfig(agent: Agent, name: string, filter: string, deliver: string) {
  return {
    stream_name: stream,
    config: {
      name,
      filter_subject: filter,
      deliver_subject: deliver,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(10_000),
      description: `outcomes of ${agent.id}`,
    },
  };
}

beforeAll(async () => {
  server = await startScopedNats(env, natsAuth);
  const { dir } = server.setup;
  brokerSeed = (await readFile(join(dir, SETUP_FILES.brokerSigningSeed), 'utf8')).trim();
  accountPublicKey = (await readFile(join(dir, SETUP_FILES.accountPublicKey), 'utf8')).trim();

  // A test-only user that sees every event, to check that a refused publish reached nobody.
  const accountKey = keyFromSeed(
    (await readFile(join(dir, SETUP_FILES.accountSeed), 'utf8')).trim(),
    'account',
  );
  const observerKey = createUser();
  const observerJwt = await mintUserJwt({
    name: 'observer',
    userPublicKey: observerKey.getPublicKey(),
    accountPublicKey,
    signer: accountKey,
    permissions: {
      inboxPrefix: '_INBOX_observer',
      pub: { allow: [], deny: ['>'] },
      sub: { allow: [`warden.${env}.evt.>`], deny: [] },
    },
  });
  observer = await server.connectJwt(observerJwt, observerKey.getSeed(), '_INBOX_observer');
  const all = observer.subscribe(`warden.${env}.evt.>`);
  void (async () => {
    for await (const message of all) observed.push(message.subject);
  })();

  for (const name of WARDEN_SERVICES) {
    services.set(name, await server.connectCreds(name, serviceInboxPrefix(name)));
  }
  // What every service does at start: provision the stream (its transport does), its durables
  // and its buckets, with the real helpers of @warden/messaging.
  for (const name of WARDEN_SERVICES) {
    const nc = service(name);
    await provisionEnv(nc, env);
    for (const grant of SERVICE_PROFILES[name].consumes) {
      await ensureDurable(nc, env, {
        durable: grant.durable,
        filterSubject:
          grant.eventType === '*'
            ? subjects.allEvents(env)
            : subjects.eventType(env, grant.eventType),
      });
    }
    if (SERVICE_PROFILES[name].kvOwn.length > 0) {
      await ensureKvBuckets(nc, env, SERVICE_PROFILES[name].kvOwn);
    }
  }
  alice = await connectAgent('alice');
  bob = await connectAgent('bob');
}, 30_000);

afterAll(async () => {
  // beforeAll may have failed half-way: close what was opened.
  const opened: (NatsConnection | undefined)[] = [
    (alice as Agent | undefined)?.nc,
    (bob as Agent | undefined)?.nc,
    observer,
    ...services.values(),
  ];
  for (const nc of opened) await nc?.close();
  await (server as ScopedNats<WardenService> | undefined)?.stop();
});

describe('the generated setup', () => {
  it('writes every seed and creds file readable by its owner only', async () => {
    const { dir, creds } = server.setup;
    const secrets = [
      SETUP_FILES.operatorSeed,
      SETUP_FILES.accountSeed,
      SETUP_FILES.brokerSigningSeed,
      ...Object.values(creds).map((path) => path.slice(dir.length + 1)),
    ];
    for (const file of secrets) {
      expect((await stat(join(dir, file))).mode & 0o777, file).toBe(0o600);
    }
    expect(Object.keys(creds).sort()).toEqual([...WARDEN_SERVICES, 'bootstrap', 'cli'].sort());
  });
});

describe('an agent', () => {
  it('publishes its own intents, runs, model calls and spans into the stream', async () => {
    const js = jetstream(alice.nc);
    for (const type of [
      'intent.proposed',
      'run.started',
      'run.ended',
      'model.requested',
      'model.usage',
      'trace.span',
    ] as const) {
      const ack = await js.publish(subjects.event(env, type, 'alice'), enc.encode('{}'));
      expect(ack.stream).toBe(stream);
    }
  });

  it('cannot publish policy.decided, nor any other service event', async () => {
    for (const type of ['policy.decided', 'intent.authenticated', 'budget.reserved'] as const) {
      const subject = subjects.event(env, type, 'alice');
      await denied(alice.nc, 'publish', subject, () => {
        alice.nc.publish(subject, '{}');
      });
      expect(await observedOn(alice.nc, subject)).toEqual([]);
    }
  });

  it('cannot publish a routing or a settlement of its own model calls', async () => {
    for (const type of ['model.routed', 'budget.settled'] as const) {
      const subject = subjects.event(env, type, 'alice');
      await denied(alice.nc, 'publish', subject, () => {
        alice.nc.publish(subject, '{}');
      });
      expect(await observedOn(alice.nc, subject)).toEqual([]);
    }
  });

  it("cannot publish another agent's intent, runs, model calls or spans", async () => {
    for (const type of [
      'intent.proposed',
      'run.started',
      'run.ended',
      'model.requested',
      'model.usage',
      'trace.span',
    ] as const) {
      const subject = subjects.event(env, type, 'bob');
      await denied(alice.nc, 'publish', subject, () => {
        alice.nc.publish(subject, '{}');
      });
      expect(await observedOn(alice.nc, subject)).toEqual([]);
    }
  });

  it("cannot subscribe to another agent's outcomes, to all outcomes, or to other inboxes", async () => {
    for (const subject of [
      subjects.event(env, 'intent.resolved', 'bob'),
      subjects.eventType(env, 'intent.resolved'),
      subjects.allEvents(env),
      '>',
      '_INBOX.>',
      `${agentInboxPrefix('bob')}.>`,
      `${serviceInboxPrefix('identity-broker')}.>`,
      `${BOOTSTRAP_INBOX_PREFIX}.>`,
    ]) {
      await denied(alice.nc, 'subscription', subject, () => {
        alice.nc.subscribe(subject);
      });
    }
  });

  it("cannot create a JetStream consumer on another agent's outcomes, by any create subject", async () => {
    const bobs = subjects.event(env, 'intent.resolved', 'bob');
    const deliver = `${agentInboxPrefix('alice')}.${nuid.next()}`;
    const name = nuid.next();
    for (const subject of [
      `$JS.API.CONSUMER.CREATE.${stream}.${name}.${bobs}`,
      `$JS.API.CONSUMER.CREATE.${stream}`,
      `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${name}`,
      `$JS.API.CONSUMER.CREATE.${stream}.${name}.${subjects.eventType(env, 'intent.resolved')}`,
    ]) {
      await denied(alice.nc, 'publish', subject, () =>
        jsApi(alice.nc, subject, pushConfig(alice, name, bobs, deliver)),
      );
    }
    // Its own filter in the subject and Bob's in the body: the server checks they agree.
    const own = subjects.event(env, 'intent.resolved', 'alice');
    const reply = await jsApi(
      alice.nc,
      `$JS.API.CONSUMER.CREATE.${stream}.${name}.${own}`,
      pushConfig(alice, name, bobs, deliver),
    );
    expect(reply.json<{ error?: { err_code: number } }>().error?.err_code).toBe(10131);
  });

  it("cannot take over a service's durable by creating a consumer with its name", async () => {
    const own = subjects.event(env, 'intent.resolved', 'alice');
    const durable = durableName('policy-decision', 'intent.authenticated');
    const subject = `$JS.API.CONSUMER.CREATE.${stream}.${durable}.${own}`;
    // nats-server 2.9 treats a create for an existing durable as an update of its filter: the
    // names of the services' durables are denied to agents for that reason.
    await denied(alice.nc, 'publish', subject, () =>
      jsApi(alice.nc, subject, {
        stream_name: stream,
        config: { durable_name: durable, filter_subject: own, ack_policy: AckPolicy.Explicit },
      }),
    );
    const jsm = await jetstreamManager(service('policy-decision'));
    const info = await jsm.consumers.info(stream, durable);
    expect(info.config.filter_subject).toBe(subjects.eventType(env, 'intent.authenticated'));
  });

  it("cannot pull from a service's durable consumer, nor read its info", async () => {
    const durable = durableName('policy-decision', 'intent.authenticated');
    const subject = subjects.event(env, 'intent.authenticated', 'bob');
    await jetstream(service('identity-broker')).publish(subject, enc.encode('{"secret":1}'));
    for (const api of [
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
      `$JS.API.CONSUMER.INFO.${stream}.${durable}`,
      `$JS.API.CONSUMER.DELETE.${stream}.${durable}`,
      `$JS.API.STREAM.MSG.GET.${stream}`,
      `$JS.API.DIRECT.GET.${stream}.${subject}`,
    ]) {
      await denied(alice.nc, 'publish', api, () =>
        jsApi(alice.nc, api, { batch: 1, expires: nanos(500) }),
      );
    }
    // The message is still the service's, delivered to it for the first time.
    const consumer = await jetstream(service('policy-decision')).consumers.get(stream, durable);
    const message = await consumer.next({ expires: 2_000 });
    expect(message?.subject).toBe(subject);
    expect(message?.info.deliveryCount).toBe(1);
    message?.ack();
  });

  it('reads its own outcomes through a push consumer delivering to its inbox', async () => {
    const own = subjects.event(env, 'intent.resolved', 'alice');
    const name = nuid.next();
    const deliver = `${agentInboxPrefix('alice')}.${nuid.next()}`;
    const received: Msg[] = [];
    const sub = alice.nc.subscribe(deliver);
    void (async () => {
      for await (const message of sub) received.push(message);
    })();
    // What the SDK does through nats.js: a consumer with a name and one filter is created on
    // `$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>`; `checkAPI: false` skips `$JS.API.INFO`.
    const jsm: JetStreamManager = await jetstreamManager(alice.nc, { checkAPI: false });
    const info = await jsm.consumers.add(stream, pushConfig(alice, name, own, deliver).config);
    expect(info.config.filter_subject).toBe(own);

    const executor = jetstream(service('tool-executor'));
    await executor.publish(subjects.event(env, 'intent.resolved', 'bob'), enc.encode('bob'));
    await executor.publish(own, enc.encode('alice'));
    await waitFor(() => received.length >= 1 || undefined, { timeoutMs: 5_000 });
    await sleep(100);
    expect(received.map((message) => dec.decode(message.data))).toEqual(['alice']);
    // JetStream metadata rides in the reply subject even without acks:
    // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>
    expect(received[0]?.reply?.split('.').slice(0, 4)).toEqual(['$JS', 'ACK', stream, name]);
    sub.unsubscribe();
  });

  it('reads the routing of its own model calls, and no other agent’s', async () => {
    const own = subjects.event(env, 'model.routed', 'alice');
    const deliver = `${agentInboxPrefix('alice')}.${nuid.next()}`;
    const received: Msg[] = [];
    const sub = alice.nc.subscribe(deliver);
    void (async () => {
      for await (const message of sub) received.push(message);
    })();
    const jsm: JetStreamManager = await jetstreamManager(alice.nc, { checkAPI: false });
    await jsm.consumers.add(stream, pushConfig(alice, nuid.next(), own, deliver).config);
    const governor = jetstream(service('cost-governor'));
    await governor.publish(subjects.event(env, 'model.routed', 'bob'), enc.encode('bob'));
    await governor.publish(own, enc.encode('alice'));
    await waitFor(() => received.length >= 1 || undefined, { timeoutMs: 5_000 });
    await sleep(100);
    expect(received.map((message) => dec.decode(message.data))).toEqual(['alice']);
    sub.unsubscribe();

    const bobs = subjects.event(env, 'model.routed', 'bob');
    const name = nuid.next();
    const subject = `$JS.API.CONSUMER.CREATE.${stream}.${name}.${bobs}`;
    await denied(alice.nc, 'publish', subject, () =>
      jsApi(alice.nc, subject, pushConfig(alice, name, bobs, `${agentInboxPrefix('alice')}.x`)),
    );
  });

  it('cannot point a consumer of its own outcomes at a subject of the event stream', async () => {
    const own = subjects.event(env, 'intent.resolved', 'alice');
    const name = nuid.next();
    const reply = await jsApi(
      alice.nc,
      `$JS.API.CONSUMER.CREATE.${stream}.${name}.${own}`,
      pushConfig(alice, name, own, subjects.event(env, 'policy.decided', 'alice')),
    );
    expect(reply.json<{ error?: { err_code: number } }>().error?.err_code).toBe(10081);
  });

  it('gets token replies on its own inbox, which other agents cannot read', async () => {
    const api = service('identity-broker').subscribe(subjects.api(env, 'identity', 'token'), {
      queue: 'identity-broker',
    });
    void (async () => {
      for await (const request of api)
        request.respond(enc.encode(`token for ${request.reply ?? ''}`));
    })();
    await service('identity-broker').flush();
    const reply = await alice.nc.request(subjects.api(env, 'identity', 'token'), '{}', {
      timeout: 2_000,
    });
    expect(dec.decode(reply.data)).toMatch(/^token for _INBOX_agent_\.alice\./);
    await denied(bob.nc, 'subscription', `${agentInboxPrefix('alice')}.>`, () => {
      bob.nc.subscribe(`${agentInboxPrefix('alice')}.>`);
    });
    api.unsubscribe();
  });
});

describe('agent credentials', () => {
  it('refuses an agent JWT that has expired', async () => {
    const key = createUser();
    // Past expiries are refused by mintAgentUserJwt: minted as it would be, but already expired.
    const jwt = await mintScopedUser(key, { tags: ['agent:carol'] }, { exp: nowSeconds() - 1 });
    await expect(server.connectJwt(jwt, key.getSeed(), agentInboxPrefix('carol'))).rejects.toThrow(
      /expired|authorization/i,
    );
  });

  it('disconnects an agent when its JWT expires', async () => {
    const dave = await connectAgent('dave', new Date(Date.now() + 2_000));
    const closed = dave.nc.closed();
    await expect(
      Promise.race([closed.then(() => 'closed'), sleep(6_000).then(() => 'open')]),
    ).resolves.toBe('closed');
  });

  it('refuses an agent JWT signed by a key the account does not list', async () => {
    const key = createUser();
    const rogue = dec.decode((await import('@nats-io/nkeys')).createAccount().getSeed());
    const jwt = await mintAgentUserJwt({
      accountSigningSeed: rogue,
      accountPublicKey,
      env,
      agentId: 'mallory',
      userPublicKey: key.getPublicKey(),
      expiresAt: new Date(Date.now() + 60_000),
    });
    await expect(
      server.connectJwt(jwt, key.getSeed(), agentInboxPrefix('mallory')),
    ).rejects.toThrow(/authorization/i);
  });

  it("refuses a connection that has the JWT but not the agent's nkey seed", async () => {
    const jwt = await mintAgentUserJwt({
      accountSigningSeed: brokerSeed,
      accountPublicKey,
      env,
      agentId: 'alice',
      userPublicKey: alice.key.getPublicKey(),
      expiresAt: new Date(Date.now() + 60_000),
    });
    await expect(
      server.connectJwt(jwt, createUser().getSeed(), agentInboxPrefix('alice')),
    ).rejects.toThrow(/authorization/i);
  });
});

describe("the broker's signing key (scoped: it mints agents only)", () => {
  it('signs no user that sets permissions or limits of its own: the server refuses it', async () => {
    for (const claims of [
      { pub: { allow: ['>'], deny: [] }, sub: { allow: ['>'], deny: [] } },
      { pub: { allow: [subjects.event(env, 'policy.decided', 'mallory')], deny: [] } },
      { subs: -1, data: -1, payload: -1 },
    ] satisfies Partial<User>[]) {
      const key = createUser();
      const jwt = await mintScopedUser(key, { ...claims, tags: ['agent:mallory'] });
      await expect(
        server.connectJwt(jwt, key.getSeed(), agentInboxPrefix('mallory')),
        JSON.stringify(claims),
      ).rejects.toThrow(/authorization/i);
    }
  });

  it("gives its users the agent template only: no decision, no other agent's intent", async () => {
    const key = createUser();
    const jwt = await mintScopedUser(key, { tags: ['agent:mallory'] });
    const mallory = await server.connectJwt(jwt, key.getSeed(), agentInboxPrefix('mallory'));
    try {
      const ack = await jetstream(mallory).publish(
        subjects.event(env, 'intent.proposed', 'mallory'),
        enc.encode('{}'),
      );
      expect(ack.stream).toBe(stream);
      for (const subject of [
        subjects.event(env, 'policy.decided', 'mallory'),
        subjects.event(env, 'intent.proposed', 'alice'),
        subjects.event(env, 'intent.authenticated', 'mallory'),
      ]) {
        // Alice published her own intent earlier: only what arrives from now on counts.
        const before = (await observedOn(mallory, subject)).length;
        await denied(mallory, 'publish', subject, () => {
          mallory.publish(subject, '{}');
        });
        expect(await observedOn(mallory, subject)).toHaveLength(before);
      }
      await denied(mallory, 'subscription', `${agentInboxPrefix('alice')}.>`, () => {
        mallory.subscribe(`${agentInboxPrefix('alice')}.>`);
      });
    } finally {
      await mallory.close();
    }
  });

  it('confines even a wildcard agent tag to agent subjects (2.9 does not check tag values)', async () => {
    // The server puts a tag's value into the template as it is, so a holder of the key can tag a
    // user `agent:*` and act as every agent at once (README, known limits); the template's fixed
    // tokens still keep it off every service subject.
    const key = createUser();
    const jwt = await mintScopedUser(key, { tags: ['agent:*'] });
    const wild = await server.connectJwt(jwt, key.getSeed(), agentInboxPrefix('mallory'));
    try {
      for (const subject of [
        subjects.event(env, 'policy.decided', 'alice'),
        subjects.event(env, 'intent.authenticated', 'alice'),
        subjects.api(env, 'identity', 'register'),
        `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durableName('policy-decision', 'intent.authenticated')}`,
      ]) {
        await denied(wild, 'publish', subject, () => {
          wild.publish(subject, '{}');
        });
        expect(await observedOn(wild, subject)).toEqual([]);
      }
      for (const subject of [
        `${serviceInboxPrefix('identity-broker')}.>`,
        `${BOOTSTRAP_INBOX_PREFIX}.>`,
        '_INBOX.>',
        subjects.allEvents(env),
      ]) {
        await denied(wild, 'subscription', subject, () => {
          wild.subscribe(subject);
        });
      }
    } finally {
      await wild.close();
    }
  });

  it('gives a user without the agent tag nothing', async () => {
    const key = createUser();
    const jwt = await mintScopedUser(key, {});
    const nobody = await server.connectJwt(jwt, key.getSeed(), agentInboxPrefix('mallory'));
    try {
      const subject = subjects.event(env, 'intent.proposed', 'mallory');
      await denied(nobody, 'publish', subject, () => {
        nobody.publish(subject, '{}');
      });
    } finally {
      await nobody.close();
    }
  });
});

describe('the bootstrap user', () => {
  it('asks for a first token and gets a reply only its own xkey opens; it can do nothing else', async () => {
    const broker = service('identity-broker');
    const brokerXkey = createCurve();
    const api = broker.subscribe(subjects.api(env, 'identity', 'token'), {
      queue: 'identity-broker',
    });
    void (async () => {
      for await (const request of api) {
        // What the broker must do with a bootstrap request: seal the reply to the requester's
        // one-time curve key, so other holders of the bootstrap credential read only ciphertext.
        const { reply_xkey } = request.json<{ reply_xkey: string }>();
        const sealed = brokerXkey.seal(enc.encode('{"token":"t","nats_jwt":"j"}'), reply_xkey);
        request.respond(
          JSON.stringify({
            sealed: Buffer.from(sealed).toString('base64'),
            sender: brokerXkey.getPublicKey(),
          }),
        );
      }
    })();
    await broker.flush();

    const agentHost = await server.connectCreds('bootstrap', BOOTSTRAP_INBOX_PREFIX);
    const sniffer = await server.connectCreds('bootstrap', BOOTSTRAP_INBOX_PREFIX);
    const sniffed: Msg[] = [];
    const sniff = sniffer.subscribe(`${BOOTSTRAP_INBOX_PREFIX}.>`);
    void (async () => {
      for await (const message of sniff) sniffed.push(message);
    })();
    await sniffer.flush();

    const mine = createCurve();
    const reply = await agentHost.request(
      subjects.api(env, 'identity', 'token'),
      JSON.stringify({ reply_xkey: mine.getPublicKey() }),
      { timeout: 2_000 },
    );
    const body = reply.json<{ sealed: string; sender: string }>();
    const opened = mine.open(Buffer.from(body.sealed, 'base64'), body.sender);
    expect(opened && dec.decode(opened)).toBe('{"token":"t","nats_jwt":"j"}');

    await waitFor(() => sniffed.length >= 1 || undefined, { timeoutMs: 2_000 });
    const stolen = sniffed[0]!.json<{ sealed: string; sender: string }>();
    expect(createCurve().open(Buffer.from(stolen.sealed, 'base64'), stolen.sender)).toBeNull();

    for (const subject of [
      subjects.event(env, 'intent.proposed', 'alice'),
      subjects.api(env, 'identity', 'register'),
      `$JS.API.CONSUMER.CREATE.${stream}`,
    ]) {
      await denied(agentHost, 'publish', subject, () => {
        agentHost.publish(subject, '{}');
      });
    }
    await denied(agentHost, 'subscription', subjects.api(env, 'identity', 'token'), () => {
      agentHost.subscribe(subjects.api(env, 'identity', 'token'));
    });
    api.unsubscribe();
    await agentHost.close();
    await sniffer.close();
  });
});

describe('each service', () => {
  it('answers only to an inbox, never to a reply subject a caller aimed at the stream', async () => {
    // allow_responses lets a responder publish to the reply subject of any request it received,
    // whatever its own grants say, and the reply subject is the caller's choice: nats-server 2.9
    // has no check for it, so ApiServer refuses reply subjects outside `_INBOX…` (README).
    const broker = service('identity-broker');
    const api = new ApiServer(broker, { env, service: 'identity', logger: silentLogger });
    api.serve('jwks', { request: z.strictObject({}), handle: () => Promise.resolve({ keys: [] }) });
    await broker.flush();
    const forged = subjects.event(env, 'policy.decided', 'mallory');
    await denied(alice.nc, 'publish', forged, () => {
      alice.nc.publish(forged, '{}');
    });
    const cli = await server.connectCreds('cli', '_INBOX_cli');
    cli.publish(subjects.api(env, 'identity', 'jwks'), '{}', { reply: forged });
    // The same API still answers a request that waits on its own inbox, so it was listening.
    const answer = await cli.request(subjects.api(env, 'identity', 'jwks'), '{}', {
      timeout: 2_000,
    });
    expect(answer.json()).toEqual({ ok: true, result: { keys: [] } });
    expect(await observedOn(cli, forged)).toHaveLength(0);
    await api.stop();
    await cli.close();
  });

  it('consumes its durable, acks, and publishes its own events only', async () => {
    const policy = service('policy-decision');
    await jetstream(service('identity-broker')).publish(
      subjects.event(env, 'intent.authenticated', 'alice'),
      enc.encode('{}'),
    );
    const consumer = await jetstream(policy).consumers.get(
      stream,
      durableName('policy-decision', 'intent.authenticated'),
    );
    const message = await consumer.next({ expires: 2_000 });
    expect(message?.subject).toBe(subjects.event(env, 'intent.authenticated', 'alice'));
    expect(await message?.ackAck()).toBe(true);
    const ack = await jetstream(policy).publish(
      subjects.event(env, 'policy.decided', 'alice'),
      enc.encode('{}'),
    );
    expect(ack.stream).toBe(stream);

    const forged = subjects.event(env, 'intent.authenticated', 'alice');
    await denied(policy, 'publish', forged, () => {
      policy.publish(forged, '{}');
    });
    const other = `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durableName('identity-broker', 'intent.proposed')}`;
    await denied(policy, 'publish', other, () => {
      policy.publish(other, '{}');
    });
  });

  it('lets the trace collector read every event through its durable', async () => {
    const collector = jetstream(service('trace-collector'));
    const consumer = await collector.consumers.get(stream, 'trace-collector');
    const batch = await consumer.fetch({ max_messages: 50, expires: 1_000 });
    const seen: string[] = [];
    for await (const message of batch) {
      seen.push(message.subject);
      message.ack();
    }
    expect(seen).toContain(subjects.event(env, 'intent.proposed', 'alice'));
  });

  it('uses its own KV buckets and reads the ones it is granted', async () => {
    const { runs } = await ensureKvBuckets(service('cost-governor'), env, ['runs']);
    await runs.put('run-1', enc.encode('{"steps":1}'));
    expect(dec.decode((await runs.get('run-1'))?.value)).toBe('{"steps":1}');

    const { tools: policyTools } = await ensureKvBuckets(service('policy-decision'), env, [
      'tools',
    ]);
    await policyTools.put('echo', enc.encode('{"risk":"read"}'));
    const { Kvm } = await import('@nats-io/kv');
    const executorTools = await new Kvm(service('tool-executor')).open(`warden_${env}_tools`);
    expect(dec.decode((await executorTools.get('echo'))?.value)).toBe('{"risk":"read"}');
    const write = `$KV.warden_${env}_tools.echo`;
    await denied(service('tool-executor'), 'publish', write, () => {
      service('tool-executor').publish(write, '{}');
    });
  });

  it("lets the tool executor request a tool service of its env, and no other env's or bare subject", async () => {
    const crm = await connectToolService('crm', ['crm.lookup']);
    const lookups = crm.subscribe(subjects.toolRequest(env, 'crm.lookup'));
    void (async () => {
      for await (const request of lookups)
        request.respond(JSON.stringify({ ok: true, output: request.json() }));
    })();
    await crm.flush();
    const executor = service('tool-executor');
    const reply = await executor.request(subjects.toolRequest(env, 'crm.lookup'), '{"id":7}', {
      timeout: 2_000,
    });
    expect(reply.json()).toEqual({ ok: true, output: { id: 7 } });
    for (const subject of [subjects.toolRequest('other', 'x'), 'crm.lookup']) {
      await denied(executor, 'publish', subject, () => {
        executor.publish(subject, '{}');
      });
    }
    // The grant is the executor's alone: another service cannot call a tool behind its back.
    const policy = service('policy-decision');
    const lookup = subjects.toolRequest(env, 'crm.lookup');
    await denied(policy, 'publish', lookup, () => {
      policy.publish(lookup, '{}');
    });
    lookups.unsubscribe();
    await crm.close();
  });

  it('answers its API through allow_responses, on the caller inbox it cannot subscribe to', async () => {
    const collector = service('trace-collector');
    const api = collector.subscribe(subjects.api(env, 'audit', 'sql'), {
      queue: 'trace-collector',
    });
    void (async () => {
      for await (const request of api) request.respond(enc.encode('rows'));
    })();
    await collector.flush();
    const cli = await server.connectCreds('cli', '_INBOX_cli');
    const reply = await cli.request(subjects.api(env, 'audit', 'sql'), '{}', { timeout: 2_000 });
    expect(dec.decode(reply.data)).toBe('rows');
    await denied(collector, 'subscription', '_INBOX_cli.>', () => {
      collector.subscribe('_INBOX_cli.>');
    });
    api.unsubscribe();
    await cli.close();
  });
});
