import type { NatsConnection } from '@nats-io/transport-node';
import {
  AgentRegisterResult,
  HumanRegisterResult,
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

/** A fixed tool-executor master key for tests (seals `warden secrets`): never use it elsewhere. */
export const TEST_EXECUTOR_MASTER_KEY = Buffer.alloc(32, 9).toString('base64');

/**
 * The keys services under test need: the identity broker's master key and a known admin secret,
 * and the tool executor's master key.
 */
export function identityTestEnv(): Record<string, string> {
  return {
    IDENTITY_MASTER_KEY: TEST_IDENTITY_MASTER_KEY,
    IDENTITY_BOOTSTRAP_ADMIN_SECRET: TEST_ADMIN_SECRET,
    EXECUTOR_MASTER_KEY: TEST_EXECUTOR_MASTER_KEY,
  };
}

/** A refusal of an API op: its code and details, for tests that expect one. */
export class ApiRefusal extends Error {
  constructor(
    readonly op: string,
    readonly code: string,
    message: string,
    readonly details: readonly { path: string; message: string }[] = [],
  ) {
    super(`${op} refused: ${code}: ${message}`);
  }
}

/**
 * Calls one op of a service's request/reply API (`warden.<env>.api.<api>.<op>`) with an optional
 * human token, and returns its result; a refusal throws an {@link ApiRefusal}.
 */
export async function callApi<R extends z.ZodType>(
  nc: NatsConnection,
  env: string,
  api: string,
  op: string,
  body: unknown,
  result: R,
  token?: string,
): Promise<z.infer<R>> {
  const headers = natsHeaders();
  if (token !== undefined) headers.set(CREDENTIAL_HEADER, token);
  const message = await nc.request(subjects.api(env, api, op), JSON.stringify(body), {
    timeout: 10_000,
    headers,
  });
  const reply = apiReply(result).parse(message.json()) as
    | { ok: true; result: z.infer<R> }
    | {
        ok: false;
        error: { code: string; message: string; details?: { path: string; message: string }[] };
      };
  if (!reply.ok) {
    throw new ApiRefusal(
      `${api} ${op}`,
      reply.error.code,
      reply.error.message,
      reply.error.details,
    );
  }
  return reply.result;
}

const call = <R extends z.ZodType>(
  nc: NatsConnection,
  env: string,
  op: string,
  body: unknown,
  result: R,
  token?: string,
) => callApi(nc, env, 'identity', op, body, result, token);

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

/** Registers a human with `roles` (as the bootstrap admin) and returns a token of theirs. */
export async function humanWithToken(
  nc: NatsConnection,
  env: string,
  humanId: string,
  roles: readonly string[],
): Promise<string> {
  const admin = await adminToken(nc, env);
  const { secret } = await call(
    nc,
    env,
    'human-register',
    { human_id: humanId, roles },
    HumanRegisterResult,
    admin,
  );
  const result = await call(nc, env, 'human-token', { human_id: humanId, secret }, TokenResult);
  return result.token;
}
