import {
  formatMicros,
  type HumanTokenRequest,
  type SealedTokenResult,
  type TokenRequest,
  type TokenResult,
} from '@warden/contracts';
import { ApiFailure } from '@warden/messaging';
import { AGENT_NATS_JWT_MAX_TTL_SECONDS, BOOTSTRAP_INBOX_PREFIX } from '@warden/nats-auth';
import type { Logger } from '@warden/telemetry';
import { ulid } from 'ulid';
import type { AgentDirectory, AgentRecord, HumanDirectory } from '../ports.js';
import {
  AGENT_SCOPE,
  AGENT_TOKEN_TYPE,
  HUMAN_TOKEN_TYPE,
  signToken,
} from '../domain/agent-token.js';
import { AssertionError, claimedAgent, verifyClientAssertion } from '../domain/client-assertion.js';
import { issuedAtAfter, type RevocationList } from '../domain/revocation-list.js';
import { generateSigningKey, type SigningKey } from '../domain/signing-key.js';
import { verifySecret } from '../domain/secret-verifier.js';
import type { KvAssertionReplay } from './assertion-replay.kv.js';
import type { CredentialEvents } from './credential-events.js';
import { hasValidChecksum, type NatsCredentials } from './nats-credentials.js';
import type { ReplySealer } from './reply-sealer.js';
import type { CredentialSettings } from './settings.js';

/** What a human token lets a human do: call the APIs their roles allow. */
const HUMAN_SCOPE = ['api'] as const;

/**
 * One answer for an unknown principal and a wrong secret or signature, so the token API does not
 * tell who exists (the time is the same too: see verifySecret's dummy hash).
 */
const INVALID_AGENT = 'unknown agent, or a wrong client secret or assertion';
const INVALID_HUMAN = 'unknown human, or a wrong secret';

/** What {@link IssueToken} needs. */
export interface IssueTokenDeps {
  readonly settings: CredentialSettings;
  readonly signingKey: () => SigningKey;
  readonly agents: AgentDirectory;
  readonly humans: HumanDirectory;
  readonly replay: Pick<KvAssertionReplay, 'firstUse'>;
  readonly revocations: RevocationList;
  readonly events: Pick<CredentialEvents, 'issued'>;
  readonly logger: Logger;
  /**
   * Mints agents' NATS user JWTs (scoped transport); unset when the broker has no account
   * signing key, and then a request with `nats_public_key` is refused.
   */
  readonly natsCredentials?: Pick<NatsCredentials, 'mint'>;
  /** Seals replies to a requester's `reply_xkey`. */
  readonly sealer: Pick<ReplySealer, 'seal'>;
  readonly clock?: () => number;
}

/**
 * The token API's use case (`token`, `human-token`): a principal proves who it is and gets a
 * short-lived token. `credential.issued` is stored in the log before the token is returned, so
 * every token in circulation is on the record. An agent may also get a NATS user JWT bound to an
 * nkey it holds (`nats_public_key`), and its reply sealed to a curve key (`reply_xkey`).
 */
export class IssueToken {
  private readonly clock: () => number;
  /** A key no agent has: an assertion of an unknown agent is verified against it, for the time. */
  private readonly decoy = generateSigningKey().publicJwk;

