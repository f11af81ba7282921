import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  jetstreamManager,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { isSubjectToken, MAX_EVENT_BYTES, subjects, SUBJECT_TOKEN_RULE } from '@warden/contracts';
import { MessagingError, messageOf } from './messaging.errors.js';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** JetStream API error codes this module reacts to (server `errors.json`). */
const API = {
  streamNotFound: 10059,
  consumerNotFound: 10014,
  streamNameInUse: 10058,
  jetstreamNotEnabled: 10076,
  jetstreamNotEnabledForAccount: 10039,
} as const;

/**
 * The largest message the env stream accepts: 1 MiB, four times {@link MAX_EVENT_BYTES}.
 *
 * An event over 256 KiB must still reach the stream, so that the trace collector records it as
 * `event.rejected` (oversize) instead of the producer alone seeing a refused publish: the audit
 * log would otherwise never know. Above 1 MiB (also the server's default `max_payload`) a message
 * is refused at publish; well-behaved producers never get there because `EventPublisher`
 * validates the size first.
 */
export const STREAM_MAX_MSG_BYTES = 1024 * 1024;

/** Options of {@link provisionEnv}. */
export interface ProvisionOptions {
  /** How long the stream keeps an event (the long-term log is ClickHouse). Default 7 days. */
  maxAgeMs?: number;
  /**
   * The window in which JetStream drops a second publish with the same `Nats-Msg-Id` (= event
   * id). At least 2 minutes (DESIGN §4), the default: a handler redelivered after `AckWait` (30 s)
   * must still publish into the window of its first attempt.
   */
  duplicateWindowMs?: number;
  /** Largest message accepted. Default {@link STREAM_MAX_MSG_BYTES}. */
  maxMsgBytes?: number;
  /** Total bytes kept before the oldest events are discarded. Default unlimited (-1). */
  maxBytes?: number;
  /** Stream replicas: 1 on one server, 3 in a cluster. Default 1. */
  replicas?: number;
}

/** What {@link provisionEnv} did. */
export interface ProvisionResult {
  readonly stream: string;
  readonly created: boolean;
  /** The stream existed with other values of the mutable settings, which were updated. */
  readonly updated: boolean;
  readonly config: StreamConfig;
}

/** The description marking JetStream assets of one env, so {@link removeEnv} finds exactly them. */
function envMarker(env: string): string {
  return `warden env ${env}`;
}

function checkEnv(env: string): void {
  if (!isSubjectToken(env)) {
    throw new MessagingError('invalid_config', `env ${JSON.stringify(env)} ${SUBJECT_TOKEN_RULE}`);
  }
}

/** A JetStream manager, with "JetStream is off" turned into a clear error. */
export async function manager(nc: NatsConnection): Promise<JetStreamManager> {
  try {
    return await jetstreamManager(nc);
  } catch (error) {
    throw MessagingError.jetstreamUnavailable([nc.getServer()], error);
  }
}

/** Whether `error` is a JetStream API error with one of `codes`. */
export function isApiError(error: unknown, ...codes: number[]): error is JetStreamApiError {
  return error instanceof JetStreamApiError && codes.includes(error.code);
}

/**
 * Creates the env's event stream, or brings an existing one to the wanted settings:
 * `WARDEN_<ENV>` capturing `warden.<env>.evt.>`, file storage, limits retention. Idempotent:
 * a second call with the same options changes nothing (`created` and `updated` false); a call with
 * other mutable settings (age, window, size, replicas) updates the stream in place.
 *
 * Two replicas of a service starting together may both try to create the stream: the server
 * accepts an identical create, and a differing one is retried as an update.
 */
