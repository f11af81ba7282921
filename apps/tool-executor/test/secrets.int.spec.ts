import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  CREDENTIAL_HEADER,
  EXECUTOR_API,
  type Envelope,
  type ExecutorApiOp,
} from '@warden/contracts';
import {
  ApiServer,
  connectNats,
  ensureKvBuckets,
  EventPublisher,
  headerOf,
  kvBucketName,
  provisionEnv,
  removeEnv,
  silentLogger,
} from '@warden/messaging';
import { Module } from '@nestjs/common';
import { baseEnv, defineService, IntrospectingHumanAuthorizer } from '@warden/service';
import {
  ApiRefusal,
  callApi,
  eventsOfType,
  startNats,
  TEST_PRODUCER,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSecretAudit } from '../src/secrets/secrets-audit.js';
import { ExecutorApi } from '../src/executor-api.js';
import { ExecutionReviews } from '../src/executions/execution-reviews.js';
import { EXECUTION_STORE } from '../src/infra/execution-store.js';
import { MemoryExecutionStore } from '../src/infra/execution-store.memory.js';
import { RunKeys } from '../src/sealing/run-keys.js';
import { RunOutputs } from '../src/sealing/run-outputs.js';
import { isSecretsError, secretsEnv, secretsProviders, SecretStore } from '../src/secrets/index.js';

/*
 * The credential store against a real NATS: its API edge with the real human authorizer, which
 * asks `identity.human-introspect`; a stand-in answers that here (tokens → humans), so this file
 * needs no identity broker. The CLI end to end through a running stack is not covered here.
 */

const ADMIN_TOKEN = 'admin-token';
const VIEWER_TOKEN = 'viewer-token';
const HUMANS: Record<string, { human_id: string; roles: string[] }> = {
  [ADMIN_TOKEN]: { human_id: 'alice', roles: ['admin'] },
  [VIEWER_TOKEN]: { human_id: 'bob', roles: [] },
};

const FIRST = `tok-first-${randomBytes(12).toString('hex')}`;
const SECOND = `tok-second-${randomBytes(12).toString('hex')}`;
const THIRD = `tok-third-${randomBytes(12).toString('hex')}`;

let nats: TestNats;
let nc: NatsConnection;
let kv: KV;
let store: SecretStore;
let api: ExecutorApi;
let lockedApi: ExecutorApi;
let introspect: Subscription;
const env = uniqueEnv('secrets');
const lockedEnv = uniqueEnv('secrets-locked');
const masterKey = randomBytes(32);

function storeOf(bucket: KV, options: { env?: string; key?: Buffer; ttlMs?: number } = {}) {
  const storeEnv = options.env ?? env;
  return new SecretStore(bucket, {
    env: storeEnv,
    masterKey: options.key ?? masterKey,
    audit: new EventSecretAudit(new EventPublisher(nc, { env: storeEnv, producer: TEST_PRODUCER })),
    cacheTtlMs: options.ttlMs ?? 0,
  });
}

function call<O extends ExecutorApiOp>(
  op: O,
  body: unknown,
  /** `null`: no token at all. */
  token: string | null = ADMIN_TOKEN,
  callEnv = env,
): Promise<z.output<(typeof EXECUTOR_API)[O]['result']>> {
  const credential = token ?? undefined;
  return callApi(nc, callEnv, 'tools', op, body, EXECUTOR_API[op].result, credential) as Promise<
    z.output<(typeof EXECUTOR_API)[O]['result']>
  >;
}

async function refusal(promise: Promise<unknown>): Promise<ApiRefusal> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(ApiRefusal);
  return error as ApiRefusal;
}

/** Every byte the bucket's stream holds (all subjects, all revisions), as text. */
async function rawBucket(bucketEnv = env): Promise<string> {
  const jsm = await jetstreamManager(nc);
  const stream = `KV_${kvBucketName(bucketEnv, 'secrets')}`;
  const info = await jsm.streams.info(stream);
  let text = '';
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const message = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (message !== null)
      text += `${message.subject} ${Buffer.from(message.data).toString('utf8')}\n`;
  }
  return text;
}

