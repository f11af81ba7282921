import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ChdbDriver } from './chdb.driver.js';
import { ClickHouseEventStore } from './clickhouse-event-store.js';
import { EventStoreConfig } from './event-store.config.js';
import type { EventStore } from './event-store.js';
import { EventStoreError, EventStoreErrorCode } from './event-store.errors.js';
import { HttpDriver } from './http.driver.js';

/**
 * Opens the event store described by `config`: embedded chDB in `dataDir`, or a ClickHouse server.
 * It does not migrate: call {@link EventStore.migrate} (the trace collector does at start-up).
 *
 * @throws EventStoreError `invalid_input` for a bad config; `data_dir_locked` when another process
 * owns the data directory; `data_dir_conflict` when this process has another one open;
 * `unavailable` when the server cannot be reached or refuses the credentials.
 */
export async function openEventStore(config: EventStoreConfig): Promise<EventStore> {
  const parsed = EventStoreConfig.safeParse(config);
  if (!parsed.success) {
    throw new EventStoreError(
      EventStoreErrorCode.InvalidInput,
      `Invalid event store config: ${z.prettifyError(parsed.error)}`,
      { cause: parsed.error },
    );
  }
  const valid = parsed.data;
  switch (valid.kind) {
    case 'embedded': {
      // chDB keys its one-directory-per-process registry by the path string: always the same one.
      const dataDir = resolve(valid.dataDir);
      mkdirSync(dataDir, { recursive: true });
      return new ClickHouseEventStore(ChdbDriver.open(dataDir), {
        migrationsDir: valid.migrationsDir,
      });
    }
    case 'server': {
      const driver = await HttpDriver.open(valid);
      return new ClickHouseEventStore(driver, { migrationsDir: valid.migrationsDir });
    }
  }
}
