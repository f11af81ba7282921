import { generateKeyPairSync } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Ed25519PublicJwk } from '@warden/contracts';
import { connectNats, removeEnv } from '@warden/messaging';
import { Warden, type AgentCredential } from '@warden/sdk';
import type { RunningService } from '@warden/service';
import { eventsOfType, startNats, uniqueEnv, waitFor, type TestNats } from '@warden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, TestDirectory } from './credentials-harness.js';

/** The SDK's credential handling against the real broker (its credentials half). */
describe('@warden/sdk credentials against the identity broker', () => {
  const env = uniqueEnv('sdk-creds');
  const directory = new TestDirectory();
  const SECRET = 'wsec_sdk-credentials-test-secret';
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  let nats: TestNats;
  let nc: NatsConnection;
  let broker: RunningService;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ servers: nats.url, name: 'sdk-credentials-test' });
    await directory.addAgent('bot-secret', SECRET);
    await directory.addAgent('bot-suspended', SECRET);
    directory.setStatus('bot-suspended', 'suspended');
    directory.putAgent('bot-keyed', {
      method: 'private_key_jwt',
      public_jwk: publicKey.export({ format: 'jwk' }) as Ed25519PublicJwk,
    });
    broker = await startBroker(nats.url, env, directory);
  });

  afterAll(async () => {
    await broker.stop();
    await removeEnv(nc, env);
    await nc.close();
    await nats.stop();
  });

  const connect = (agentId: string, credential: AgentCredential) =>
    Warden.connect({ servers: nats.url, env, agentId, credential });

  it.each([
    ['a client secret', 'bot-secret', { clientSecret: SECRET }],
    ['a private key', 'bot-keyed', { privateKey }],
    ['a private JWK', 'bot-keyed', { privateKey: privateKey.export({ format: 'jwk' }) }],
  ] as [string, string, AgentCredential][])(
    'gets a token with %s, and its intents are authenticated',
    async (_, agentId, credential) => {
      const warden = await connect(agentId, credential);
      try {
        const run = await warden.startRun({});
        // Nothing after the identity stage runs here: the call times out once authenticated.
        const call = await run.call('echo', {}, { timeoutMs: 300 }).catch((e: unknown) => e);
        expect(call).toMatchObject({ name: 'CallTimeoutError' });
        const { intentId } = call as { intentId: string };
        const authenticated = await waitFor(async () =>
          (await eventsOfType(nc, env, 'intent.authenticated')).find(
            (e) => e.intent_id === intentId,
          ),
        );
        expect(authenticated).toMatchObject({ data: { principal: { agent_id: agentId } } });
      } finally {
        await warden.close();
      }
    },
  );

  it.each([
    ['a wrong secret', 'bot-secret', { clientSecret: 'wsec_wrong' }, 'invalid_client'],
    ['an unknown agent', 'nobody', { clientSecret: SECRET }, 'invalid_client'],
    [
      'another key',
      'bot-keyed',
      { privateKey: generateKeyPairSync('ed25519').privateKey },
      'invalid_client',
    ],
    ['a suspended agent', 'bot-suspended', { clientSecret: SECRET }, 'agent_suspended'],
  ] as [string, string, AgentCredential, string][])(
    'fails to connect with %s, with a code that says so',
    async (_, agentId, credential, code) => {
      const error = await connect(agentId, credential).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'WardenConnectionError', code });
      expect((error as Error).message).not.toContain(SECRET);
    },
  );
});
