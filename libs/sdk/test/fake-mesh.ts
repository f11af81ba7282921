import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  buildEvent,
  CREDENTIAL_HEADER,
  formatMicros,
  subjects,
  TokenRequest,
  type Envelope,
} from '@warden/contracts';
import { decodeJwt } from 'jose';
import { consumeEvents, Outcome, type EventContext } from '@warden/messaging';
import { sleep } from '@warden/testing';

/** The client secret the fake token API accepts from any agent. */
export const FAKE_CLIENT_SECRET = 'wsec_fake-mesh-secret';

/** Options of {@link startFakeMesh}. */
export interface FakeMeshOptions {
  /** Lifetime of the tokens issued to an agent. Default 5 minutes. */
  tokenTtlMs?: (agentId: string) => number;
}

/** The services played by a test: a token API and one handler that answers every intent. */
export interface FakeMesh {
  /** The credential header each proposal arrived with, by intent id (the last delivery's). */
  readonly credentials: ReadonlyMap<string, string | undefined>;
  /** How many times each intent was handled (redeliveries included). */
  readonly handled: ReadonlyMap<string, number>;
  /** Tokens issued so far. */
  readonly tokensIssued: () => number;
  stop(): Promise<void>;
}

type Resolution = Envelope<'intent.resolved'>['data'];

/**
 * What the fake mesh answers, by tool: `echo` runs (output = args), `slow` runs after 500 ms,
 * `fail` is denied by a policy, `reject.me` is rejected as invalid, `never` gets no answer, any
 * other tool fails at the executor. A proposal without a credential is rejected by "identity".
 */
function resolve(event: Envelope<'intent.proposed'>, credential: string | undefined): Resolution {
  const { tool, args } = event.data;
  if (!credential) {
    return { status: 'rejected', stage: 'identity', tool, reason: 'missing_credential' };
  }
  switch (tool) {
    case 'echo':
    case 'slow':
      return { status: 'executed', stage: 'executor', tool, output: args, duration_ms: 1 };
    case 'fail':
      return {
        status: 'denied',
        stage: 'policy',
        tool,
        reason: 'not_allowed',
        policy_ids: ['deny-fail'],
      };
    case 'reject.me':
      return {
        status: 'rejected',
        stage: 'validation',
        tool,
        reason: 'invalid_args',
        details: [{ path: 'ticket', message: 'required' }],
      };
    default:
      return { status: 'failed', stage: 'executor', tool, reason: 'unknown_tool' };
  }
}

/** Starts the fake services on `nc` for `env` (which must be provisioned). */
export async function startFakeMesh(
  nc: NatsConnection,
  env: string,
  options: FakeMeshOptions = {},
): Promise<FakeMesh> {
  const credentials = new Map<string, string | undefined>();
  const handled = new Map<string, number>();
  let issued = 0;

  const tokenApi: Subscription = nc.subscribe(subjects.api(env, 'identity', 'token'), {
    callback: (error, message) => {
      if (error) return;
      const request = TokenRequest.safeParse(message.json());
      // The fake broker knows every agent, with the secret FAKE_CLIENT_SECRET; an assertion is
      // taken at its word (the real checks are the identity broker's tests).
      const agentId = !request.success
        ? undefined
        : request.data.grant === 'client_secret'
          ? request.data.client_secret === FAKE_CLIENT_SECRET
            ? request.data.agent_id
            : undefined
          : decodeJwt(request.data.assertion).sub;
      if (agentId === undefined) {
        message.respond(
          JSON.stringify({
            ok: false,
            error: {
              code: 'invalid_client',
              message: 'unknown agent, or a wrong client secret or assertion',
            },
          }),
        );
        return;
      }
      const ttlMs = options.tokenTtlMs?.(agentId) ?? 300_000;
      issued++;
      message.respond(
        JSON.stringify({
          ok: true,
          result: {
            token: `t-${agentId}-${issued}`,
            jti: `jti-${issued}`,
            expires_at: formatMicros((Date.now() + ttlMs) * 1000),
          },
        }),
      );
    },
  });

  const answer = async (
    event: Envelope<'intent.proposed'>,
    ctx: EventContext,
  ): Promise<Outcome> => {
    const intentId = event.intent_id ?? event.event_id;
    const credential = ctx.headers[CREDENTIAL_HEADER];
    credentials.set(intentId, credential);
    handled.set(intentId, (handled.get(intentId) ?? 0) + 1);
    if (event.data.tool === 'never') return Outcome.processed;
    if (event.data.tool === 'slow') await sleep(500);
    await ctx.publish(
      buildEvent({
        type: 'intent.resolved',
        cause: event,
        producer: ctx.producer,
        data: resolve(event, credential),
      }),
    );
    return Outcome.processed;
  };
  const mesh = await consumeEvents(nc, {
    env,
    service: 'fake-mesh',
    eventType: 'intent.proposed',
    handle: answer,
  });

  return {
    credentials,
    handled,
    tokensIssued: () => issued,
    async stop() {
      tokenApi.unsubscribe();
      await mesh.stop();
    },
  };
}
