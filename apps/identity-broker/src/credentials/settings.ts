import { MAX_TOKEN_TTL_SECONDS } from '@warden/contracts';
import type { IdentityBrokerConfig } from '../config.js';
import { CLOCK_TOLERANCE_SECONDS } from '../domain/agent-token.js';

/** The credentials half's settings, derived once from the broker's configuration. */
export interface CredentialSettings {
  readonly env: string;
  /** AES-256-GCM key sealing the signing keys in KV. */
  readonly masterKey: Buffer;
  readonly agentTokenTtlSeconds: number;
  readonly humanTokenTtlSeconds: number;
  /** 0: no scheduled rotation. */
  readonly rotationPeriodMs: number;
  /**
   * How long a replaced signing key keeps verifying: the longest lifetime any token it signed can
   * have (an agent token asks for at most MAX_TOKEN_TTL_SECONDS; a human token gets its configured
   * default, or asks for at most that much), plus the clock leeway verifiers allow on `exp`.
   */
  readonly retireAfterMs: number;
  /**
   * How long a revocation is kept (the `revocations` bucket's max age): after that, every token
   * it could concern has expired, including the leeway, so forgetting it changes nothing.
   */
  readonly revocationRetentionMs: number;
  /**
   * The NATS account signing key agents' NATS user JWTs are minted with (scoped transport,
   * deploy/nats), and the account it belongs to. Unset: no NATS credentials are issued.
   */
  readonly nats?: { readonly accountSigningSeed: string; readonly accountPublicKey: string };
}

/** Margin on top of the strict bounds, for clocks of replicas that disagree a little. */
const MARGIN_MS = 60_000;

/** The settings of `config`. */
export function credentialSettings(config: IdentityBrokerConfig): CredentialSettings {
  const env = config.WARDEN_ENV;
  const longestTokenSeconds = Math.max(
    MAX_TOKEN_TTL_SECONDS,
    config.IDENTITY_TOKEN_TTL_SECONDS,
    config.IDENTITY_HUMAN_TOKEN_TTL_SECONDS,
  );
  const retireAfterMs = (longestTokenSeconds + CLOCK_TOLERANCE_SECONDS) * 1000;
  return {
    env,
    masterKey: Buffer.from(config.IDENTITY_MASTER_KEY, 'base64'),
    agentTokenTtlSeconds: config.IDENTITY_TOKEN_TTL_SECONDS,
    humanTokenTtlSeconds: config.IDENTITY_HUMAN_TOKEN_TTL_SECONDS,
    rotationPeriodMs: Math.round(config.IDENTITY_KEY_ROTATION_HOURS * 3_600_000),
    retireAfterMs,
    revocationRetentionMs: retireAfterMs + MARGIN_MS,
    ...natsSettings(config),
  };
}

function natsSettings(config: IdentityBrokerConfig): Pick<CredentialSettings, 'nats'> {
  const seed = config.IDENTITY_NATS_ACCOUNT_SIGNING_SEED;
  const account = config.IDENTITY_NATS_ACCOUNT;
  // The config refuses a seed without its account; both unset is a broker without NATS credentials.
  if (seed === undefined || account === undefined) return {};
  return { nats: { accountSigningSeed: seed, accountPublicKey: account } };
}
