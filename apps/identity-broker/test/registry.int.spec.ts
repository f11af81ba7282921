import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureKvBuckets, connectNats, EventPublisher, removeEnv } from '@warden/messaging';
import type { RunningService } from '@warden/service';
import {
  eventsOfType,
  makeTempDir,
  readStream,
  removeTempDir,
  startNats,
  TEST_PRODUCER,
  uniqueEnv,
  waitFor,
  type TestNats,
} from '@warden/testing';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySecret } from '../src/domain/secret-verifier.js';
import {
  AGENT_DIRECTORY,
  HUMAN_DIRECTORY,
  type AgentDirectory,
  type HumanDirectory,
} from '../src/ports.js';
import { replayRegistryLog } from '../src/registry/index.js';
import { RegistryLog } from '../src/registry/infra/registry-log.js';
import { RegistryStore } from '../src/registry/infra/registry-store.js';
import { KvAgentDirectory } from '../src/registry/infra/kv-agent-directory.js';
import { adminCredential, callIdentity, ok, startRegistry } from './registry-harness.js';

let nats: TestNats;
let nc: NatsConnection;
let dir: string;
let store: RegistryStore;
const replicas: RunningService[] = [];
const env = uniqueEnv('registry');
const secretFile = () => join(dir, 'nested', 'state', 'bootstrap-admin.secret');

const attributes = { owner: 'admin', domains: ['support'] };

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'registry-test' });
  dir = await makeTempDir('registry');
  // Two replicas starting at the same moment: they must make one bootstrap admin between them.
  replicas.push(
    ...(await Promise.all(
      [1, 2].map(() =>
        startRegistry(nats.url, env, { IDENTITY_BOOTSTRAP_SECRET_FILE: secretFile() }),
      ),
    )),
  );
  const { agents, humans } = await ensureKvBuckets(nc, env, ['agents', 'humans']);
  store = new RegistryStore(agents, humans);
});

afterAll(async () => {
  for (const replica of replicas) await replica.stop();
  await removeEnv(nc, env);
  await nc.close();
  await removeTempDir(dir);
  await nats.stop();
});

describe('bootstrap admin', () => {
  it('is created once by two replicas starting together, its secret in a 0600 file', async () => {
    const registrations = await eventsOfType(nc, env, 'human.registered');
    expect(registrations).toHaveLength(1);
    expect(registrations[0]?.data).toMatchObject({ human_id: 'admin', roles: ['admin'] });

    const file = await stat(secretFile());
    expect(file.mode & 0o777).toBe(0o600);
    const secret = (
      await import('node:fs/promises').then((fs) => fs.readFile(secretFile(), 'utf8'))
    ).trim();
    const admin = await store.getHuman('admin');
    expect(admin?.authentication.method).toBe('client_secret');
    const verifier =
      admin?.authentication.method === 'client_secret' ? admin.authentication.verifier : undefined;
    expect(await verifySecret(secret, verifier)).toBe(true);
    // The log holds the verifier, never the secret.
    expect(JSON.stringify(await readStream(nc, env))).not.toContain(secret);
  });

  it('is not created again by a replica that starts later', async () => {
    replicas.push(
      await startRegistry(nats.url, env, { IDENTITY_BOOTSTRAP_SECRET_FILE: secretFile() }),
    );
    expect(await eventsOfType(nc, env, 'human.registered')).toHaveLength(1);
  });
});

