import { baseEnv, eventConsumerEnv, withExample } from '@warden/service';
import { z } from 'zod';

/** The seed of the development signing key when none is configured: fine for a laptop only. */
export const DEFAULT_DEV_KEY_SEED = 'warden-development-key';

/** The identity broker's environment. */
export const IdentityBrokerConfig = z.object({
  ...baseEnv,
  ...eventConsumerEnv,
  /**
   * Seed of the development Ed25519 signing key (replicas with the same seed share the key).
   * Development mode: any agent that asks gets a token. The identity issue replaces it.
   */
  IDENTITY_DEV_KEY_SEED: withExample(z.string().min(8), 'a-long-random-string').default(
    DEFAULT_DEV_KEY_SEED,
  ),
  /** Default lifetime of an agent token, seconds (at most 3600). */
  IDENTITY_TOKEN_TTL_SECONDS: withExample(z.coerce.number().int().min(10).max(3600), '300').default(
    300,
  ),
});
export type IdentityBrokerConfig = z.infer<typeof IdentityBrokerConfig>;