function secretEvents(): Promise<Envelope<'secret.changed'>[]> {
  return eventsOfType(nc, env, 'secret.changed') as Promise<Envelope<'secret.changed'>[]>;
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'secrets-int' });
  await provisionEnv(nc, env);
  await provisionEnv(nc, lockedEnv);
  introspect = nc.subscribe(`warden.*.api.identity.human-introspect`, {
    callback: (_error, message) => {
      const token = message.headers ? headerOf(recordOf(message.headers), CREDENTIAL_HEADER) : '';
      const human = HUMANS[token ?? ''];
      message.respond(
        JSON.stringify(
          human === undefined
            ? { ok: false, error: { code: 'unauthenticated', message: 'unknown token' } }
            : { ok: true, result: human },
        ),
      );
    },
  });
  const buckets = await ensureKvBuckets(nc, env, ['secrets', 'run_keys']);
  kv = buckets.secrets;
  // Sealed outputs are the executor API's too; these tests do not open any.
  const runOutputs = new RunOutputs(
    new RunKeys(buckets.run_keys, env, undefined),
    new EventPublisher(nc, { env, producer: TEST_PRODUCER }),
  );
  store = storeOf(kv);
  api = new ExecutorApi(
    new ApiServer(nc, { env, service: 'tools', logger: silentLogger }),
    new IntrospectingHumanAuthorizer(nc, env),
    store,
    new ExecutionReviews(
      new MemoryExecutionStore(),
      new EventPublisher(nc, { env, producer: TEST_PRODUCER }),
    ),
    runOutputs,
  );
  api.start();
  const { secrets: lockedKv } = await ensureKvBuckets(nc, lockedEnv, ['secrets']);
  lockedApi = new ExecutorApi(
    new ApiServer(nc, { env: lockedEnv, service: 'tools', logger: silentLogger }),
    new IntrospectingHumanAuthorizer(nc, lockedEnv),
    new SecretStore(lockedKv, {
      env: lockedEnv,
      masterKey: undefined,
      audit: { record: () => Promise.resolve() },
    }),
    new ExecutionReviews(
      new MemoryExecutionStore(),
      new EventPublisher(nc, { env, producer: TEST_PRODUCER }),
    ),
    runOutputs,
  );
  lockedApi.start();
  await nc.flush();
});

afterAll(async () => {
  await api.stop();
  await lockedApi.stop();
  introspect.unsubscribe();
  await removeEnv(nc, env);
  await removeEnv(nc, lockedEnv);
  await nc.close();
  await nats.stop();
});

function recordOf(headers: { keys(): string[]; get(name: string): string }) {
  return Object.fromEntries(headers.keys().map((name) => [name, headers.get(name)]));
}

describe('warden secrets through the executor API', () => {
  it('sets, lists, rotates and deletes a secret without ever answering its value', async () => {
    const created = await call('secret-set', { ref: 'helpdesk/api-token', value: FIRST });
    expect(created).toMatchObject({
      created: true,
      secret: { ref: 'helpdesk/api-token', version: 1, set_by: 'human:alice' },
    });
    expect(created.secret.rotated_at).toBeUndefined();

    const rotated = await call('secret-rotate', { ref: 'helpdesk/api-token', value: SECOND });
    expect(rotated).toMatchObject({
      created: false,
      secret: { version: 2, previous_version: 1 },
    });
    expect(rotated.secret.rotated_at).toBe(rotated.secret.set_at);

    const listed = await call('secret-list', {});
    expect(listed.secrets.map((secret) => [secret.ref, secret.version])).toEqual([
      ['helpdesk/api-token', 2],
    ]);

    const answers = JSON.stringify([created, rotated, listed]);
    for (const value of [FIRST, SECOND]) expect(answers).not.toContain(value);

    expect(await store.resolve('helpdesk/api-token')).toBe(SECOND);

    const deleted = await call('secret-delete', { ref: 'helpdesk/api-token' });
    expect(deleted).toEqual({ ref: 'helpdesk/api-token', deleted: true, version: 2 });
    expect(await store.resolve('helpdesk/api-token')).toBeUndefined();
    expect((await call('secret-list', {})).secrets).toEqual([]);
    expect(await call('secret-delete', { ref: 'helpdesk/api-token' })).toEqual({
      ref: 'helpdesk/api-token',
      deleted: false,
    });
  });

  it('lets only admins in', async () => {
    const forbidden = await refusal(call('secret-list', {}, VIEWER_TOKEN));
    expect(forbidden.code).toBe('forbidden');
    const anonymous = await refusal(call('secret-set', { ref: 'x/y', value: FIRST }, null));
    expect(anonymous.code).toBe('unauthenticated');
    const denied = await refusal(call('secret-set', { ref: 'x/y', value: FIRST }, VIEWER_TOKEN));
    expect(denied.code).toBe('forbidden');
    expect(JSON.stringify(denied)).not.toContain(FIRST);
    expect(await store.resolve('x/y')).toBeUndefined();
  });

  it('refuses to rotate a ref that is not stored', async () => {
    const missing = await refusal(call('secret-rotate', { ref: 'nowhere/token', value: FIRST }));
    expect(missing.code).toBe('not_found');
    expect(missing.message).not.toContain(FIRST);
  });

  it('refuses bad requests without quoting the value', async () => {
    const tooLong = `${FIRST}${'x'.repeat(8192)}`;
    const long = await refusal(call('secret-set', { ref: 'a/b', value: tooLong }));
    expect(long.code).toBe('invalid_request');
    expect(long.message).not.toContain(FIRST);
    const badRef = await refusal(call('secret-set', { ref: 'A/B', value: FIRST }));
    expect(badRef.code).toBe('invalid_request');
    expect(badRef.message).not.toContain(FIRST);
  });

  it('says what is missing when the executor has no master key', async () => {
    const locked = await refusal(
      call('secret-set', { ref: 'a/b', value: FIRST }, ADMIN_TOKEN, lockedEnv),
    );
    expect(locked.code).toBe('master_key_missing');
    expect(locked.message).toMatch(/EXECUTOR_MASTER_KEY/);
    // Listing needs no key: what is stored can still be seen (and deleted).
    expect(await call('secret-list', {}, ADMIN_TOKEN, lockedEnv)).toEqual({ secrets: [] });
  });
});

