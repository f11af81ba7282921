/**
 * `@warden/messaging`: everything Warden does with NATS JetStream, and nothing about what the
 * events mean. Connect, provision an env (stream, durables, KV buckets), publish validated events,
 * consume them one by one with outcomes (ack / nak / dead letter) or in batches (the trace
 * collector), compare-and-set on KV, and a NestJS transport with `@OnEvent(type)` handlers.
 */
export {
  ApiFailure,
  ApiServer,
  headerOf,
  type ApiOp,
  type ApiRequestContext,
} from './api-server.js';
export { connectNats, type ConnectNatsOptions } from './connect.js';
export {
  consumeBatches,
  defaultRetryDelayMs,
  type BatchConsumer,
  type BatchConsumerStats,
  type ConsumeBatchesOptions,
  type RawMessage,
} from './consume-batches.js';
export {
  consumeEvents,
  defaultBackoffMs,
  isOutcome,
  Outcome,
  type ConsumeEventsOptions,
  type EventConsumer,
  type EventConsumerSettings,
  type EventConsumerStats,
  type EventContext,
  type EventHandler,
  type RetryOutcome,
} from './consume-events.js';
export {
  EventPublisher,
  type EventPublisherOptions,
  type PublishManyResult,
  type PublishOptions,
  type PublishResult,
} from './event-publisher.js';
export {
  JetStreamTransport,
  type JetStreamTransportEvents,
  type JetStreamTransportOptions,
  type JetStreamTransportStatus,
} from './jetstream.strategy.js';
export { casUpdate, type CasOptions, type CasResult } from './kv-cas.js';
export { ForeignKv } from './foreign-kv.js';
export { silentLogger, type MessagingLogger } from './logger.js';
export { isMessagingError, MessagingError, type MessagingErrorCode } from './messaging.errors.js';
export { JETSTREAM_TRANSPORT, OnEvent } from './on-event.decorator.js';
export {
  durableName,
  ensureDurable,
  ensureKvBuckets,
  kvBucketName,
  provisionEnv,
  removeEnv,
  STREAM_MAX_MSG_BYTES,
  type DurableOptions,
  type KvBucketOptions,
  type ProvisionOptions,
  type ProvisionResult,
  type RemovedEnv,
} from './provision.js';
export {
  extractTraceContext,
  headersToRecord,
  injectTraceHeaders,
  TRACEPARENT,
  TRACESTATE,
} from './trace-headers.js';
export {
  DEFAULT_WATCH_TIMING,
  kvPosition,
  WatchSupervisor,
  type KvStatusSource,
  type RevisionedEntry,
  type StoppableWatch,
  type StreamPosition,
  type SupervisedWatch,
  type WatchLogger,
  type WatchTiming,
} from './watch-supervisor.js';
export {
  EXPECTED_LAST_SUBJECT_SEQUENCE,
  isWrongLastSequence,
  lastOnSubject,
  readLog,
  type SkippedMessage,
} from './event-log.js';