export async function provisionEnv(
  nc: NatsConnection,
  env: string,
  options: ProvisionOptions = {},
): Promise<ProvisionResult> {
  checkEnv(env);
  const {
    maxAgeMs = 7 * DAY_MS,
    duplicateWindowMs = 2 * MINUTE_MS,
    maxMsgBytes = STREAM_MAX_MSG_BYTES,
    maxBytes = -1,
    replicas = 1,
  } = options;
  if (duplicateWindowMs < 2 * MINUTE_MS) {
    throw new MessagingError(
      'invalid_config',
      `duplicateWindowMs ${duplicateWindowMs} is under 2 minutes: redelivered handlers would publish duplicates JetStream no longer drops`,
    );
  }
  if (maxAgeMs < duplicateWindowMs) {
    throw new MessagingError(
      'invalid_config',
      `maxAgeMs ${maxAgeMs} is shorter than the duplicate window ${duplicateWindowMs}`,
    );
  }
  if (maxMsgBytes < MAX_EVENT_BYTES) {
    throw new MessagingError(
      'invalid_config',
      `maxMsgBytes ${maxMsgBytes} is under MAX_EVENT_BYTES (${MAX_EVENT_BYTES}): valid events would be refused`,
    );
  }
  const name = subjects.streamName(env);
  const wanted = {
    subjects: [subjects.allEvents(env)],
    description: envMarker(env),
    max_age: nanos(maxAgeMs),
    duplicate_window: nanos(duplicateWindowMs),
    max_msg_size: maxMsgBytes,
    max_bytes: maxBytes,
    num_replicas: replicas,
  } satisfies Partial<StreamConfig>;

  const jsm = await manager(nc);
  try {
    for (let attempt = 0; ; attempt++) {
      const existing = await streamConfig(jsm, name);
      if (existing === undefined) {
        try {
          const info = await jsm.streams.add({
            name,
            ...wanted,
            storage: StorageType.File,
            retention: RetentionPolicy.Limits,
            discard: DiscardPolicy.Old,
          });
          return { stream: name, created: true, updated: false, config: info.config };
        } catch (error) {
          // Another process created it first with other settings: go round and update it.
          if (isApiError(error, API.streamNameInUse) && attempt === 0) continue;
          throw error;
        }
      }
      if (existing.storage !== StorageType.File) {
        throw new MessagingError(
          'provision_failed',
          `stream ${name} uses ${existing.storage} storage; Warden needs file storage and storage cannot be changed in place: move the events elsewhere and delete the stream`,
        );
      }
      const differs = Object.entries(wanted).some(
        ([key, value]) =>
          JSON.stringify(existing[key as keyof StreamConfig]) !== JSON.stringify(value),
      );
      if (!differs) return { stream: name, created: false, updated: false, config: existing };
      const info = await jsm.streams.update(name, wanted);
      return { stream: name, created: false, updated: true, config: info.config };
    }
  } catch (error) {
    if (error instanceof MessagingError) throw error;
    throw new MessagingError(
      'provision_failed',
      `could not provision stream ${name}: ${messageOf(error)}`,
      { cause: error },
    );
  }
}

async function streamConfig(
  jsm: JetStreamManager,
  name: string,
): Promise<StreamConfig | undefined> {
  try {
    return (await jsm.streams.info(name)).config;
  } catch (error) {
    if (isApiError(error, API.streamNotFound)) return undefined;
    throw error;
  }
}

// Consumer names become subject tokens of the JetStream API: no dots, wildcards, slashes or blanks.
const DURABLE_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The durable name of a service's consumer of one event type: `<service>__<type with . → _>`, e.g.
 * `policy-decision__intent_authenticated`. Every replica of the service derives the same name, so
 * replicas share the durable and split its messages (DESIGN §4).
 */
export function durableName(service: string, eventType: string): string {
  if (!isSubjectToken(service)) {
    throw new MessagingError(
      'invalid_config',
      `service ${JSON.stringify(service)} ${SUBJECT_TOKEN_RULE}`,
    );
  }
  const name = `${service}__${eventType.replaceAll('.', '_')}`;
  if (!DURABLE_PATTERN.test(name)) {
    throw new MessagingError(
      'invalid_config',
      `durable name ${JSON.stringify(name)} must be 1-128 characters of A-Z, a-z, 0-9, "_" or "-"`,
    );
  }
  return name;
}

