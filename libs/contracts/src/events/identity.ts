import { z } from 'zod';
import { Actor, MicroUsd, SubjectToken, Timestamp } from './common.js';

/**
 * A human principal's id (`alice`, `oncall-bot-owner`): a subject token, so it can name a KV key
 * and appear in an approval subject later.
 */
export const HumanId = SubjectToken;

/** A role or group of humans (`admin`, `support-leads`). */
export const RoleName = SubjectToken;

/** The role that may call the identity broker's admin APIs (and, later, every admin API). */
export const ADMIN_ROLE = 'admin';

/** An Ed25519 public key as a JWK (RFC 8037): the only key type agents register. */
export const Ed25519PublicJwk = z.strictObject({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  /** The 32-byte public key, base64url without padding. */
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, { error: 'must be a 32-byte Ed25519 key, base64url' }),
  kid: z.string().min(1).max(128).optional(),
});
export type Ed25519PublicJwk = z.infer<typeof Ed25519PublicJwk>;

/**
 * How a principal proves who it is to the token API, as the log records it. Never the secret: a
 * client secret is recorded only as its slow-hash verifier (scrypt, PHC string format with salt
 * and cost parameters), so the registry can be rebuilt from the log and nobody can read the
 * secret back. Client secrets are 256-bit random values, so the verifier resists offline guessing.
 */
export const AuthenticationMethod = z.discriminatedUnion('method', [
  z.strictObject({
    method: z.literal('client_secret'),
    /** `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt base64>$<hash base64>`. */
    verifier: z.string().startsWith('$scrypt$').max(512),
  }),
  z.strictObject({
    /** The agent signs a short assertion with its private key, which never leaves it (RFC 7523). */
    method: z.literal('private_key_jwt'),
    public_jwk: Ed25519PublicJwk,
  }),
]);
export type AuthenticationMethod = z.infer<typeof AuthenticationMethod>;

/** The attributes of an agent that policies and budgets read (DESIGN §6). */
export const AgentAttributes = z.strictObject({
  /** The human accountable for the agent. */
  owner: HumanId,
  /** Business domains it works in (`support`, `billing`). */
  domains: z.array(SubjectToken).min(1).max(32),
  /** The env it may act in: one deployment serves one env. */
  environment: SubjectToken,
  risk_tier: z.enum(['low', 'medium', 'high']).default('medium'),
  /** Its default run budget, when budgets configure none. */
  default_budget_micro_usd: MicroUsd.optional(),
  /** Tool groups it may use, as an attribute for policies (`helpdesk.read`). */
  tool_groups: z.array(z.string().min(1).max(128)).max(64).optional(),
});
export type AgentAttributes = z.infer<typeof AgentAttributes>;

/** `agent.registered`: a non-human identity was created (its id is the envelope's `agent_id`). */
export const AgentRegistered = AgentAttributes.extend({
  authentication: AuthenticationMethod,
  by: Actor,
});

/** `agent.suspended` / `agent.resumed` / `agent.retired`: an agent's lifecycle changed. */
export const AgentStatusChanged = z.strictObject({
  by: Actor,
  reason: z.string().max(2048).optional(),
});

/** Who a token was issued to: an agent (for intents) or a human (for the CLI and admin APIs). */
export const PrincipalKind = z.enum(['agent', 'human']);
export type PrincipalKind = z.infer<typeof PrincipalKind>;

/** `credential.issued`: a short-lived token was minted (its id and expiry, never the token). */
export const CredentialIssued = z.strictObject({
  jti: z.string().min(1),
  /** `agent` (envelope `agent_id` set) or `human` (`human_id` set). */
  principal_kind: PrincipalKind,
  human_id: HumanId.optional(),
  /** How the principal proved itself; `development` is the skeleton's any-agent mode. */
  method: z.enum(['client_secret', 'private_key_jwt', 'development']).optional(),
  /** The signing key that signed it. */
  kid: z.string().min(1).optional(),
  issued_at: Timestamp.optional(),
  expires_at: z.string(),
  scope: z.array(z.string()),
  /**
   * Added: the nkey public key (`U…`) of the NATS user JWT issued with the token, when the agent
   * asked for one (scoped transport, deploy/nats). It names the agent's NATS connection in the
   * server's monitoring; the JWT itself is never logged.
   */
  nats_user: z
    .string()
    .regex(/^U[A-Z2-7]{55}$/)
    .optional(),
});

/**
 * `credential.revoked`: one token (`jti`), or every token of the agent (envelope `agent_id`)
 * issued before `issued_before`. A revoked `jti` only matters until the token expires, given
 * as `expires_at` when known, so the revocation list can forget it after that.
 */
export const CredentialRevoked = z.strictObject({
  jti: z.string().min(1).optional(),
  issued_before: Timestamp.optional(),
  expires_at: Timestamp.optional(),
  by: Actor,
  reason: z.string().max(2048).optional(),
});

/**
 * `signing_key.rotated`: the broker signs with a new key from now on. The previous key stays in
 * the JWKS until `previous_retires_at` (its last token's expiry plus the clock leeway).
 */
export const SigningKeyRotated = z.strictObject({
  kid: z.string().min(1),
  public_jwk: Ed25519PublicJwk.optional(),
  previous_kid: z.string().min(1).optional(),
  previous_retires_at: Timestamp.optional(),
  /** What caused it: the first start, an operator's command, or the rotation schedule. */
  trigger: z.enum(['bootstrap', 'command', 'schedule']).optional(),
  by: Actor.optional(),
  /** Why, as the operator gave it (`key-rotate {reason}`): audits ask why a key was replaced. */
  reason: z.string().max(2048).optional(),
});

/** `human.registered`: a human principal was created (its id in `human_id`; events use agent `_`). */
export const HumanRegistered = z.strictObject({
  human_id: HumanId,
  roles: z.array(RoleName).max(32),
  /** The slow-hash verifier of the human's secret (a `client_secret` method). */
  authentication: AuthenticationMethod,
  by: Actor,
});

/** `human.updated`: a human's roles changed, or the human was disabled or enabled again. */
export const HumanUpdated = z.strictObject({
  human_id: HumanId,
  roles: z.array(RoleName).max(32).optional(),
  status: z.enum(['active', 'disabled']).optional(),
  by: Actor,
  reason: z.string().max(2048).optional(),
});
