export type {
  Checkpoint,
  CheckpointHead,
  DigestEventsOptions,
  EventDigest,
  EventDigests,
  EventRef,
} from './checkpoint.js';
export { DIGESTED_COLUMN_NAMES } from './row-digest.js';
export type {
  EventStore,
  InsertEventsOptions,
  MigrateResult,
  ReadOnlyQueryOptions,
  ReadOnlyQueryResult,
  ResultColumn,
  TimelineOptions,
} from './event-store.js';
export {
  EmbeddedEventStoreConfig,
  EventStoreConfig,
  ServerEventStoreConfig,
} from './event-store.config.js';
export { EventStoreError, EventStoreErrorCode, isEventStoreError } from './event-store.errors.js';
export type { EventStoreErrorDetails } from './event-store.errors.js';
export {
  EVENT_COLUMNS,
  EventRow,
  fromClickHouseDateTime64,
  toClickHouseDateTime64,
  toSafeInteger,
} from './event-row.js';
export type { EventRowInput, StoredEvent } from './event-row.js';
export { openEventStore } from './open-event-store.js';