  constructor(private readonly deps: IssueTokenDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /**
   * `token`: an agent token for a client secret or a signed assertion; with `nats_public_key`, a
   * NATS user JWT with it (expiring with the token, or within 5 minutes if sooner); with
   * `reply_xkey`, all of it sealed to that key. `replySubject` is where the answer goes: a request
   * answered into the shared bootstrap inbox must ask for sealing.
   */
  async agentToken(
    request: TokenRequest,
    replySubject?: string,
  ): Promise<TokenResult | SealedTokenResult> {
    // Every holder of the bootstrap credential may subscribe to `_INBOX_bootstrap.>`: a reply in
    // clear there hands the token (and NATS JWT) to all of them. Refused before anything else,
    // the secret check included, so no request over that inbox is ever answered with a token in
    // clear, whatever the client does.
    if (
      replySubject?.startsWith(`${BOOTSTRAP_INBOX_PREFIX}.`) === true &&
      request.reply_xkey === undefined
    ) {
      throw new ApiFailure(
        'sealing_required',
        `this request's reply goes to the shared bootstrap inbox (${BOOTSTRAP_INBOX_PREFIX}.>), which every agent host can read: send reply_xkey (a one-time curve public key, X…) so the reply is sealed to it`,
      );
    }
    const natsUser = request.nats_public_key;
    // Refused before the secret is checked: it depends only on this broker's configuration, and
    // answering a token without the credential asked for would leave the agent unable to connect
    // with no hint why.
    if (natsUser !== undefined && this.deps.natsCredentials === undefined) {
      throw new ApiFailure(
        'nats_credentials_unavailable',
        'this broker issues no NATS credentials (IDENTITY_NATS_ACCOUNT_SIGNING_SEED is not set): ask without nats_public_key, or configure scoped NATS access',
      );
    }
    for (const [field, key] of [
      ['nats_public_key', natsUser],
      ['reply_xkey', request.reply_xkey],
    ] as const) {
      if (key !== undefined && !hasValidChecksum(key)) {
        throw new ApiFailure('invalid_request', `${field}: not a valid nkey (bad checksum)`);
      }
    }
    const agent =
      request.grant === 'client_secret'
        ? await this.bySecret(request.agent_id, request.client_secret)
        : await this.byAssertion(request.assertion);
    switch (agent.status) {
      case 'active':
        break;
      case 'suspended':
        throw new ApiFailure('agent_suspended', `agent ${agent.agent_id} is suspended`);
      case 'retired':
        throw new ApiFailure('agent_retired', `agent ${agent.agent_id} is retired`);
    }
    const result = await this.mint({
      typ: AGENT_TOKEN_TYPE,
      principal: { kind: 'agent', agentId: agent.agent_id },
      method: request.grant,
      scope: AGENT_SCOPE,
      ttlSeconds: request.ttl_seconds ?? this.deps.settings.agentTokenTtlSeconds,
      revokedBeforeMs: this.deps.revocations.revokedBefore(agent.agent_id),
      ...(natsUser === undefined ? {} : { natsUser }),
    });
    return request.reply_xkey === undefined
      ? result
      : this.deps.sealer.seal(result, request.reply_xkey);
  }

  /** `human-token`: a human token (the CLI's login) for the human's secret. */
  async humanToken(request: HumanTokenRequest): Promise<TokenResult> {
    const human = await this.deps.humans.load(request.human_id);
    const verifier =
      human?.authentication.method === 'client_secret' ? human.authentication.verifier : undefined;
    if (!(await verifySecret(request.secret, verifier)) || human === undefined) {
      throw new ApiFailure('invalid_client', INVALID_HUMAN);
    }
    if (human.status !== 'active') {
      throw new ApiFailure('human_disabled', `human ${human.human_id} is disabled`);
    }
    return this.mint({
      typ: HUMAN_TOKEN_TYPE,
      principal: { kind: 'human', humanId: human.human_id },
      method: 'client_secret',
      scope: HUMAN_SCOPE,
      roles: human.roles,
      ttlSeconds: request.ttl_seconds ?? this.deps.settings.humanTokenTtlSeconds,
      revokedBeforeMs: undefined,
    });
  }

  private async bySecret(agentId: string, secret: string): Promise<AgentRecord> {
    const agent = await this.deps.agents.load(agentId);
    // Unknown agent, or one that signs assertions: verified against the dummy verifier, so every
    // refusal costs one scrypt.
    const verifier =
      agent?.authentication.method === 'client_secret' ? agent.authentication.verifier : undefined;
    if (!(await verifySecret(secret, verifier)) || agent === undefined) {
      throw new ApiFailure('invalid_client', INVALID_AGENT);
    }
    return agent;
  }

  private async byAssertion(assertion: string): Promise<AgentRecord> {
    const agentId = claimedAgent(assertion);
    const agent = agentId === undefined ? undefined : await this.deps.agents.load(agentId);
    const jwk =
      agent?.authentication.method === 'private_key_jwt'
        ? agent.authentication.public_jwk
        : this.decoy;
    const { env } = this.deps.settings;
    let jti: string;
    try {
      ({ jti } = await verifyClientAssertion(assertion, jwk, {
        agentId: agentId ?? '_',
        env,
        currentDate: new Date(this.clock()),
      }));
    } catch (error) {
      const said =
        error instanceof AssertionError && error.signatureVerified && agent !== undefined;
      throw new ApiFailure('invalid_client', said ? error.message : INVALID_AGENT);
    }
    if (agent === undefined || jwk === this.decoy) {
      throw new ApiFailure('invalid_client', INVALID_AGENT);
    }
    if (!(await this.deps.replay.firstUse(agent.agent_id, jti))) {
      throw new ApiFailure(
        'invalid_grant',
        'this assertion was used already: sign a new one, with a new jti, for each token request',
      );
    }
    return agent;
  }

  private async mint(request: {
    typ: typeof AGENT_TOKEN_TYPE | typeof HUMAN_TOKEN_TYPE;
    principal: { kind: 'agent'; agentId: string } | { kind: 'human'; humanId: string };
    method: 'client_secret' | 'private_key_jwt';
    scope: readonly string[];
    roles?: readonly string[];
    ttlSeconds: number;
    revokedBeforeMs: number | undefined;
    /** An agent's nkey public key: mint its NATS user JWT too. */
    natsUser?: string;
  }): Promise<TokenResult> {
    const key = this.deps.signingKey();
    const jti = ulid();
    const iat = issuedAtAfter(this.clock(), request.revokedBeforeMs);
    const { principal } = request;
    const { token, exp } = await signToken(key, {
      typ: request.typ,
      subject: principal.kind === 'agent' ? principal.agentId : principal.humanId,
      env: this.deps.settings.env,
      jti,
      scope: request.scope,
      ...(request.roles === undefined ? {} : { roles: request.roles }),
      iat,
      ttlSeconds: request.ttlSeconds,
    });
    const natsJwt = await this.natsJwt(principal, request.natsUser, exp);
    // On the record before it leaves: a token whose issuance was not stored is never handed out.
    await this.deps.events.issued({
      jti,
      kid: key.kid,
      principal,
      method: request.method,
      iat,
      exp,
      scope: request.scope,
      ...(natsJwt === undefined ? {} : { natsUser: request.natsUser }),
    });
    const expiresAt = formatMicros(exp * 1_000_000);
    // Never the token, nor the NATS JWT: either lets its holder act as the agent.
    this.deps.logger.info(
      {
        principal_kind: principal.kind,
        jti,
        kid: key.kid,
        expires_at: expiresAt,
        nats_credential: natsJwt !== undefined,
      },
      'token issued',
    );
    return {
      token,
      jti,
      expires_at: expiresAt,
      ...(natsJwt === undefined ? {} : { nats_jwt: natsJwt }),
    };
  }

  /**
   * The NATS user JWT of an agent token asked with `nats_public_key`: it ends with the token, or
   * {@link AGENT_NATS_JWT_MAX_TTL_SECONDS} from now if that is sooner. The server disconnects the
   * agent at its expiry, and a suspended, retired or revoked agent gets no successor: the cap
   * bounds how long such an agent keeps its NATS access (its intents are refused at once). The
   * agent's permissions come from the signing key's template.
   */
  private async natsJwt(
    principal: { kind: 'agent'; agentId: string } | { kind: 'human'; humanId: string },
    natsUser: string | undefined,
    exp: number,
  ): Promise<string | undefined> {
    if (natsUser === undefined || principal.kind !== 'agent') return undefined;
    const minter = this.deps.natsCredentials;
    // agentToken refuses such a request up front; this guards a future caller.
    if (minter === undefined) {
      throw new ApiFailure(
        'nats_credentials_unavailable',
        'this broker issues no NATS credentials',
      );
    }
    const capSeconds = Math.floor(this.clock() / 1000) + AGENT_NATS_JWT_MAX_TTL_SECONDS;
    return minter.mint(principal.agentId, natsUser, new Date(Math.min(exp, capSeconds) * 1000));
  }
}