describe('the stored secrets', () => {
  it('hold no plaintext in the bucket, at any revision', async () => {
    await call('secret-set', { ref: 'crm/oauth.client-secret', value: FIRST });
    await call('secret-rotate', { ref: 'crm/oauth.client-secret', value: SECOND });
    await call('secret-rotate', { ref: 'crm/oauth.client-secret', value: THIRD });
    const raw = await rawBucket();
    expect(raw).toContain('crm/oauth.client-secret');
    for (const value of [FIRST, SECOND, THIRD]) {
      expect(raw).not.toContain(value);
      expect(raw).not.toContain(Buffer.from(value).toString('base64'));
    }
  });

  it('resolve gives the new value after a rotation, and keeps the previous until the next', async () => {
    await store.set('billing/stripe.key', FIRST, 'human:alice');
    await store.rotate('billing/stripe.key', SECOND, 'human:alice');
    expect(await store.resolve('billing/stripe.key')).toBe(SECOND);
    expect(await store.resolveBoth('billing/stripe.key')).toEqual({
      version: 2,
      current: SECOND,
      previous: FIRST,
    });
    await store.rotate('billing/stripe.key', THIRD, 'human:alice');
    expect(await store.resolveBoth('billing/stripe.key')).toEqual({
      version: 3,
      current: THIRD,
      previous: SECOND,
    });
    // A plain set replaces: the old value is forgotten at once.
    await store.set('billing/stripe.key', FIRST, 'human:alice');
    expect(await store.resolveBoth('billing/stripe.key')).toEqual({ version: 4, current: FIRST });
  });

  it('another replica sees a rotation within its cache TTL', async () => {
    const replica = storeOf(kv, { ttlMs: 300 });
    await store.set('pager/api-key', FIRST, 'human:alice');
    expect(await replica.resolve('pager/api-key')).toBe(FIRST);
    await store.rotate('pager/api-key', SECOND, 'human:alice');
    // Within the TTL the replica may still answer the old value; past it, the new one.
    await waitFor(
      async () => ((await replica.resolve('pager/api-key')) === SECOND ? true : undefined),
      {
        timeoutMs: 2_000,
      },
    );
  });

  it('a record copied under another ref or into another env does not open', async () => {
    await store.set('source/token', FIRST, 'human:alice');
    const entry = await kv.get('source/token');
    if (entry === null) throw new Error('not stored');
    const record = entry.json<Record<string, unknown>>();
    await kv.put('copied/token', JSON.stringify({ ...record, ref: 'copied/token' }));
    const copied = await store.resolve('copied/token').catch((error: unknown) => error);
    expect(isSecretsError(copied, 'secret_unreadable')).toBe(true);
    expect((copied as Error).message).not.toContain(FIRST);

    const otherEnv = uniqueEnv('secrets-other');
    const { secrets: otherKv } = await ensureKvBuckets(nc, otherEnv, ['secrets']);
    try {
      await otherKv.put('source/token', entry.value);
      const moved = await storeOf(otherKv, { env: otherEnv })
        .resolve('source/token')
        .catch((error: unknown) => error);
      expect(isSecretsError(moved, 'secret_unreadable')).toBe(true);
      expect((moved as Error).message).not.toContain(FIRST);
    } finally {
      await removeEnv(nc, otherEnv);
    }

    const wrongKey = await storeOf(kv, { key: randomBytes(32) })
      .resolve('source/token')
      .catch((error: unknown) => error);
    expect(isSecretsError(wrongKey, 'secret_unreadable')).toBe(true);
    expect((wrongKey as Error).message).not.toContain(FIRST);
  });

  it('a change that raced another is refused, and the other is not lost', async () => {
    await store.set('race/token', FIRST, 'human:alice');
    // Another replica writes between this rotation's read and its write.
    const racing = new SecretStore(kv, {
      env,
      masterKey,
      audit: {
        record: async () => {
          await store.set('race/token', THIRD, 'human:carol');
        },
      },
    });
    const lost = await racing
      .rotate('race/token', SECOND, 'human:bob')
      .catch((error: unknown) => error);
    expect(isSecretsError(lost, 'secret_conflict')).toBe(true);
    expect((lost as Error).message).not.toContain(SECOND);
    expect(await store.resolveBoth('race/token')).toEqual({ version: 2, current: THIRD });
  });
});

