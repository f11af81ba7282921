import { Module } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  apiReply,
  CREDENTIAL_HEADER,
  IDENTITY_API,
  subjects,
  type ApiError,
} from '@warden/contracts';
import { ApiFailure, headerOf } from '@warden/messaging';
import { runService, type RunningService } from '@warden/service';
import type { z } from 'zod';
import { ADMIN_AUTHORIZER, type AdminAuthorizer } from '../src/ports.js';
import { brokerPublisherProvider } from '../src/broker-publisher.js';
import { registryControllers, registryProviders } from '../src/registry/index.js';
import { service } from '../src/service.js';

/*
 * The registry half of the broker run on its own for its integration tests, with a stand-in for
 * the credentials half's admin authorizer: credential `admin:<human>` is an admin, `user:<human>`
 * a human without the role, anything else (or none) unauthenticated.
 */

/** The credential the stand-in authorizer accepts as admin `humanId`. */
export const adminCredential = (humanId = 'admin') => `admin:${humanId}`;

const testAuthorizer: AdminAuthorizer = {
  requireAdmin(headers) {
    const credential = headerOf(headers, CREDENTIAL_HEADER);
    const [kind, humanId] = credential?.split(':') ?? [];
    if (kind === 'admin' && humanId)
      return Promise.resolve({ human_id: humanId, roles: ['admin'] });
    if (kind === 'user') return Promise.reject(new ApiFailure('forbidden', 'not an admin'));
    return Promise.reject(new ApiFailure('unauthenticated', 'log in first'));
  },
  requireHuman() {
    return Promise.reject(new Error('the registry never asks for a plain human'));
  },
};

@Module({
  controllers: registryControllers,
  providers: [
    brokerPublisherProvider,
    ...registryProviders,
    { provide: ADMIN_AUTHORIZER, useValue: testAuthorizer },
  ],
})
class RegistryTestModule {}

/** Starts one registry replica for `env`. */
export function startRegistry(
  natsUrl: string,
  env: string,
  extra: Record<string, string> = {},
): Promise<RunningService> {
  return runService({
    name: 'identity-broker',
    version: '0.0.0-test',
    module: RegistryTestModule,
    config: service.config({
      WARDEN_ENV: env,
      NATS_URL: natsUrl,
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      IDENTITY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      ...extra,
    }),
    events: {},
    shutdown: false,
    telemetry: false,
  });
}

type Op = keyof typeof IDENTITY_API;
export type Reply<O extends Op> =
  | { ok: true; result: z.output<(typeof IDENTITY_API)[O]['result']> }
  | { ok: false; error: ApiError };

/** Calls one identity op as `credential` (default: admin `admin`) and returns the raw reply. */
export async function callIdentity<O extends Op>(
  nc: NatsConnection,
  env: string,
  op: O,
  body: unknown,
  credential: string | null = adminCredential(),
): Promise<Reply<O>> {
  const headers = natsHeaders();
  if (credential !== null) headers.set(CREDENTIAL_HEADER, credential);
  const message = await nc.request(subjects.api(env, 'identity', op), JSON.stringify(body), {
    timeout: 10_000,
    headers,
  });
  return apiReply(IDENTITY_API[op].result).parse(message.json()) as Reply<O>;
}

/** Like {@link callIdentity}, for calls that must succeed. */
export async function ok<O extends Op>(
  nc: NatsConnection,
  env: string,
  op: O,
  body: unknown,
): Promise<z.output<(typeof IDENTITY_API)[O]['result']>> {
  const reply = await callIdentity(nc, env, op, body);
  if (!reply.ok) throw new Error(`${op} refused: ${reply.error.code}: ${reply.error.message}`);
  return reply.result;
}
