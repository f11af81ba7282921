import { createCurve } from '@nats-io/nkeys';
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
import { mintAgentUserJwt } from '@warden/nats-auth';
import { sleep } from '@warden/testing';

/** The client secret the fake token API accepts from any agent. */
export const FAKE_CLIENT_SECRET = 'wsec_fake-mesh-secret';

/** Options of {@link startFakeMesh}. */
export interface FakeMeshOptions {
  /** Lifetime of the tokens issued to an agent. Default 5 minutes. */
  tokenTtlMs?: (agentId: string) => number;
  /**
   * The service whose durable answers intents (under scoped access, one allowed to consume
   * `intent.proposed` and publish `intent.resolved`: `identity-broker`). Default `fake-mesh`.
   */
  service?: string;
  /**
   * Scoped access: mint a NATS user JWT for the `nats_public_key` of a token request (expiring
   * with the token), as the identity broker does with its account signing key.
   */
  nats?: { accountSigningSeed: string; accountPublicKey: string };
}

/** One token request the fake broker answered. */
export interface TokenRequestSeen {
  readonly agentId: string;
  /** It sent `reply_xkey`, and got its reply sealed. */
  readonly sealed: boolean;
  readonly natsPublicKey: string | undefined;
  /** The inbox the reply went to (tells the bootstrap user's from the agent's own). */
  readonly replyTo: string | undefined;
}

/** The services played by a test: a token API and one handler that answers every intent. */
export interface FakeMesh {
  /** The credential header each proposal arrived with, by intent id (the last delivery's). */
  readonly credentials: ReadonlyMap<string, string | undefined>;
  /** How many times each intent was handled (redeliveries included). */
  readonly handled: ReadonlyMap<string, number>;
  /** Tokens issued so far. */
  readonly tokensIssued: () => number;
  /** Every token request answered with a token, in order. */
  readonly tokenRequests: readonly TokenRequestSeen[];
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

  const tokenRequests: TokenRequestSeen[] = [];
  const brokerXkey = createCurve();

  const issue = async (
    agentId: string,
    request: TokenRequest,
    replyTo: string | undefined,
  ): Promise<string> => {
    const ttlMs = options.tokenTtlMs?.(agentId) ?? 300_000;
    const expiresAt = new Date(Date.now() + ttlMs);
    const n = ++issued;
    const natsJwt =
      options.nats !== undefined && request.nats_public_key !== undefined
        ? await mintAgentUserJwt({
            ...options.nats,
            env,
            agentId,
            userPublicKey: request.nats_public_key,
            expiresAt,
          })
        : undefined;
    const result = {
      token: `t-${agentId}-${n}`,
      jti: `jti-${n}`,
      expires_at: formatMicros(expiresAt.getTime() * 1000),
      ...(natsJwt === undefined ? {} : { nats_jwt: natsJwt }),
    };
    tokenRequests.push({
      agentId,
      sealed: request.reply_xkey !== undefined,
      natsPublicKey: request.nats_public_key,
      replyTo,
    });
    if (request.reply_xkey === undefined) return JSON.stringify({ ok: true, result });
    // What the broker does for a request over the shared bootstrap inbox: seal the reply to the
    // requester's one-time key.
    const sealed = brokerXkey.seal(
      new TextEncoder().encode(JSON.stringify(result)),
      request.reply_xkey,
    );
    return JSON.stringify({
      ok: true,
      result: {
        sealed: Buffer.from(sealed).toString('base64'),
        sender_xkey: brokerXkey.getPublicKey(),
      },
    });
  };

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
      if (!request.success || agentId === undefined) {
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
      void issue(agentId, request.data, message.reply).then((reply) => message.respond(reply));
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
    service: options.service ?? 'fake-mesh',
    eventType: 'intent.proposed',
    handle: answer,
  });

  return {
    credentials,
    handled,
    tokensIssued: () => issued,
    tokenRequests,
    async stop() {
      tokenApi.unsubscribe();
      await mesh.stop();
    },
  };
}

/** The cost governor's model calls, played by a test: routing and booking without prices. */
export interface FakeGovernor {
  stop(): Promise<void>;
}

/**
 * Answers `model.requested` with `model.routed` (`fake-model`, 1 µUSD per estimated token), or,
 * for task class `unaffordable`, `intent.resolved{denied, stage: budget, reason:
 * budget_exhausted}`; and books `model.usage` as `budget.settled` (1 µUSD per token used). Runs
 * as `service` (under scoped access: `cost-governor`, the one user allowed to publish these).
 */
export async function startFakeGovernor(
  nc: NatsConnection,
  env: string,
  service = 'fake-governor',
): Promise<FakeGovernor> {
  const routing = await consumeEvents(nc, {
    env,
    service,
    eventType: 'model.requested',
    handle: async (event: Envelope<'model.requested'>, ctx: EventContext) => {
      const { task_class: taskClass, estimated_tokens: tokens } = event.data;
      await ctx.publish(
        taskClass === 'unaffordable'
          ? buildEvent({
              type: 'intent.resolved',
              cause: event,
              producer: ctx.producer,
              data: {
                status: 'denied',
                stage: 'budget',
                reason: 'budget_exhausted',
                message: 'no model fits',
              },
            })
          : buildEvent({
              type: 'model.routed',
              cause: event,
              producer: ctx.producer,
              data: {
                task_class: taskClass,
                model: 'fake-model',
                estimated_micro_usd: tokens,
                max_output_tokens: 256,
                tier: 1,
                reason: 'preferred',
              },
            }),
      );
      return Outcome.processed;
    },
  });
  const booking = await consumeEvents(nc, {
    env,
    service,
    eventType: 'model.usage',
    handle: async (event: Envelope<'model.usage'>, ctx: EventContext) => {
      const cost = event.data.input_tokens + event.data.output_tokens;
      await ctx.publish(
        buildEvent({
          type: 'budget.settled',
          cause: event,
          producer: ctx.producer,
          data: { cost_micro_usd: cost, released_micro_usd: 0 },
        }),
      );
      return Outcome.processed;
    },
  });
  return {
    async stop() {
      await routing.stop();
      await booking.stop();
    },
  };
}
