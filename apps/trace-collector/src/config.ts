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
  /** Unacked messages come back after this long: keep it well above one insert's time. */
  COLLECTOR_ACK_WAIT_MS: count(1000, 3_600_000, 30_000),
});
export type CollectorConfig = z.infer<typeof CollectorConfig>;
