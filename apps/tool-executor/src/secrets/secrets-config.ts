import { withExample } from '@warden/service';
import { z } from 'zod';
import { isMasterKey } from './secret-seal.js';

/**
 * The credential store's part of the tool executor's environment: spread into
 * `ToolExecutorConfig` (`...secretsEnv`).
 */
export const secretsEnv = {
  /**
   * 32 bytes, base64: seals the tool credentials where they are stored (NATS KV `secrets`), so a
   * copy of the bucket holds no usable secret. Every replica of one env needs the same value.
   * Unset: the executor runs, but `warden secrets set|rotate` and every tool that needs a
   * credential are refused with `master_key_missing` until it is set (`list` and `delete` work).
   */
  EXECUTOR_MASTER_KEY: withExample(
    z.string().refine(isMasterKey, {
      error: 'must be 32 random bytes in base64 (openssl rand -base64 32)',
    }),
    'q3J0c2VjcmV0LWtleS1vZi0zMi1ieXRlcy1sb25nISE=',
  ).optional(),
  /**
   * How long a resolved credential is reused before it is read again, milliseconds (at most
   * 5000): a rotation reaches every replica within it.
   */
  EXECUTOR_SECRET_CACHE_MS: withExample(z.coerce.number().int().min(0).max(5_000), '2000').default(
    2_000,
  ),
};

/** The parsed {@link secretsEnv} variables, as the module's config holds them. */
export type SecretsConfig = z.infer<z.ZodObject<typeof secretsEnv>>;
