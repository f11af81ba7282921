import type { NatsConnection } from '@nats-io/transport-node';
import {
  buildEvent,
  type DataOf,
  type Envelope,
  type EventType,
  type Principal,
} from '@warden/contracts';
import { connectNats, ensureKvBuckets, EventPublisher, removeEnv } from '@warden/messaging';
import { builtinToolSources, shippedSchemaText } from '@warden/policy';
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRegistry } from '../src/policies/policy-registry.js';
import { PolicyStore } from '../src/policies/policy-store.js';
import { service } from '../src/service.js';
import { ToolRegistry } from '../src/tools/tool-registry.js';
import { ToolStore } from '../src/tools/tool-store.js';
import {
  ACTIVE_SET,
  callPolicyApi,
  standInIdentityBroker,
  STRICT_SET,
} from './support/policy-fixtures.js';

/*
 * Shadow policies end to end on a real policy-decision service and a real NATS (DESIGN §8, issue
 * 9 item 4): a candidate version evaluated beside the active one, then stopped (nothing enforced
 * changes, the comparison ends) or promoted (the next decision is under its content). The changes
 * go through the service's own use case (PolicyRegistry: the log, then KV), and, last, through its
 * API, with the identity broker's `human-introspect` answered by a stand-in (an app may not start
 * another app's code; the broker itself is proven across processes by the e2e specs).
 */

const caller = { human_id: 'policy-admin', roles: ['admin'] };
const principal: Principal = {
  agent_id: 'triage-1',
  owner: 'alice',
  domains: ['support'],
  tool_groups: ['zendesk'],
};

let nats: TestNats;
let nc: NatsConnection;
let publisher: EventPublisher;
let policies: PolicyRegistry;
let store: PolicyStore;
let running: RunningService | undefined;
const env = uniqueEnv('shadow');

function echo(): Envelope<'intent.authenticated'> {
  const proposed = proposedEvent(env, {
    agent: principal.agent_id,
    tool: 'echo',
    args: { text: 'hi' },
  });
  return buildEvent({
    type: 'intent.authenticated',
    cause: proposed,
    producer: TEST_PRODUCER,
    data: { ...proposed.data, principal },
  });
}

async function outputOf<T extends EventType>(
  type: T,
  intent: Envelope,
): Promise<Envelope<T> | undefined> {
  return (await eventsOfType(nc, env, type)).find((e) => e.intent_id === intent.intent_id) as
    Envelope<T> | undefined;
}

/**
 * Decides `echo` intents until one is decided under `version` (the service follows KV's head
 * through a watch, a moment after the change), and returns that intent and its decision.
 */
async function decideUnder(
  version: number,
): Promise<{ intent: Envelope; decided: DataOf<'policy.decided'> }> {
  return waitFor(
    async () => {
      const intent = echo();
      await publisher.publish(intent);
      const decided = await waitFor(() => outputOf('policy.decided', intent));
      return decided.data.policy_version === version
        ? { intent, decided: decided.data }
        : undefined;
    },
    { timeoutMs: 15_000 },
  );
}

async function publishSet(
  files: { name: string; text: string }[],
  mode: 'active' | 'shadow',
  message: string,
): Promise<number> {
  const { version } = await policies.publish(
    { schema: shippedSchemaText(), files, message, mode },
    caller,
  );
  return version.version;
}

/** One policy API call with a human token: the reply's envelope, `{ ok, result | error }`. */
const callApi = (op: string, body: unknown, token: string) =>
  callPolicyApi(nc, env, op, body, token);

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'shadow-test' });
  publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
  running = await service.start(
    service.config({ WARDEN_ENV: env, NATS_URL: nats.url, HTTP_PORT: '0', LOG_LEVEL: 'warn' }),
  );
  const kv = await ensureKvBuckets(nc, env, ['tools', 'policies']);
  store = new PolicyStore(kv.policies);
  policies = new PolicyRegistry(nc, publisher, store);
  const tools = new ToolRegistry(nc, publisher, new ToolStore(kv.tools));
  for (const { file, source } of builtinToolSources())
    await tools.register({ source, file }, caller);
  standInIdentityBroker(nc, env);
  await nc.flush();
});

