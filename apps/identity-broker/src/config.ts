import { baseEnv, eventConsumerEnv, withExample } from '@warden/service';
import { z } from 'zod';

const seconds = (min: number, max: number, fallback: number) =>
  withExample(z.coerce.number().int().min(min).max(max), String(fallback)).default(fallback);

/** The identity broker's environment. */
export const IdentityBrokerConfig = z
  .object({
    ...baseEnv,
    ...eventConsumerEnv,
    /**
     * 32 bytes, base64: encrypts the broker's signing keys where they are stored (NATS KV), so a
     * copy of the bucket cannot mint tokens. Every replica of one env needs the same value.
     * `warden up` makes one on first start and keeps it in its state directory.
     */
    IDENTITY_MASTER_KEY: withExample(
      z.string().refine((value) => Buffer.from(value, 'base64').length === 32, {
        error: 'must be 32 random bytes in base64 (openssl rand -base64 32)',
      }),
      'q3J0c2VjcmV0LWtleS1vZi0zMi1ieXRlcy1sb25nISE=',
    ),
    /** Default lifetime of an agent token, seconds (5 minutes; at most 60). */
    IDENTITY_TOKEN_TTL_SECONDS: seconds(10, 3600, 300),
    /** Default lifetime of a human token (the CLI's login), seconds. */
    IDENTITY_HUMAN_TOKEN_TTL_SECONDS: seconds(60, 12 * 3600, 3600),
    /** Signing keys rotate this often, hours; 0 turns the schedule off (rotation on command only). */
    IDENTITY_KEY_ROTATION_HOURS: withExample(
      z.coerce
        .number()
        .min(0)
        .max(24 * 365),
      '24',
    ).default(24),
    /** The human created with the `admin` role when no admin exists yet. */
    IDENTITY_BOOTSTRAP_ADMIN: withExample(z.string().min(1), 'admin').default('admin'),
    /** The bootstrap admin's secret; when unset, one is made and written to the file below. */
    IDENTITY_BOOTSTRAP_ADMIN_SECRET: withExample(
      // Its verifier lands in the audit log (human.registered): long enough to resist guessing.
      z.string().min(32, { error: 'must be at least 32 characters (openssl rand -base64 32)' }),
      'a-random-string-of-at-least-32-characters',
    ).optional(),
    /** Where a made bootstrap admin secret is written (mode 0600), once. */
    IDENTITY_BOOTSTRAP_SECRET_FILE: withExample(
      z.string().min(1),
      '.warden/dev/bootstrap-admin.secret',
    ).optional(),
    /**
     * The NATS account signing key seed (`SA…`) used to mint agents' NATS user JWTs (scoped
     * transport, deploy/nats): `identity-broker.account-signing.seed` of `warden nats setup`.
     * Unset: a token request that asks for a NATS credential is refused
     * (`nats_credentials_unavailable`).
     */
    IDENTITY_NATS_ACCOUNT_SIGNING_SEED: withExample(
      z.string().regex(/^SA[A-Z2-7]{56}$/, { error: 'must be an nkey account seed (SA…)' }),
      'SA…',
    ).optional(),
    /**
     * The public key (`A…`) of the NATS account the signing seed above belongs to:
     * `warden-account.pub` of `warden nats setup`. A user JWT signed with a signing key must name
     * its account (`issuer_account`), and the seed alone only yields the signing key's own public
     * key. Required when the seed is set.
     */
    IDENTITY_NATS_ACCOUNT: withExample(
      z.string().regex(/^A[A-Z2-7]{55}$/, {
        error: 'must be an nkey account public key (A…, 56 characters)',
      }),
      'ADZ…',
    ).optional(),
  })
  .refine(
    (config) =>
      config.IDENTITY_NATS_ACCOUNT_SIGNING_SEED === undefined ||
      config.IDENTITY_NATS_ACCOUNT !== undefined,
    {
      // Without the account the broker would mint JWTs naming the signing key as their account,
      // which the server refuses at connect: say so at start instead.
      path: ['IDENTITY_NATS_ACCOUNT'],
      error:
        'required when IDENTITY_NATS_ACCOUNT_SIGNING_SEED is set: the account public key (A…) the signing key belongs to (warden-account.pub of `warden nats setup`)',
      // Also when another variable is invalid, so the one error lists every problem at once.
      when: (payload) => typeof payload.value === 'object' && payload.value !== null,
    },
  );
export type IdentityBrokerConfig = z.infer<typeof IdentityBrokerConfig>;