/** Options of {@link ensureDurable}. */
export interface DurableOptions {
  /** The consumer's name, shared by every replica of the service (see {@link durableName}). */
  durable: string;
  /**
   * One subject filter: nats-server 2.9 takes exactly one per consumer (several came in 2.10 and
   * are silently ignored by 2.9), so a service with several inputs gets one durable per input.
   */
  filterSubject: string;
  /** How long the server waits for an ack before redelivering. Default 30 s. */
  ackWaitMs?: number;
  /** Deliveries before the server gives up on a message; -1 for never. Default 5. */
  maxDeliver?: number;
  /** Delivered-but-unacked messages before the server pauses delivery. Default 20,000. */
  maxAckPending?: number;
  /**
   * Where a new durable starts. Default `all`: events published between provisioning and the
   * durable's creation are not skipped. Immutable once the durable exists.
   */
  deliverPolicy?: 'all' | 'new';
}

/**
 * Creates an explicit-ack pull consumer on the env's stream, or brings an existing one to the
 * wanted settings (ack wait, max deliver, max ack pending, filter). Idempotent; safe to call
 * from every replica at start-up.
 */
export async function ensureDurable(
  nc: NatsConnection,
  env: string,
  options: DurableOptions,
): Promise<ConsumerInfo> {
  checkEnv(env);
  const {
    durable,
    filterSubject,
    ackWaitMs = 30_000,
    maxDeliver = 5,
    maxAckPending = 20_000,
    deliverPolicy = 'all',
  } = options;
  if (!DURABLE_PATTERN.test(durable)) {
    throw new MessagingError(
      'invalid_config',
      `durable name ${JSON.stringify(durable)} must be 1-128 characters of A-Z, a-z, 0-9, "_" or "-"`,
    );
  }
  if (typeof filterSubject !== 'string' || filterSubject === '' || /\s/.test(filterSubject)) {
    throw new MessagingError(
      'invalid_config',
      `durable ${durable}: filterSubject must be one subject (nats-server 2.9 takes one per consumer)`,
    );
  }
  const stream = subjects.streamName(env);
  const mutable = {
    filter_subject: filterSubject,
    ack_wait: nanos(ackWaitMs),
    max_deliver: maxDeliver,
    max_ack_pending: maxAckPending,
    description: `${envMarker(env)}: ${filterSubject}`,
  } satisfies Partial<ConsumerConfig>;

  const jsm = await manager(nc);
  try {
    let existing: ConsumerInfo | undefined;
    try {
      existing = await jsm.consumers.info(stream, durable);
    } catch (error) {
      if (!isApiError(error, API.consumerNotFound)) throw error;
    }
    if (existing === undefined) {
      return await jsm.consumers.add(stream, {
        ...mutable,
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: deliverPolicy === 'all' ? DeliverPolicy.All : DeliverPolicy.New,
        replay_policy: ReplayPolicy.Instant,
      });
    }
    const config = existing.config;
    if (config.ack_policy !== AckPolicy.Explicit || config.deliver_subject) {
      throw new MessagingError(
        'provision_failed',
        `consumer ${durable} on ${stream} exists but is not an explicit-ack pull consumer: delete it and start again`,
      );
    }
    const differs = Object.entries(mutable).some(
      ([key, value]) => config[key as keyof ConsumerConfig] !== value,
    );
    if (!differs) return existing;
    return await jsm.consumers.update(stream, durable, mutable);
  } catch (error) {
    if (error instanceof MessagingError) throw error;
    throw new MessagingError(
      'provision_failed',
      `could not provision durable ${durable} on ${stream}: ${messageOf(error)}`,
      { cause: error },
    );
  }
}

