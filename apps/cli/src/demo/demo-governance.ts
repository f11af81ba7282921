import type { NatsConnection } from '@nats-io/transport-node';
import { CREDENTIAL_HEADER, POLICY_API, subjects, type PolicyApiOp } from '@warden/contracts';
import { seedBuiltins } from '@warden/policy';
import type { z } from 'zod';
import { callApi } from '../nats-client.js';
import { adminToken } from './demo-identity.js';

/**
 * What the demo agent needs to be governed: the built-in tools registered and, when no policy
 * version is active yet, the built-in policy set (every built-in but `fail`) published. Idempotent:
 * a registered version is a no-op, and an env with its own policies keeps them.
 */
export async function ensureDemoGovernance(
  nc: NatsConnection,
  options: { env: string; stateDir: string },
): Promise<void> {
  const token = await adminToken(nc, options);
  const call = <O extends PolicyApiOp>(
    op: O,
    body: z.input<(typeof POLICY_API)[O]['request']>,
  ): Promise<z.output<(typeof POLICY_API)[O]['result']>> =>
    callApi(nc, subjects.api(options.env, 'policy', op), body, POLICY_API[op].result, {
      service: 'policy decision service',
      env: options.env,
      headers: { [CREDENTIAL_HEADER]: token },
    }) as Promise<z.output<(typeof POLICY_API)[O]['result']>>;
  await seedBuiltins(call, 'built-in tools for the demo agent');
}
