import { Module, type DynamicModule } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  apiReply,
  CREDENTIAL_HEADER,
  subjects,
  type AgentAttributes,
  type AuthenticationMethod,
  type Envelope,
} from '@warden/contracts';
import { ensureKvBuckets, EventPublisher } from '@warden/messaging';
import { defineService, type RunningService } from '@warden/service';
import {
  eventsOfType,
  proposedEvent,
  TEST_IDENTITY_MASTER_KEY,
  TEST_PRODUCER,
  waitFor,
} from '@warden/testing';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { z } from 'zod';
import { IdentityBrokerConfig } from '../src/config.js';
import { brokerPublisherProvider } from '../src/broker-publisher.js';
import { credentialControllers, credentialProviders } from '../src/credentials/index.js';
import { RING_KEY, type KeyRingDocument } from '../src/domain/key-ring.js';
import { hashSecret } from '../src/domain/secret-verifier.js';
import { openSigningKey, type SigningKey } from '../src/domain/signing-key.js';
import {
  AGENT_DIRECTORY,
  HUMAN_DIRECTORY,
  type AgentDirectory,
  type AgentRecord,
  type HumanDirectory,
  type HumanRecord,
} from '../src/ports.js';

/**
 * The registry, played by the test: in memory, changed by the test directly (the registry half
 * is built beside this one and meets it only through these ports). `load` counts its reads.
 */
export class TestDirectory implements AgentDirectory, HumanDirectory {
  readonly agents = new Map<string, AgentRecord>();
  readonly humans = new Map<string, HumanRecord>();
  loads = 0;

  get(agentId: string): AgentRecord | undefined {
    return this.agents.get(agentId);
  }

  load(id: string): Promise<AgentRecord | undefined>;
  load(id: string): Promise<HumanRecord | undefined>;
  load(id: string): Promise<AgentRecord | HumanRecord | undefined> {
    this.loads++;
    return Promise.resolve(this.agents.get(id) ?? this.humans.get(id));
  }

  /** Registers an agent with a client secret (hashed as the registry does). */
  async addAgent(
    agentId: string,
    secret: string,
    attributes: Partial<AgentAttributes> = {},
  ): Promise<void> {
    this.putAgent(
      agentId,
      { method: 'client_secret', verifier: await hashSecret(secret) },
      attributes,
    );
  }

  /** Registers an agent with any authentication method. */
  putAgent(
    agentId: string,
    authentication: AuthenticationMethod,
    attributes: Partial<AgentAttributes> = {},
  ): void {
    const now = '2026-01-01T00:00:00.000000Z';
    this.agents.set(agentId, {
      agent_id: agentId,
      owner: 'alice',
      domains: ['support'],
      environment: 'test',
      risk_tier: 'medium',
      ...attributes,
      status: 'active',
      authentication,
      registered_at: now,
      registered_by: 'human:alice',
      updated_at: now,
    });
  }

  setStatus(agentId: string, status: AgentRecord['status']): void {
    const agent = this.agents.get(agentId);
    if (agent) this.agents.set(agentId, { ...agent, status });
  }

  async addHuman(humanId: string, secret: string, roles: string[]): Promise<void> {
    const now = '2026-01-01T00:00:00.000000Z';
    this.humans.set(humanId, {
      human_id: humanId,
      roles,
      status: 'active',
      authentication: { method: 'client_secret', verifier: await hashSecret(secret) },
      registered_at: now,
      updated_at: now,
    });
  }
}

@Module({})
class CredentialsTestModule {}

/** The broker's credentials half with `directory` as its registry. */
function moduleWith(directory: TestDirectory): DynamicModule {
  return {
    module: CredentialsTestModule,
    controllers: credentialControllers,
    providers: [
      brokerPublisherProvider,
      ...credentialProviders,
      { provide: AGENT_DIRECTORY, useValue: directory },
      { provide: HUMAN_DIRECTORY, useValue: directory },
    ],
  };
}

/** Starts one broker replica (credentials half + `directory`) for `env`. */
export async function startBroker(
  natsUrl: string,
  env: string,
  directory: TestDirectory,
  overrides: Record<string, string> = {},
): Promise<RunningService> {
  const service = defineService({
    name: 'identity-broker',
    version: '0.0.0-test',
    config: IdentityBrokerConfig,
    module: moduleWith(directory),
    events: {},
  });
  return service.start(
    service.config({
      WARDEN_ENV: env,
      NATS_URL: natsUrl,
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      IDENTITY_MASTER_KEY: TEST_IDENTITY_MASTER_KEY,
      ...overrides,
    }),
  );
}

/** Calls an identity API op; resolves to the parsed reply (`ok` or not). */
export async function callApi<R extends z.ZodType>(
  nc: NatsConnection,
  env: string,
  op: string,
  body: unknown,
  result: R,
  credential?: string,
): Promise<
  { ok: true; result: z.output<R> } | { ok: false; error: { code: string; message: string } }
> {
  const headers = natsHeaders();
  if (credential !== undefined) headers.set(CREDENTIAL_HEADER, credential);
  const message = await nc.request(subjects.api(env, 'identity', op), JSON.stringify(body), {
    timeout: 10_000,
    headers,
  });
  return apiReply(result).parse(message.json()) as
    { ok: true; result: z.output<R> } | { ok: false; error: { code: string; message: string } };
}

/** The broker's active signing key, opened from KV with the test master key. */
export async function activeKeyOf(nc: NatsConnection, env: string): Promise<SigningKey> {
  const { signing_keys: kv } = await ensureKvBuckets(nc, env, ['signing_keys']);
  const entry = await kv.get(RING_KEY);
  if (entry === null) throw new Error('no key ring');
  return openSigningKey(
    entry.json<KeyRingDocument>().active,
    Buffer.from(TEST_IDENTITY_MASTER_KEY, 'base64'),
  );
}

/** Proposes an intent of `agent` carrying `token` and resolves to the broker's answer. */
export async function propose(
  nc: NatsConnection,
  env: string,
  agent: string,
  token: string | undefined,
): Promise<Envelope> {
  const publisher = new EventPublisher(nc, { env, producer: TEST_PRODUCER });
  const intent = proposedEvent(env, { agent, tool: 'echo', args: { text: 'hi' } });
  await publisher.publish(
    intent,
    token === undefined ? {} : { headers: { [CREDENTIAL_HEADER]: token } },
  );
  return answerTo(nc, env, intent.intent_id);
}

/** The broker's answer to an intent: `intent.authenticated` or `intent.resolved`. */
export function answerTo(
  nc: NatsConnection,
  env: string,
  intentId: string | undefined,
): Promise<Envelope> {
  return waitFor(
    async () => {
      const answers = [
        ...(await eventsOfType(nc, env, 'intent.authenticated')),
        ...(await eventsOfType(nc, env, 'intent.resolved')),
      ];
      return answers.find((event) => event.intent_id === intentId);
    },
    { timeoutMs: 10_000 },
  );
}
