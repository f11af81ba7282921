import { z } from 'zod';
import { AgentAttributes, Ed25519PublicJwk, HumanId, RoleName } from '../events/identity.js';
import { SubjectToken } from '../ids.js';
import { Timestamp } from '../time.js';
import { apiReply } from './reply.js';

/*
 * The identity broker's request/reply APIs: `warden.<env>.api.identity.<op>`, one op per entry of
 * IDENTITY_API. Admin ops need a human token with the `admin` role in the `Warden-Credential`
 * header of the request; `token`, `human-token` and `jwks` need none (they are how one gets a
 * token, and the public keys are public).
 */

/** The longest lifetime a token can be asked for, seconds. */
export const MAX_TOKEN_TTL_SECONDS = 3600;

const TtlSeconds = z.number().int().positive().max(MAX_TOKEN_TTL_SECONDS);

/**
 * An nkey user public key (`U` + 55 base32 characters). When a token request carries one and the
 * broker is configured for scoped NATS access, the reply carries a NATS user JWT for that key
 * with the agent's permissions and the token's expiry (the private seed never leaves the agent).
 */
export const NatsUserPublicKey = z
  .string()
  .regex(/^U[A-Z2-7]{55}$/, { error: 'must be an nkey user public key (U…, 56 characters)' });

/**
 * An nkey curve (xkey) public key (`X` + 55 base32 characters). An agent asking for its first
 * token over the shared bootstrap connection of a scoped deployment sends a one-time one, and the
 * broker seals the reply to it: other holders of the bootstrap credential can see the reply go by
 * on `_INBOX_bootstrap.>` but cannot open it (deploy/nats/README.md).
 */
export const XkeyPublicKey = z
  .string()
  .regex(/^X[A-Z2-7]{55}$/, { error: 'must be an nkey curve public key (X…, 56 characters)' });

/**
 * `token`: an agent proves who it is and gets a short-lived token. Either its client secret
 * (shown once at registration), or an assertion: a JWT it signed with its registered private key
 * (`alg` EdDSA, `iss` = `sub` = agent id, `aud` = `warden-identity-broker:<env>`, `jti`, `exp`
 * at most 5 minutes after `iat`; each assertion is accepted once).
 */
export const TokenRequest = z.discriminatedUnion('grant', [
  z.strictObject({
    grant: z.literal('client_secret'),
    agent_id: SubjectToken,
    client_secret: z.string().min(1).max(512),
    ttl_seconds: TtlSeconds.optional(),
    nats_public_key: NatsUserPublicKey.optional(),
    reply_xkey: XkeyPublicKey.optional(),
  }),
  z.strictObject({
    grant: z.literal('private_key_jwt'),
    assertion: z.string().min(1).max(8192),
    ttl_seconds: TtlSeconds.optional(),
    nats_public_key: NatsUserPublicKey.optional(),
    reply_xkey: XkeyPublicKey.optional(),
  }),
]);
export type TokenRequest = z.infer<typeof TokenRequest>;

/** What `token` and `human-token` answer with. Never logged or stored by anyone. */
export const TokenResult = z.strictObject({
  token: z.string().min(1),
  jti: z.string().min(1),
  expires_at: Timestamp,
  /** A NATS user JWT for the requested nkey, when scoped NATS access is configured. */
  nats_jwt: z.string().min(1).optional(),
});
export type TokenResult = z.infer<typeof TokenResult>;

/**
 * What `token` answers instead of a {@link TokenResult} when the request carried `reply_xkey`:
 * the JSON of the TokenResult sealed (nkeys `seal`, XSalsa20-Poly1305) from `sender_xkey` to the
 * requester's key, base64.
 */
export const SealedTokenResult = z.strictObject({
  sealed: z.string().min(1),
  sender_xkey: XkeyPublicKey,
});
export type SealedTokenResult = z.infer<typeof SealedTokenResult>;

/** The `token` op's result: plain, or sealed when the request asked for it. */
export const AgentTokenResult = z.union([TokenResult, SealedTokenResult]);
export const TokenReply = apiReply(AgentTokenResult);
export type TokenReply = z.infer<typeof TokenReply>;

/** `human-token`: a human logs in with the secret given at registration (the CLI's `warden login`). */
export const HumanTokenRequest = z.strictObject({
  human_id: HumanId,
  secret: z.string().min(1).max(512),
  ttl_seconds: TtlSeconds.optional(),
});
export type HumanTokenRequest = z.infer<typeof HumanTokenRequest>;

/** `jwks`: the broker's public signing keys (RFC 7517), current and not yet retired. */
export const JwksRequest = z.strictObject({});
export const JwksResult = z.strictObject({
  keys: z.array(Ed25519PublicJwk.extend({ kid: z.string().min(1), alg: z.literal('EdDSA') })),
});
export type JwksResult = z.infer<typeof JwksResult>;

/** An agent as the admin APIs show it: its attributes and status, never its verifier. */
export const AgentView = AgentAttributes.extend({
  agent_id: SubjectToken,
  status: z.enum(['active', 'suspended', 'retired']),
  authentication_method: z.enum(['client_secret', 'private_key_jwt']),
  registered_at: Timestamp,
  registered_by: z.string(),
  updated_at: Timestamp,
  /** Tokens issued before this instant are refused (an all-tokens revocation). */
  tokens_revoked_before: Timestamp.optional(),
});
export type AgentView = z.infer<typeof AgentView>;

