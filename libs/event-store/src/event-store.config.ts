import { z } from 'zod';

const migrationsDir = z
  .string()
  .min(1)
  .optional()
  .describe(
    'Directory of the numbered migration files; found by walking up to deploy/clickhouse by default.',
  );

/** The embedded engine: chDB, in-process, with its data in one directory. */
export const EmbeddedEventStoreConfig = z.strictObject({
  kind: z.literal('embedded'),
  /** Created if missing. One process at a time may have it open. */
  dataDir: z.string().min(1),
  migrationsDir,
});
export type EmbeddedEventStoreConfig = z.infer<typeof EmbeddedEventStoreConfig>;

/** A ClickHouse server (>= 24.8) over HTTP(S). */
export const ServerEventStoreConfig = z.strictObject({
  kind: z.literal('server'),
  /** e.g. `http://localhost:8123`. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  /** Must exist already; `default` when left out. */
  database: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be a plain identifier' })
    .optional(),
  /** Per-request timeout for the store's own statements (default 60 s). */
  requestTimeoutMs: z.int().positive().optional(),
  migrationsDir,
});
export type ServerEventStoreConfig = z.infer<typeof ServerEventStoreConfig>;

/** Where the event store lives. */
export const EventStoreConfig = z.discriminatedUnion('kind', [
  EmbeddedEventStoreConfig,
  ServerEventStoreConfig,
]);
export type EventStoreConfig = z.infer<typeof EventStoreConfig>;