describe('admin APIs', () => {
  it('refuse a caller without a credential, and one who is not an admin', async () => {
    const anonymous = await callIdentity(nc, env, 'agent-list', {}, null);
    expect(anonymous).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    const user = await callIdentity(
      nc,
      env,
      'agent-register',
      { agent_id: 'x', ...attributes },
      'user:bob',
    );
    expect(user).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await store.getAgent('x')).toBeUndefined();
  });

  it('registers an agent with a client secret shown once and stored only as its verifier', async () => {
    const result = await ok(nc, env, 'agent-register', {
      agent_id: 'triage-1',
      ...attributes,
      risk_tier: 'high',
      default_budget_micro_usd: 2_500_000,
      tool_groups: ['helpdesk.read'],
    });
    expect(result.agent).toMatchObject({
      agent_id: 'triage-1',
      environment: env,
      status: 'active',
      risk_tier: 'high',
      authentication_method: 'client_secret',
      registered_by: 'admin',
    });
    const secret = result.client_secret!;
    expect(secret).toMatch(/^wsec_/);
    expect(JSON.stringify(result.agent)).not.toContain('scrypt');

    const record = await store.getAgent('triage-1');
    expect(JSON.stringify(record)).not.toContain(secret);
    const verifier =
      record?.authentication.method === 'client_secret'
        ? record.authentication.verifier
        : undefined;
    expect(await verifySecret(secret, verifier)).toBe(true);

    const [event] = (await eventsOfType(nc, env, 'agent.registered')).filter(
      (e) => e.agent_id === 'triage-1',
    );
    expect(event?.data).toMatchObject({ by: 'admin', environment: env });
    expect(JSON.stringify(event)).not.toContain(secret);

    const shown = await ok(nc, env, 'agent-show', { agent_id: 'triage-1' });
    expect(shown.agent).toEqual(result.agent);
  });

  it('registers an agent with a public key and no secret', async () => {
    const result = await ok(nc, env, 'agent-register', {
      agent_id: 'signer-1',
      ...attributes,
      public_jwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) },
    });
    expect(result.client_secret).toBeUndefined();
    expect(result.agent.authentication_method).toBe('private_key_jwt');
  });

  it('refuses an existing id, an agent of another environment, an unknown owner and a bad id', async () => {
    const again = await callIdentity(nc, env, 'agent-register', {
      agent_id: 'triage-1',
      ...attributes,
    });
    expect(again).toMatchObject({ ok: false, error: { code: 'agent_exists' } });

    const staging = await callIdentity(nc, env, 'agent-register', {
      agent_id: 'stage-1',
      ...attributes,
      environment: 'staging',
    });
    expect(staging).toMatchObject({ ok: false, error: { code: 'wrong_environment' } });
    if (!staging.ok) expect(staging.error.message).toContain('--env staging');

    const orphan = await callIdentity(nc, env, 'agent-register', {
      agent_id: 'orphan-1',
      owner: 'nobody',
      domains: ['support'],
    });
    expect(orphan).toMatchObject({ ok: false, error: { code: 'owner_not_found' } });

    const dotted = await callIdentity(nc, env, 'agent-register', {
      agent_id: 'a.b',
      ...attributes,
    });
    expect(dotted).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    for (const id of ['stage-1', 'orphan-1', 'a.b'])
      expect(await store.getAgent(id)).toBeUndefined();
  });

  it('moves an agent through its lifecycle and refuses illegal transitions with what to do', async () => {
    await ok(nc, env, 'agent-register', { agent_id: 'cycle-1', ...attributes });
    const suspended = await ok(nc, env, 'agent-suspend', {
      agent_id: 'cycle-1',
      reason: 'looping',
    });
    expect(suspended.agent.status).toBe('suspended');
    const twice = await callIdentity(nc, env, 'agent-suspend', { agent_id: 'cycle-1' });
    expect(twice).toMatchObject({ ok: false, error: { code: 'agent_already_suspended' } });

    expect((await ok(nc, env, 'agent-resume', { agent_id: 'cycle-1' })).agent.status).toBe(
      'active',
    );
    const resumeActive = await callIdentity(nc, env, 'agent-resume', { agent_id: 'cycle-1' });
    expect(resumeActive).toMatchObject({ ok: false, error: { code: 'agent_not_suspended' } });

    expect((await ok(nc, env, 'agent-retire', { agent_id: 'cycle-1' })).agent.status).toBe(
      'retired',
    );
    const afterRetire = await callIdentity(nc, env, 'agent-resume', { agent_id: 'cycle-1' });
    expect(afterRetire).toMatchObject({ ok: false, error: { code: 'agent_retired' } });
    const reuse = await callIdentity(nc, env, 'agent-register', {
      agent_id: 'cycle-1',
      ...attributes,
    });
    expect(reuse).toMatchObject({ ok: false, error: { code: 'agent_exists' } });
    if (!reuse.ok) expect(reuse.error.message).toContain('retired');

    const [event] = (await eventsOfType(nc, env, 'agent.suspended')).filter(
      (e) => e.agent_id === 'cycle-1',
    );
    expect(event?.data).toEqual({ by: 'admin', reason: 'looping' });

    const missing = await callIdentity(nc, env, 'agent-show', { agent_id: 'ghost' });
    expect(missing).toMatchObject({ ok: false, error: { code: 'agent_not_found' } });
  });

  it('lists agents, optionally by status', async () => {
    const all = await ok(nc, env, 'agent-list', {});
    expect(all.agents.map((a) => a.agent_id)).toEqual(
      expect.arrayContaining(['triage-1', 'signer-1', 'cycle-1']),
    );
    const retired = await ok(nc, env, 'agent-list', { status: 'retired' });
    expect(retired.agents.map((a) => a.agent_id)).toEqual(['cycle-1']);
  });

  it('registers a human with a secret shown once, and lists humans without verifiers', async () => {
    const result = await ok(nc, env, 'human-register', {
      human_id: 'alice',
      roles: ['support-leads'],
    });
    expect(result.human).toMatchObject({
      human_id: 'alice',
      roles: ['support-leads'],
      status: 'active',
    });
    const record = await store.getHuman('alice');
    const verifier =
      record?.authentication.method === 'client_secret'
        ? record.authentication.verifier
        : undefined;
    expect(await verifySecret(result.secret, verifier)).toBe(true);

    const again = await callIdentity(nc, env, 'human-register', { human_id: 'alice', roles: [] });
    expect(again).toMatchObject({ ok: false, error: { code: 'human_exists' } });

    const { humans } = await ok(nc, env, 'human-list', {});
    expect(humans.map((h) => h.human_id)).toEqual(['admin', 'alice']);
    expect(JSON.stringify(humans)).not.toContain('scrypt');
  });
});