afterAll(async () => {
  await running?.stop();
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

describe('shadow policies', () => {
  it('refuses to promote or stop when no shadow version is in force, saying what to do', async () => {
    await expect(policies.promote({}, caller)).rejects.toMatchObject({
      code: 'no_shadow',
      message: expect.stringMatching(/no version is active.*warden policies shadow/) as unknown,
    });
    await expect(policies.stopShadow({}, caller)).rejects.toMatchObject({ code: 'no_shadow' });
  });

  it('stops a shadow version: the active content stays in force and the comparison ends', async () => {
    const active = await publishSet(ACTIVE_SET(), 'active', 'reference policies');
    const shadow = await publishSet(STRICT_SET(), 'shadow', 'candidate: only noop');
    // Compared while in force: echo is allowed, and the shadow would deny it.
    const { intent } = await waitFor(
      async () => {
        const under = await decideUnder(active);
        return (await outputOf('policy.shadow_diverged', under.intent)) === undefined
          ? undefined
          : under;
      },
      { timeoutMs: 15_000 },
    );
    expect((await outputOf('policy.shadow_diverged', intent))?.data).toMatchObject({
      active_effect: 'allow',
      shadow_version: shadow,
      shadow_effect: 'deny',
    });

    await expect(policies.promote({ shadow: shadow + 5 }, caller)).rejects.toMatchObject({
      code: 'shadow_changed',
    });
    const stopped = await policies.stopShadow({ message: 'needs another pass' }, caller);
    expect(stopped).toMatchObject({
      stopped: shadow,
      version: {
        version: shadow + 1,
        mode: 'active',
        rollback_of: active,
        author: 'human:policy-admin',
        message: 'needs another pass',
      },
    });
    expect(await store.head()).toEqual({ active: shadow + 1, latest: shadow + 1 });
    expect(stopped.version.content_hash).toBe((await store.get(active))?.content_hash);

    // Decided under the new version, with the same effect, and no longer compared.
    const after = await decideUnder(shadow + 1);
    expect(after.decided.effect).toBe('allow');
    expect(await outputOf('policy.shadow_diverged', after.intent)).toBeUndefined();
    await expect(policies.stopShadow({}, caller)).rejects.toMatchObject({ code: 'no_shadow' });
  });

  it('promotes a shadow version: the next decision is under its content, and a retry is idempotent', async () => {
    const before = (await store.head()).active;
    const shadow = await publishSet(STRICT_SET(), 'shadow', 'candidate again');
    expect(await store.head()).toEqual({ active: before, shadow, latest: shadow });

    const promoted = await policies.promote({ shadow, message: 'ship it' }, caller);
    expect(promoted).toMatchObject({
      promoted: shadow,
      already: false,
      version: { version: shadow + 1, mode: 'active', rollback_of: shadow, message: 'ship it' },
    });
    expect(await store.head()).toEqual({ active: shadow + 1, latest: shadow + 1 });

    const after = await decideUnder(shadow + 1);
    expect(after.decided.effect).toBe('deny');
    expect(await outputOf('policy.shadow_diverged', after.intent)).toBeUndefined();

    // The same promotion again answers the same version and publishes nothing.
    expect(await policies.promote({ shadow }, caller)).toMatchObject({
      promoted: shadow,
      already: true,
      version: { version: shadow + 1 },
    });
    expect((await store.head()).latest).toBe(shadow + 1);
    await expect(policies.promote({}, caller)).rejects.toMatchObject({ code: 'no_shadow' });

    // Who did what is in the log.
    const published = (
      (await eventsOfType(nc, env, 'policy.published')) as Envelope<'policy.published'>[]
    ).map((e) => e.data);
    expect(published.map((d) => [d.version, d.mode, d.rollback_of ?? null, d.author])).toEqual([
      [1, 'active', null, 'human:policy-admin'],
      [2, 'shadow', null, 'human:policy-admin'],
      [3, 'active', 1, 'human:policy-admin'],
      [4, 'shadow', null, 'human:policy-admin'],
      [5, 'active', 4, 'human:policy-admin'],
    ]);
  });

  it('serves promote and stop-shadow to admins only, naming who did it', async () => {
    const active = (await store.head()).active;
    const shadow = await publishSet(STRICT_SET(), 'shadow', 'one more candidate');
    expect(await callApi('policy-shadow-stop', {}, 'support-token')).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    expect(await callApi('policy-promote', { message: '' }, 'admin-token')).toMatchObject({
      ok: false,
      error: { code: 'invalid_request' },
    });
    expect((await store.head()).shadow).toBe(shadow);

    expect(await callApi('policy-shadow-stop', {}, 'admin-token')).toMatchObject({
      ok: true,
      result: {
        stopped: shadow,
        version: {
          version: shadow + 1,
          rollback_of: active,
          author: 'human:ada',
          message: `stop shadow version ${shadow}`,
        },
      },
    });
    expect(await callApi('policy-promote', {}, 'admin-token')).toMatchObject({
      ok: false,
      error: {
        code: 'no_shadow',
        message: expect.stringContaining('nothing to promote') as unknown,
      },
    });
  });
});
