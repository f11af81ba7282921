import type { NatsConnection } from '@nats-io/transport-node';
import {
  AgentRegisterResult,
  apiReply,
  CREDENTIAL_HEADER,
  subjects,
  TokenResult,
  type AgentRegisterRequest,
} from '@warden/contracts';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { z } from 'zod';

/** A fixed identity-broker master key for tests (32 bytes, base64): never use it anywhere else. */
export const TEST_IDENTITY_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');
/** The bootstrap admin's secret in tests. */
export const TEST_ADMIN_SECRET = 'test-bootstrap-admin-secret-not-for-production';

/** The environment an identity broker under test needs: its master key and a known admin secret. */
export function identityTestEnv(): Record<string, string> {
  return {
    IDENTITY_MASTER_KEY: TEST_IDENTITY_MASTER_KEY,
    IDENTITY_BOOTSTRAP_ADMIN_SECRET: TEST_ADMIN_SECRET,
  };
}

async function call<R extends z.ZodType>(
  nc: NatsConnection,
  env: string,
  op: string,
  body: unknown,
  result: R,
  token?: string,
): Promise<z.infer<R>> {
  const headers = natsHeaders();
  if (token !== undefined) headers.set(CREDENTIAL_HEADER, token);
  const message = await nc.request(subjects.api(env, 'identity', op), JSON.stringify(body), {
    timeout: 10_000,
    headers,
  });
  const reply = apiReply(result).parse(message.json()) as
    { ok: true; result: z.infer<R> } | { ok: false; error: { code: string; message: string } };
  if (!reply.ok)
    throw new Error(`identity ${op} refused: ${reply.error.code}: ${reply.error.message}`);
  return reply.result;
}

/** A human token for the bootstrap admin (the broker must have started with {@link identityTestEnv}). */
export async function adminToken(nc: NatsConnection, env: string): Promise<string> {
  const result = await call(
    nc,
    env,
    'human-token',
    { human_id: 'admin', secret: TEST_ADMIN_SECRET },
    TokenResult,
  );
  return result.token;
}

/**
 * Registers agents through the broker's admin API and returns each one's client secret.
 * Defaults: owner `admin`, domain `test`, environment = `env`.
 */
export async function registerAgents(
  nc: NatsConnection,
  env: string,
  agentIds: readonly string[],
  attributes: Partial<AgentRegisterRequest> = {},
): Promise<Map<string, string>> {
  const token = await adminToken(nc, env);
  const secrets = new Map<string, string>();
  for (const agentId of agentIds) {
    const result = await call(
      nc,
      env,
      'agent-register',
      { owner: 'admin', domains: ['test'], environment: env, ...attributes, agent_id: agentId },
      AgentRegisterResult,
      token,
    );
    if (result.client_secret === undefined) throw new Error(`no client secret for ${agentId}`);
    secrets.set(agentId, result.client_secret);
  }
  return secrets;
}