describe('the audit of changes', () => {
  it('records each set, rotation and deletion as secret.changed, without the value', async () => {
    await call('secret-set', { ref: 'audit/token', value: FIRST });
    await call('secret-rotate', { ref: 'audit/token', value: SECOND });
    await call('secret-delete', { ref: 'audit/token' });
    const events = await waitFor(async () => {
      const found = (await secretEvents()).filter((event) => event.data.ref === 'audit/token');
      return found.length === 3 ? found : undefined;
    });
    expect(events.map((event) => event.data)).toEqual([
      { ref: 'audit/token', version: 1, action: 'set', by: 'human:alice' },
      { ref: 'audit/token', version: 2, action: 'rotated', by: 'human:alice' },
      { ref: 'audit/token', version: 2, action: 'deleted', by: 'human:alice' },
    ]);
    const everything = JSON.stringify(await eventsOfType(nc, env, 'secret.changed'));
    for (const value of [FIRST, SECOND, THIRD]) {
      expect(everything).not.toContain(value);
      expect(everything).not.toContain(Buffer.from(value).toString('base64'));
    }
    expect(events.every((event) => event.env === env)).toBe(true);
  });
});

/** A module of only the secrets providers (a class decorator returns nothing: apply it apart). */
function secretsOnlyModule(): new () => object {
  class SecretsOnlyModule {}
  Module({
    providers: [
      ...secretsProviders,
      // The API also answers reviews of executions, from the module's execution store.
      { provide: EXECUTION_STORE, useValue: new MemoryExecutionStore() },
    ],
  })(SecretsOnlyModule);
  return SecretsOnlyModule;
}

describe('the providers a module registers', () => {
  // What the tool executor's module gets: `...secretsEnv` in its config, `...secretsProviders`.
  const service = defineService({
    name: 'tool-executor',
    version: '0.0.0-test',
    config: z.object({ ...baseEnv, ...secretsEnv }),
    module: secretsOnlyModule(),
    events: {},
  });
  const base = { NATS_URL: '', HTTP_PORT: '0', LOG_LEVEL: 'warn' };

  it('refuses a master key that is not 32 bytes of base64, without printing it', () => {
    const bad = 'c2hvcnQta2V5';
    expect(() => service.config({ ...base, WARDEN_ENV: env, EXECUTOR_MASTER_KEY: bad })).toThrow(
      /EXECUTOR_MASTER_KEY: must be 32 random bytes in base64/,
    );
    try {
      service.config({ ...base, WARDEN_ENV: env, EXECUTOR_MASTER_KEY: bad });
    } catch (error) {
      expect((error as Error).message).not.toContain(bad);
    }
  });

  it('serve the API of a service and stop with it', async () => {
    const serviceEnv = uniqueEnv('secrets-svc');
    const running = await service.start(
      service.config({
        ...base,
        NATS_URL: nats.url,
        WARDEN_ENV: serviceEnv,
        EXECUTOR_MASTER_KEY: randomBytes(32).toString('base64'),
      }),
    );
    try {
      await call('secret-set', { ref: 'svc/token', value: FIRST }, ADMIN_TOKEN, serviceEnv);
      const listed = await call('secret-list', {}, ADMIN_TOKEN, serviceEnv);
      expect(listed.secrets.map((secret) => secret.ref)).toEqual(['svc/token']);
      const events = await eventsOfType(nc, serviceEnv, 'secret.changed');
      expect(events.map((event) => event.producer.service)).toEqual(['tool-executor']);
    } finally {
      await running.stop();
      await removeEnv(nc, serviceEnv);
    }
  });
});
