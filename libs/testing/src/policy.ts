import type { NatsConnection } from '@nats-io/transport-node';
import { POLICY_API, type PolicyApiOp } from '@warden/contracts';
import { seedBuiltins as seedBuiltinTools } from '@warden/policy';
import type { z } from 'zod';
import { adminToken, callApi } from './identity.js';

/** Calls one policy API op (`warden.<env>.api.policy.<op>`) with a human token. */
export function callPolicy<O extends PolicyApiOp>(
  nc: NatsConnection,
  env: string,
  op: O,
  body: z.input<(typeof POLICY_API)[O]['request']>,
  token: string,
): Promise<z.output<(typeof POLICY_API)[O]['result']>> {
  return callApi(nc, env, 'policy', op, body, POLICY_API[op].result, token) as Promise<
    z.output<(typeof POLICY_API)[O]['result']>
  >;
}

/**
 * Registers the built-in tools and, when no policy version is active, publishes the built-in
 * policy (`seedBuiltins` of @warden/policy), as the bootstrap admin. Needs the identity broker
 * started with `identityTestEnv()` and the policy decision service.
 */
export async function seedBuiltins(nc: NatsConnection, env: string): Promise<void> {
  const token = await adminToken(nc, env);
  await seedBuiltinTools(
    (op, body) => callPolicy(nc, env, op, body, token),
    'built-in tools for tests',
  );
}
