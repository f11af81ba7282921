import { baseEnv, withExample } from '@warden/service';
import { z } from 'zod';

const count = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/**
 * The trace collector's environment. The event store is embedded chDB under WARDEN_DATA_DIR unless
 * WARDEN_CLICKHOUSE_URL names a ClickHouse server.
 */
export const CollectorConfig = z.object({
  ...baseEnv,
  WARDEN_DATA_DIR: withExample(z.string().min(1), '.warden/data').default('.warden/data'),
  WARDEN_CLICKHOUSE_URL: withExample(
    z.url({ protocol: /^https?$/ }),
    'http://127.0.0.1:8123',
  ).optional(),
  WARDEN_CLICKHOUSE_USER: z.string().optional(),
  WARDEN_CLICKHOUSE_PASSWORD: z.string().optional(),
  /** Rows per insert: chDB stores about 250k rows/s in 10k-row batches, and each insert makes a part. */
  COLLECTOR_BATCH_SIZE: count(1, 50_000, 5000),
  /** How long the first message of a batch may wait for more before the batch is written. */
  COLLECTOR_BATCH_WAIT_MS: count(1, 60_000, 200),
  /**
   * The Ed25519 key that signs the audit log's checkpoints: its 32-byte seed, base64. When unset,
   * the collector makes one on first start and keeps it in WARDEN_DATA_DIR
   * (checkpoint-signing-key.pem, mode 0600). Either way its public key is published in NATS KV
   * (`warden_<env>_checkpoint_keys`), where `warden audit verify` looks it up.
   */
  COLLECTOR_SIGNING_KEY: withExample(
    z.string().regex(/^[A-Za-z0-9+/]{43}=$/, {
      error: 'must be a 32-byte Ed25519 seed in base64 (openssl rand -base64 32)',
    }),
    'q3J0c2VjcmV0LWtleS1vZi0zMi1ieXRlcy1sb25nISE=',
  ).optional(),
  /** Unacked messages come back after this long: keep it well above one insert's time. */
  COLLECTOR_ACK_WAIT_MS: count(1000, 3_600_000, 30_000),
});
export type CollectorConfig = z.infer<typeof CollectorConfig>;