// KV bucket names allow `-` (nats.js checks /^[-\w]+$/), so env and name are used as they are:
// mapping `-` to `_` would make envs `a-b` and `a_b` share buckets.
const KV_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The KV bucket of one projection in one env: `warden_<env>_<name>` (stream `KV_warden_…`). */
export function kvBucketName(env: string, name: string): string {
  checkEnv(env);
  if (!KV_NAME_PATTERN.test(name)) {
    throw new MessagingError(
      'invalid_config',
      `KV bucket name ${JSON.stringify(name)} ${SUBJECT_TOKEN_RULE}`,
    );
  }
  return `warden_${env}_${name}`;
}

/** Options of {@link ensureKvBuckets}, applied to each bucket when it is created. */
export interface KvBucketOptions {
  /** Values kept per key. Default 1: projections are rebuilt from the log, not from history. */
  history?: number;
  /** Replicas: 1 on one server, 3 in a cluster. Default 1. */
  replicas?: number;
  /** Entries older than this are removed. Default: kept. */
  ttlMs?: number;
  /** Largest value. Default: the server's limit. */
  maxValueBytes?: number;
}

/**
 * Creates (or opens) the env's KV buckets `warden_<env>_<name>` and returns them by name. An
 * existing bucket is opened as it is: its settings are not changed.
 *
 * @example
 * const { agents, budgets } = await ensureKvBuckets(nc, env, ['agents', 'budgets']);
 */
export async function ensureKvBuckets<const N extends string>(
  nc: NatsConnection,
  env: string,
  names: readonly N[],
  options: KvBucketOptions = {},
): Promise<Record<N, KV>> {
  const kvm = new Kvm(nc);
  const entries = await Promise.all(
    names.map(async (name): Promise<[N, KV]> => {
      const bucket = kvBucketName(env, name);
      try {
        const kv = await kvm.create(bucket, {
          description: envMarker(env),
          history: options.history ?? 1,
          replicas: options.replicas ?? 1,
          ...(options.ttlMs === undefined ? {} : { ttl: options.ttlMs }),
          ...(options.maxValueBytes === undefined ? {} : { maxValueSize: options.maxValueBytes }),
        });
        return [name, kv];
      } catch (error) {
        throw new MessagingError(
          'provision_failed',
          `could not create KV bucket ${bucket}: ${messageOf(error)}`,
          { cause: error },
        );
      }
    }),
  );
  return Object.fromEntries(entries) as Record<N, KV>;
}

/** What {@link removeEnv} deleted. */
export interface RemovedEnv {
  /** Whether the event stream existed (its consumers went with it). */
  readonly stream: boolean;
  /** The KV buckets deleted. */
  readonly buckets: string[];
}

/**
 * Deletes everything of one env: the event stream (and with it every durable on it) and the env's
 * KV buckets. Buckets are recognised by name prefix *and* by the env marker in their description,
 * so removing env `a` never touches the buckets of env `a_b`. Meant for tests (`afterAll`) and
 * for tearing down a throw-away env; there is no undo.
 */
export async function removeEnv(nc: NatsConnection, env: string): Promise<RemovedEnv> {
  checkEnv(env);
  const jsm = await manager(nc);
  let stream = false;
  try {
    stream = await jsm.streams.delete(subjects.streamName(env));
  } catch (error) {
    if (!isApiError(error, API.streamNotFound)) throw error;
  }
  const prefix = `KV_warden_${env}_`;
  const marker = envMarker(env);
  const buckets: string[] = [];
  for await (const info of jsm.streams.list()) {
    const { name, description } = info.config;
    if (!name.startsWith(prefix) || description !== marker) continue;
    try {
      await jsm.streams.delete(name);
      buckets.push(name.slice('KV_'.length));
    } catch (error) {
      if (!isApiError(error, API.streamNotFound)) throw error;
    }
  }
  return { stream, buckets };
}