/**
 * `agent-register`: a new agent. Without `public_jwk` the broker makes a client secret and
 * returns it in `client_secret`, once; with it, the agent authenticates with signed assertions.
 */
export const AgentRegisterRequest = AgentAttributes.extend({
  agent_id: SubjectToken,
  /** Defaults to the broker's env, and must equal it: a `staging` agent is not registered in `prod`. */
  environment: SubjectToken.optional(),
  public_jwk: Ed25519PublicJwk.optional(),
});
export type AgentRegisterRequest = z.input<typeof AgentRegisterRequest>;
export const AgentRegisterResult = z.strictObject({
  agent: AgentView,
  /** The client secret, shown this once and stored nowhere in clear. */
  client_secret: z.string().optional(),
});

export const AgentListRequest = z.strictObject({
  status: z.enum(['active', 'suspended', 'retired']).optional(),
});
export const AgentListResult = z.strictObject({ agents: z.array(AgentView) });

export const AgentShowRequest = z.strictObject({ agent_id: SubjectToken });
export const AgentResult = z.strictObject({ agent: AgentView });

/** `agent-suspend`, `agent-resume`, `agent-retire`. */
export const AgentStatusRequest = z.strictObject({
  agent_id: SubjectToken,
  reason: z.string().min(1).max(2048).optional(),
});

/** `revoke`: one token by `jti`, or every token of an agent issued until now. */
export const RevokeRequest = z.union([
  z.strictObject({ jti: z.string().min(1).max(128), reason: z.string().max(2048).optional() }),
  z.strictObject({
    agent_id: SubjectToken,
    all_tokens: z.literal(true),
    reason: z.string().max(2048).optional(),
  }),
]);
export const RevokeResult = z.strictObject({
  jti: z.string().optional(),
  agent_id: SubjectToken.optional(),
  issued_before: Timestamp.optional(),
});

/** A signing key as `key-list` shows it. */
export const SigningKeyView = z.strictObject({
  kid: z.string(),
  status: z.enum(['active', 'previous']),
  created_at: Timestamp,
  /** When a previous key leaves the JWKS. */
  retires_at: Timestamp.optional(),
});
export const KeyListRequest = z.strictObject({});
export const KeyListResult = z.strictObject({ keys: z.array(SigningKeyView) });
export const KeyRotateRequest = z.strictObject({ reason: z.string().max(2048).optional() });
export const KeyRotateResult = z.strictObject({
  kid: z.string(),
  previous_kid: z.string().optional(),
  previous_retires_at: Timestamp.optional(),
});

/** A human principal as the admin APIs show it. */
export const HumanView = z.strictObject({
  human_id: HumanId,
  roles: z.array(RoleName),
  status: z.enum(['active', 'disabled']),
  registered_at: Timestamp,
  updated_at: Timestamp,
});
export type HumanView = z.infer<typeof HumanView>;

/** `human-register`: a new human; the secret is returned once. */
export const HumanRegisterRequest = z.strictObject({
  human_id: HumanId,
  roles: z.array(RoleName).max(32).default([]),
});
export const HumanRegisterResult = z.strictObject({ human: HumanView, secret: z.string() });
export const HumanListRequest = z.strictObject({});
export const HumanListResult = z.strictObject({ humans: z.array(HumanView) });

/**
 * `human-introspect` (RFC 7662 in spirit): services other than the broker send the human token a
 * caller gave them, in the `Warden-Credential` header, and learn who it is and their roles as the
 * registry holds them now. A token that is invalid, expired, revoked or of a disabled human is
 * refused (`unauthenticated` / `forbidden`), never answered with a partial identity.
 */
export const HumanIntrospectRequest = z.strictObject({});
export const HumanIntrospectResult = z.strictObject({
  human_id: HumanId,
  roles: z.array(RoleName),
});
export type HumanIntrospectResult = z.infer<typeof HumanIntrospectResult>;

/** Every identity API op: its request and result schemas, and whether it needs an admin. */
export const IDENTITY_API = {
  token: { request: TokenRequest, result: AgentTokenResult, admin: false },
  'human-token': { request: HumanTokenRequest, result: TokenResult, admin: false },
  jwks: { request: JwksRequest, result: JwksResult, admin: false },
  'human-introspect': {
    request: HumanIntrospectRequest,
    result: HumanIntrospectResult,
    admin: false,
  },
  'agent-register': { request: AgentRegisterRequest, result: AgentRegisterResult, admin: true },
  'agent-list': { request: AgentListRequest, result: AgentListResult, admin: true },
  'agent-show': { request: AgentShowRequest, result: AgentResult, admin: true },
  'agent-suspend': { request: AgentStatusRequest, result: AgentResult, admin: true },
  'agent-resume': { request: AgentStatusRequest, result: AgentResult, admin: true },
  'agent-retire': { request: AgentStatusRequest, result: AgentResult, admin: true },
  revoke: { request: RevokeRequest, result: RevokeResult, admin: true },
  'key-list': { request: KeyListRequest, result: KeyListResult, admin: true },
  'key-rotate': { request: KeyRotateRequest, result: KeyRotateResult, admin: true },
  'human-register': { request: HumanRegisterRequest, result: HumanRegisterResult, admin: true },
  'human-list': { request: HumanListRequest, result: HumanListResult, admin: true },
} as const;
export type IdentityApiOp = keyof typeof IDENTITY_API;
