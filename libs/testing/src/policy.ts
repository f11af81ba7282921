import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { canonicalJson, nowMicros, POLICY_API, sha256, type PolicyApiOp } from '@warden/contracts';
import {
  latestKey,
  seedBuiltins as seedBuiltinTools,
  storedFromEvent,
  versionKey,
} from '@warden/policy';
import { ulid } from 'ulid';
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

/**
 * Writes a tool version into KV `tools` as the policy service's registry stores it
 * (`version.<name>.<n>` and `latest.<name>`), for tests and benches that run a tool executor
 * without the policy service. Throws when the declaration is not a valid one.
 */
export async function putRegisteredTool(
  tools: KV,
  declaration: Record<string, unknown>,
): Promise<void> {
  const name = String(declaration.name);
  const stored = storedFromEvent(
    { event_id: ulid(), occurred_at: nowMicros() },
    {
      name,
      version: Number(declaration.version),
      kind: declaration.kind === 'read' ? 'read' : 'write',
      by: 'human:tests',
      digest: sha256(canonicalJson(declaration)),
      declaration,
    },
  );
  if (stored === undefined) throw new Error(`${name}: not a valid tool declaration`);
  const json = JSON.stringify(stored);
  await tools.put(versionKey(stored.name, stored.version), json);
  await tools.put(latestKey(stored.name), json);
}