describe('directories', () => {
  it('keep every replica view current through the KV watch, and load from KV', async () => {
    await ok(nc, env, 'agent-register', { agent_id: 'watched-1', ...attributes });
    await ok(nc, env, 'agent-suspend', { agent_id: 'watched-1' });
    for (const replica of replicas) {
      const directory = replica.app.get<AgentDirectory>(AGENT_DIRECTORY);
      await replica.app.get(KvAgentDirectory).ready;
      await waitFor(() => directory.get('watched-1')?.status === 'suspended');
      expect((await directory.load('watched-1'))?.status).toBe('suspended');
      expect(directory.get('triage-1')?.owner).toBe('admin');
    }
    const humans = replicas[0]!.app.get<HumanDirectory>(HUMAN_DIRECTORY);
    expect((await humans.load('alice'))?.roles).toEqual(['support-leads']);
    expect(await humans.load('nobody')).toBeUndefined();
  });

  it('report ready on /readyz once the view is loaded', async () => {
    const response = await fetch(`${replicas[0]!.url}/readyz`);
    const body = (await response.json()) as { checks: Record<string, { ok: boolean }> };
    expect(body.checks['agent-directory']?.ok).toBe(true);
  });
});

describe('rebuild from the log', () => {
  it('gives the same records as KV when the replay rebuilds them into empty buckets', async () => {
    // The production replay (what a starting replica runs), reading this env's log and writing
    // into the empty buckets of another env: what it makes must be what the API path made.
    const copy = uniqueEnv('registry-copy');
    const buckets = await ensureKvBuckets(nc, copy, ['agents', 'humans']);
    const rebuilt = new RegistryStore(buckets.agents, buckets.humans);
    try {
      const log = new RegistryLog(nc, new EventPublisher(nc, { env, producer: TEST_PRODUCER }));
      const report = await replayRegistryLog(
        log,
        rebuilt,
        { observe: () => undefined },
        {
          debug: () => undefined,
          info: () => undefined,
          warn: () => undefined,
          error: () => undefined,
        },
      );
      const kvAgents = await store.listAgents();
      const kvHumans = await store.listHumans();
      expect(kvAgents.length).toBeGreaterThan(3);
      expect(report.repaired).toBe(kvAgents.length + kvHumans.length);
      expect(await rebuilt.listAgents()).toEqual(kvAgents);
      expect(await rebuilt.listHumans()).toEqual(kvHumans);
    } finally {
      await removeEnv(nc, copy);
    }
  });

  it('repairs a registration whose KV write was lost, on the next register and at start', async () => {
    const publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
    const crashed = (agentId: string) =>
      publisher.publish(
        publisher.build({
          type: 'agent.registered',
          eventId: ulid(),
          agentId,
          data: {
            ...attributes,
            environment: env,
            risk_tier: 'medium',
            authentication: {
              method: 'client_secret',
              verifier: '$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA',
            },
            by: 'admin',
          },
        }),
      );
    // The broker crashed between publishing and writing KV: the log has it, KV does not.
    await crashed('lost-1');
    await crashed('lost-2');
    expect(await store.getAgent('lost-1')).toBeUndefined();

    // Registering the id again: the log refuses a second registration, and KV catches up.
    const again = await callIdentity(nc, env, 'agent-register', {
      agent_id: 'lost-1',
      ...attributes,
    });
    expect(again).toMatchObject({ ok: false, error: { code: 'agent_exists' } });
    expect((await store.getAgent('lost-1'))?.status).toBe('active');
    expect(
      (await eventsOfType(nc, env, 'agent.registered')).filter((e) => e.agent_id === 'lost-1'),
    ).toHaveLength(1);

    // A replica starting replays the log into KV.
    replicas.push(
      await startRegistry(nats.url, env, { IDENTITY_BOOTSTRAP_SECRET_FILE: secretFile() }),
    );
    expect((await store.getAgent('lost-2'))?.status).toBe('active');
  });
});

describe('without a bootstrap secret', () => {
  it('starts, creates no admin, and serves', async () => {
    const bare = uniqueEnv('registry-bare');
    const replica = await startRegistry(nats.url, bare);
    try {
      expect(await eventsOfType(nc, bare, 'human.registered')).toHaveLength(0);
      const reply = await callIdentity(nc, bare, 'human-list', {}, adminCredential('root'));
      expect(reply).toEqual({ ok: true, result: { humans: [] } });
    } finally {
      await replica.stop();
      await removeEnv(nc, bare);
    }
  });
});
