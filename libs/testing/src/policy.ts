import type { NatsConnection } from '@nats-io/transport-node';
import { POLICY_API, type PolicyApiOp } from '@warden/contracts';
import { BUILTIN_POLICY_FILES, builtinToolSources, shippedSchemaText } from '@warden/policy';
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
 * What tests, the bench and the demo need to call the built-in tools through the whole mesh:
 * their declarations registered and, when no policy version is active yet, the built-in policy
 * set (every built-in but `fail`) published. Idempotent. Needs the identity broker started with
 * `identityTestEnv()` (the bootstrap admin) and the policy decision service.
 */
export async function seedBuiltins(nc: NatsConnection, env: string): Promise<void> {
  const token = await adminToken(nc, env);
  for (const { file, source } of builtinToolSources()) {
    await callPolicy(nc, env, 'tool-register', { source, file }, token);
  }
  const { active } = await callPolicy(nc, env, 'policy-list', {}, token);
  if (active > 0) return;
  await callPolicy(
    nc,
    env,
    'policy-publish',
    {
      schema: shippedSchemaText(),
      files: [...BUILTIN_POLICY_FILES],
      message: 'built-in tools for tests',
    },
    token,
  );
}
