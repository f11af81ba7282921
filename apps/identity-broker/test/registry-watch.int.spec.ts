import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { buildEvent } from '@warden/contracts';
import {
  connectNats,
  ensureKvBuckets,
  kvBucketName,
  removeEnv,
  type MessagingLogger,
} from '@warden/messaging';
import { startNats, TEST_PRODUCER, uniqueEnv, waitFor, type TestNats } from '@warden/testing';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentEvent } from '../src/registry/domain/agent-projection.js';
import { KvAgentDirectory } from '../src/registry/infra/kv-agent-directory.js';
import { RegistryStore } from '../src/registry/infra/registry-store.js';

/*
 * The agent directory when its KV watch dies: `get` must stop answering from the frozen view
 * (a suspended agent would stay active on this replica), so callers read KV, until the watch is
 * reopened and current again.
 */

let nats: TestNats;
let nc: NatsConnection;
const env = uniqueEnv('registry-watch');
/** Probe often, restart slowly: the stale window is long enough to observe. */
const timing = { probeIntervalMs: 100, initialBackoffMs: 800, maxBackoffMs: 800 };

const logger = () =>
  ({
    debug: vi.fn(),
    info: vi.fn(),
    warn: vi.fn(),
    error: vi.fn(),
  }) satisfies MessagingLogger;

async function store(): Promise<RegistryStore> {
  const { agents, humans } = await ensureKvBuckets(nc, env, ['agents', 'humans']);
  return new RegistryStore(agents, humans);
}

function registered(agentId: string): AgentEvent {
  return buildEvent({
    type: 'agent.registered',
    env,
    eventId: ulid(),
    agentId,
    producer: TEST_PRODUCER,
    data: {
      owner: 'alice',
      domains: ['support'],
      environment: env,
      risk_tier: 'low',
      authentication: { method: 'client_secret', verifier: '$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA' },
      by: 'admin',
    },
  });
}

function suspended(agentId: string): AgentEvent {
  return buildEvent({
    type: 'agent.suspended',
    env,
    eventId: ulid(),
    agentId,
    producer: TEST_PRODUCER,
    data: { by: 'admin' },
  });
}

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: 'registry-watch-test' });
});

afterAll(async () => {
  await removeEnv(nc, env);
  await nc.close();
  await nats.stop();
});

describe('the agent directory when its watch dies', () => {
  it('misses (so callers load from KV) while the watch is down, then serves the current record', async () => {
    const registry = await store();
    await registry.applyAgentEvents('a1', [registered('a1')]);
    const directory = new KvAgentDirectory(registry, logger(), timing);
    await directory.start();
    await directory.ready;
    try {
      expect(directory.get('a1')?.status).toBe('active');

      // The bucket goes and comes back with the agent suspended: the old watch goes silent.
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(`KV_${kvBucketName(env, 'agents')}`);
      const fresh = await store();
      await fresh.applyAgentEvents('a1', [registered('a1'), suspended('a1')]);

      await waitFor(() => !directory.status.ok || undefined, { timeoutMs: 3_000 });
      // Never the frozen "active": a miss, and the KV read says suspended.
      expect(directory.get('a1')).toBeUndefined();
      expect((await directory.load('a1'))?.status).toBe('suspended');

      await waitFor(() => directory.status.ok || undefined, { timeoutMs: 5_000 });
      expect(directory.get('a1')?.status).toBe('suspended');
    } finally {
      directory.stop();
    }
  }, 20_000);

  it('misses from the moment its iterator is stopped, and follows again once reopened', async () => {
    const registry = await store();
    await registry.applyAgentEvents('a2', [registered('a2')]);
    const log = logger();
    const directory = new KvAgentDirectory(registry, log, timing);
    await directory.start();
    await directory.ready;
    try {
      await waitFor(() => directory.get('a2'));
      directory.failWatch('test: iterator stopped');
      expect(directory.get('a2')).toBeUndefined();
      expect(directory.status.ok).toBe(false);
      await registry.applyAgentEvents('a2', [suspended('a2')]);
      await waitFor(() => directory.status.ok || undefined, { timeoutMs: 5_000 });
      expect(directory.get('a2')?.status).toBe('suspended');

      // A value that is not a record: logged and skipped, the watch goes on.
      await registry.agents.put('a3', 'not json{');
      await registry.applyAgentEvents('a4', [registered('a4')]);
      await waitFor(() => directory.get('a4'));
      expect(directory.get('a3')).toBeUndefined();
      expect(directory.status.ok).toBe(true);
      expect(log.error).toHaveBeenCalledWith(
        expect.objectContaining({ key: 'a3' }),
        'invalid agent record in KV',
      );
    } finally {
      directory.stop();
    }
  }, 20_000);
});
